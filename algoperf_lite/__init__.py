"""algoperf-lite: AlgoPerf's rules on workloads that run in minutes.

The Python API (algoperf_lite/api.py): ``run`` (a trial), ``run_study``, ``score``, and
``submission`` (a native submission from an optimizer factory). Importing the package
imports no torch.
"""

from importlib.metadata import PackageNotFoundError, version as _v

try:
    __version__ = _v("algoperf-lite")
except PackageNotFoundError:  # a checkout on PYTHONPATH, not installed (scripts/gpu_check.py on a bare python)
    __version__ = "unknown"

from algoperf_lite.api import TrialResult, run, run_study, score, submission  # noqa: E402
from algoperf_lite.errors import UserError  # noqa: E402

__all__ = ["TrialResult", "UserError", "run", "run_study", "score", "submission"]
