"""The submission clock: counts only running time, and synchronizes the device only at
the boundaries where time is recorded (never per step); the cpu clock counts the trial's
own compute (its threads and the processes it starts), not waiting."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time

import psutil
import pytest
import torch

from algoperf_lite import spec
from algoperf_lite.trial.clock import CpuTimer, SubmissionClock
from algoperf_lite.trial.environment import torch_threads
from algoperf_lite.trial.eval_table import outcome_line
from conftest import ADAMW_POINT, slowed, train_point


class FakeTimer:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_clock_counts_only_running_time():
    timer = FakeTimer()
    clock = SubmissionClock(torch.device("cpu"), timer=timer)
    timer.now = 5.0  # set-up: not counted
    clock.start()
    timer.now = 7.5
    assert clock.host_elapsed() == 2.5
    assert clock.pause() == 2.5
    timer.now = 100.0  # an eval: not counted
    assert clock.elapsed() == 2.5
    clock.resume()
    timer.now = 101.0
    assert clock.elapsed() == pytest.approx(3.5)
    with pytest.raises(RuntimeError):
        clock.start()


def test_readings_are_reduced_by_max_under_ddp():
    timer = FakeTimer()
    clock = SubmissionClock(torch.device("cpu"), timer=timer, reduce_max=lambda t: t + 0.25)
    clock.start()
    timer.now = 1.0
    assert clock.host_elapsed() == 1.25  # the slowest rank's time


def test_device_is_synchronized_at_boundaries_not_per_step(digits, adamw):
    syncs = []
    clock = SubmissionClock(torch.device("cpu"))
    clock._sync = lambda: syncs.append(clock.host_elapsed())  # count the device synchronizations
    result = train_point(digits, adamw, ADAMW_POINT, seed=0, batch_size=64, budget_sec=600,
                   eval_period_sec=1e9, stop_at_target=False, submission_clock=clock, max_steps=400)
    assert result.steps == 400 and len(result.evals) == 2  # after step 1, and the final one
    # start, pause + resume around the first eval, pause at the final eval:
    assert len(syncs) == 4
    # The time recorded at each eval is the synchronized one (a per-step-synchronized
    # clock reads the same on a CPU, where work is synchronous; on a GPU
    # scripts/bench_overhead.py measures both).
    assert result.evals[-1]["submission_time"] == pytest.approx(result.submission_time)


# --- the cpu clock: the trial's own compute, whatever else runs -----------------------------

BURN = "import time\nend = time.process_time() + {sec}\nwhile time.process_time() < end: pass\n"


def burn(sec: float) -> None:
    exec(BURN.format(sec=sec))


def cpu_run(digits, submission, clock="cpu", **fields):
    digits.override(target=spec.Target("accuracy", 2.0, maximize=True))  # unreachable
    fields = {"seed": 0, "batch_size": 64, "budget_sec": 60.0, "eval_period_sec": 1e9, "stop_at_target": False,
              "max_steps": 10, "clock": clock, **fields}
    with torch_threads(1):  # as a trial on the cpu clock runs (several threads would spin while it sleeps)
        return train_point(digits, submission, ADAMW_POINT, **fields)


def with_update(submission, before_step):
    """``submission`` whose update_params first calls ``before_step(step)``."""
    update = submission.update_params

    def update_params(*args, **kwargs):
        before_step(args[9])  # global_step
        return update(*args, **kwargs)

    return dataclasses.replace(submission, update_params=update_params)


def test_cpu_clock_charges_work_not_waiting(digits, adamw):
    sleepy = slowed(adamw, update_params=0.05)  # 10 steps x 50 ms asleep
    assert cpu_run(digits, sleepy, clock="wall").submission_time >= 0.5
    assert cpu_run(digits, sleepy).submission_time < 0.25  # a sleep is no work
    busy = with_update(adamw, lambda step: burn(0.05))  # 10 steps x 50 ms of CPU
    assert cpu_run(digits, busy).submission_time >= 0.5


def test_cpu_clock_counts_the_processes_a_submission_starts(digits, adamw):
    def offload(step):
        if step == 2:  # work handed to a child process and waited for
            subprocess.run([sys.executable, "-c", BURN.format(sec=0.4)], check=True)
        if step == 5:  # a forked child, never waited for (a zombie when the trial ends)
            pid = os.fork()
            if pid == 0:
                burn(0.3)
                os._exit(0)
            while psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:  # it works while the parent waits
                time.sleep(0.01)

    result = cpu_run(digits, with_update(adamw, offload))
    assert result.child_cpu_sec >= 0.7
    assert result.submission_time >= 0.7
    assert cpu_run(digits, adamw).child_cpu_sec == 0.0


def test_cpu_clock_leaves_out_processes_that_were_there_before(digits, adamw):
    busy = subprocess.Popen([sys.executable, "-c", BURN.format(sec=30)])
    try:
        time.sleep(0.2)
        result = cpu_run(digits, slowed(adamw, update_params=0.05))
    finally:
        busy.kill()
        busy.wait()
    assert result.child_cpu_sec == 0.0 and result.submission_time < 0.25


def test_threads_working_while_the_clock_is_paused_are_charged(digits, adamw, monkeypatch):
    stop = threading.Event()
    pauses = []  # wall-clock (start, end) of each pause
    paused, resumed = CpuTimer.paused, CpuTimer.resumed
    monkeypatch.setattr(CpuTimer, "paused", lambda self: (pauses.append([time.perf_counter()]), paused(self))[1])
    monkeypatch.setattr(CpuTimer, "resumed", lambda self: (pauses[-1].append(time.perf_counter()), resumed(self))[1])

    def init_optimizer_state(*args):
        threading.Thread(target=lambda: [burn(0.01) for _ in iter(stop.is_set, True)], daemon=True).start()
        return adamw.init_optimizer_state(*args)

    class SleepyEval(type(digits)):
        def eval_model(self, params, model_state):
            time.sleep(0.3)  # the thread gets a core meanwhile
            return super().eval_model(params, model_state)

    digits.__class__ = SleepyEval
    try:
        result = cpu_run(digits, dataclasses.replace(adamw, init_optimizer_state=init_optimizer_state),
                         eval_every_steps=5)
    finally:
        stop.set()
    assert len(result.evals) == 3  # after steps 1, 5 and 10
    # Charged for the two pauses that training resumed after (the third ends the run), at most
    # their wall time (one thread), and most of it on an idle core: the thread holds the GIL,
    # so the pauses last longer than the evals' sleep.
    paused_wall = sum(end - start for start, end in pauses[:2])
    assert 0.25 * paused_wall <= result.paused_thread_cpu_sec <= paused_wall + 0.02  # 0.01 s ticks
    assert result.submission_time >= result.paused_thread_cpu_sec
    assert cpu_run(digits, adamw, eval_every_steps=5).paused_thread_cpu_sec == 0.0


def test_a_trial_records_how_long_it_waited_for_a_core_that_others_held(digits, adamw):
    alone = cpu_run(digits, with_update(adamw, lambda step: burn(0.02)))
    assert alone.core_wait_share is not None and 0 <= alone.core_wait_share < 1
    core = {min(os.sched_getaffinity(0))}
    saved = os.sched_getaffinity(0)
    busy = subprocess.Popen([sys.executable, "-c", BURN.format(sec=60)])
    try:
        os.sched_setaffinity(busy.pid, core)  # the busy process and the trial take turns on one core
        os.sched_setaffinity(0, core)
        shared = cpu_run(digits, with_update(adamw, lambda step: burn(0.05)))
    finally:
        os.sched_setaffinity(0, saved)
        busy.kill()
        busy.wait()
    assert shared.core_wait_share > 0.2  # about half of its time: two processes on one core
    assert shared.core_wait_share > alone.core_wait_share
    line = outcome_line("digits_logreg", "adamw", digits.target, shared.outcome(wall_time=1.0))
    assert f"waited for a core {shared.core_wait_share:.0%} of its time" in line
    assert "waited for a core" not in outcome_line("digits_logreg", "adamw", digits.target,
                                                   dataclasses.replace(shared, core_wait_share=0.01).outcome(1.0))
