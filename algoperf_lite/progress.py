"""The live table a trial prints, one row per eval, and its closing line."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console


class EvalTable:
    def __init__(self, target: dict[str, Any], console: Console | None = None):
        self.console = console or Console(highlight=False)
        self.metric = target["metric"]
        self.target = target
        self._printed_header = False

    def __call__(self, row: dict[str, Any]) -> None:
        if not self._printed_header:
            self.console.print(
                f"[bold]{'step':>8} {'time (s)':>9} {'eval (s)':>9} {'train loss':>11} "
                f"{'val loss':>9} {'val ' + self.metric:>14}[/bold]"
            )
            self._printed_header = True
        value = row[f"validation/{self.metric}"]
        reached = value >= self.target["value"] if self.target["maximize"] else value <= self.target["value"]
        mark = " [green]<- target[/green]" if reached else ""
        self.console.print(
            f"{row['step']:>8d} {row['submission_time']:>9.3f} {row['eval_time']:>9.3f} "
            f"{row.get('train/loss', math.nan):>11.4f} {row.get('validation/loss', math.nan):>9.4f} "
            f"{value:>14.4f}{mark}"
        )


def outcome_line(workload: str, submission: str, target: dict[str, Any], outcome: dict[str, Any]) -> str:
    """One line saying whether and when the validation target was reached."""
    op = ">=" if target["maximize"] else "<="
    goal = f"validation {target['metric']} {op} {target['value']}"
    if outcome["reached"]:
        return (f"[green]reached[/green] {goal}: {submission} on {workload} at "
                f"{outcome['time_to_target']:.3f} s of submission time (step {outcome['steps_to_target']})")
    why = outcome["status"].replace("_", " ")
    detail = f": {outcome['error'].strip().splitlines()[-1]}" if outcome.get("error") else ""
    return (f"[red]not reached[/red] {goal}: {submission} on {workload} ({why} after "
            f"{outcome['submission_time']:.3f} s, {outcome['steps']} steps){detail}")
