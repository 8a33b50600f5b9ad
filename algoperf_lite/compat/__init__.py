"""Stand-ins for AlgoPerf's ``algoperf`` package (v0.6) and its old name
``algorithmic_efficiency`` (v0.5), so that unmodified AlgoPerf PyTorch submissions import
and run here. The real package needs TensorFlow and JAX and is not on PyPI; and a
submission must talk to *our* workloads, whose enums are ours, so the stand-ins are
installed even when the real package is present."""

from __future__ import annotations

import sys
import types

from algoperf_lite import spec
from algoperf_lite.compat import pytorch_utils

PACKAGE_NAMES = ("algoperf", "algorithmic_efficiency")


def install() -> None:
    """Register ``<name>``, ``<name>.spec`` and ``<name>.pytorch_utils`` in sys.modules."""
    for name in PACKAGE_NAMES:
        package = types.ModuleType(name, f"algoperf-lite stand-in for AlgoPerf's {name}")
        package.__path__ = []  # a package, so that submodule imports resolve
        package.spec = spec
        package.pytorch_utils = pytorch_utils
        sys.modules[name] = package
        sys.modules[f"{name}.spec"] = spec
        sys.modules[f"{name}.pytorch_utils"] = pytorch_utils
