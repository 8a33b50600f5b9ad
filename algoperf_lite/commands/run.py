"""``algoperf-lite run``: one trial of a submission on a workload, with a live table of
its evals; :func:`run_trial` is what ``algoperf_lite.run`` calls too."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from algoperf_lite.configs import config_yaml, load_config
from algoperf_lite.console import stdout_console, warnings_as_lines
from algoperf_lite.locks import check_free
from algoperf_lite.results import Outcome
from algoperf_lite.study import isolation
from algoperf_lite.trial.config import TrialConfig
from algoperf_lite.trial.distributed import is_main_process
from algoperf_lite.trial.eval_table import EvalTable, outcome_line
from algoperf_lite.trial.run import PreparedTrial, prepare_trial, run_prepared
from algoperf_lite.trial.speed import SharedCoreWarning


def run_command(overrides: list[str], cfg: bool = False, console: Console | None = None) -> int:
    """Run the trial that ``overrides`` of configs/run/run.yaml describe (with ``cfg``, print
    that config instead). Bad input raises UserError before anything trains."""
    console = console or stdout_console()
    if cfg:
        console.print(config_yaml("run", overrides), markup=False, end="")
        return 0
    run_trial(load_config("run", overrides), console)
    return 0


def run_trial(config: TrialConfig, console: Console) -> tuple[PreparedTrial, Outcome]:
    """Check that the results dir is free, prepare the trial, say what runs, train it (its
    evals as a table unless ``quiet``) and say how it ended; the trial and its outcome."""
    check_free(Path(config.results_dir))  # a study's directory takes no stray runs
    if not is_main_process():  # under torchrun, rank 0 speaks for all
        console.quiet = True
    with warnings_as_lines(console, SharedCoreWarning):  # budget_scale measured on a busy core
        trial = prepare_trial(config)
    r = trial.record
    console.print(
        f"[bold]{escape(r.submission)}[/bold] ({r.submission_form}) on [bold]{r.workload}[/bold] "
        f"({r.scale}, {r.device}), {r.ruleset} tuning, study {r.study} trial {r.trial}, "
        f"seed {r.seed}, batch {r.batch_size} ({r.batch_size_source.replace('_', ' ')}), "
        f"budget {r.budget_sec:g} s"
    )
    if r.hyperparameters:
        chosen = " (a chosen point: not a tuning trial)" if r.point_source == "chosen" else ""
        console.print(f"hyperparameters{chosen}: " + escape(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                            for k, v in r.hyperparameters.items())))
    with isolation.ends_what_it_starts():  # a trial ends completely
        outcome = run_prepared(trial, on_eval=None if config.quiet else EvalTable(r.target, console),
                               overwrite=config.overwrite)
    console.print(outcome_line(r.workload, escape(r.submission), r.target, outcome))
    console.print(f"record: {trial.path}")
    return trial, outcome
