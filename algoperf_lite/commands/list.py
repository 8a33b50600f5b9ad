"""``algoperf-lite list``: the workloads (scales, targets, budgets, eval periods, batch
sizes, whether calibrated), their held-out variants, and the submissions, each with the
folder of the search path it comes from."""

from __future__ import annotations

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from algoperf_lite.configs import load_config
from algoperf_lite.console import stdout_console
from algoperf_lite.paths import search_path
from algoperf_lite.trial.submissions import available_submissions
from algoperf_lite.trial.workloads import SCALES, build_workload, workload_classes


def list_command(overrides: list[str], console: Console | None = None) -> int:
    """Print what ``workloads_path`` and ``submissions_path`` (in ``overrides``) make available."""
    console = console or stdout_console()
    config = load_config("run", overrides)  # for workloads_path and submissions_path
    registered = sorted(workload_classes(config.workloads_path).items())
    table = Table("workload", "family", "scale", "target", "budget (s)", "eval every (s)", "batch", "target set")
    for name, entry in registered:
        for scale in SCALES:
            w = build_workload(name, scale, torch.device("cpu"), workloads_path=config.workloads_path)
            t = w.target
            table.add_row(name, entry.family, scale, f"{t.metric} {t.comparison} {t.value:g}",
                          f"{w.max_allowed_runtime_sec:g}", f"{w.eval_period_time_sec:g}",
                          str(w.default_batch_size),
                          "calibrated" if w.describe().get("calibrated") else "not yet calibrated")
    console.print(table)
    variants = [f"{name} (of {entry.cls.variant_of})" for name, entry in registered if entry.cls.variant_of]
    console.print("held-out variants: " + ", ".join(variants))
    # Where each comes from: one line per folder of the search path (paths are too long for a table).
    for kind, folders in (("workloads", {n: e.folder.parent for n, e in registered}),
                          ("submissions", {n: f.parent for n, f in available_submissions(config.submissions_path).items()})):
        for i, root in enumerate(search_path(kind, getattr(config, f"{kind}_path"))):
            names = sorted(n for n, folder in folders.items() if folder == root)
            where = "built-in" if i == 0 else "added"
            console.print(f"{kind} ({where}, {escape(str(root))}): {escape(', '.join(names)) or '(none)'}")
    return 0
