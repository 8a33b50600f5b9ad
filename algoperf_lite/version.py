"""The installed distribution's version, in a module that imports nothing of the project
(the results and the code records name it; the package's ``__init__`` re-exports it)."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("algoperf-lite")
except PackageNotFoundError:  # a checkout on PYTHONPATH, not installed (scripts/gpu_check.py on a bare python)
    __version__ = "unknown"
