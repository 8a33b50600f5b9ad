"""Trials as jobs of a Hydra launcher plugin (configs/executor/submitit_local.yaml,
slurm.yaml, ray.yaml): the plugin submits one job per trial; each job runs its planned
trial the way the pool does, in a supervised child process, so that a crash or a hang
is recorded as a failed trial even on a cluster node. The jobs write to the shared
results dir; this process reports each trial as its outcome appears.

Each trial's job id is recorded in ``launcher/jobs.json`` as soon as submitit has
submitted it, so that a rerun of the study (its first process gone, its jobs maybe
still queued or running) asks the scheduler through submitit and leaves those trials
alone instead of submitting them twice."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from algoperf_lite.atomic import write_json_atomic
from algoperf_lite.configs import register_schemas
from algoperf_lite.errors import UserError
from algoperf_lite.paths import configs_dir
from algoperf_lite.results import JOBS_FILE, LAUNCHER_DIR, read_outcome
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.study.pool import run_pool
from algoperf_lite.study.progress import StudyEvents

WATCH_SEC = 2.0
LIVE_STATES = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING")


class LauncherTask:
    """The task function every job runs (pickled to the job): the job's number in the
    sweep -> its trial."""

    def __init__(self, trials: list[PlannedTrial], settings: StudyConfig):
        self.trials = list(trials)
        self.settings = settings

    def __call__(self, cfg: DictConfig) -> str:
        from hydra.core.hydra_config import HydraConfig
        from rich.console import Console

        from algoperf_lite.study.progress import StudyProgress

        trial = self.trials[HydraConfig.get().job.num]
        with StudyProgress(self.settings.name, 1, [trial], ["job"], self.settings.trial_overhead_sec,
                           Console(highlight=False), quiet=True) as events:
            # one worker with all the node's cores, on the device the node gives it
            run_pool(dataclasses.replace(self.settings, workers=1), [trial], ["auto"], events,
                     log_name=f"trial_{trial.index}")
        return str(trial.path)


class NodeTask:
    """A job that runs ``fn(*args)`` on a node and returns its value (pickled to the job)."""

    def __init__(self, fn: Any, *args: Any):
        self.fn, self.args = fn, args

    def __call__(self, cfg: DictConfig) -> Any:
        return self.fn(*self.args)


def run_on_a_node(settings: StudyConfig, overrides: list[str], fn: Any, *args: Any) -> Any:
    """``fn(*args)`` as one job of the study's launcher (e.g. measuring a node's speed)."""
    (job,) = _launcher(settings, overrides, NodeTask(fn, *args)).launch([list(overrides)], initial_job_idx=0)
    return job.return_value


def _submitted(base: Path, since: float) -> dict[int, tuple[str, Path]]:
    """The jobs submitit has submitted since ``since``: job number in the sweep -> (job id,
    folder), read from the ``<job id>_submitted.pkl`` it writes at submission."""
    from submitit.core.utils import DelayedSubmission

    found = {}
    for pkl in base.glob("*/*_submitted.pkl"):
        if pkl.stat().st_mtime < since:
            continue
        try:
            job_num = DelayedSubmission.load(pkl).args[2]  # Hydra's (overrides, dir key, job num, ...)
        except Exception:  # noqa: BLE001 (being written, or not a Hydra job: not ours)
            continue
        found[int(job_num)] = (pkl.name.removesuffix("_submitted.pkl"), pkl.parent)
    return found


def _record_jobs(settings: StudyConfig, trials: list[PlannedTrial], jobs: dict[int, tuple[str, Path]]) -> None:
    path = settings.results_path / JOBS_FILE
    recorded = _read_jobs(path)
    cluster = "local" if "LocalLauncher" in str(settings.executor.get("_target_")) else "slurm"
    for num, (job_id, folder) in jobs.items():
        if num < len(trials):
            recorded[str(trials[num].path.relative_to(settings.results_path))] = {
                "job_id": job_id, "folder": str(folder), "cluster": cluster}
    write_json_atomic(path, recorded)


def _read_jobs(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def job_state(job: dict[str, Any]) -> str:
    """The scheduler's state of a recorded job (SLURM's names; UNKNOWN when it cannot say).
    A local job's id is its process id: RUNNING while that process lives."""
    if job.get("cluster") == "local":
        try:
            os.kill(int(job["job_id"]), 0)
        except (ProcessLookupError, ValueError):
            return "FINISHED"
        except PermissionError:
            return "RUNNING"
        return "RUNNING"
    import submitit

    try:
        return str(submitit.SlurmJob(folder=job["folder"], job_id=job["job_id"]).state).upper()
    except Exception:  # noqa: BLE001 (no sacct here, or the job is too old for it)
        return "UNKNOWN"


def live_jobs(results_dir: Path) -> dict[str, str]:
    """Trial folder (relative) -> state, for each recorded job still queued or running."""
    states = {trial: job_state(job) for trial, job in _read_jobs(Path(results_dir) / JOBS_FILE).items()}
    return {trial: state for trial, state in states.items() if state in LIVE_STATES}


def _watch(settings: StudyConfig, trials: list[PlannedTrial], events: StudyEvents, stop: threading.Event) -> None:
    """Record the jobs' ids as they are submitted, and report trials as their outcome
    appears (the jobs run elsewhere); one last look once the launcher has returned."""
    waiting, since, recorded = list(trials), time.time() - 1, set()
    base = Path(str(settings.executor.get("submitit_folder", ""))).parent
    while waiting:
        stopping = stop.wait(WATCH_SEC)
        if base.is_dir():
            jobs = {n: j for n, j in _submitted(base, since).items() if n not in recorded}
            if jobs:
                _record_jobs(settings, trials, jobs)
                recorded |= set(jobs)
        outcomes = {t.index: o for t in waiting if (o := read_outcome(t.path)) is not None}
        for trial in waiting:
            if trial.index in outcomes:
                events.finished(trial, outcomes[trial.index], "launcher")
        waiting = [t for t in waiting if t.index not in outcomes]
        if stopping:
            return


def _launcher(settings: StudyConfig, overrides: list[str], task: LauncherTask) -> Any:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import setup_globals
    from hydra.types import HydraContext
    from hydra.utils import instantiate

    from hydra._internal.callbacks import Callbacks

    setup_globals()
    register_schemas()
    # Hydra overrides, not edits of the composed config: each job composes the config anew.
    where = [f"hydra.sweep.dir=${{results_dir}}/{LAUNCHER_DIR}", "hydra.job.name=study"]
    with initialize_config_dir(config_dir=str(configs_dir()), version_base=None):
        cfg = compose("study", [*overrides, *where], return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()
    params = {k: v for k, v in settings.executor.items() if k != "kind"}
    try:
        launcher = instantiate(params)
    except Exception as e:  # most often: the plugin is not installed
        raise UserError(f"cannot start the launcher {params.get('_target_')}: {e}; install its plugin "
                        f"(pip install hydra-submitit-launcher, or hydra-ray-launcher)") from e
    launcher.setup(hydra_context=HydraContext(config_loader=loader, callbacks=Callbacks(cfg)),
                   task_function=task, config=cfg)
    return launcher


def run_launcher(settings: StudyConfig, trials: list[PlannedTrial], overrides: list[str],
                 events: StudyEvents) -> None:
    if not trials:
        return
    launcher = _launcher(settings, overrides, LauncherTask(trials, settings))
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(settings, trials, events, stop), daemon=True)
    watcher.start()
    try:
        launcher.launch([list(overrides) for _ in trials], initial_job_idx=0)  # job k runs trials[k]
    except Exception as e:  # a job the cluster killed (timeout, node failure): a rerun resumes its trial
        print(f"a launcher job failed ({type(e).__name__}: {e}); its trial is left for a rerun to resume")
    finally:
        stop.set()
        watcher.join()
