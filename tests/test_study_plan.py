"""The study plan, before any training: its size and order, reproducible points and
seeds, self-tuning specs, validation up front, the dry run, and study.json's guard.
(That studies draw different points is tested in test_search_space.py.)"""

from __future__ import annotations

import json
import re

import pytest

from algoperf_lite.configs import load_config
from algoperf_lite.errors import UserError
from algoperf_lite.commands.study import study_command
from algoperf_lite.study.plan import plan_hash, prepare_plan, run_planned, trial_configs
from algoperf_lite.study.resume import claim_results_dir, study_record


def planned(tmp_path, *overrides):
    settings = load_config("study", ["study=smoke", f"results_dir={tmp_path}", *overrides])
    return settings, prepare_plan(trial_configs(settings, "cpu"))


def test_plan_covers_workloads_submissions_studies_and_trials(tmp_path):
    _, plan = planned(tmp_path, "rules.num_studies=2", "rules.num_trials=3")
    cells = [(t.record.study, t.record.trial, t.record.workload, t.record.submission) for t in plan]
    assert len(cells) == len(set(cells)) == 2 * 3 * 1 * 2  # studies x trials x workloads x submissions
    assert [t.index for t in plan] == list(range(12))
    assert [c[0] for c in cells] == sorted(c[0] for c in cells)  # study by study
    assert all(t.path.is_relative_to(tmp_path) and not t.path.exists() for t in plan)  # nothing written


def test_the_same_config_gives_the_same_points_and_seeds_and_another_seed_does_not(tmp_path):
    def draw(*overrides):
        _, plan = planned(tmp_path, "rules.num_studies=2", *overrides)
        return [(t.record.seed, t.record.hyperparameters) for t in plan], plan_hash(plan)

    first, again, other = draw(), draw(), draw("seed=1")
    assert first == again
    seeds = [seed for seed, _ in first[0]]
    # Common random numbers: each (study, trial, workload) its own seed, the same for both submissions.
    assert len(set(seeds)) == len(seeds) / 2
    _, plan = planned(tmp_path, "rules.num_studies=2")
    by_cell = {(t.record.study, t.record.trial, t.record.workload): t.record.seed for t in plan}
    assert all(t.record.seed == by_cell[t.record.study, t.record.trial, t.record.workload] for t in plan)
    assert all(t.record.common_random_numbers for t in plan)
    independent = [seed for seed, _ in draw("common_random_numbers=false")[0]]
    assert len(set(independent)) == len(independent)  # without: every trial its own seed
    assert all(point for _, point in first[0])
    assert {s for s, _ in other[0]}.isdisjoint(seeds) and other[1] != first[1]
    assert [p for _, p in other[0]] != [p for _, p in first[0]]


def test_self_tuning_plans_one_trial_per_study_without_hyperparameters_and_the_multiplied_budget(tmp_path):
    _, external = planned(tmp_path)
    _, self_tuning = planned(tmp_path, "ruleset=self", "rules=v0.5", "rules.num_studies=2",
                             "rules.held_out_variants=false")
    assert [(t.record.study, t.record.trial) for t in self_tuning] == [(0, 0), (0, 0), (1, 0), (1, 0)]
    assert all(t.record.hyperparameters is None for t in self_tuning)
    assert self_tuning[0].budget_sec == pytest.approx(3.0 * external[0].budget_sec)  # v0.5: x3


def test_held_out_variants_join_the_plan_under_v05_and_are_recorded_as_such(tmp_path):
    _, v06 = planned(tmp_path)
    _, v05 = planned(tmp_path, "rules=v0.5", "rules.num_studies=1")
    assert {t.record.workload for t in v06} == {"digits_logreg"}
    assert {t.record.variant_of for t in v06} == {None}
    variants = {t.record.workload: t.record.variant_of for t in v05}
    assert variants == {"digits_logreg": None, "digits_logreg_zero_init": "digits_logreg"}
    assert len(v05) == 2 * len(v06)  # each base trial has its variant trial


def test_held_out_variants_follow_their_base_workloads():
    from algoperf_lite.trial.workloads import with_held_out_variants

    assert with_held_out_variants(("mnist_cnn", "digits_logreg")) == (
        "mnist_cnn", "digits_logreg", "mnist_cnn_gelu", "digits_logreg_zero_init")
    assert with_held_out_variants(("mnist_cnn", "mnist_cnn_gelu")) == ("mnist_cnn", "mnist_cnn_gelu")
    assert with_held_out_variants(("fashion_mnist_cnn",)) == ("fashion_mnist_cnn",)


@pytest.mark.parametrize("override, message", [
    ("study.workloads=[digits_logreg,digits_logreg_typo]", "unknown workload 'digits_logreg_typo'"),
    ("study.submissions=[adamw,adamv]", "unknown submission 'adamv': did you mean adamw"),
    ("ruleset=internal", "unknown ruleset 'internal'"),
    ("study.workloads=[]", "study.workloads must be a non-empty list"),
    ("study.submissions=[adamw,adamw]", "lists adamw more than once"),
    ("workers=-1", "workers=-1 is not valid: workers must be an integer >= 0"),
    ("quiet=no", "quiet must be true or false"),
    ("budget_sec=-1", "budget_sec must be a positive number or null"),
    ("devices=[cuda:7]", "CUDA is not available"),
    ("rules.num_trials=9", "lists only 1 fixed points"),  # a search space too small for the rules
    ("study.workloads=[mnist_logreg] scale=full data_dir={tmp}", "mnist files not found under"),
])
def test_bad_input_is_refused_before_anything_runs(tmp_path, override, message):
    space = tmp_path / "fixed" / "tuning_search_space.json"
    space.parent.mkdir()
    space.write_text(json.dumps([{"learning_rate": 0.01}]))
    (space.parent / "submission.py").write_text(
        "import torch\n\ndef make_optimizer(model, hp, workload):\n"
        "    return torch.optim.SGD(model.parameters(), lr=hp.learning_rate)\n")
    overrides = override.format(tmp=tmp_path).split() + (["study.submissions=[adamw," + str(space.parent) + "]"]
                                    if "num_trials" in override else [])
    results = tmp_path / "results"
    with pytest.raises(UserError, match=re.escape(message)):
        study_command(["study=smoke", f"results_dir={results}", *overrides])
    assert not results.exists()


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    assert study_command(["study=smoke", f"results_dir={tmp_path / 'r'}", "rules.num_trials=3", "budget_scale=1"],
                         dry_run=True) == 0
    out = capsys.readouterr().out
    assert "6 trials: 0 finished (skipped), 0 interrupted (rerun from scratch), 6 new" in out
    assert "sgd_momentum" in out and "digits_logreg" in out
    assert "18 s of budgets + 6 x 10 s set-up and eval allowance (trial_overhead_sec, an estimate)" in out
    assert not (tmp_path / "r").exists()


def test_a_results_dir_refuses_another_study_or_format_unless_overwrite(tmp_path):
    settings, plan = planned(tmp_path)
    record = study_record(settings, plan, plan_hash(plan))
    claim_results_dir(tmp_path, record, overwrite=False)
    claim_results_dir(tmp_path, record, overwrite=False)  # the same study: resume
    written = json.loads((tmp_path / "study.json").read_text())
    assert written["workloads"] == ["digits_logreg"] and written["rules"]["num_trials"] == 2
    assert written["reference_submission"] == "adamw" and written["algoperf_lite_version"]

    other_settings, other_plan = planned(tmp_path, "rules.num_trials=3")
    other = study_record(other_settings, other_plan, plan_hash(other_plan))
    with pytest.raises(UserError, match=r"different plan \(rules.num_trials: 2 -> 3\).*overwrite=true"):
        claim_results_dir(tmp_path, other, overwrite=False)
    with pytest.raises(UserError, match="different plan"):  # through the command, before any training
        study_command(["study=smoke", f"results_dir={tmp_path}", "rules.num_trials=3"])

    (tmp_path / "external_tuning" / "adamw").mkdir(parents=True)
    claim_results_dir(tmp_path, other, overwrite=True)  # deletes the old study's results
    assert not (tmp_path / "external_tuning").exists()
    assert json.loads((tmp_path / "study.json").read_text())["plan_hash"] == other["plan_hash"]

    (tmp_path / "study.json").write_text(json.dumps({**other, "format_version": 0}))
    with pytest.raises(UserError, match="results format 0"):
        claim_results_dir(tmp_path, other, overwrite=False)


def test_trials_without_study_json_are_not_mixed_into_a_study(tmp_path):
    settings, plan = planned(tmp_path)
    (tmp_path / "external_tuning" / "adamw").mkdir(parents=True)
    with pytest.raises(UserError, match="holds trial results but no study.json"):
        claim_results_dir(tmp_path, study_record(settings, plan, plan_hash(plan)), overwrite=False)


def test_a_trial_that_left_the_plan_is_refused_where_it_runs(tmp_path):
    folder = tmp_path / "fixed"
    folder.mkdir()
    (folder / "submission.py").write_text("import torch\n\ndef make_optimizer(model, hp, workload):\n"
                                          "    return torch.optim.SGD(model.parameters(), lr=hp.learning_rate)\n")
    (folder / "tuning_search_space.json").write_text(json.dumps([{"learning_rate": 0.01}]))
    _, plan = planned(tmp_path, "rules.num_trials=1", f"study.submissions=[{folder}]")
    (folder / "tuning_search_space.json").write_text(json.dumps([{"learning_rate": 0.5}]))  # edited mid-study
    with pytest.raises(UserError, match=r"changed since the study was planned \(hyperparameters: "
                                        r"\{'learning_rate': 0.01\} -> \{'learning_rate': 0.5\}, "
                                        r"submission file tuning_search_space.json edited\)"):
        run_planned(plan[0], "cpu")
    assert not plan[0].path.exists()
