"""budget_scale=auto: a workload's budget in this machine's seconds, from its speed here
against the calibration's, measured before the first trial (under the trials'
concurrency), kept for this machine and recorded; a resumed study measures nothing."""

from __future__ import annotations

import functools
import json
import statistics

import pytest

from algoperf_lite.cli import main
from algoperf_lite.configs import load_config
from algoperf_lite.study import budget_scale as study_speed
from algoperf_lite.commands.study import study_command
from algoperf_lite.trial import speed, speed_cache
from algoperf_lite.trial.speed import measure
from algoperf_lite.trial.workloads import build_workload, workload_classes
from algoperf_lite.workload_kit import calibration

CPU = "cpu"


def test_the_factor_is_the_calibrations_speed_over_this_machines():
    speed = measure("digits_logreg", "smoke", CPU, 1, None)
    entry = calibration(workload_classes()["digits_logreg"].cls, "digits_logreg", "smoke")
    assert speed.calibrated and speed.calibration_steps_per_sec == entry["step_hint"] / entry["budget_sec"]
    assert speed.factor == pytest.approx(speed.calibration_steps_per_sec / speed.steps_per_sec)
    assert speed.reference == {"submission": entry["provenance"]["best_submission"],
                               "point": entry["provenance"]["best_point"]}
    assert speed.measured_sec >= 2.0 and speed.threads == 1 and speed.date
    assert speed.to_json()["method"] == "measured"


def test_a_workload_without_a_calibration_says_so_and_gets_1():
    speed = measure("mnist_logreg", "smoke", CPU, 1, None)
    assert not speed.calibrated and speed.factor == 1.0 and speed.steps_per_sec is None
    assert speed.to_json()["method"] == "not calibrated: factor 1"


def only(results, name):
    (path,) = results.glob(f"external_tuning/*/study_*/*/trial_*/{name}")
    return json.loads(path.read_text())


def test_run_measures_by_default_and_records_how(tmp_path):
    assert main(["run", f"results_dir={tmp_path}", "max_steps=2", "quiet=true"]) == 0
    spec = only(tmp_path, "spec.json")
    source = spec["budget_scale_source"]
    base = build_workload("digits_logreg", "smoke", "cpu")
    assert source["method"] == "measured" and source["concurrency"] == 1 and source["workload"] == "digits_logreg"
    assert spec["budget_scale"] == source["factor"] > 0
    assert spec["budget_sec"] == pytest.approx(base.max_allowed_runtime_sec * source["factor"])
    assert spec["eval_period_sec"] == pytest.approx(base.eval_period_time_sec * source["factor"])


@pytest.mark.parametrize("given, method", [(["budget_scale=2"], "given"),
                                           (["budget_sec=1", "eval_period_sec=0.2"], "not needed")])
def test_a_number_overrides_and_fixed_budgets_need_no_measurement(tmp_path, given, method):
    assert main(["run", f"results_dir={tmp_path}", "max_steps=2", "quiet=true", *given]) == 0
    assert only(tmp_path, "spec.json")["budget_scale_source"]["method"].startswith(method)


def test_held_out_variants_take_their_base_workloads_factor():
    settings = load_config("study", ["study=smoke", "rules=v0.5"])
    scales = study_speed.measure_budget_scale(settings, ("digits_logreg", "digits_logreg_zero_init"), "smoke",
                                              [("cpu", "cpu")], 1)
    base, variant = scales["digits_logreg"], scales["digits_logreg_zero_init"]
    assert variant["from_base_workload"] == "digits_logreg" and variant["factor"] == base["factor"]


def test_a_pool_measures_with_every_worker_at_once():
    settings = load_config("study", ["study=smoke", "executor=pool", "workers=2"])
    scales = study_speed.measure_budget_scale(settings, ("digits_logreg",), "smoke",
                                              [("cpu#0", "cpu"), ("cpu#1", "cpu")], 1)
    entry = scales["digits_logreg"]
    assert entry["concurrency"] == 2 and len(entry["steps_per_sec_per_worker"]) == 2
    assert entry["steps_per_sec"] == pytest.approx(sum(entry["steps_per_sec_per_worker"]) / 2)  # the median of 2
    assert entry["factor"] == pytest.approx(entry["calibration_steps_per_sec"] / entry["steps_per_sec"])


def test_a_study_records_its_factors_and_a_resumed_study_measures_nothing(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    args = ["study=smoke", "rules.num_trials=1", "study.submissions=[adamw]", "budget_sec=0.3", "score=false",
            "quiet=true", f"results_dir={results}"]
    assert study_command(args) == 0
    assert "budget_scale=auto, measured in" in capsys.readouterr().out
    recorded = json.loads((results / "study.json").read_text())["config"]["budget_scale"]["digits_logreg"]
    assert recorded["concurrency"] == 1 and recorded["method"] == "measured"
    spec = only(results, "spec.json")
    assert spec["budget_scale_source"] == recorded
    assert spec["eval_period_sec"] == pytest.approx(0.25 * recorded["factor"])

    def no_measuring(*args, **kwargs):
        raise AssertionError("a resumed study measured again")

    monkeypatch.setattr("algoperf_lite.commands.study.measure_budget_scale", no_measuring)
    assert study_command(args) == 0
    assert f"reused from {results / 'study.json'}" in capsys.readouterr().out


def test_a_measurement_is_kept_per_machine_and_measure_replaces_it(monkeypatch, tmp_path):
    monkeypatch.setattr(speed, "REPEAT_SEC", 0.1)  # the keeping is tested here, not the measurement's length
    monkeypatch.setattr(speed.CoreWait, "share", lambda self: 0.0)  # as on free cores (a busy runner keeps none)
    fresh = functools.partial(measure.__wrapped__, "digits_logreg", "smoke", CPU, 1, None)  # past the process's memo
    first, again = fresh(), fresh()
    assert not first.cached and again.cached
    assert (again.steps_per_sec, again.date, again.factor) == (first.steps_per_sec, first.date, first.factor)
    assert again.to_json()["method"] == f"cached (measured {first.date})"
    assert len(first.steps_per_sec_repeats) == speed.REPEATS
    assert first.steps_per_sec == statistics.median(first.steps_per_sec_repeats)
    remeasured = fresh(refresh=True)  # budget_scale=measure
    assert not remeasured.cached and fresh().steps_per_sec == remeasured.steps_per_sec
    assert not fresh(concurrency=2).cached  # another setting, another entry
    record = tmp_path / "cache" / speed_cache.FILE
    assert len(json.loads(record.read_text())) == 2
    record.write_text("{not json")  # a damaged record is measured anew and rewritten
    assert not fresh().cached and fresh().cached
    monkeypatch.setattr(speed_cache, "fingerprint", lambda device: {"host": "another machine"})
    assert not fresh().cached


def test_a_measurement_on_a_shared_core_is_used_once_not_kept(monkeypatch, tmp_path):
    monkeypatch.setattr(speed, "REPEAT_SEC", 0.1)
    fresh = functools.partial(measure.__wrapped__, "digits_logreg", "smoke", CPU, 1, None)
    monkeypatch.setattr(speed.CoreWait, "share", lambda self: 0.3)  # as beside a busy process on its core
    with pytest.warns(speed.SharedCoreWarning, match="held its core 30% of the time"):
        busy = fresh()
    assert busy.core_wait_share == 0.3 and busy.factor > 0
    assert not (tmp_path / "cache" / speed_cache.FILE).exists()
    monkeypatch.setattr(speed.CoreWait, "share", lambda self: 0.01)  # quiet
    quiet = fresh()
    assert not quiet.cached and fresh().cached and fresh().core_wait_share == 0.01


def test_a_study_reads_this_machines_kept_measurement(tmp_path, capsys):
    # Two workers measure at once and the study takes their median: each keeps its own
    # figure, so the second study combines the same two again (the same factor).
    args = ["study=smoke", "rules.num_trials=1", "study.submissions=[adamw]", "budget_sec=0.3", "score=false",
            "quiet=true", "executor=pool", "workers=2"]
    assert study_command([*args, f"results_dir={tmp_path / 'first'}"]) == 0
    assert "measured in" in capsys.readouterr().out

    def record(name):
        return json.loads((tmp_path / name / "study.json").read_text())["config"]["budget_scale"]["digits_logreg"]

    waited = record("first")["core_wait_share_per_worker"]
    assert len(waited) == 2 and all(0 <= w <= 1 for w in waited)
    if max(waited) > speed.SHARED_CORE:  # kept only when measured on free cores (the test above checks that)
        pytest.skip(f"other programs held this machine's cores while the workers measured ({waited}): nothing was kept")
    assert study_command([*args, f"results_dir={tmp_path / 'second'}"]) == 0
    first, second = record("first"), record("second")
    assert "this machine's measurement of" in capsys.readouterr().out
    assert second["cached"] and second["factor"] == first["factor"] and second["date"] == first["date"]


def test_a_study_says_a_measurement_on_a_busy_core_in_a_line(monkeypatch, tmp_path, capsys):
    measure.cache_clear()  # this process may have measured digits already (kept in memory, not re-measured)
    monkeypatch.setattr(speed, "REPEAT_SEC", 0.1)
    monkeypatch.setattr(speed.CoreWait, "share", lambda self: 0.3)
    args = ["study=smoke", "rules.num_trials=1", "study.submissions=[adamw]", "budget_sec=0.3", "score=false",
            "quiet=true", "executor=sequential", f"results_dir={tmp_path / 'r'}"]
    assert study_command(args) == 0
    out = capsys.readouterr().out
    assert "warning: digits_logreg: this machine's speed was measured while other programs held its core 30%" in out
    assert "SharedCoreWarning" not in out
