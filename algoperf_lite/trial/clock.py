"""The submission clock: the one object that measures time for scoring.

It counts only what runs between ``start``/``resume`` and ``pause``, on one of two timers
(the trial's ``clock``, recorded in spec.json):

- ``cpu`` (a one-thread CPU trial): the CPU seconds of the trial's process, all its threads, plus
  those of every process it starts. Other programs on a shared machine take turns on the
  cores, and wall time would charge their turns to the trial; its own compute it does not
  share. A submission's threads that work while the clock is paused (during an eval) are
  charged too (:class:`CpuTimer`).
- ``wall`` (a GPU trial, a CPU trial on several threads, or asked for): wall time, with the device synchronized at every
  reading for the record, since on a GPU the host only queues kernels.

The per-step budget check uses ``host_elapsed``, which never synchronizes the device: it
can only under-read while kernels are still queued, and every eval and stop boundary is
read synchronized.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

import psutil
import torch

from algoperf_lite.trial.config import CLOCKS

# How often (wall seconds) the per-step reading looks for the CPU time of the trial's child
# processes: a scan of the process table costs about a millisecond, so not every step.
DESCENDANTS_EVERY_SEC = 1.0


def default_clock(device: torch.device, threads: int | None) -> str:
    """The clock a trial on ``device`` with ``threads`` torch threads uses unless told
    otherwise: cpu for a one-thread CPU trial (the default). With more threads, OpenMP's
    idle threads spin while they wait for work, and the cpu clock would charge the spin."""
    return "cpu" if device.type == "cpu" and threads == 1 else "wall"


def device_synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


class Timer(Protocol):
    """What the clock reads. ``exact`` is the reading at a recorded boundary; ``__call__``
    the cheap one for every step. ``paused`` and ``resumed`` bracket a pause; ``resumed``
    returns the seconds of the trial's work done meanwhile, which the clock adds."""

    def __call__(self) -> float: ...
    def exact(self) -> float: ...
    def paused(self) -> None: ...
    def resumed(self) -> float: ...


class WallTimer:
    """Wall time (or any plain reading function: tests pass a fake one)."""

    def __init__(self, read: Callable[[], float] = time.perf_counter):
        self._read = read

    def __call__(self) -> float:
        return self._read()

    exact = __call__

    def paused(self) -> None:
        pass

    def resumed(self) -> float:
        return 0.0


def _cpu_sec(times: psutil._common.pcputimes) -> float:
    return times.user + times.system + times.children_user + times.children_system


def tree_cpu_sec(root: psutil.Process) -> float:
    """CPU seconds of ``root`` and its live descendants so far (ended ones through their parents)."""
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            total += _cpu_sec(process.cpu_times())
        except psutil.Error:  # ended meanwhile
            pass
    return total


class CpuTimer:
    """CPU seconds of this process (every thread) and of the processes it starts.

    - Child processes: those alive are read from the process table (with the CPU time of
      their own finished children), those finished from the kernel's count of waited-for
      children. Processes that existed before the timer (a tracker's service, a pool's
      helpers) are the project's, not the trial's, and are left out.
    - Threads: while the clock runs, every thread's CPU time is in the process's. While it
      is paused, the eval runs on the calling thread; CPU time that threads started after
      the timer spend meanwhile is the submission's work done off the clock, and
      :meth:`resumed` returns it to be counted.
    The work of reading the process table is subtracted, so that only the trial is charged.
    """

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._foreign = {p.pid for p in self._process.children(recursive=True)}
        self._threads_before = {t.native_id for t in threading.enumerate()}
        self._reaped_at_start = self._reaped()
        self._descendants = 0.0  # CPU seconds of the trial's child processes, last read
        self._excluded = 0.0  # CPU seconds this timer spent reading the process table
        self._read_at = time.perf_counter()
        self._paused_threads: dict[int, float] = {}
        self.descendants_sec = 0.0  # for the record: children's CPU seconds counted
        self.off_clock_sec = 0.0  # for the record: threads' CPU seconds counted during pauses

    @staticmethod
    def _reaped() -> float:
        t = os.times()
        return t.children_user + t.children_system

    def _read_descendants(self) -> None:
        spent_from = time.process_time()
        live = 0.0
        for child in self._process.children(recursive=True):
            if child.pid in self._foreign:
                continue
            try:
                live += _cpu_sec(child.cpu_times())
            except psutil.Error:  # ended meanwhile: its time moves to its parent's count
                pass
        # A child that ends between the two reads is briefly in neither: never count less.
        self._descendants = max(self._descendants, live + self._reaped() - self._reaped_at_start)
        self.descendants_sec = self._descendants
        self._read_at = time.perf_counter()
        self._excluded += time.process_time() - spent_from

    def __call__(self) -> float:
        own = time.process_time() - self._excluded  # before a read of the table adds its own cost
        if time.perf_counter() - self._read_at > DESCENDANTS_EVERY_SEC:
            self._read_descendants()
        return own + self._descendants

    def exact(self) -> float:
        own = time.process_time() - self._excluded
        self._read_descendants()
        return own + self._descendants

    def _new_threads(self) -> dict[int, float]:
        """CPU seconds of each live Python thread started after the timer, but this one."""
        started = {t.native_id for t in threading.enumerate()} - self._threads_before - {threading.get_native_id()}
        if not started:
            return {}
        return {t.id: t.user_time + t.system_time for t in self._process.threads() if t.id in started}

    def paused(self) -> None:
        self._paused_threads = self._new_threads()

    def resumed(self) -> float:
        during = sum(sec - self._paused_threads.get(tid, 0.0) for tid, sec in self._new_threads().items())
        self.off_clock_sec += during
        return during


class CoreWait:
    """How much of a stretch of time this process's threads spent ready to run but waiting
    for a core that other programs held (Linux's per-thread scheduler statistics): 0 on a
    quiet machine. The cpu clock does not charge that wait, but a trial that shares its
    core computes a little slower (the other programs evict its caches), so a trial
    records it. None where the kernel does not say."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> dict[str, tuple[int, int]] | None:
        """Each thread's (ns on a core, ns waiting for one) so far."""
        times = {}
        try:
            for task in os.scandir("/proc/self/task"):
                with open(os.path.join(task.path, "schedstat")) as f:
                    on_cpu, waiting, _ = f.read().split()
                times[task.name] = int(on_cpu), int(waiting)
        except (OSError, ValueError):
            return None
        return times

    def share(self) -> float | None:
        """Waiting over running plus waiting, since this object was made (threads that
        ended meanwhile left no figures, and are left out)."""
        end = self._read()
        if self._start is None or end is None:
            return None
        run = sum(r - self._start.get(tid, (0, 0))[0] for tid, (r, _) in end.items())
        wait = sum(w - self._start.get(tid, (0, 0))[1] for tid, (_, w) in end.items())
        return wait / (run + wait) if run + wait > 0 else None


def make_timer(clock: str) -> Timer:
    if clock == "cpu":
        return CpuTimer()
    if clock == "wall":
        return WallTimer()
    raise ValueError(f"unknown clock {clock!r}; known: {', '.join(CLOCKS)}")


class SubmissionClock:
    def __init__(self, device: torch.device, timer: Timer | Callable[[], float] | None = None,
                 reduce_max: Callable[[float], float] | None = None):
        self._sync = device_synchronizer(device)
        if timer is None:
            timer = make_timer(default_clock(device, torch.get_num_threads()))
        self.timer: Timer = timer if hasattr(timer, "exact") else WallTimer(timer)
        self._reduce = reduce_max  # None: one process, nothing to reduce (no call per step)
        self._accumulated = 0.0
        self._started_at: float | None = None
        self._paused = False  # paused after running (set-up before the first start is not a pause)

    @property
    def running(self) -> bool:
        return self._started_at is not None

    def start(self) -> None:
        """Begin (or resume) counting; waits for queued device work (set-up) first."""
        if self.running:
            raise RuntimeError("clock already running")
        if self._paused:
            self._accumulated += self.timer.resumed()
        self._sync()
        self._started_at = self.timer.exact()

    resume = start

    def pause(self) -> float:
        """Stop counting and return the synchronized total."""
        total = self.elapsed()
        self._accumulated = total
        self._started_at = None
        self._paused = True
        self.timer.paused()
        return total

    def _total(self, reading: float) -> float:
        if self._started_at is None:
            return self._accumulated
        total = self._accumulated + reading - self._started_at
        return total if self._reduce is None else self._reduce(total)

    def host_elapsed(self) -> float:
        """Total so far without synchronizing the device (cheap; for per-step checks)."""
        return self._total(self.timer()) if self.running else self._accumulated

    def elapsed(self) -> float:
        """Total so far after the device has finished the queued work."""
        if not self.running:
            return self._accumulated
        self._sync()
        return self._total(self.timer.exact())
