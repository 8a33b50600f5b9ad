"""What a cluster's scheduler says about a study's jobs. SLURM: ``squeue`` for every job
it still holds (queued, running, and for MinJobAge after it ends, with its final state);
``sacct``, where the cluster keeps accounting, for a job's final state after that.
submitit's local executor: a job is its process, alive or not."""

from __future__ import annotations

import getpass
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GONE = "GONE"  # the scheduler no longer holds the job: it ended, in a state it cannot tell
ENDED = frozenset({GONE, "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                   "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED"})
# Pending reasons under which SLURM will not start the job as it was asked for.
NEVER_STARTS = frozenset({"BadConstraints", "PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit",
                          "ReqNodeNotAvail", "InvalidAccount", "InvalidQOS", "QOSJobLimit", "AccountNotAllowed"})
TIMEOUT_SEC = 60


class SchedulerError(RuntimeError):
    """The scheduler did not answer (its command failed or is missing)."""


@dataclass(frozen=True)
class JobState:
    state: str  # SLURM's name (PENDING, RUNNING, COMPLETED, ...), RUNNING for a live local job, or GONE
    reason: str = ""  # why a pending job waits, as squeue says it

    @property
    def live(self) -> bool:
        return self.state not in ENDED


def _command(*args: str) -> str:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=TIMEOUT_SEC)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SchedulerError(f"{args[0]}: {e}") from e
    if done.returncode:
        raise SchedulerError(f"{args[0]}: {(done.stderr or done.stdout).strip() or f'exit code {done.returncode}'}")
    return done.stdout


def job_states(cluster: str, job_ids: list[str]) -> dict[str, JobState]:
    """Each of ``job_ids`` (of one ``cluster``: slurm | local) -> its state now."""
    if cluster == "local":
        return {job_id: JobState("RUNNING" if _alive(int(job_id)) else GONE) for job_id in job_ids}
    listed = {}
    # one row per array element (-r), finished jobs included (-t all) for as long as SLURM holds them
    for line in _command("squeue", "--noheader", "--array", "--states=all", f"--user={getpass.getuser()}",
                         "--format=%i|%T|%r").splitlines():
        job_id, state, reason = (line.strip().split("|") + ["", ""])[:3]
        listed[job_id] = JobState(state, "" if reason == "None" else reason)
    return {job_id: listed.get(job_id, JobState(GONE)) for job_id in job_ids}


def _alive(pid: int) -> bool:
    """A process that runs (not one that has exited and waits to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def accounting() -> str | None:
    """None where SLURM's accounting answers (sacct), else what sacct said."""
    try:
        _command("sacct", "--noheader", "--allocations", "--format=JobID", "--starttime=now")
    except SchedulerError as e:
        return str(e)
    return None


def final_state(job_id: str) -> str | None:
    """How a job that SLURM no longer holds ended, from its accounting (None: it cannot say)."""
    try:
        rows = _command("sacct", "--noheader", "--allocations", "--parsable2", "--format=JobID,State",
                        f"--jobs={job_id}").splitlines()
    except SchedulerError:
        return None
    states = [state.split()[0] for jid, _, state in (row.partition("|") for row in rows) if jid == job_id and state]
    return states[-1] if states else None
