"""algoperf-lite: AlgoPerf's rules on workloads that run in minutes.

The Python API (algoperf_lite/api.py): ``run`` (a trial), ``run_study``, ``score``, and
``submission`` (a native submission from an optimizer factory). Importing the package
imports no torch.
"""

from algoperf_lite.api import TrialResult, run, run_study, score, submission
from algoperf_lite.errors import UserError
from algoperf_lite.version import __version__

__all__ = ["TrialResult", "UserError", "__version__", "run", "run_study", "score", "submission"]
