"""What running each trial in a fresh process costs: a study's wall time, and per trial the
seconds outside its own record (from the executor starting it to its outcome, less the
outcome's ``wall_time``, which run_prepared measures): process start-up, loading the
submission and the workload, messages.

    python scripts/trial_startup.py study=smoke executor=pool workers=2 results_dir=/tmp/s score=false

Prints one JSON line. The results directory is the study's as usual (give a fresh one).
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def main(overrides: list[str]) -> dict:
    from algoperf_lite.commands import study as command
    from algoperf_lite.study import progress

    starts: dict[int, float] = {}
    outside: list[float] = []
    started, finished = progress.StudyProgress.started, progress.StudyProgress.finished

    def on_start(self, trial, where):
        starts[trial.index] = time.perf_counter()
        return started(self, trial, where)

    def on_finish(self, trial, outcome, where):
        outside.append(time.perf_counter() - starts[trial.index] - outcome.wall_time)
        return finished(self, trial, outcome, where)

    progress.StudyProgress.started, progress.StudyProgress.finished = on_start, on_finish
    began = time.perf_counter()
    command.study_command([*overrides, "quiet=true"])
    return {"study_sec": round(time.perf_counter() - began, 2), "trials": len(outside),
            "outside_record_sec": [round(x, 2) for x in outside],
            "median_outside_record_sec": round(statistics.median(outside), 2) if outside else None}


if __name__ == "__main__":  # trials run in processes of their own: the guard multiprocessing needs
    print(json.dumps(main(sys.argv[1:])))
