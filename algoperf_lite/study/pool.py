"""The local pool: one or more places per device, each trial on a free one, each in a
fresh process of its own (:mod:`algoperf_lite.study.isolation`: forked from a pristine
server, its whole process tree ended with it).

A trial whose process dies (a crash, the out-of-memory killer) or runs past its
deadline is killed and recorded as failed with the reason, and the study goes on.
Processes, not threads: a hung or crashed trial can only be stopped, and its memory only
given back, by ending its process; and a trial cannot change the state the next one
starts from.

Deadlines, by phase: a fresh process has STARTUP_SEC to start and take the trial; the
trial then has its set-up allowance plus budget plus margin to reach its first eval
(the eval after step 1, when the clock is running); from then on, budget plus margin.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import psutil

from algoperf_lite.errors import UserError
from algoperf_lite.results import LOGS_DIR, Outcome
from algoperf_lite.study import isolation
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.study.plan import PlannedTrial
from algoperf_lite.study.progress import StudyEvents
from algoperf_lite.study.resume import record_failure
from algoperf_lite.study.worker import run_trial
from algoperf_lite.trial.clock import tree_cpu_sec

STARTUP_SEC = 120.0  # the first trial's process waits for the server to import torch (slow on a busy machine)
POLL_SEC = 1.0
GRACE_SEC = 5.0  # for a finished trial's process to end what it started and exit by itself


@dataclasses.dataclass
class Slot:
    """A place trials run, one at a time, and the process of the trial it runs."""

    name: str  # e.g. "cpu#1", "cuda:0"
    device: str
    threads: int | None  # torch threads of its trials (None: as a fresh process has them)
    log: Path
    process: Any = None  # multiprocessing's process: the trial's supervisor
    conn: Connection | None = None
    trial: PlannedTrial | None = None
    phase: str = "idle"  # idle | starting | setting up | training
    assigned: float = 0.0
    deadline: float = math.inf

    def start(self, trial: PlannedTrial) -> None:
        self.conn, child = isolation.context().Pipe()
        self.process = isolation.start(run_trial, (child, trial, self.device, self.threads), log=str(self.log),
                                       name=f"algoperf-lite {self.name}")
        child.close()

    def kill(self, grace: float = 0.0) -> None:
        """End the trial's process and every process it started (after ``grace`` seconds
        in which it may end them itself)."""
        if self.process is not None:
            self.process.join(grace)
            isolation.end_tree(self.process)
            self.conn.close()
        self.process = self.conn = None


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (the out-of-memory killer sends SIGKILL)" if -exitcode == signal.SIGKILL else ""
        return f"its process was killed by {name}{hint}"
    return f"its process exited with code {exitcode}"


class Pool:
    def __init__(self, slots: list[Slot], timeout_for: Callable[[PlannedTrial], float], setup_sec: float,
                 events: StudyEvents):
        self.slots = slots
        self.timeout_for = timeout_for  # budget + margin
        self.setup_sec = setup_sec
        self.events = events

    def run(self, trials: list[PlannedTrial]) -> None:
        queue = deque(trials)
        try:
            while queue or any(s.trial for s in self.slots):
                for slot in self.slots:
                    if slot.trial is None and queue:
                        self._assign(slot, queue.popleft())
                busy = [s for s in self.slots if s.trial is not None]
                until = min(s.deadline for s in busy) - time.monotonic()
                wait([s.conn for s in busy] + [s.process.sentinel for s in busy],
                     timeout=min(max(until, 0.0), POLL_SEC))
                for slot in busy:
                    self._check(slot)
        finally:  # a trial still running is interrupted, and its processes ended
            for slot in self.slots:
                slot.kill()

    def _assign(self, slot: Slot, trial: PlannedTrial) -> None:
        slot.start(trial)
        slot.trial, slot.phase = trial, "starting"
        slot.assigned = time.monotonic()
        slot.deadline = slot.assigned + STARTUP_SEC
        self.events.started(trial, slot.name)

    def _check(self, slot: Slot) -> None:
        try:
            while slot.conn.poll():
                kind, payload = slot.conn.recv()
                if kind == "started":
                    slot.phase = "setting up"
                    slot.deadline = time.monotonic() + self.setup_sec + self.timeout_for(slot.trial)
                elif kind == "eval":
                    if slot.phase == "setting up":
                        slot.phase = "training"
                        slot.deadline = time.monotonic() + self.timeout_for(slot.trial)
                    self.events.evaluated(slot.trial, payload)
                else:
                    break
            else:
                kind = None
        except (EOFError, OSError):  # it died while sending: below
            kind = None
        if kind == "outcome":
            return self._finish(slot, payload, grace=GRACE_SEC)
        if kind == "abort":
            raise UserError(payload)
        if kind == "disk full":  # the CLI's one message; the trial is rerun when there is space
            raise OSError(errno.ENOSPC, payload)
        if kind == "error":  # an error outside the submission
            return self._fail(slot, payload)
        died = not slot.process.is_alive()
        if died:
            reason = _exit_reason(slot.process.exitcode)
        elif time.monotonic() > slot.deadline:
            reason = self._overrun(slot)
        else:
            return
        slot.kill()
        if slot.phase == "starting":  # not the trial's doing, and every trial would fail alike
            raise RuntimeError(f"a trial's process could not start ({reason}); see {slot.log}. "
                               f"The study stops here; rerun it to resume")
        # A process that died (a signal, the out-of-memory killer) is retried by a rerun;
        # one that hung past its deadline is the submission's doing and is not.
        self._fail(slot, f"{reason}; its output is in {slot.log}", retry=died)

    def _overrun(self, slot: Slot) -> str:
        trial, elapsed = slot.trial, time.monotonic() - slot.assigned
        margin = self.timeout_for(trial) - trial.budget_sec
        limits = f"its budget ({trial.budget_sec:g} s) plus the margin (trial_timeout_margin_sec: {margin:g} s)"
        if slot.phase == "training":
            return f"killed after {elapsed:.0f} s: no outcome within {limits} of its first eval"
        if slot.phase == "setting up":
            return (f"killed after {elapsed:.0f} s: no first eval within its set-up allowance "
                    f"(trial_overhead_sec: {self.setup_sec:g} s) plus {limits}")
        return f"killed after {elapsed:.0f} s: its process never took the trial"

    def _fail(self, slot: Slot, reason: str, retry: bool = False) -> None:
        self._finish(slot, record_failure(slot.trial, reason, time.monotonic() - slot.assigned, retry))

    def _finish(self, slot: Slot, outcome: Outcome, grace: float = 0.0) -> None:
        slot.kill(grace)  # what the trial started ends with it
        trial, slot.trial, slot.phase, slot.deadline = slot.trial, None, "idle", math.inf
        self.events.finished(trial, outcome, slot.name)


def pool_slots(settings: StudyConfig, devices: list[str]) -> list[tuple[str, str]]:
    """(name, device) of each pool worker: ``workers`` per device."""
    return [(d if settings.workers == 1 else f"{d}#{w}", d) for d in devices for w in range(settings.workers)]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def busy_cores(sample_sec: float = 1.0) -> float:
    """Cores' worth of CPU time that other programs used over ``sample_sec``: the machine's
    total less this process's and its children's (a study starting its trial server)."""
    me = psutil.Process()
    psutil.cpu_percent(None)  # starts the machine's count
    own_before = tree_cpu_sec(me)
    time.sleep(sample_sec)
    machine = psutil.cpu_percent(None) / 100.0 * (os.cpu_count() or 1) * sample_sec
    return max(0.0, machine - (tree_cpu_sec(me) - own_before)) / sample_sec


def free_cpu_workers(sample_sec: float = 1.0) -> tuple[int, float]:
    """(workers, busy cores): one pool worker per core of this process's that other
    programs leave free, at least one."""
    busy = busy_cores(sample_sec)
    return max(1, cores() - round(busy)), busy


def run_pool(settings: StudyConfig, trials: list[PlannedTrial], devices: list[str], events: StudyEvents,
             log_name: str = "worker") -> None:
    """``workers`` places per device, each trial in a fresh process; their output goes to
    RESULTS_DIR/logs/."""
    pairs = pool_slots(settings, devices)
    threads = max(1, cores() // len(pairs))  # the cores split between the workers (a trial may set its own)
    logs = settings.results_path / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    slots = [Slot(name, device, threads, logs / f"{log_name}_{i}.log") for i, (name, device) in enumerate(pairs)]
    Pool(slots, lambda t: settings.timeout_sec(t.budget_sec), settings.trial_overhead_sec, events).run(trials)
