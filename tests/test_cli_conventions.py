"""The command line follows its ecosystem's habits: --debug anywhere, --cfg, a chosen
point with hp.NAME=VALUE, search_space=PATH, and the user's own folders on a search path
beside the built-in ones."""

from __future__ import annotations

import json

import pytest
import yaml

from algoperf_lite.cli import main
from algoperf_lite.errors import UserError
from algoperf_lite.scoring.results_dir import read_results_dir

NATIVE = "import torch\ndef make_optimizer(model, hp, workload):\n    return torch.optim.SGD(model.parameters(), lr=hp.lr)\n"
FAMILY = '''
from algoperf_lite.workload_kit import ScaleConfig, derived_scales
from algoperf_lite_workloads.logreg import DigitsLogreg


class Tiny(DigitsLogreg):
    SCALES = derived_scales(DigitsLogreg.SCALES, {"budget_sec": 1.0, "provenance": "a test's"})


WORKLOADS = {"tiny_digits": Tiny}
'''


def only_spec(results_dir, top="external_tuning"):
    (path,) = results_dir.glob(f"{top}/*/study_*/*/trial_*/spec.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("args", [["--debug", "run", "workload=nope"], ["run", "--debug", "workload=nope"],
                                  ["run", "workload=nope", "--debug"]])
def test_debug_in_any_position_shows_the_traceback(args):
    with pytest.raises(UserError, match="unknown workload 'nope'"):
        main(args)


def test_cfg_prints_the_composed_config_and_runs_nothing(tmp_path, capsys):
    assert main(["run", "--cfg", "workload=mnist_cnn", f"results_dir={tmp_path}", "hp.learning_rate=0.003"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["workload"] == "mnist_cnn" and printed["hp"] == {"learning_rate": 0.003}
    assert printed["rules"]["preset"] == "v0.6" and printed["threads"] == 1
    assert main(["study", "study=smoke", "--cfg"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["study"]["name"] == "smoke" and printed["executor"]["kind"] == "sequential"
    assert not list(tmp_path.iterdir())


def test_a_chosen_point_is_recorded_as_such_and_kept_apart_from_tuning_trials(tmp_path, capsys):
    args = ["run", f"results_dir={tmp_path}", "max_steps=3", "quiet=true"]
    assert main([*args, "hp.learning_rate=0.003", "hp.weight_decay=0"]) == 0
    assert "a chosen point: not a tuning trial" in capsys.readouterr().out
    spec = only_spec(tmp_path, "chosen_points")
    assert spec["point_source"] == "chosen"
    assert spec["hyperparameters"]["learning_rate"] == 0.003 and spec["hyperparameters"]["weight_decay"] == 0
    assert set(spec["hyperparameters"]) == {"learning_rate", "one_minus_beta1", "beta2", "weight_decay",
                                            "warmup_factor"}  # the rest of the drawn point
    assert not (tmp_path / "external_tuning").exists()
    assert main(args) == 0  # a tuning trial beside it: the only one scored
    assert read_results_dir(tmp_path).trials["path"].str.contains("external_tuning").all()


def test_search_space_replaces_the_submissions_own(tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps([{"learning_rate": 0.02, "one_minus_beta1": 0.1, "beta2": 0.99,
                                  "weight_decay": 0.0, "warmup_factor": 0.1}]))
    results = tmp_path / "results"
    assert main(["run", f"results_dir={results}", f"search_space={space}", "max_steps=2", "quiet=true",
                 "rules.num_trials=1"]) == 0
    spec = only_spec(results)
    assert spec["hyperparameters"]["learning_rate"] == 0.02 and spec["search_space"][0]["beta2"] == 0.99


def test_own_folders_join_the_built_in_ones_and_list_says_where_each_is_from(tmp_path, monkeypatch, capsys):
    (tmp_path / "subs" / "mysgd").mkdir(parents=True)
    (tmp_path / "subs" / "mysgd" / "submission.py").write_text(NATIVE)
    (tmp_path / "subs" / "mysgd" / "tuning_search_space.json").write_text('[{"lr": 0.1}]')
    (tmp_path / "wls" / "tiny").mkdir(parents=True)
    (tmp_path / "wls" / "tiny" / "workload.py").write_text(FAMILY)
    monkeypatch.setenv("ALGOPERF_LITE_SUBMISSIONS_PATH", str(tmp_path / "subs"))

    assert main(["list", f"workloads_path=[{tmp_path / 'wls'}]"]) == 0
    lines = capsys.readouterr().out.splitlines()
    built_in = next(line for line in lines if line.startswith("workloads (built-in, "))
    assert "digits_logreg" in built_in and "tiny_digits" not in built_in
    assert f"workloads (added, {tmp_path / 'wls'}): tiny_digits" in lines
    assert f"submissions (added, {tmp_path / 'subs'}): mysgd" in lines
    assert "adamw" in next(line for line in lines if line.startswith("submissions (built-in, "))

    results = tmp_path / "results"
    assert main(["run", "submission=mysgd", "workload=tiny_digits", f"workloads_path=[{tmp_path / 'wls'}]",
                 f"results_dir={results}", "rules.num_trials=1", "max_steps=2", "quiet=true"]) == 0
    spec = only_spec(results)
    assert spec["workload"] == "tiny_digits" and spec["budget_sec"] == 1.0 and spec["submission"] == "mysgd"

    (tmp_path / "subs" / "adamw").mkdir()  # a name the built-in folder has
    (tmp_path / "subs" / "adamw" / "submission.py").write_text(NATIVE)
    assert main(["run", "submission=mysgd", "max_steps=2"]) == 2
    assert "submission 'adamw' is on the search path twice" in capsys.readouterr().out.replace("\n", "")
