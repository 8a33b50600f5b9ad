"""Build hook (the project is configured in pyproject.toml): an installed algoperf-lite
carries the checkout's built-in drop-in folders, copied into the package as
``algoperf_lite/builtin/{workloads,submissions,configs}/``. The repository keeps its
layout; :func:`algoperf_lite.paths.builtin_dir` finds either."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUILTIN = ("workloads", "submissions", "configs")


class BuildWithBuiltins(build_py):
    def run(self) -> None:
        super().run()
        for name in BUILTIN:
            target = Path(self.build_lib) / "algoperf_lite" / "builtin" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(name, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))


setup(cmdclass={"build_py": BuildWithBuiltins})
