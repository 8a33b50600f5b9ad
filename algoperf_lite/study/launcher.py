"""Trials as jobs of a cluster's scheduler, submitted with submitit
(configs/executor/slurm.yaml, submitit_local.yaml): one job per trial, all in one job
array; each job runs its trial the way the pool does, in a supervised child process, so
that a crash or a hang is recorded as a failed trial even on a cluster node.

This process follows every job until it has ended, its own and those of an earlier run
of the study still queued or running, and reports each trial when its job has ended: with
the outcome the job wrote, else recorded failed with the job's error or the state SLURM
ended it in. Nothing is scored before every job has ended.

Each trial's job is recorded in ``launcher/jobs.json`` once submitted, so that a rerun
(its first process gone, its jobs maybe still queued or running) follows those jobs
instead of submitting their trials twice."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
from pathlib import Path
from typing import Any

from algoperf_lite.atomic import write_json_atomic
from algoperf_lite.errors import UserError
from algoperf_lite.json_files import UnreadableFile, read_json
from algoperf_lite.results import JOBS_FILE, Outcome, read_outcome, trial_lock_file
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.study.pool import run_pool
from algoperf_lite.study.progress import StudyEvents, StudyProgress
from algoperf_lite.study.resume import record_failure
from algoperf_lite.study.scheduler import (GONE, NEVER_STARTS, JobState, SchedulerError, accounting, final_state,
                                           job_states)

WATCH_SEC = 2.0
PATIENCE_SEC = 300.0  # how long the scheduler may fail to answer before the study stops (its jobs go on)
OWN_KEYS = ("kind", "cluster", "submitit_folder")  # the executor config's keys that are not submitit's
# The states in which SLURM ended a job (its processes signalled: a trial killed with them).
KILLED_BY_SCHEDULER = frozenset({"CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "OUT_OF_MEMORY", "DEADLINE"})
# What to change when sbatch refuses a job, by the words of its refusal.
SBATCH_HINTS = (
    ("gres", "set executor.gpus_per_node=0 on nodes without GPUs, or at most the count a node has "
             "(executor.gres=gpu:TYPE:N names a type; sinfo -o '%P %G' lists them)"),
    ("partition", "set executor.partition=NAME (sinfo lists the partitions)"),
    ("account", "set executor.account=NAME (sacctmgr show associations user=$USER lists yours)"),
    ("qos", "set executor.qos=NAME, or null"),
    ("time limit", "lower executor.timeout_min to the partition's limit (sinfo -o '%P %l')"),
    ("memory", "lower executor.mem_gb to what a node has (sinfo -o '%P %m', in MB)"),
    ("node configuration", "lower executor.cpus_per_task, mem_gb or gpus_per_node to what a node of the partition "
                           "has (sinfo -o '%P %c %m %G')"),
)


@dataclasses.dataclass(frozen=True)
class Job:
    """A job as ``launcher/jobs.json`` records it."""

    job_id: str
    folder: str  # submitit's folder of the job: its pickles and logs
    cluster: str  # slurm | local

    def result(self) -> tuple[str, Any] | None:
        """submitit's ("success", value) or ("error", traceback) of the job, None if it wrote none."""
        from submitit.core.utils import JobPaths, pickle_load

        path = JobPaths(self.folder, self.job_id).result_pickle
        try:
            return pickle_load(path)
        except FileNotFoundError:
            return None
        except Exception as e:  # noqa: BLE001 (truncated, or a value this process cannot unpickle)
            return "error", f"its result could not be read ({path}): {type(e).__name__}: {e}"

    def log_tail(self, lines: int = 5) -> str:
        from submitit.core.utils import JobPaths

        path = JobPaths(self.folder, self.job_id).stderr
        try:
            text = path.read_text(errors="replace").strip()
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def run_trial_job(trial: PlannedTrial, settings: StudyConfig) -> None:
    """What a job runs (on a node): its trial, as the pool runs one, with all the node's
    cores and the device the node gives it."""
    from rich.console import Console

    with StudyProgress(settings.name, 1, [trial], ["job"], settings.trial_overhead_sec,
                       Console(highlight=False), quiet=True) as events:
        run_pool(dataclasses.replace(settings, workers=1), [trial], ["auto"], events,
                 log_name=f"trial_{trial.index}")


def cluster_of(settings: StudyConfig) -> str:
    return str(settings.executor.get("cluster", "slurm"))


def accounting_note(settings: StudyConfig) -> str | None:
    """What a study on a SLURM cluster without accounting cannot know (None: nothing)."""
    off = accounting() if cluster_of(settings) == "slurm" else None
    if off is None:
        return None
    return (f"SLURM accounting is off on this cluster ({off}): the study follows its jobs with squeue alone, which "
            f"forgets a job MinJobAge after it ends; a job that ended while no study watched it is reported without "
            f"SLURM's final state")


def _executor(settings: StudyConfig) -> Any:
    """submitit's executor for the study's executor config: its generic keys as they are
    (timeout_min, gpus_per_node, ...), every other key as the cluster's own (partition ->
    slurm_partition); null means SLURM's default."""
    try:
        import submitit
    except ImportError as e:
        raise UserError("executor=slurm and executor=submitit_local need submitit: "
                        "pip install 'algoperf-lite[cluster]'") from e
    config, cluster = settings.executor, cluster_of(settings)
    if cluster not in ("slurm", "local"):
        raise UserError(f"executor.cluster must be slurm or local, got {cluster!r}")
    executor = submitit.AutoExecutor(folder=str(config["submitit_folder"]), cluster=cluster)
    generic = set(submitit.AutoExecutor._valid_parameters())
    valid = generic | set(type(executor._executor)._valid_parameters())
    unknown = [k for k in config if k not in OWN_KEYS and k not in valid]
    if unknown:
        raise UserError(f"executor.{unknown[0]} is not a setting of submitit's {cluster} executor; its settings: "
                        f"{', '.join(sorted(valid))}")
    try:
        executor.update_parameters(**{k if k in generic else f"{cluster}_{k}": v for k, v in config.items()
                                      if k not in OWN_KEYS and v is not None})
    except AssertionError as e:  # submitit's word for a value of the wrong type
        raise UserError(f"the executor config: {e}") from e
    return executor


def _submit(settings: StudyConfig, calls: list[tuple[Any, tuple[Any, ...]]]) -> list[Job]:
    """One job per ``(fn, args)``, all in one job array; a refusal by the scheduler is a
    UserError naming the setting to change."""
    from submitit.core.utils import FailedJobError

    executor, cluster = _executor(settings), cluster_of(settings)
    quiet = io.StringIO()  # submitit prints sbatch's refusal itself: it is said once, below
    try:
        with contextlib.redirect_stderr(quiet), executor.batch():
            submitted = [executor.submit(fn, *args) for fn, args in calls]
    except FailedJobError as e:
        said = str(e).strip() or quiet.getvalue().strip()
        lines = [line.removeprefix("sbatch: error: ") for line in said.splitlines() if line.strip()]
        what = "; ".join(dict.fromkeys(lines)) or "no reason given"
        hint = next((h for words, h in SBATCH_HINTS if words in what.lower()), None)
        raise UserError(f"SLURM refused the study's jobs (sbatch: {what}); nothing was submitted: "
                        + (hint or "change the executor.* setting it names (configs/executor/slurm.yaml)")) from None
    return [Job(j.job_id, str(j.paths.folder), cluster) for j in submitted]


def run_on_a_node(settings: StudyConfig, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` as one job of the study's cluster (e.g. measuring a node's speed)."""
    (job,) = _submit(settings, [(fn, args)])
    ask = _Scheduler(warn=lambda message: None)
    while (states := ask([job])) is None or states[job.job_id].live:
        time.sleep(WATCH_SEC)
    state, result = states[job.job_id], job.result()
    if result is None or result[0] != "success":
        raise RuntimeError(f"the job measuring a node's speed failed: {_job_failure(job, state, result)[0]}")
    return result[1]


def _read_jobs(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path)
    except UnreadableFile:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def recorded_jobs(results_dir: Path) -> dict[str, Job]:
    """Trial folder (relative) -> the job last submitted for it."""
    out = {}
    for trial, entry in _read_jobs(Path(results_dir) / JOBS_FILE).items():
        try:
            out[trial] = Job(str(entry["job_id"]), str(entry["folder"]), str(entry["cluster"]))
        except (KeyError, TypeError):
            continue
    return out


def live_jobs(results_dir: Path) -> dict[str, tuple[Job, JobState]]:
    """Trial folder (relative) -> its job and state, for each recorded job still queued or
    running. A UserError if the scheduler cannot say (the trials would be run twice)."""
    jobs = recorded_jobs(results_dir)
    try:
        states = _states(list(jobs.values()))
    except SchedulerError as e:
        raise UserError(f"{results_dir / JOBS_FILE} records jobs of an earlier run, and the scheduler cannot "
                        f"say whether they still run ({e}); rerun where it answers (overwrite=true starts "
                        f"over, leaving those jobs to write into it)") from e
    return {trial: (job, states[job.job_id]) for trial, job in jobs.items() if states[job.job_id].live}


def _record(settings: StudyConfig, jobs: dict[str, Job]) -> None:
    """Add ``jobs`` (trial folder -> job) to launcher/jobs.json."""
    path = settings.results_path / JOBS_FILE
    write_json_atomic(path, {**_read_jobs(path), **{t: dataclasses.asdict(j) for t, j in jobs.items()}})


def _job_failure(job: Job, state: JobState, result: tuple[str, Any] | None) -> tuple[str, bool]:
    """Why a job ended without its trial's outcome, and whether a rerun should retry the
    trial: yes when the scheduler ended the job (whatever the job said as it went), no
    when the job raised on its own."""
    ended = state.state if state.state != GONE else final_state(job.job_id) if job.cluster == "slurm" else None
    killed = ended in KILLED_BY_SCHEDULER
    error = str(result[1]).strip() if result is not None and result[0] == "error" else None
    if error and not killed:
        return f"its job {job.job_id} raised: {error}", False
    if error:
        return f"its job {job.job_id} ended {ended}, raising as it went: {error.splitlines()[-1]}", True
    if result is not None:
        return f"its job {job.job_id} ended {ended or 'normally'} without writing the trial's outcome", killed
    tail = job.log_tail()
    return (f"its job {job.job_id} ended {ended or 'in a state the scheduler no longer knows'} without a result"
            + (f"; the end of its log:\n{tail}" if tail else ""), True)


def run_launcher(settings: StudyConfig, trials: list[PlannedTrial], events: StudyEvents,
                 earlier: list[tuple[PlannedTrial, Job]] = ()) -> None:
    """Submit ``trials`` (one job each) and follow them, with the ``earlier`` run's live
    jobs of the plan's other trials, until every one has ended."""
    followed = list(earlier)
    if trials:
        submitted = _submit(settings, [(run_trial_job, (t, settings)) for t in trials])
        _record(settings, {str(t.path.relative_to(settings.results_path)): j for t, j in zip(trials, submitted)})
        followed += zip(trials, submitted)
    _follow(followed, events)


def _follow(followed: list[tuple[PlannedTrial, Job]], events: StudyEvents) -> None:
    """Report each trial once its job has ended (not before: a trial's outcome is read
    with how its job ended), until all have."""
    waiting = {t.index: (t, j) for t, j in followed}
    started: dict[int, float] = {}  # when this process first saw the job running
    said: set[str] = set()
    ask = _Scheduler(events.warn)
    try:
        while waiting:
            states = ask([j for _, j in waiting.values()]) or {}  # {}: no answer this time
            for index, (trial, job) in list(waiting.items()):
                state = states.get(job.job_id)
                if state is None:
                    continue
                if state.state == "RUNNING" and index not in started:
                    started[index] = time.monotonic()
                    events.started(trial, f"job {job.job_id}")
                if state.reason in NEVER_STARTS and state.reason not in said:
                    said.add(state.reason)
                    events.warn(f"job {job.job_id} waits: {state.reason} (SLURM will not start it as asked: compare "
                                f"executor.* with the partition, sinfo -o '%P %c %m %G %l'; scancel to stop it)")
                if not state.live:
                    del waiting[index]
                    wall = time.monotonic() - started[index] if index in started else 0.0
                    events.finished(trial, _ended(trial, job, state, wall), f"job {job.job_id}")
            if waiting:
                time.sleep(WATCH_SEC)
    except KeyboardInterrupt:
        ids = " ".join(j.job_id for _, j in waiting.values())
        events.warn(f"{len(waiting)} job(s) go on without this process ({ids}): rerun the same command to "
                    f"follow them and score the study, or scancel them")
        raise


def _ended(trial: PlannedTrial, job: Job, state: JobState, wall: float) -> Outcome:
    """The outcome of a trial whose job has ended: the one the job wrote (a trial killed
    with its job says what ended the job), else a failure saying why there is none."""
    outcome = read_outcome(trial.path)
    if outcome is None:
        reason, retry = _job_failure(job, state, job.result())
        return _record_failure(trial, reason, wall, retry)
    if outcome.status == "failed" and state.state in KILLED_BY_SCHEDULER:  # the trial died with its job
        return _record_failure(trial, f"its job {job.job_id} ended {state.state}: {outcome.error}",
                               outcome.wall_time, retry=True)
    return outcome


def _record_failure(trial: PlannedTrial, reason: str, wall: float, retry: bool) -> Outcome:
    """record_failure for a trial whose job has ended, every process of it with it (SLURM
    reports a job ended only once its processes are gone): a trial lock that job left
    (killed on another node, which this host cannot check) is let go, rather than waited
    out for a lease."""
    trial_lock_file(trial.path).unlink(missing_ok=True)
    return record_failure(trial, reason, wall, retry)


def _states(jobs: list[Job]) -> dict[str, JobState]:
    states: dict[str, JobState] = {}
    for cluster in {j.cluster for j in jobs}:
        states.update(job_states(cluster, [j.job_id for j in jobs if j.cluster == cluster]))
    return states


class _Scheduler:
    """The jobs' states, or None while the scheduler does not answer (said once); a
    UserError once it has not answered for PATIENCE_SEC (the jobs go on without it)."""

    def __init__(self, warn: Any):
        self.warn, self.failing_since = warn, None

    def __call__(self, jobs: list[Job]) -> dict[str, JobState] | None:
        try:
            states = _states(jobs)
        except SchedulerError as e:
            now = time.monotonic()
            if self.failing_since is None:
                self.failing_since = now
                self.warn(f"the scheduler does not answer ({e}); asking again")
            if now - self.failing_since > PATIENCE_SEC:
                raise UserError(f"the scheduler has not answered for {PATIENCE_SEC / 60:.0f} minutes ({e}); the "
                                f"study's jobs go on without this process: rerun the same command to follow them "
                                f"and score the study") from e
            return None
        self.failing_since = None
        return states
