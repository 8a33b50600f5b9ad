"""A trial's process (started by :mod:`algoperf_lite.study.isolation`, which also ends
it): runs one planned trial and sends back ("started" | "eval" | "outcome" | "error" |
"abort" | "disk full", payload). Its output goes to a log file, not the display."""

from __future__ import annotations

import errno
import os
import time
import traceback
from multiprocessing.connection import Connection

from algoperf_lite.study.plan import PlannedTrial


def run_trial(conn: Connection, trial: PlannedTrial, device: str, threads: int | None) -> None:
    import torch

    from algoperf_lite.errors import UserError
    from algoperf_lite.study.plan import run_planned

    if threads is not None:
        torch.set_num_threads(threads)  # the executor's share of the cores (a trial may set its own)

    def report_eval(row: dict) -> None:
        try:
            conn.send(("eval", row))
        except OSError:  # the study process is gone: leave the trial unfinished, for the rerun
            os._exit(1)

    conn.send(("started", None))
    print(f"--- {time.strftime('%H:%M:%S')} {trial.label}, {device}", flush=True)
    try:
        outcome = run_planned(trial, device, on_eval=report_eval)
    except UserError as e:  # the trial left the plan: the study must stop
        conn.send(("abort", str(e)))
    except Exception as e:  # outside the submission (the runner records its errors)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            conn.send(("disk full", str(e)))  # the study stops; the trial is rerun when there is space
        else:
            conn.send(("error", traceback.format_exc(limit=-8)))
    else:
        conn.send(("outcome", outcome))
