"""``algoperf-lite check SUBMISSION [WORKLOAD ...]``: a submission tried for a few steps on
every smoke workload (:mod:`algoperf_lite.trial.check` says what is checked), one line per
workload and a verdict."""

from __future__ import annotations

import time

from algoperf_lite.trial.check import check_submission


def check_command(submission: str, names: list[str] | None = None) -> int:
    """Print the checks of ``submission``; 0 if no workload failed (skipped ones do not
    count) and the loss went down on at least one, else 1."""
    started = time.perf_counter()
    results = check_submission(submission, names)
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "skip")}
    never_down = counts["pass"] > 0 and not any(r.loss_down for r in results)
    if never_down:
        print("  FAIL  the training loss went down on no workload")
    failed = counts["fail"] > 0 or never_down
    print(f"{'FAILED' if failed else 'OK'}: passed on {counts['pass']} workloads, failed on {counts['fail']}, "
          f"skipped {counts['skip']}, in {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0
