"""``algoperf-lite check``: every baseline passes, and each kind of broken submission
fails with a line that says what is wrong."""

from __future__ import annotations

import pytest

from algoperf_lite.commands.check import check_command
from algoperf_lite.trial import check
from algoperf_lite.data import DataNotFoundError
from algoperf_lite.trial.submissions import available_submissions, load_submission

NATIVE_SGD = """
import torch

def make_optimizer(model, hp, workload):
    return torch.optim.SGD(model.parameters(), lr=hp.learning_rate, maximize=hp.maximize)
"""

# AlgoPerf form: halves the weights for every eval and never restores them.
LEAKY_EVAL = """
import torch
from algoperf_lite import submission_kit as kit

def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
    return {"optimizer": torch.optim.SGD(model_params.parameters(), lr=0.5)}

def update_params(workload, current_param_container, current_params_types, model_state, hyperparameters,
                  batch, loss_type, optimizer_state, eval_results, global_step, rng, train_state=None):
    if global_step == 3:
        raise_here = {RAISE}
        if raise_here:
            raise RuntimeError("boom at step 3")
    optimizer_state["optimizer"].zero_grad()
    _, model_state = kit.backward(workload, current_param_container, model_state, None, batch, rng)
    optimizer_state["optimizer"].step()
    return optimizer_state, current_param_container, model_state

def prepare_for_eval(workload, current_param_container, current_params_types, model_state, hyperparameters,
                     loss_type, optimizer_state, eval_results, global_step, rng):
    with torch.no_grad():
        for p in current_param_container.parameters():
            p.mul_(0.5)
    return optimizer_state, current_param_container, model_state

get_batch_size = kit.get_batch_size
data_selection = kit.data_selection
"""


def write(tmp_path, source: str, self_tuning: str | None = None, name: str = "mine") -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "submission.py").write_text(source)
    if self_tuning is not None:
        (folder / "self_tuning.json").write_text(self_tuning)
    return str(folder)


@pytest.mark.parametrize("name", available_submissions())
def test_every_baseline_passes_on_digits(name):
    result = check.check_workload(load_submission(name), "digits_logreg")
    assert result.status == "pass" and result.loss_down, result.detail


def test_check_command_prints_one_line_per_workload(capsys):
    assert check_command("adamw", ["digits_logreg", "mnist_logreg"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "check adamw (native form), search space: 5 hyperparameters"
    assert out[1].startswith("  PASS  digits_logreg") and "prepare_for_eval leaves training unchanged" in out[1]
    assert out[2].startswith("  PASS  mnist_logreg")
    assert out[3].startswith("OK: passed on 2 workloads, failed on 0, skipped 0")


def test_loss_going_up_fails(tmp_path):
    path = write(tmp_path, NATIVE_SGD, '{"learning_rate": 0.5, "maximize": true}')
    result = check.check_workload(load_submission(path), "digits_logreg")
    assert result.status == "fail" and "the training loss went up" in result.detail


def test_a_loss_that_never_goes_down_fails_the_submission(tmp_path, capsys):
    path = write(tmp_path, NATIVE_SGD, '{"learning_rate": 0.0, "maximize": false}')
    assert check_command(path, ["digits_logreg"]) == 1
    out = capsys.readouterr().out
    assert "flat (within 5%)" in out and "FAIL  the training loss went down on no workload" in out


def test_prepare_for_eval_that_changes_training_fails(tmp_path):
    path = write(tmp_path, LEAKY_EVAL.replace("{RAISE}", "False"))
    result = check.check_workload(load_submission(path), "digits_logreg")
    assert result.status == "fail"
    assert "an extra prepare_for_eval at step 10 changed the loss at step 12" in result.detail
    assert "it must not change training" in result.detail


def test_an_exception_names_its_type_step_and_place(tmp_path):
    path = write(tmp_path, LEAKY_EVAL.replace("{RAISE}", "True"))
    result = check.check_workload(load_submission(path), "digits_logreg")
    assert result.status == "fail"
    assert "RuntimeError at step 4" in result.detail and "submission.py:" in result.detail
    assert "boom at step 3" in result.detail


def test_missing_data_is_skipped_and_does_not_fail(monkeypatch, capsys):
    def no_data(name, scale, device, data_dir=None):
        raise DataNotFoundError("mnist needs local files and no data directory is set: put ... under DIR")

    monkeypatch.setattr(check.workloads, "build_workload", no_data)
    assert check_command("adamw", ["mnist_cnn"]) == 0
    out = capsys.readouterr().out
    assert "  SKIP  mnist_cnn" in out and "skipped: data not available (mnist needs local files" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", available_submissions())
def test_every_baseline_passes_the_whole_check(name):
    assert check_command(name) == 0
