"""The live table a trial prints, one row per eval, and its closing line."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console

from algoperf_lite.results import SHARED_CORE, Outcome
from algoperf_lite.spec import Target


class EvalTable:
    def __init__(self, target: Target, console: Console | None = None):
        self.console = console or Console(highlight=False)
        self.target = target
        self._printed_header = False

    def __call__(self, row: dict[str, Any]) -> None:
        if not self._printed_header:
            self.console.print(
                f"[bold]{'step':>8} {'time (s)':>9} {'eval (s)':>9} {'train loss':>11} "
                f"{'val loss':>9} {'val ' + self.target.metric:>14}[/bold]"
            )
            self._printed_header = True
        value = row[f"validation/{self.target.metric}"]
        mark = " [green]<- target[/green]" if self.target.reached(value) else ""
        if row.get("checkpoint"):  # evaluated after the fact, to tell when the target was reached
            mark += " [dim](checkpoint)[/dim]"
        self.console.print(
            f"{row['step']:>8d} {row['submission_time']:>9.3f} {row['eval_time']:>9.3f} "
            f"{row.get('train/loss', math.nan):>11.4f} {row.get('validation/loss', math.nan):>9.4f} "
            f"{value:>14.4f}{mark}"
        )


def outcome_line(workload: str, submission: str, target: Target, outcome: Outcome) -> str:
    """One line saying whether and when the validation target was reached (and, if other
    programs held the trial's core, that its time reads high)."""
    shared = outcome.core_wait_share or 0.0
    note = (f"\n[yellow]note[/yellow]: the trial waited for a core {shared:.0%} of its time (other programs held "
            f"it); sharing a core costs a trial up to about 15% in time (docs/repeatability.md)"
            if shared > SHARED_CORE else "")
    if outcome.reached:
        return (f"[green]reached[/green] {target}: {submission} on {workload} at "
                f"{outcome.time_to_target:.3f} s of submission time (step {outcome.steps_to_target})") + note
    why = outcome.status.replace("_", " ")
    detail = f": {outcome.error.strip().splitlines()[-1]}" if outcome.error else ""
    return (f"[red]not reached[/red] {target}: {submission} on {workload} ({why} after "
            f"{outcome.submission_time:.3f} s, {outcome.steps} steps){detail}") + note
