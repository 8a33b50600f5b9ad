"""``algoperf-lite report``: write the leaderboard page of a results directory or of
AlgoPerf's logs (one self-contained HTML file, its figures beside it)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from algoperf_lite.console import stderr_console, stdout_console, warnings_as_lines
from algoperf_lite.errors import UserError
from algoperf_lite.report import write_leaderboard
from algoperf_lite.results import LEADERBOARD_FILE, algoperf_output_dir
from algoperf_lite.scoring import ScoringError, ScoringWarning
from algoperf_lite.scoring.algoperf_logs import DEFAULT_VERSION


def report_command(results_dir: Path | None, output: Path | None = None, algoperf_dir: Path | None = None,
                   targets: str | Path | None = None) -> int:
    """Write the leaderboard page of ``results_dir`` or ``algoperf_dir`` (one of the two;
    default RESULTS_DIR/leaderboard.html, for AlgoPerf logs DIR_scores/leaderboard.html)
    and its figures."""
    if (results_dir is None) == (algoperf_dir is None):
        raise UserError("give a results directory or --algoperf DIR (one of the two)")
    out, err = stdout_console(soft_wrap=False), stderr_console()
    if algoperf_dir is not None:
        output = Path(output) if output else algoperf_output_dir(Path(algoperf_dir)) / LEADERBOARD_FILE
        source, targets = Path(algoperf_dir), targets or DEFAULT_VERSION
    elif targets is not None:
        raise ScoringError("--targets applies to AlgoPerf logs (--algoperf DIR) only")
    else:
        source = Path(results_dir)
    with warnings_as_lines(err, ScoringWarning):
        path = write_leaderboard(source, Path(output) if output else None, algoperf_targets=targets)
    out.print(Text(f"wrote {path}"))
    return 0
