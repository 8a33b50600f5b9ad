"""scripts/reproducibility.py: two studies' scores, rankings and verdicts compared."""

from __future__ import annotations

import importlib
import math
import time

from conftest import REPO, load_script
from test_scoring_fakes import write_trial

reproducibility = load_script("reproducibility")


def study(root, times):
    """One study, one trial per (submission, workload): ``times[submission][workload]``."""
    for submission, by_workload in times.items():
        for workload, t in by_workload.items():
            write_trial(root, submission, workload, 0, 0, t)
    return root


def test_scores_tau_and_agreeing_verdicts_by_hand(tmp_path):
    a = study(tmp_path / "a", {"x": {"w1": 10.0, "w2": 20.0}, "y": {"w1": 20.0, "w2": math.inf},
                               "z": {"w1": 40.0, "w2": 10.0}})
    b = study(tmp_path / "b", {"x": {"w1": 10.0, "w2": 20.0}, "y": {"w1": 10.0, "w2": math.inf},
                               "z": {"w1": 40.0, "w2": math.inf}})
    text = "\n".join(reproducibility.compare(a, b))
    # a: x has ratios 1 (w1) and 2 (w2); AlgoPerf's 100-point trapezoid rule over [1, 4] gives
    # (32 x 0.5 + 0.75 + 66 x 1) x (3/99) / 3 = 0.8359. b: x is fastest on both: 1.
    assert "x                        0.8359  1.0000  difference +0.1641" in text
    # b: y alone reaches w1 fastest and fails w2 -> 1/2 everywhere on [1, 4] (the trapezoid is exact)
    assert "y" in text and "0.5000  difference" in text
    # ranking a: x > z > y; b: x > y > z -> two concordant pairs, one discordant: tau = 1/3
    assert "Kendall's tau of the rankings 0.333; reached-or-not agrees in 83% of 6 (submission, workload) cells" in text
    assert "(1 flipped); largest score difference" in text
    # a: x 0.8359, z 0.5025 (ratio 1 on w2; ratio 4 on w1 counts at the last of the 100
    # points only: half a trapezoid, 0.5 x 3/99 / 3 / 2), y 0.3359: every pair more than
    # 0.1 apart, x-z and x-y more than 0.2. b orders x > y > z: only (z, y) swaps.
    assert "keep their order in the second (0.05: 2 of 3, 0.1: 2 of 3, 0.2: 2 of 2)" in text


def test_pairs_far_enough_apart_keep_their_order_by_hand():
    import pandas as pd

    first = pd.Series({"a": 0.9, "b": 0.7, "c": 0.65, "d": 0.1})
    second = pd.Series({"a": 0.6, "b": 0.8, "c": 0.5, "d": 0.2})
    # More than 0.1 apart in the first: every pair but (b, c); the second swaps a and b only.
    assert reproducibility.pairs_kept(first, second, 0.1) == (4, 5)
    assert reproducibility.pairs_kept(first, second, 0.5) == (3, 3)  # (a, d), (b, d), (c, d)
    assert reproducibility.pairs_kept(first, second, 0.9) == (0, 0)


def test_studies_needed_by_hand():
    # Differences 0.1 and -0.1: sd 0.1414, one run's sd 0.1; two submissions' difference
    # over n studies: sqrt(2) x 0.1 / sqrt(n); for d = 0.1 at 95%: n >= (1.96 x 1.414)^2 = 7.68.
    assert reproducibility.studies_needed([0.1, -0.1], 0.1) == 8
    assert reproducibility.studies_needed([0.1, -0.1], 0.2) == 2
    assert reproducibility.studies_needed([0.0, 0.0], 0.1) == 1


def test_busy_processes_run_only_inside_the_block():
    import psutil

    me = psutil.Process()
    before = set(me.children())  # a trial server of earlier tests may be one
    with reproducibility.busy_processes(2):
        busy = set(me.children()) - before
        assert len(busy) == 2 and all(p.is_running() for p in busy)
        # Already looping when the block starts: each burns CPU from the first moment.
        spent = {p: sum(p.cpu_times()[:2]) for p in busy}
        time.sleep(0.5)
        assert all(sum(p.cpu_times()[:2]) - spent[p] > 0.01 for p in busy)  # a sleeping one: about 0
    assert not set(me.children()) - before and not any(p.is_running() for p in busy)


def test_load_check_runs_the_same_trial_alone_and_loaded(capsys):
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        load_check = importlib.import_module("load_check")
    finally:
        sys.path.remove(str(REPO / "scripts"))
    assert load_check.main(["--workload", "digits_logreg", "--submission", "sgd_momentum", "--busy", "1",
                            "--pairs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "cpu clock: digits_logreg + sgd_momentum" in out and "wall clock:" in out
    assert out.count("same steps to target in every run: True") == 2


def test_a_study_that_cannot_start_is_one_message_and_exit_2(tmp_path, capfd):
    assert reproducibility.main(["--out", str(tmp_path), "no_such_key=1"]) == 2
    out = capfd.readouterr().out  # the study runs as its own program
    assert "no_such_key" in out and "Traceback" not in out
    assert not any(tmp_path.iterdir())  # nothing started
