"""AlgoPerf logs directories read as published (scoring/algoperf_logs.py), scored and reported.

Every test writes a tiny AlgoPerf-layout directory itself, in the exact on-disk format (the
eval_measurements.csv header as AlgoPerf writes it), and checks hand-computed numbers. The
reproduction of the published leaderboards from the real logs is the last test; it runs when
ALGOPERF_SUBMISSIONS_ALGORITHMS points at a checkout of mlcommons/submissions_algorithms.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from algoperf_lite.cli import main
from algoperf_lite.scoring import ScoreSettings, ScoringError, ScoringWarning, compute_scores
from algoperf_lite.scoring.algoperf_logs import load_rules, read_algoperf_logs
from algoperf_lite.commands.report import report_command
from algoperf_lite.commands.score import score_command
from algoperf_lite.results import algoperf_output_dir

INF = math.inf
NAN = math.nan
# eval_measurements.csv headers as AlgoPerf writes them (copied from the v0.5 and v0.6 logs).
HEADERS = {
    "loss": ("accumulated_eval_time,accumulated_logging_time,accumulated_submission_time,global_step,"
             "preemption_count,score,test/loss,test/num_examples,total_duration,train/loss,validation/loss,"
             "validation/num_examples"),
    "accuracy": ("accumulated_eval_time,accumulated_logging_time,accumulated_submission_time,global_step,"
                 "preemption_count,score,test/accuracy,test/loss,test/num_examples,total_duration,train/accuracy,"
                 "train/loss,validation/accuracy,validation/loss,validation/num_examples"),
}
# A targets file in our format: w1 minimizes loss, w2 maximizes accuracy, w2_v is w2's held-out variant.
TARGETS = {
    "num_studies": 2, "num_trials": 2, "self_tuning_budget_multiplier": 2.0, "held_out": [],
    "workloads": {
        "w1": {"metric": "validation/loss", "target": 0.5, "maximize": False, "budget_sec": 1000},
        "w2": {"metric": "validation/accuracy", "target": 0.9, "maximize": True, "budget_sec": 1000},
        "w2_v": {"metric": "validation/accuracy", "target": 0.8, "maximize": True, "budget_sec": 1000,
                 "variant_of": "w2"},
    },
}


def write_trial(root: Path, submission: str, study: int | str, workload: str, trial: int,
                evals: list[tuple[float, float]], ruleset: str | None = "external_tuning",
                framework: str = "jax", hparams: dict | None = None) -> Path:
    """One trial folder; `evals` are (time, validation metric) per eval, in the file's row order."""
    metric = "loss" if workload.startswith(("w1", "criteo1tb")) else "accuracy"
    folder = root / (ruleset or "") / submission / (study if isinstance(study, str) else f"study_{study}")
    folder = folder / f"{workload}_{framework}" / f"trial_{trial}"
    folder.mkdir(parents=True)
    columns = HEADERS[metric].split(",")
    lines = [HEADERS[metric]]
    for i, (time, value) in enumerate(evals):
        row = {c: "0.0" for c in columns}
        row.update({"accumulated_submission_time": repr(time), "score": repr(time), "global_step": str(100 * (i + 1)),
                    f"validation/{metric}": "nan" if math.isnan(value) else repr(value), "preemption_count": "0"})
        lines.append(",".join(row[c] for c in columns))
    (folder / "eval_measurements.csv").write_text("\n".join(lines) + "\n")
    if hparams is not None:
        (folder / "hparams.json").write_text(json.dumps(hparams))
    return folder


def targets_file(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({**TARGETS, **changes}))
    return path


def two_submissions(root: Path) -> Path:
    """A and B, 2 studies x 2 trials on w1 (loss <= 0.5) and w2 (accuracy >= 0.9).

    A/w1 study 0: trial 1 reaches at its 3rd eval (20 s), trial 2 at its 1st (30 s): AlgoPerf picks
    trial 2 (30), the fastest is trial 1 (20). Study 1: trial 1 at 40 s (0.5 exactly: inclusive),
    trial 2 never (NaN never reaches). A/w2: never (0.95 only after the 1000 s budget).
    B/w1: 70 s in both studies. B/w2: 100 s in both.
    """
    write_trial(root, "A", 0, "w1", 1, [(5.0, 0.9), (10.0, 0.7), (20.0, 0.4)])
    write_trial(root, "A", 0, "w1", 2, [(30.0, 0.45), (60.0, 0.3)])
    write_trial(root, "A", 1, "w1", 1, [(20.0, 0.6), (40.0, 0.5)])
    write_trial(root, "A", 1, "w1", 2, [(20.0, NAN), (40.0, NAN)])
    for k in range(2):
        write_trial(root, "A", k, "w2", 1, [(500.0, 0.5), (1001.0, 0.95)])
        write_trial(root, "A", k, "w2", 2, [(500.0, 0.6)])
        for i in (1, 2):
            write_trial(root, "B", k, "w1", i, [(70.0, 0.4)] if i == 1 else [(90.0, 0.4)])
            write_trial(root, "B", k, "w2", i, [(50.0, 0.5), (100.0, 0.9)])
    return root


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        return fn(*args, **kwargs)


def scores(trialset, **settings) -> dict[str, float]:
    result = quiet(compute_scores, trialset, ScoreSettings(n_boot=0, integral="exact", **settings))
    return dict(zip(result.scores["submission"], result.scores["score"]))


def test_versions_carry_algoperfs_targets_budgets_and_rules() -> None:
    v05, v06 = load_rules("v0.5"), load_rules("v0.6")
    assert len(v05.base) == 8 and "finewebedu_lm" not in v05.base and "finewebedu_lm" in v06.base
    assert v05.held_out == ("criteo1tb_embed_init", "fastmri_tanh", "imagenet_resnet_large_bn_init",
                            "librispeech_conformer_layernorm", "ogbg_model_size", "wmt_glu_tanh")
    assert v06.held_out == ()
    assert (v05.num_studies, v05.num_trials, v06.num_studies, v06.num_trials) == (5, 5, 3, 5)
    wmt = v05.workloads["wmt_glu_tanh"]
    assert (wmt.column, wmt.target.value, wmt.target.maximize, wmt.variant_of) == ("validation/bleu", 29.5779, True,
                                                                                    "wmt")
    assert not v05.workloads["criteo1tb"].target.maximize and not v06.workloads["finewebedu_lm"].target.maximize
    # v0.6 shortened budgets and halved the self-tuning multiplier.
    assert v05.budget("fastmri", "external_tuning") == 8859 and v06.budget("fastmri", "external_tuning") == 4430
    assert v05.budget("fastmri", "self_tuning") == 3 * 8859 and v06.budget("fastmri", "self_tuning") == 1.5 * 4430
    assert load_rules("0.5") == v05


def test_algoperfs_own_targets_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "workload_targets.json"  # the format of AlgoPerf's scoring/workload_targets*.json
    path.write_text(json.dumps({
        "benchmark_version": "0.5", "base_workloads": ["ogbg", "wmt"], "held_out_workloads": ["wmt_glu_tanh"],
        "workloads": {name: {"target_metric_name": m, "validation_target_value": v, "step_hint": 1} for name, m, v in [
            ("ogbg", "mean_average_precision", 0.28), ("wmt", "bleu", 30.0), ("wmt_glu_tanh", "bleu", 29.0),
            ("ogbg_gelu", "mean_average_precision", 0.27), ("mnist", "accuracy", 0.97)]},
    }))
    rules = load_rules(path)
    assert rules.base == ("ogbg", "wmt") and rules.held_out == ("wmt_glu_tanh",)
    assert rules.workloads["ogbg_gelu"].variant_of == "ogbg" and rules.workloads["mnist"].variant_of == ""
    assert rules.workloads["wmt"].target.maximize and rules.workloads["wmt"].column == "validation/bleu"
    assert rules.num_studies == 5 and rules.budget("wmt", "external_tuning") == 48151  # v0.5's constants


def test_bad_targets_raise(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="neither a version"):
        load_rules("v0.7")
    with pytest.raises(ScoringError, match="not variants"):
        load_rules(targets_file(tmp_path, held_out=["w1"]))
    (tmp_path / "bad.json").write_text('{"workloads": {"w": {"metric": "validation/loss"}}}')
    with pytest.raises(ScoringError, match="needs metric, target and maximize"):
        load_rules(tmp_path / "bad.json")


def test_times_picks_and_scores_by_hand(tmp_path: Path) -> None:
    ts = read_algoperf_logs(two_submissions(tmp_path / "logs"), targets_file(tmp_path))
    t = ts.trials.set_index(["submission", "workload", "study", "trial"]).sort_index()
    assert t.loc[("A", "w1", 0, 1), ["time_to_target", "steps_to_target", "eval_index"]].tolist() == [20, 300, 2]
    assert t.loc[("A", "w1", 0, 2), ["time_to_target", "eval_index"]].tolist() == [30, 0]
    assert t.loc[("A", "w1", 1, 1), "time_to_target"] == 40  # 0.5 <= 0.5
    assert t.loc[("A", "w1", 1, 2), "time_to_target"] == INF  # NaN never reaches
    assert (t.loc[("A", "w2"), "time_to_target"] == INF).all()  # 0.95 came after the budget
    assert set(ts.trials["ruleset"]) == {"external_tuning"} and len(ts.trials) == 16
    assert any("after their budget" in n and "1001 s > 1000 s" in n for n in ts.notes)
    # AlgoPerf's pick: A/w1 = median(30, 40) = 35, B/w1 = 70 (ratio 2), B/w2 = 100 (ratio 1).
    # A: (4 - 1)/3 / 2 = 0.5; B: ((4 - 2)/3 + 1) / 2 = 5/6.
    assert scores(ts, trial_selection="first_eval") == pytest.approx({"A": 0.5, "B": 5 / 6})
    # The fastest trial: A/w1 = median(20, 40) = 30, B's ratio 7/3: ((4 - 7/3)/3 + 1) / 2 = 7/9.
    assert scores(ts) == pytest.approx({"A": 0.5, "B": 7 / 9})


def test_score_command_prints_published_style_table_and_writes_beside_the_logs(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logs = two_submissions(tmp_path / "logs")
    assert quiet(score_command, None, None, algoperf_dir=logs, targets=str(targets_file(tmp_path))) == 0
    out = capsys.readouterr().out
    assert "AlgoPerf's pick" in out and "16 trials" in out
    assert algoperf_output_dir(logs) == tmp_path / "logs_scores"
    board = pd.read_csv(tmp_path / "logs_scores" / "scores.csv")
    # AlgoPerf's pick, 100-point trapezoid (taus 1 + k/33): A's rho is 0.5 throughout; B's steps from
    # 0.5 to 1 at tau = 2 (k = 33), so the trapezoid adds half a step on [k=32, 33]: (1.5 + 0.5 (2 + 1/66)) / 3.
    assert dict(zip(board["submission"], board["score"])) == pytest.approx({"B": (1.5 + 0.5 * (2 + 1 / 66)) / 3,
                                                                          "A": 0.5})
    assert sorted(p.name for p in logs.iterdir()) == ["external_tuning"]  # nothing written into the logs
    with pytest.raises(ScoringError, match="--algoperf"):
        score_command(None, tmp_path / "logs_scores" / "scores.csv", targets="v0.5")


def test_cli_score_and_report_take_algoperf(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logs = two_submissions(tmp_path / "logs")
    targets = str(targets_file(tmp_path))
    assert quiet(main, ["score", "--algoperf", str(logs), "--targets", targets, "--trial-selection", "fastest",
                        "--integral", "exact"]) == 0
    board = pd.read_csv(tmp_path / "logs_scores" / "scores.csv")
    assert dict(zip(board["submission"], board["score"])) == pytest.approx({"A": 0.5, "B": 7 / 9})
    assert main(["score", "--algoperf", str(logs), "--targets", targets, "--strict"]) == 2
    assert "strict" in capsys.readouterr().out
    assert main(["score", str(logs), "--algoperf", str(logs)]) == 2
    assert main(["report"]) == 2


def test_heldout_variant_gates_its_base(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    for k in range(2):
        for sub, base_time, variant in (("A", 10.0, [(50.0, 0.7)]), ("B", 20.0, [(30.0, 0.85)])):
            write_trial(logs, sub, k, "w2", 1, [(base_time, 0.95)])
            write_trial(logs, sub, k, "w2_v", 1, variant)
    workloads = {w: TARGETS["workloads"][w] for w in ("w2", "w2_v")}
    ts = read_algoperf_logs(logs, targets_file(tmp_path, held_out=["w2_v"], num_trials=1, workloads=workloads))
    assert ts.benchmark.workloads == ("w2",) and ts.benchmark.variants == {"w2_v": "w2"}
    # A is faster on w2 but never reached the variant's 0.8: its w2 does not count.
    assert scores(ts) == pytest.approx({"A": 0.0, "B": 1.0})
    # Without the held-out rule the variant's logs are left out by rule (info, not a warning).
    ts = read_algoperf_logs(logs, targets_file(tmp_path, num_trials=1, workloads=workloads))
    assert ts.benchmark.variants == {} and set(ts.trials["workload"]) == {"w2"}
    assert ts.notes == [] and "w2_v (4)" in ts.info[0]  # 2 submissions x 2 studies x 1 trial
    assert scores(ts) == pytest.approx({"A": 1.0, "B": 2 / 3})


def test_targets_naming_absent_workloads_score_the_present_ones(tmp_path: Path) -> None:
    # A v0.6 targets file names finewebedu_lm; no log has it (AlgoPerf's scorer: KeyError).
    logs = tmp_path / "logs"
    for k in range(3):
        for i in range(1, 6):
            write_trial(logs, "A", k, "criteo1tb", i, [(100.0, 0.12)])
            write_trial(logs, "B", k, "criteo1tb", i, [(300.0, 0.12)])
    ts = read_algoperf_logs(logs, "v0.6")
    assert ts.benchmark.workloads == ("criteo1tb",)
    assert len(ts.notes) == 1 and "finewebedu_lm" in ts.notes[0] and "scored over the 1 base workloads" in ts.notes[0]
    with pytest.warns(ScoringWarning, match="finewebedu_lm"):
        result = compute_scores(ts, ScoreSettings(n_boot=0, integral="exact"))
    assert dict(zip(result.scores["submission"], result.scores["score"])) == pytest.approx({"A": 1.0, "B": 1 / 3})
    with pytest.raises(ScoringError, match="finewebedu_lm"):
        compute_scores(ts, ScoreSettings(n_boot=0), strict=True)
    # A held-out variant that no log has gates nothing: criteo1tb scores as without the rule.
    ts = read_algoperf_logs(logs, "v0.5")
    assert ts.benchmark.variants == {} and "criteo1tb_embed_init" in ts.notes[0]


def test_irregular_layouts_warn_and_score(tmp_path: Path) -> None:
    logs = two_submissions(tmp_path / "logs")
    study = logs / "external_tuning" / "A" / "study_0"
    (study / "w1_jax" / "trial_3").mkdir()  # no eval_measurements.csv: not a trial
    (study / "trial_4").mkdir()  # a trial folder directly under the study
    (study / "trial_4" / "eval_measurements.csv").write_text(HEADERS["loss"] + "\n")
    write_trial(logs, "B", 0, "mystery", 1, [(1.0, 0.99)])  # no target for it
    (logs / "external_tuning" / "B" / "study_0" / "notes").mkdir()  # not <workload>_<framework>
    bad = write_trial(logs, "B", 1, "w2", 3, [(1.0, 0.99)])
    (bad / "eval_measurements.csv").write_text(HEADERS["loss"] + "\n1,0,1,1,0,1,0,0,0,0,0.1,0\n")  # no accuracy
    ts = read_algoperf_logs(logs, targets_file(tmp_path))
    text = "\n".join(ts.notes)
    for expected in ("1 trial folders without eval_measurements.csv skipped", "1 trial folders directly under a study",
                     "external_tuning/A/study_0/trial_4", "ignored: mystery (1)",
                     "folders not named <workload>_<jax|pytorch>", "with no validation/accuracy column"):
        assert expected in text, expected
    assert ts.trials.set_index(["submission", "workload", "study", "trial"]).loc[("B", "w2", 1, 3),
                                                                                   "time_to_target"] == INF
    with pytest.warns(ScoringWarning) as caught:
        compute_scores(ts, ScoreSettings(n_boot=0))
    assert any("B/w2/study 1: 3" in str(w.message) for w in caught)  # a trial count other than 2
    with pytest.raises(ScoringError, match="strict"):
        compute_scores(ts, ScoreSettings(n_boot=0), strict=True)


def test_layouts_and_rulesets(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_trial(logs, "A", 0, "w1", 1, [(10.0, 0.1)])
    write_trial(logs, "A", 0, "w1", 1, [(30.0, 0.1)], ruleset="self_tuning")
    targets = targets_file(tmp_path)
    both = quiet(read_algoperf_logs, logs, targets).trials
    assert sorted(both["ruleset"]) == ["external_tuning", "self_tuning"]
    one = quiet(read_algoperf_logs, logs / "self_tuning", targets).trials  # a ruleset folder
    assert one["ruleset"].tolist() == ["self_tuning"] and one["submission"].tolist() == ["A"]
    one = quiet(read_algoperf_logs, logs / "external_tuning" / "A", targets).trials  # one submission
    assert one["ruleset"].tolist() == ["external_tuning"] and one["time_to_target"].tolist() == [10]
    # Outside a ruleset folder the runs' flags_0.json says which ruleset they ran under.
    trial = write_trial(tmp_path / "flat", "S", 0, "w1", 1, [(10.0, 0.1)], ruleset=None)
    (trial / "flags_0.json").write_text(json.dumps({"tuning_ruleset": "self", "workload": "w1"}))
    assert quiet(read_algoperf_logs, tmp_path / "flat", targets).trials["ruleset"].tolist() == ["self_tuning"]
    # The self-tuning budget is multiplied (2 x 1000 s here).
    write_trial(logs, "B", 0, "w1", 1, [(1500.0, 0.1)], ruleset="self_tuning")
    self_ts = quiet(read_algoperf_logs, logs / "self_tuning", targets).trials
    assert dict(zip(self_ts["submission"], self_ts["time_to_target"])) == {"A": 30, "B": 1500}


def test_unusable_directories_raise(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="no such directory"):
        read_algoperf_logs(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScoringError, match="no AlgoPerf trials"):
        read_algoperf_logs(tmp_path / "empty")
    write_trial(tmp_path / "two", "A", 0, "w1", 1, [(10.0, 0.1)])
    write_trial(tmp_path / "two", "A", 0, "w1", 1, [(10.0, 0.1)], framework="pytorch")
    with pytest.raises(ScoringError, match="logged twice"):
        read_algoperf_logs(tmp_path / "two", targets_file(tmp_path))


def test_meta_data_of_another_version_is_flagged(tmp_path: Path) -> None:
    trial = write_trial(tmp_path / "logs", "A", 0, "fastmri", 1, [(100.0, 0.8)])
    (trial / "meta_data_0.json").write_text(json.dumps({
        "workload.validation_target_value": 0.723653, "workload.max_allowed_runtime_sec": 8859}))
    assert not any("meta_data" in n for n in read_algoperf_logs(tmp_path / "logs", "v0.5").notes)
    notes = read_algoperf_logs(tmp_path / "logs", "v0.6").notes
    assert any("fastmri budget 8859 (v0.6: 4430)" in n for n in notes)


def test_leaderboard_page_for_algoperf_logs(tmp_path: Path) -> None:
    root = tmp_path / "algoperf_v0x"  # as in submissions_algorithms: logs/ and submissions/ side by side
    logs = two_submissions(root / "logs")
    for trial in logs.glob("external_tuning/*/study_*/*/trial_*"):
        (trial / "hparams.json").write_text(json.dumps({"learning_rate": 0.003, "warmup_factor": 0.05}))
    space = root / "submissions" / "external_tuning" / "B" / "tuning_search_space.json"
    space.parent.mkdir(parents=True)
    space.write_text(json.dumps({"learning_rate": {"min": 1e-4, "max": 1e-2, "scaling": "log"}}))
    assert quiet(report_command, None, None, algoperf_dir=logs, targets=str(targets_file(tmp_path))) == 0
    html = (root / "logs_scores" / "leaderboard.html").read_text(encoding="utf-8")
    for text in ("AlgoPerf logs logs", "AlgoPerf&#39;s pick", "validation/loss ≤ 0.5", "validation/accuracy ≥ 0.9",
                 "1,000 s", "learning_rate", "0.003", "&#34;scaling&#34;: &#34;log&#34;", "after their budget"):
        assert text in html, text
    assert (root / "logs_scores" / "leaderboard_plots" / "external_tuning_curves_w1.png").is_file()


LOGS = os.environ.get("ALGOPERF_SUBMISSIONS_ALGORITHMS")
# Published: previous_leaderboards/algoperf_v05/README.md and README.md (v0.6) of submissions_algorithms.
PUBLISHED = {
    ("v0.5", "external_tuning"): {
        "shampoo_submission": "0.7784", "schedule_free_adamw": "0.7077", "generalized_adam": "0.6383",
        "cyclic_lr": "0.6301", "nadamp": "0.5909", "baseline": "0.5707", "amos": "0.4918",
        "caspr_adaptive": "0.4722", "lawa_queue": "0.3699", "lawa_ema": "0.3384", "schedule_free_prodigy": "0.0000",
    },
    ("v0.5", "self_tuning"): {
        "schedule_free_adamw": "0.8542", "baseline": "0.8194", "nadamw_sequential": "0.3308",
        "sinv6_75": "0.1420", "sinv6": "0.0903", "adamg": "0.0000",
    },
    ("v0.6", "external_tuning"): {"shampoo": "0.6244", "baseline": "0.4590"},
}


@pytest.mark.skipif(not LOGS, reason="set ALGOPERF_SUBMISSIONS_ALGORITHMS to a checkout of "
                                     "github.com/mlcommons/submissions_algorithms to reproduce its leaderboards")
@pytest.mark.parametrize("version", ["v0.5", "v0.6"])
def test_real_logs_reproduce_the_published_leaderboards(version: str) -> None:
    logs = Path(LOGS) / "previous_leaderboards" / f"algoperf_{version.replace('.', '')}" / "logs"
    ts = read_algoperf_logs(logs, version)
    result = quiet(compute_scores, ts, ScoreSettings(n_boot=0, trial_selection="first_eval"))
    for (v, ruleset), published in PUBLISHED.items():
        if v == version:
            board = result.scores[result.scores["ruleset"] == ruleset]
            assert {s: f"{x:.4f}" for s, x in zip(board["submission"], board["score"])} == published
            assert list(board["submission"]) == list(published)
    if version == "v0.6":
        assert any("finewebedu_lm" in n for n in ts.notes)
