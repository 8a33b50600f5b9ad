"""A pool worker: a fresh process that runs the planned trials it is sent, one at a
time, and sends back ("started" | "eval" | "outcome" | "error" | "abort", payload).

It exits as soon as the study process is gone, so that no orphan keeps writing into a
results dir that a rerun is resuming. Its output goes to a log file, not the display."""

from __future__ import annotations

import os
import threading
import time
import traceback
from multiprocessing.connection import Connection


def _exit_with_parent() -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _log_to(path: str) -> None:
    """Send this process's stdout and stderr (Python's and C's) to ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def worker_main(conn: Connection, threads: int, log_path: str) -> None:
    _exit_with_parent()
    _log_to(log_path)
    import torch

    torch.set_num_threads(threads)  # the pool's share of the cores, not all of them
    from algoperf_lite.errors import UserError
    from algoperf_lite.study.plan import run_planned

    def report_eval(row: dict) -> None:
        try:
            conn.send(("eval", row))
        except OSError:  # the study process is gone: leave the trial unfinished, for the rerun
            os._exit(1)

    while True:
        try:
            trial, device = conn.recv()
        except EOFError:  # the pool is gone
            return
        conn.send(("started", None))
        print(f"--- {time.strftime('%H:%M:%S')} {trial.label}, {device}", flush=True)
        try:
            outcome = run_planned(trial, device, on_eval=report_eval)
        except UserError as e:  # the trial left the plan: the study must stop
            conn.send(("abort", str(e)))
        except Exception:  # outside the submission (the runner records its errors)
            conn.send(("error", traceback.format_exc(limit=-8)))
        else:
            conn.send(("outcome", outcome))
