"""Trackers: a trial's evals and settings sent to TensorBoard or Weights & Biases
(``logger=tensorboard`` / ``logger=wandb``; off by default).

A tracker is a view of the record, never the record: ``evals.csv`` and ``outcome.json``
are written whatever it does. It sees only what the record sees, at the same moments:
its settings before training, each eval row after the clock has paused for the eval
(``run_prepared`` calls it from the eval callback), and the outcome after training, so
nothing it does is inside the timed region. It runs where the trial runs (a pool worker,
a launcher job), on rank 0 under torchrun.

Where it writes: ``<trial folder>/tensorboard/`` or ``<trial folder>/wandb/``, or with
``logger_dir=DIR`` the same relative path under DIR (``DIR/<ruleset>/<submission>/
study_<k>/<workload>/trial_<i>/``), so that ``tensorboard --logdir`` on the results dir
(or on DIR) shows every trial of a study.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from algoperf_lite import results
from algoperf_lite.errors import UserError

# logger name -> (module that must import, the pyproject extra that installs it)
LOGGERS = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb")}
TIME_COLUMNS = ("submission_time", "eval_time")


@dataclass(frozen=True)
class LoggerChoice:
    """Which tracker a trial logs to, and the folder its logs go under (None: the trial's)."""

    kind: str
    logger_dir: str | None = None

    def folder(self, trial_path: Path) -> Path:
        """Where the tracker writes for the trial at ``trial_path`` (RESULTS_DIR/<ruleset>/.../trial_<i>):
        TensorBoard's event files go there, W&B makes its ``wandb/`` folder there."""
        if self.logger_dir is not None:
            return Path(self.logger_dir).expanduser().resolve() / results.relative_trial_path(trial_path)
        return Path(trial_path) / results.TENSORBOARD_DIR if self.kind == "tensorboard" else Path(trial_path)


def resolve(logger: str | None, logger_dir: str | None = None) -> LoggerChoice | None:
    """The trial's tracker, checked before anything trains: an unknown name, or a tracker
    whose package is not installed, is a UserError naming the extra to install."""
    if logger is None:
        return None
    if logger not in LOGGERS:
        raise UserError(f"logger={logger!r} is not valid: logger must be null, {' or '.join(LOGGERS)}")
    module, extra = LOGGERS[logger]
    if importlib.util.find_spec(module) is None:
        raise UserError(f"logger={logger} needs the {module} package, which is not installed: "
                        f"pip install 'algoperf-lite[{extra}]' (or pip install {module})")
    return LoggerChoice(logger, logger_dir)


class Tracker(Protocol):
    def log_eval(self, row: dict[str, Any]) -> None: ...

    def finish(self, outcome: Any) -> None: ...


def start(choice: LoggerChoice | None, record: Any, trial_path: Path) -> Tracker | None:
    """Open the tracker for a trial about to train (None when ``choice`` is None). A tracker
    that cannot start is a UserError, before training, and leaves no files of its own."""
    if choice is None:
        return None
    folder = choice.folder(trial_path)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kind = TensorBoardTracker if choice.kind == "tensorboard" else WandbTracker
        return Guarded(choice.kind, kind(folder, record, trial_path))
    except UserError:
        _remove(created)
        raise
    except Exception as e:  # noqa: BLE001 (the tracker's own errors: not logged in, bad setting, ...)
        _remove(created)
        raise UserError(f"logger={choice.kind} could not start: {type(e).__name__}: {e}") from e


def _remove(created: list[Path]) -> None:
    """Undo what :func:`start` created (the deepest folder first), leaving anything else."""
    if created:
        shutil.rmtree(created[0], ignore_errors=True)
    for path in created[1:]:
        try:
            path.rmdir()
        except OSError:
            break


class Guarded:
    """A tracker failing mid-trial must not cost the trial (the record is the result): its
    first error stops its logging with a warning, and it is still closed at the end."""

    def __init__(self, kind: str, tracker: Any):
        self.kind, self.tracker, self.active = kind, tracker, True

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except Exception as e:  # noqa: BLE001
            if self.active:
                print(f"warning: logger={self.kind} stopped logging this trial: {type(e).__name__}: {e}",
                      file=sys.stderr)
            self.active = False

    def log_eval(self, row: dict[str, Any]) -> None:
        if self.active:
            self._call(self.tracker.log_eval, row)

    def finish(self, outcome: Any) -> None:
        if self.active:
            self._call(self.tracker.log_outcome, outcome)
        self._call(self.tracker.close, outcome)


def settings_of(record: Any) -> dict[str, Any]:
    """The settings a tracker shows for a trial: the record as spec.json holds it."""
    return record.to_json()


def _flat_hparams(record: Any) -> dict[str, Any]:
    """The scalars that name a trial in TensorBoard's HParams table: who, where, and its point."""
    data = record.to_json()
    keys = ("workload", "submission", "ruleset", "study", "trial", "seed", "batch_size", "budget_sec", "scale",
            "device")
    flat = {k: data[k] for k in keys if data.get(k) is not None}
    for name, value in (record.hyperparameters or {}).items():
        flat[f"hp/{name}"] = value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
    return flat


def _metrics(row: dict[str, Any]) -> dict[str, float]:
    """An eval row's numbers, with the clock columns under time/."""
    out = {}
    for key, value in row.items():
        if key == "step" or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        out[f"time/{key}" if key in TIME_COLUMNS else key] = float(value)
    return out


class TensorBoardTracker:
    """Scalars per eval against the step. Each eval's event time is the trial's start
    plus its submission time, so TensorBoard's "relative" axis reads submission time.
    The settings go to the Text tab and to the HParams tab (with time to target)."""

    def __init__(self, folder: Path, record: Any, trial_path: Path):
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        self.writer = SummaryWriter(log_dir=str(folder))
        self.started = time.time()
        self.writer.add_text("settings", "```\n" + json.dumps(settings_of(record), indent=2, default=str) + "\n```",
                             walltime=self.started)
        target = f"validation/{record.target.metric}" if record.target is not None else None
        metric_names = [m for m in (target, "outcome/time_to_target", "outcome/reached") if m]
        # Into this run's own event file (SummaryWriter.add_hparams would open a run of its own).
        for summary in hparams(_flat_hparams(record), {m: 0.0 for m in metric_names}):
            self.writer.file_writer.add_summary(summary, walltime=self.started)
        self.writer.flush()
        self.last_step = 0

    def log_eval(self, row: dict[str, Any]) -> None:
        walltime = self.started + float(row["submission_time"])
        for tag, value in _metrics(row).items():
            self.writer.add_scalar(tag, value, global_step=int(row["step"]), walltime=walltime)
        self.last_step = int(row["step"])
        self.writer.flush()  # now, during the eval, not from the writer's thread while training runs

    def log_outcome(self, outcome: Any) -> None:
        step = outcome.steps_to_target if outcome.reached else outcome.steps or self.last_step
        self.writer.add_scalar("outcome/reached", float(outcome.reached), global_step=step)
        if outcome.reached:
            self.writer.add_scalar("outcome/time_to_target", outcome.time_to_target, global_step=step)
        self.writer.add_text("outcome", "```\n" + json.dumps(outcome.to_json(), indent=2) + "\n```", global_step=step)

    def close(self, outcome: Any) -> None:
        self.writer.close()


class WandbTracker:
    """A W&B run per trial: the record as its config, each eval logged at its step with
    submission time as the charts' x axis, the outcome as its summary. The project is
    ``$WANDB_PROJECT`` (else ``algoperf-lite``); W&B's own variables (``WANDB_MODE``,
    ``WANDB_ENTITY``, ...) apply. Its console capture and system-metrics sampling are off:
    they would run while the submission is timed."""

    def __init__(self, folder: Path, record: Any, trial_path: Path):
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or "algoperf-lite",
            dir=str(folder),
            name=f"{record.submission}/{record.workload}/study_{record.study}/trial_{record.trial}",
            group=results.results_dir_of(trial_path).name,  # one study
            job_type=record.workload,
            tags=[record.ruleset, record.submission, record.workload],
            config=settings_of(record),
            reinit="create_new",  # a pool worker runs many trials: each its own run
            settings=wandb.Settings(console="off", x_disable_stats=True, silent=True),
        )
        self.run.define_metric("time/submission_time")
        for prefix in ("train/*", "validation/*", "test/*", "time/eval_time"):
            self.run.define_metric(prefix, step_metric="time/submission_time")

    def log_eval(self, row: dict[str, Any]) -> None:
        self.run.log(_metrics(row), step=int(row["step"]))

    def log_outcome(self, outcome: Any) -> None:
        self.run.summary.update({f"outcome/{k}": v for k, v in outcome.to_json().items()})

    def close(self, outcome: Any) -> None:
        self.run.finish(exit_code=0 if outcome.status != "failed" else 1)
