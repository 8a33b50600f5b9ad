"""Loading submissions of every form, and the errors a broken one gives."""

from __future__ import annotations

import pytest

from algoperf_lite.errors import UserError
from algoperf_lite.spec import Target
from algoperf_lite.trial.submissions import load_submission
from conftest import FIXTURES, train_point


def test_native_submission_loads_with_its_search_space(digits):
    sub = load_submission("adamw")
    assert sub.form == "native" and sub.prepare_for_eval is None
    assert set(sub.search_space.to_json()) >= {"learning_rate", "weight_decay"}
    assert sub.batch_size_for(digits) == (digits.default_batch_size, "workload_default")
    assert sub.self_tuning_point["learning_rate"] > 0


@pytest.mark.parametrize("folder, form", [("algoperf_v06_nadamw", "algoperf-v0.6"),
                                          ("algoperf_v05_sfadamw", "algoperf-v0.5")])
def test_algoperf_submissions_run_unmodified(digits, folder, form):
    sub = load_submission(str(FIXTURES / folder))
    assert sub.form == form
    # Keyed on AlgoPerf's workload names, raising for others: the workload's default.
    assert sub.batch_size_for(digits) == (64, "workload_default")
    digits.override(target=Target("accuracy", 0.9, maximize=True))
    point = sub.search_space.sample(1, seed=0)[0]
    result = train_point(digits, sub, point, seed=1, batch_size=64, budget_sec=5.0, eval_period_sec=0.05)
    assert result.status == "reached", result.error  # it really trained
    assert result.evals[-1]["train/loss"] < result.evals[0]["train/loss"] / 2


def test_algoperf_v06_prepare_for_eval_is_called_once_per_eval(digits):
    sub = load_submission(str(FIXTURES / "algoperf_v06_nadamw"))
    calls = []
    prepare = sub.prepare_for_eval

    def counting(*args):
        out = prepare(*args)
        calls.append(out[0]["prepared"])
        return out

    sub.prepare_for_eval = counting
    result = train_point(digits, sub, sub.search_space.sample(1, 0)[0], seed=1, batch_size=64,
                         budget_sec=0.3, eval_period_sec=0.05, stop_at_target=False, time_resolution=0.0)
    assert calls == list(range(1, len(result.evals) + 1))  # (and at every checkpoint: tests/test_checkpoints.py)


def write_submission(tmp_path, source, name="mine"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "submission.py").write_text(source)
    return folder


def test_syntax_error_names_file_and_line(tmp_path):
    folder = write_submission(tmp_path, "def init_optimizer_state(:\n    pass\n")
    with pytest.raises(UserError, match=r"syntax error in .*submission.py, line 1"):
        load_submission(str(folder))


def test_missing_function_suggests_the_typo(tmp_path):
    folder = write_submission(tmp_path, (
        "def init_optimizer_state(*a): pass\n"
        "def update_param(*a): pass\n"
        "def get_batch_size(n): return 1\n"
        "def data_selection(*a): pass\n"
    ))
    with pytest.raises(UserError, match=r"does not define update_params\(\) \(found 'update_param': a typo\?\)"):
        load_submission(str(folder))


def test_missing_dependency_says_what_to_install(tmp_path):
    folder = write_submission(tmp_path, "import not_a_real_package_xyz\n")
    with pytest.raises(UserError, match="imports 'not_a_real_package_xyz', which is not installed"):
        load_submission(str(folder))


def test_unknown_name_suggests_close_names():
    with pytest.raises(UserError, match="did you mean adamw"):
        load_submission("adamv")


def test_bad_batch_size_is_refused(tmp_path, digits):
    folder = write_submission(tmp_path, (
        "def init_optimizer_state(*a): pass\n"
        "def update_params(*a, train_state=None): pass\n"
        "def get_batch_size(n): return 0\n"
        "def data_selection(*a): pass\n"
    ))
    with pytest.raises(UserError, match="must return a positive int"):
        load_submission(str(folder)).batch_size_for(digits)
