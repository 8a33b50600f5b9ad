"""What a study prints before it runs (the plan; all of it under --dry-run) and after."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from algoperf_lite.results import Outcome, read_outcome
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.plan import PlannedTrial, worst_case_sec
from algoperf_lite.study.progress import clock


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def print_plan(console: Console, settings: StudyConfig, plan: list[PlannedTrial], states: dict[int, str],
               slots: list[str], full: bool) -> None:
    """The plan's size and worst-case time; with ``full``, per workload x submission."""
    s, r = settings, settings.rules
    per_study = 1 if s.ruleset == "self" else r.num_trials
    where = (f"{s.executor_kind} on {', '.join(slots)}" if slots else
             f"a job per trial on {'SLURM' if s.executor.get('cluster') == 'slurm' else 'this machine (submitit)'}")
    console.print(
        f"[bold]study {escape(s.name)}[/bold]: {s.ruleset} tuning, rules {r.preset} ({_count(per_study, 'trial')} x "
        f"{_count(r.num_studies, 'study', 'studies')} per workload and submission), seed {s.seed}, "
        f"scale {plan[0].record.scale}, {where}"
    )
    console.print(f"results: {s.results_dir}")
    count = Counter(states.values())
    todo = [t for t in plan if states[t.index] not in ("finished", "live")]
    if full:
        table = Table("workload", "submission", "trials", "budget (s)", "finished")
        cells: dict[tuple[str, str], list[PlannedTrial]] = {}
        for t in plan:
            cells.setdefault((t.record.workload, t.record.submission), []).append(t)
        for (workload, submission), trials in cells.items():
            budgets = sorted({t.budget_sec for t in trials})
            table.add_row(workload, escape(submission), str(len(trials)), ", ".join(f"{b:g}" for b in budgets),
                          str(sum(states[t.index] == "finished" for t in trials)))
        console.print(table)
    worst = worst_case_sec(todo, s.trial_overhead_sec)
    budgets = sum(t.budget_sec for t in todo)
    console.print(
        f"{len(plan)} trials: {count['finished']} finished (skipped), "
        f"{count['interrupted'] + count['damaged'] + count['killed']} interrupted "
        f"(rerun from scratch), {count['new']} new" + (f", {count['live']} in live jobs" if count["live"] else "")
    )
    if todo:
        parallel = f"; about {clock(worst / len(slots))} on {len(slots)} workers" if len(slots) > 1 else ""
        console.print(
            f"worst case for the {len(todo)} to run: {budgets:g} s of budgets + {len(todo)} x "
            f"{s.trial_overhead_sec:g} s set-up and eval allowance (trial_overhead_sec, an estimate) = "
            f"{clock(worst)} one after another{parallel}; trials that reach their target stop early"
        )


def _outcomes(plan: list[PlannedTrial]) -> list[tuple[PlannedTrial, Outcome]]:
    return [(t, o) for t in plan if (o := read_outcome(t.path)) is not None]


def print_summary(console: Console, settings: StudyConfig, plan: list[PlannedTrial], shown: int = 20) -> None:
    """Counts by status, and the failed or diverged trials with their reasons (the first
    ``shown``; every reason is in its trial's outcome.json)."""
    outcomes = _outcomes(plan)
    statuses = Counter(o.status for _, o in outcomes)
    console.print(
        f"[bold]study {escape(settings.name)}[/bold]: {len(outcomes)}/{len(plan)} trials finished ("
        + ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in statuses.most_common()) + ")"
    )
    errors = [(t, o) for t, o in outcomes if o.error]
    for trial, outcome in errors[:shown]:
        reason = outcome.error.strip().splitlines()[-1]
        console.print(f"  [red]{outcome.status}[/red]: {escape(trial.label)}: {escape(reason)}")
    if len(errors) > shown:
        console.print(f"  ... and {len(errors) - shown} more (each trial's outcome.json has its error)")
