"""The overhead benchmark's method (scripts/overhead.py): paired per-repeat ratios
with their spread, ABBA order, and the bare loop and runner on real workloads."""

from __future__ import annotations

import sys

import pytest

from conftest import REPO, load_script

sys.path.insert(0, str(REPO / "scripts"))  # a helper module of the scripts, imported as they import it
import overhead  # noqa: E402
from overhead import Overhead, measure_overhead, quartiles  # noqa: E402


def test_the_figure_is_the_median_of_paired_ratios_with_its_interquartile_range():
    result = Overhead(bare=[1.0, 2.0, 1.0, 1.0, 1.0], runner=[1.1, 2.0, 1.02, 0.98, 1.3])
    assert result.ratios == pytest.approx([1.1, 1.0, 1.02, 0.98, 1.3])
    s = result.summary()
    # A repeat twice as slow for both (a noisy moment) leaves its ratio at 1, not the medians' ratio.
    assert s["ratio"] == pytest.approx(1.02) and (s["ratio_q1"], s["ratio_q3"]) == pytest.approx((1.0, 1.1))
    assert s["bare_ms"] == 1000.0 and s["repeats"] == 5
    assert s["ratio_of_fastest"] == pytest.approx(0.98)  # the least disturbed repeat of each
    assert "ratio 1.020 (IQR 1.000-1.100, 5 repeats; fastest 0.980)" in result.line("w")
    assert quartiles([3.0]) == (3.0, 3.0, 3.0)


def test_repeats_alternate_which_loop_runs_first(monkeypatch, digits, adamw):
    order = []
    monkeypatch.setattr(overhead, "bare_loop", lambda *a, **k: order.append("bare") or 1.0)
    monkeypatch.setattr(overhead, "runner_loop", lambda *a, clock=None, **k: order.append(
        "synced" if isinstance(clock, overhead.PerStepSyncClock) else "runner") or 1.0)
    measure_overhead(digits, adamw, steps=10, repeats=3, sync_check=True)
    assert order[:2] == ["bare", "runner"]  # the warm-up
    assert order[2:] == ["bare", "runner", "synced", "synced", "runner", "bare", "bare", "runner", "synced"]


def test_bare_loop_and_runner_on_a_real_workload(digits, adamw, capsys):
    result = measure_overhead(digits, adamw, steps=100, repeats=2, sync_check=True, warmup_steps=5)
    s = result.summary()
    assert s["repeats"] == 2 and len(result.synced) == 2
    # Loose: a busy machine can stall one 100-step run for tens of milliseconds.
    assert 0 < s["bare_ms"] < 100 and 0.1 < s["ratio"] < 10 and 0.1 < s["sync_ratio"] < 10


def test_bench_overhead_prints_ratio_and_spread(capsys):
    module = load_script("bench_overhead")
    assert module.main(["digits_logreg", "--steps", "5", "--repeats", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "digits_logreg" in out and "IQR" in out and "2 repeats" in out
