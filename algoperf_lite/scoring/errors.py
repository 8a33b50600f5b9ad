"""The two ways scoring complains: an error for input it cannot score, a warning for input
it scores but that breaks the ruleset's expectations (AlgoPerf's real logs do)."""

from algoperf_lite.errors import UserError


class ScoringError(UserError):
    """Input that cannot be scored (missing columns, empty file, no trials); one clear message."""


class ScoringWarning(UserWarning):
    """Irregular input that is scored anyway (odd trial or study counts, missing workloads)."""
