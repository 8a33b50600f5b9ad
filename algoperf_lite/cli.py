"""The ``algoperf-lite`` command: parses the command line and dispatches to the command
(:mod:`algoperf_lite.commands`).

Errors in the user's input (:class:`UserError`) print one message and exit with code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import sys
from pathlib import Path

from rich.markup import escape

from algoperf_lite.console import stdout_console
from algoperf_lite.errors import UserError

console = stdout_console()
DESCRIPTION = "AlgoPerf's rules for comparing neural-network training algorithms, on workloads that run in minutes."


# Each command's module is imported when it runs: `algoperf-lite score` needs no torch,
# `--help` neither torch nor Hydra.

def cmd_run(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.run import run_command

    return run_command(args.overrides, cfg=args.cfg, console=console)


def cmd_study(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.study import study_command

    return study_command(args.overrides, dry_run=args.dry_run, console=console, status=args.status, cfg=args.cfg)


def cmd_check(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.check import check_command

    return check_command(args.submission, args.workloads or None)


def cmd_data(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.data import data_command

    return data_command(args.name, args.overrides, console)


def cmd_list(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.list import list_command

    return list_command(args.overrides, console)


def cmd_score(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.score import score_command

    return score_command(
        args.results_dir, args.times, max_tau=args.max_tau, integral=args.integral, strict=args.strict,
        reference=args.reference, metric=args.metric, trial_selection=args.trial_selection,
        algoperf_dir=args.algoperf, targets=args.targets,
    )


def cmd_report(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.report import report_command

    return report_command(args.results_dir, args.output, algoperf_dir=args.algoperf, targets=args.targets)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from algoperf_lite.commands.diagnose import diagnose_command
    from algoperf_lite.diagnose.settings import DiagnoseSettings

    settings = DiagnoseSettings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(DiagnoseSettings)})
    return diagnose_command(args.results_dir, settings, device=args.device, threads=args.threads,
                            submissions=_names(args.submissions), workloads=_names(args.workloads), force=args.force,
                            console=console)


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()] if value else []


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="algoperf-lite", description=DESCRIPTION)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    # --debug in any position: every subcommand takes it too (without resetting the top one's).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    run = add("run", help="train one submission on one workload (one trial)")
    run.add_argument("overrides", nargs="*", help="config overrides key=value (TrialConfig: algoperf_lite/trial/"
                                                  "config.py); hp.NAME=VALUE sets a hyperparameter")
    run.add_argument("--cfg", action="store_true", help="print the composed config and exit")
    run.set_defaults(func=cmd_run)

    study = add("study", help="run a whole study (every submission x workload x study x trial), "
                              "then score it and write the leaderboard")
    study.add_argument("overrides", nargs="*", help="config overrides key=value (StudyConfig: "
                                                    "algoperf_lite/study/config.py)")
    study.add_argument("--dry-run", action="store_true", help="print the plan and its worst-case time; run nothing")
    study.add_argument("--cfg", action="store_true", help="print the composed config and exit")
    study.add_argument("--status", action="store_true", help="show its trials done, running, queued and failed")
    study.set_defaults(func=cmd_study)

    check = add("check", help="try a submission for a few steps on every smoke workload")
    check.add_argument("submission", help="a name under submissions/ or a path")
    check.add_argument("workloads", nargs="*", help="only these workloads (default: every one)")
    check.set_defaults(func=cmd_check)

    data = add("data", help="datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    download = data_sub.add_parser("download", parents=[common],
                                   help="download a dataset into the data directory (needs the internet)")
    download.add_argument("name", nargs="?", help="a dataset name; without one, the names it knows")
    download.add_argument("overrides", nargs="*", help="data_dir=DIR (default: $ALGOPERF_LITE_DATA_DIR, "
                                                       "else ~/.cache/algoperf-lite)")
    download.set_defaults(func=cmd_data)

    lst = add("list", help="list workloads (with scales, targets, budgets) and submissions, and where each is from")
    lst.add_argument("overrides", nargs="*", help="workloads_path=[DIR,...] submissions_path=[DIR,...]")
    lst.set_defaults(func=cmd_list)

    score = add("score", help="score a results directory, a CSV of trial outcomes or AlgoPerf logs")
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
                       help="per study: the fastest trial (docs/rules.md; default) or AlgoPerf's first-eval pick "
                            "(default with --algoperf)")
    score.set_defaults(func=cmd_score)

    report = add("report", help="write the leaderboard page (one self-contained HTML file)")
    report.add_argument("results_dir", nargs="?", type=Path)
    report.add_argument("--algoperf", type=Path, metavar="DIR", help="AlgoPerf logs instead of a results directory")
    report.add_argument("--targets", help="with --algoperf: v0.5, v0.6 (default) or a targets JSON file")
    report.add_argument("-o", "--output", type=Path,
                        help="default: RESULTS_DIR/leaderboard.html (AlgoPerf logs: DIR_scores/leaderboard.html)")
    report.set_defaults(func=cmd_report)

    from algoperf_lite.diagnose.settings import DiagnoseSettings

    diagnose = add("diagnose", help="sharpness, loss landscapes and per-token losses of the best trials, from "
                                    "their saved weights (a study run with save_weights=true); writes "
                                    "RESULTS_DIR/diagnostics.json for the page")
    diagnose.add_argument("results_dir", type=Path)
    for f in dataclasses.fields(DiagnoseSettings):
        diagnose.add_argument(f"--{f.name.replace('_', '-')}", type=int, default=f.default,
                              help=f"{DIAGNOSE_HELP[f.name]} (default {f.default})")
    diagnose.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    diagnose.add_argument("--threads", type=int, default=1,
                          help="torch threads on a CPU (default 1: beside other work, more are often slower)")
    diagnose.add_argument("--submissions", help="only these, comma-separated")
    diagnose.add_argument("--workloads", help="only these, comma-separated")
    diagnose.add_argument("--force", action="store_true", help="recompute what an earlier run left unchanged")
    diagnose.set_defaults(func=cmd_diagnose)
    return parser


DIAGNOSE_HELP = {
    "batch_size": "examples in the fixed training batch (sequences for a language model)",
    "token_batches": "batches whose per-token losses make a language model's frequency buckets",
    "line_points": "losses on the line from the initial to the final weights",
    "grid": "the plane around the final weights is grid x grid losses",
    "max_products": "Hessian-vector products allowed for the sharpness",
    "seed": "of the fixed batches and of the plane's directions",
}


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
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT) or args.debug:
            raise
        # Every record is written atomically: nothing half-written stays, what finished is kept.
        console.print(f"[red]error:[/red] the disk is full ({escape(str(e))}); free some space and rerun the same "
                      f"command: finished trials are kept and unfinished ones rerun")
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
