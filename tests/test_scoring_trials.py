"""Reading trial outcomes: CSVs, results directories, bad input, irregular input, strict mode."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
from test_scoring_fakes import make_results_dir, write_trial

from algoperf_lite.scoring import ScoreSettings, ScoringError, ScoringWarning, compute_scores, load_trials

INF = math.inf
NO_BOOT = ScoreSettings(n_boot=0)


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "times.csv"
    path.write_text(text)
    return path


def test_csv_spellings_of_not_reached(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "submission,workload,study,trial,time_to_target\n"
                               "A,w,0,0,\nA,w,0,1,inf\nA,w,0,2,Infinity\nA,w,0,3,nan\nA,w,0,4, 12.5\n")
    trials = load_trials(times_csv=path).trials
    assert trials["time_to_target"].tolist() == [INF, INF, INF, INF, 12.5]
    assert set(trials["ruleset"]) == {"external_tuning"}  # the default when no ruleset column


def test_csv_names_are_text(tmp_path: Path) -> None:
    # "NA" and "null" are submission names here, not missing values.
    path = write_csv(tmp_path, "ruleset,submission,workload,study,trial,time_to_target\n"
                               "self,NA,w,0,0,1\nself,null,w,0,0,2\n")
    trials = load_trials(times_csv=path).trials
    assert trials["submission"].tolist() == ["NA", "null"] and set(trials["ruleset"]) == {"self_tuning"}


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("submission,workload,study,trial,time_to_target\n", "no trials"),
    ("submission,workload,time_to_target\nA,w,1\n", "missing column.*study, trial"),
    ("submission,workload,study,trial,time_to_target\nA,w,0,0,fast\n", "not numbers.*'fast'"),
    ("submission,workload,study,trial,time_to_target\nA,w,0,0,-3\n", "positive"),
    ("ruleset,submission,workload,study,trial,time_to_target\nopen,A,w,0,0,1\n", "unknown ruleset"),
    ("submission,workload,study,trial,time_to_target\nA,w,0,0,1\nA,w,0,0,2\n", "repeat a trial"),
])
def test_bad_csv_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScoringError, match=message):
        load_trials(times_csv=write_csv(tmp_path, text))


def test_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="no such file"):
        load_trials(times_csv=tmp_path / "nope.csv")
    with pytest.raises(ScoringError, match="no such directory"):
        load_trials(results_dir=tmp_path / "nope")
    with pytest.raises(ScoringError, match="no finished trials"):
        load_trials(results_dir=tmp_path)
    with pytest.raises(ScoringError, match="either"):
        load_trials()


def test_results_dir_reads_outcomes(tmp_path: Path) -> None:
    make_results_dir(tmp_path, {("adamw", "mnist"): [[30.0, INF]], ("sgd", "mnist"): [[60.0, 45.0]]})
    write_trial(tmp_path, "sgd", "mnist", 0, 2, 10.0, finished=False)  # interrupted: no outcome.json
    ts = load_trials(results_dir=tmp_path)
    t = ts.trials.set_index(["submission", "trial"])
    assert t.loc[("adamw", 0), "time_to_target"] == 30.0 and t.loc[("adamw", 1), "time_to_target"] == INF
    assert t.loc[("adamw", 0), "steps_to_target"] == 300 and t.loc[("adamw", 1), "status"] == "budget_exhausted"
    assert len(ts.trials) == 4 and "1 unfinished trial" in ts.notes[0]
    assert ts.benchmark.num_trials == 2 and ts.benchmark.num_studies == 2  # from spec.json's rules


def test_names_come_from_spec_not_folders(tmp_path: Path) -> None:
    write_trial(tmp_path, "<b>bold</b> & co", "mnist", 0, 0, 5.0, folder="bold")
    assert load_trials(results_dir=tmp_path).trials["submission"].tolist() == ["<b>bold</b> & co"]


def test_irregular_results_dir_warns_and_scores(tmp_path: Path) -> None:
    # study.json: 3 studies x 2 trials on w1, w2. A ran 5 studies of w1 (one with a single trial)
    # and never ran w2; B is regular. 5 + 3 + 3 = 11 studies in all.
    make_results_dir(tmp_path, {("A", "w1"): [[10.0, 20.0]] * 4 + [[10.0]],
                                ("B", "w1"): [[20.0, 30.0]] * 3, ("B", "w2"): [[5.0, 6.0]] * 3},
                     study={"rules": {"num_trials": 2, "num_studies": 3}, "workloads": ["w1", "w2"]})
    with pytest.warns(ScoringWarning) as caught:
        result = compute_scores(load_trials(results_dir=tmp_path), NO_BOOT)
    text = "\n".join(str(w.message) for w in caught)
    assert "1 of 11 studies have a trial count other than 2 (A/w1/study 4: 1)" in text
    assert "study count other than 3 (A/w1: 5)" in text
    assert "A: w2" in text
    # Scored anyway: A reached w1 (median of five 10 s studies) and counts w2 as failed.
    board = result.scores.set_index("submission")
    assert board.loc["A", "reached"] == 1 and board.loc["B", "reached"] == 2


def test_strict_turns_warnings_into_one_error(tmp_path: Path) -> None:
    make_results_dir(tmp_path, {("A", "w1"): [[10.0, 20.0]] * 5},
                     study={"rules": {"num_trials": 2, "num_studies": 3}, "workloads": ["w1"]})
    with pytest.raises(ScoringError, match="strict.*study count other than 3"):
        compute_scores(load_trials(results_dir=tmp_path), NO_BOOT, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScoringWarning)
        with pytest.raises(ScoringWarning):
            compute_scores(load_trials(results_dir=tmp_path), NO_BOOT)


def test_expected_counts_inferred_from_csv(tmp_path: Path) -> None:
    # No config: the most common count (3 trials) is the expectation; the 1-trial study is flagged.
    lines = ["submission,workload,study,trial,time_to_target"]
    lines += [f"{s},w,{k},{i},{10 + i}" for s in "AB" for k in range(3) for i in range(3)]
    lines += ["C,w,0,0,15", "C,w,1,0,15", "C,w,1,1,15", "C,w,1,2,15", "C,w,2,0,15", "C,w,2,1,15", "C,w,2,2,15"]
    with pytest.warns(ScoringWarning, match=r"1 of 9 studies have a trial count other than 3 \(C/w/study 0: 1\)"):
        compute_scores(load_trials(times_csv=write_csv(tmp_path, "\n".join(lines) + "\n")), NO_BOOT)


def test_self_tuning_expects_one_trial(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "ruleset,submission,workload,study,trial,time_to_target\n"
                               "self,A,w,0,0,1\nself,A,w,0,1,2\nself,A,w,1,0,3\n")
    with pytest.warns(ScoringWarning, match="trial count other than 1"):
        compute_scores(load_trials(times_csv=path), NO_BOOT)


def test_study_json_workload_forms(tmp_path: Path) -> None:
    make_results_dir(tmp_path, {("A", "w1"): [[10.0]]},
                     study={"workloads": [{"name": "w1"}, {"name": "w2", "scale": "smoke"}]})
    assert load_trials(results_dir=tmp_path).benchmark.workloads == ("w1", "w2")
    (tmp_path / "study.json").write_text(json.dumps({"workloads": {"w1": {}, "w3": {}}}))
    assert load_trials(results_dir=tmp_path).benchmark.workloads == ("w1", "w3")
