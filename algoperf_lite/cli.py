"""The ``algoperf-lite`` command: parses, composes the Hydra config, calls the library.

Errors in the user's input (:class:`UserError`) print one message and exit with code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from algoperf_lite.errors import UserError

# Wide enough for the tables when piped to a log (rich assumes 80 columns there).
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def _register_rule_presets() -> None:
    """Offer configs/rules/*.yaml as the ``rules`` group to configs outside configs/
    (the presets stay in one place)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from algoperf_lite.paths import configs_dir

    for file in sorted((configs_dir() / "rules").glob("*.yaml")):
        ConfigStore.instance().store(group="rules", name=file.stem, node=OmegaConf.load(file))


def compose_config(config_name: str, overrides: list[str], subdir: str | None = None) -> Any:
    """The Hydra config ``configs/[<subdir>/]<config_name>.yaml`` with command-line
    overrides. ``run`` lives in configs/run/, apart from configs/study/: its ``study``
    key is a study index, which Hydra would otherwise read as that group's choice."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from algoperf_lite.paths import configs_dir

    from hydra.core.config_store import ConfigStore

    config_dir = configs_dir() / subdir if subdir else configs_dir()
    if subdir:
        _register_rule_presets()
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            return compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"bad override in {' '.join(overrides)!r}: {first}; overrides look like key=value") from e
    finally:
        # Registered for this compose only: a later compose of configs/ finds the same
        # presets as files, and Hydra warns about a schema of the same name.
        ConfigStore.instance().repo.pop("rules", None)


def _plain(value: Any) -> Any:
    """A config value as plain Python (a mapping node as a dict)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _typed(cfg: Any, key: str, cast: type, optional: bool = False) -> Any:
    """``cfg[key]`` as ``cast``, or a UserError naming the key and the expected type."""
    value = cfg[key]
    if value is None and optional:
        return None
    if cast is bool and isinstance(value, bool) or cast is not bool and isinstance(value, (str, int, float)) \
            and not isinstance(value, bool):
        try:
            return cast(value)
        except ValueError:
            pass
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[cast]
    raise UserError(f"{key}={value!r} is not valid: {key} must be {kind}{' or null' if optional else ''}")


def cmd_run(args: argparse.Namespace) -> int:
    from algoperf_lite.distributed import is_main_process
    from algoperf_lite.progress import EvalTable, outcome_line
    from algoperf_lite.rules import Rules
    from algoperf_lite.trial import TrialSpec, budget_scale_for, prepare_trial, run_prepared

    cfg = compose_config("run", args.overrides, subdir="run")
    if not is_main_process():  # under torchrun, rank 0 speaks for all
        console.quiet = True
    spec = TrialSpec(
        workload=_typed(cfg, "workload", str), submission=_typed(cfg, "submission", str),
        rules=Rules.from_mapping(cfg.rules), ruleset=_typed(cfg, "ruleset", str),
        study=_typed(cfg, "study", int), trial=_typed(cfg, "trial", int), root_seed=_typed(cfg, "seed", int),
        scale=_typed(cfg, "scale", str), device=_typed(cfg, "device", str),
        data_dir=_typed(cfg, "data_dir", str, optional=True), results_dir=_typed(cfg, "results_dir", str),
        stop_at_target=_typed(cfg, "stop_at_target", bool),
        eval_period_sec=_typed(cfg, "eval_period_sec", float, optional=True),
        eval_every_steps=_typed(cfg, "eval_every_steps", int, optional=True),
        compile=_typed(cfg, "compile", bool),
        max_steps=_typed(cfg, "max_steps", int, optional=True),
        budget_sec=_typed(cfg, "budget_sec", float, optional=True),
        threads=_typed(cfg, "threads", int, optional=True),
        budget_scale=budget_scale_for(_plain(cfg.budget_scale), _typed(cfg, "workload", str)),
    )
    trial = prepare_trial(spec)
    r = trial.record
    console.print(
        f"[bold]{escape(r['submission'])}[/bold] ({r['submission_form']}) on [bold]{r['workload']}[/bold] "
        f"({r['scale']}, {r['device']}), {r['ruleset']} tuning, study {r['study']} trial {r['trial']}, "
        f"seed {r['seed']}, batch {r['batch_size']} ({r['batch_size_source'].replace('_', ' ')}), "
        f"budget {r['budget_sec']:g} s"
    )
    if r["hyperparameters"]:
        console.print("hyperparameters: " + escape(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                            for k, v in r["hyperparameters"].items())))
    table = None if cfg.quiet else EvalTable(r["target"], console)
    _, outcome = run_prepared(trial, on_eval=table)
    console.print(outcome_line(r["workload"], escape(r["submission"]), r["target"], outcome))
    console.print(f"record: {trial.path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import torch

    from algoperf_lite.registry import SCALES, build_workload, workload_classes
    from algoperf_lite.submissions import available_submissions

    table = Table("workload", "family", "scale", "target", "budget (s)", "eval every (s)", "batch", "target set")
    for name, (family, _) in sorted(workload_classes().items()):
        for scale in SCALES:
            w = build_workload(name, scale, torch.device("cpu"))
            t = w.target
            table.add_row(name, family, scale, f"{t.metric} {'>=' if t.maximize else '<='} {t.value:g}",
                          f"{w.max_allowed_runtime_sec:g}", f"{w.eval_period_time_sec:g}",
                          str(w.default_batch_size),
                          "calibrated" if w.describe().get("calibrated") else "not yet calibrated")
    console.print(table)
    variants = [f"{name} (of {cls.variant_of})" for name, (_, cls) in sorted(workload_classes().items()) if cls.variant_of]
    console.print("held-out variants: " + ", ".join(variants))
    console.print("submissions: " + escape(", ".join(available_submissions())))
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from algoperf_lite.study.command import study_command

    return study_command(args.overrides, dry_run=args.dry_run)


def cmd_check(args: argparse.Namespace) -> int:
    from algoperf_lite.check import check_command

    return check_command(args.submission, args.workloads or None)


def cmd_data(args: argparse.Namespace) -> int:
    from algoperf_lite.download import download_command

    data_dir = None
    for override in args.overrides:
        key, sep, value = override.partition("=")
        if key != "data_dir" or not sep:
            raise UserError(f"bad argument {override!r}: `data download NAME` takes only data_dir=DIR")
        data_dir = value
    return download_command(args.name, data_dir)


def cmd_score(args: argparse.Namespace) -> int:
    from algoperf_lite.scoring.commands import score_command

    if sum(x is not None for x in (args.results_dir, args.times, args.algoperf)) != 1:
        raise UserError("give a results directory or --times FILE.csv or --algoperf DIR (one of them)")
    return score_command(
        args.results_dir, args.times, max_tau=args.max_tau, integral=args.integral, strict=args.strict,
        reference=args.reference, metric=args.metric, trial_selection=args.trial_selection,
        algoperf_dir=args.algoperf, targets=args.targets,
    )


def cmd_report(args: argparse.Namespace) -> int:
    from algoperf_lite.scoring.commands import report_command

    if (args.results_dir is None) == (args.algoperf is None):
        raise UserError("give a results directory or --algoperf DIR (one of the two)")
    return report_command(args.results_dir, args.output, algoperf_dir=args.algoperf, targets=args.targets)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="algoperf-lite", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train one submission on one workload (one trial)")
    run.add_argument("overrides", nargs="*", help="config overrides key=value (configs/run/run.yaml)")
    run.set_defaults(func=cmd_run)

    study = sub.add_parser("study", help="run a whole study (every submission x workload x study x trial), "
                                         "then score it and write the leaderboard")
    study.add_argument("overrides", nargs="*", help="config overrides key=value (configs/study.yaml)")
    study.add_argument("--dry-run", action="store_true", help="print the plan and its worst-case time; run nothing")
    study.set_defaults(func=cmd_study)

    check = sub.add_parser("check", help="try a submission for a few steps on every smoke workload")
    check.add_argument("submission", help="a name under submissions/ or a path")
    check.add_argument("workloads", nargs="*", help="only these workloads (default: every one)")
    check.set_defaults(func=cmd_check)

    data = sub.add_parser("data", help="datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    download = data_sub.add_parser("download", help="download a dataset (needs the internet)")
    download.add_argument("name")
    download.add_argument("overrides", nargs="*", help="data_dir=DIR (default: $ALGOPERF_LITE_DATA_DIR)")
    download.set_defaults(func=cmd_data)

    lst = sub.add_parser("list", help="list workloads (with scales, targets, budgets) and submissions")
    lst.set_defaults(func=cmd_list)

    score = sub.add_parser("score", help="score a results directory, a CSV of trial outcomes or AlgoPerf logs")
    score.add_argument("results_dir", nargs="?", type=Path, help="a results directory")
    score.add_argument("--times", type=Path, help="CSV: submission, workload, study, trial, time_to_target")
    score.add_argument("--algoperf", type=Path, metavar="DIR",
                       help="AlgoPerf logs: [<ruleset>/]<submission>/study_<k>/<workload>_<framework>/trial_<i>/")
    score.add_argument("--targets", help="with --algoperf: v0.5, v0.6 (default) or a targets JSON file")
    score.add_argument("--max-tau", type=float, default=4.0, help="r_max of the performance profile")
    score.add_argument("--integral", choices=["trapezoid", "exact"], default="trapezoid",
                       help="AlgoPerf's 100-point trapezoid rule (default) or the exact step integral")
    score.add_argument("--metric", choices=["time", "steps"], default="time", help="time or steps to target")
    score.add_argument("--reference", help="submission for the geometric-mean speedup")
    score.add_argument("--strict", action="store_true", help="refuse irregular input instead of warning")
    score.add_argument("--trial-selection", choices=["fastest", "first_eval"], default=None,
                       help="per study: the fastest trial (rules.md; default) or AlgoPerf's first-eval pick "
                            "(default with --algoperf)")
    score.set_defaults(func=cmd_score)

    report = sub.add_parser("report", help="write the leaderboard page (one self-contained HTML file)")
    report.add_argument("results_dir", nargs="?", type=Path)
    report.add_argument("--algoperf", type=Path, metavar="DIR", help="AlgoPerf logs instead of a results directory")
    report.add_argument("--targets", help="with --algoperf: v0.5, v0.6 (default) or a targets JSON file")
    report.add_argument("-o", "--output", type=Path,
                        help="default: RESULTS_DIR/leaderboard.html (AlgoPerf logs: DIR_scores/leaderboard.html)")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # Flags may come after overrides (`study study=smoke --dry-run results_dir=D`):
    # the leftover key=value tokens are overrides too.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "overrides") or any(t.startswith("-") for t in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return args.func(args)
    except UserError as e:
        if args.debug:
            raise
        console.print(f"[red]error:[/red] {escape(str(e))}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
