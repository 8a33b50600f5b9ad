"""What a study shows while it runs: one line per finished trial and, unless quiet, a
live panel (trials done / running / failed, each worker's trial, elapsed, remaining)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from algoperf_lite.results import Outcome
from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.trial.eval_table import outcome_line


class StudyEvents(Protocol):
    """What executors report, from the study's process."""

    def started(self, trial: PlannedTrial, where: str) -> None: ...
    def evaluated(self, trial: PlannedTrial, row: dict[str, Any]) -> None: ...
    def finished(self, trial: PlannedTrial, outcome: Outcome, where: str) -> None: ...
    def warn(self, message: str) -> None: ...


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class _Running:
    trial: PlannedTrial
    where: str
    started: float
    submission_time: float = 0.0


class StudyProgress:
    """Implements :class:`StudyEvents`; use as a context manager around the executor."""

    def __init__(self, name: str, plan_size: int, todo: list[PlannedTrial], slots: list[str],
                 overhead_sec: float, console: Console, quiet: bool = False):
        self.name, self.console, self.quiet, self.slots = name, console, quiet, slots
        self.plan_size, self.finished_before = plan_size, plan_size - len(todo)
        self.estimate = {t.index: t.budget_sec + overhead_sec for t in todo}  # worst case per trial
        self.done = self.failed = 0
        self.actual_sec = self.estimated_done_sec = 0.0
        self.running: dict[int, _Running] = {}
        self.t0 = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> StudyProgress:
        if not self.quiet and self.console.is_terminal:  # a log gets the lines only
            self._live = Live(self, console=self.console, refresh_per_second=2)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def started(self, trial: PlannedTrial, where: str) -> None:
        self.running[trial.index] = _Running(trial, where, time.monotonic())

    def evaluated(self, trial: PlannedTrial, row: dict[str, Any]) -> None:
        if trial.index in self.running:
            self.running[trial.index].submission_time = float(row["submission_time"])

    def finished(self, trial: PlannedTrial, outcome: Outcome, where: str) -> None:
        run = self.running.pop(trial.index, None)
        self.done += 1
        self.failed += outcome.status in ("failed", "diverged")
        self.actual_sec += time.monotonic() - run.started if run else outcome.wall_time
        self.estimated_done_sec += self.estimate.pop(trial.index, 0.0)
        r = trial.record
        self.console.print(
            f"[{self.finished_before + self.done}/{self.plan_size}] study {r.study} trial {r.trial} "
            f"({escape(where)}): {outcome_line(r.workload, escape(r.submission), r.target, outcome)}",
            highlight=False,
        )

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning[/yellow]: {escape(message)}", highlight=False)

    def remaining_sec(self) -> float:
        """The worst-case estimates of the trials not yet finished, scaled by how the
        finished ones compared with theirs, shared among the workers."""
        ratio = self.actual_sec / self.estimated_done_sec if self.estimated_done_sec else 1.0
        now = time.monotonic()
        left = sum(self.estimate.values()) - sum(min(now - r.started, self.estimate.get(i, 0.0))
                                                 for i, r in self.running.items())
        return max(left, 0.0) * ratio / max(len(self.slots), 1)

    def __rich__(self) -> Group:
        elapsed = time.monotonic() - self.t0
        head = Text.assemble(
            (f"study {self.name}: ", "bold"),
            f"{self.finished_before + self.done}/{self.plan_size} done"
            + (f" ({self.finished_before} before this run)" if self.finished_before else "")
            + f", {len(self.running)} running, ",
            (f"{self.failed} failed", "red" if self.failed else ""),
            f", elapsed {clock(elapsed)}, remaining ~{clock(self.remaining_sec())}",
        )
        bar = ProgressBar(total=self.plan_size, completed=self.finished_before + self.done, width=60)
        table = Table(box=None, show_header=False, pad_edge=False)
        by_slot = {r.where: r for r in self.running.values()}
        # a pool's workers, idle or not; a launcher's jobs as they run
        for slot in self.slots + [where for where in by_slot if where not in self.slots]:
            run = by_slot.get(slot)
            if run is None:
                table.add_row(slot, Text("idle", style="dim"), "", "")
                continue
            table.add_row(slot, Text(run.trial.label),
                          f"{run.submission_time:.1f}/{run.trial.budget_sec:g} s of budget",
                          f"wall {clock(time.monotonic() - run.started)}")
        return Group(head, bar, table)
