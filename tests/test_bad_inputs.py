"""Bad input, run against the CLI: each case prints one message naming the problem and
the fix, exits with code 2, and shows no traceback (``--debug`` shows it)."""

from __future__ import annotations

import json

import pytest

from algoperf_lite.cli import main
from algoperf_lite.errors import UserError

VALID_FUNCTIONS = (
    "def init_optimizer_state(*a): pass\n"
    "def update_params(*a, train_state=None): pass\n"
    "def get_batch_size(name): return 8\n"
    "def data_selection(*a): pass\n"
)
NATIVE = "import torch\ndef make_optimizer(model, hp, workload):\n    return torch.optim.SGD(model.parameters(), lr=0.1)\n"


def submission(tmp_path, source, space=None, name="mine"):
    """A submission folder in tmp_path; returns the override naming it."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "submission.py").write_text(source)
    if isinstance(space, bytes):
        (folder / "tuning_search_space.json").write_bytes(space)
    elif space is not None:
        (folder / "tuning_search_space.json").write_text(space if isinstance(space, str) else json.dumps(space))
    return f"submission={folder}"


def lr(spec):
    return {"learning_rate": spec}


CASES = {
    # names
    "unknown workload": (lambda t: ["run", "workload=digit_logreg"], "did you mean digits_logreg"),
    "unknown submission": (lambda t: ["run", "submission=sgd_momentun"], "did you mean sgd_momentum"),
    # broken submission folders
    "syntax error": (lambda t: ["run", submission(t, "def f(:\n")], "syntax error in"),
    "missing function": (lambda t: ["run", submission(t, "def init_optimizer_state(*a): pass\n")],
                         "does not define update_params()"),
    "mistyped function": (lambda t: ["run", submission(t, VALID_FUNCTIONS.replace("data_selection", "data_selecton"))],
                          "(found 'data_selecton': a typo?)"),
    "missing dependency": (lambda t: ["run", submission(t, "import no_such_pkg_abc\n")], "which is not installed"),
    # search spaces
    "min > max": (lambda t: ["run", submission(t, NATIVE, lr({"min": 1.0, "max": 0.1, "scaling": "log"}))],
                  "has min 1.0 > max 0.1; swap them"),
    "log with min <= 0": (lambda t: ["run", submission(t, NATIVE, lr({"min": 0, "max": 0.1, "scaling": "log"}))],
                          "log-scaled with min 0 <= 0"),
    "unknown scaling": (lambda t: ["run", submission(t, NATIVE, lr({"min": 0.1, "max": 1, "scaling": "exp"}))],
                        "unknown scaling 'exp'; use one of linear, log"),
    "empty feasible points": (lambda t: ["run", submission(t, NATIVE, lr({"feasible_points": []}))],
                              "empty feasible_points"),
    "search space not JSON": (lambda t: ["run", submission(t, NATIVE, "{oops")], "not valid JSON"),
    "search space with NaN": (lambda t: ["run", submission(t, NATIVE, '{"learning_rate": {"feasible_points": [NaN]}}')],
                              "tuning_search_space.json: not valid JSON (NaN is not a JSON number)"),
    "search space with Infinity": (lambda t: ["run", submission(t, NATIVE, '[{"learning_rate": -Infinity}]')],
                                   "not valid JSON (-Infinity is not a JSON number)"),
    "search space with a number too large": (
        lambda t: ["run", submission(t, NATIVE, '{"learning_rate": {"min": 1e-3, "max": 1e999, "scaling": "log"}}')],
        "tuning_search_space.json: holds inf, not a finite number"),
    "search space in YAML with .nan": (lambda t: ["run", submission(t, NATIVE), f"search_space={_yaml(t)}"],
                                       "space.yaml: holds nan, not a finite number"),
    "search space binary": (lambda t: ["run", submission(t, NATIVE, b"\x89PNG\r\n\x1a\n\x00\xff\xfe")],
                            "tuning_search_space.json: not UTF-8 text"),
    "search space nested deep": (lambda t: ["run", submission(t, NATIVE, "[" * 200_000 + "]" * 200_000)],
                                 "tuning_search_space.json: nested deeper than 64 levels"),
    "study: search space with NaN": (
        lambda t: ["study", f"results_dir={t / 'results'}", "--dry-run",
                   "study.submissions=[" + submission(t, NATIVE, '[{"learning_rate": NaN}]').removeprefix(
                       "submission=") + "]"],
        "not valid JSON (NaN is not a JSON number)"),
    "chosen point with NaN": (lambda t: ["run", "hp.learning_rate=nan"], "hp.NAME=VALUE: holds nan"),
    "no search space for external tuning": (lambda t: ["run", submission(t, NATIVE)], "has no tuning_search_space.json"),
    "no self-tuning point": (lambda t: ["run", "ruleset=self", submission(t, NATIVE, lr({"feasible_points": [0.1]}))],
                             "has no self_tuning.json"),
    # overrides and config values
    "override without =": (lambda t: ["run", "workload"], "bad override"),
    "unknown config key": (lambda t: ["run", "wrkload=digits_logreg"], "bad override"),
    "unknown rules preset": (lambda t: ["run", "rules=v9"], "Could not find 'rules/v9'"),
    "not an integer": (lambda t: ["run", "trial=first"], "trial must be an integer"),
    "not a boolean": (lambda t: ["run", "stop_at_target=maybe"], "stop_at_target must be true or false"),
    "negative study": (lambda t: ["run", "study=-1"], "0-based indices"),
    "trial out of range": (lambda t: ["run", "trial=5"], "trial=5 is out of range"),
    "unknown ruleset": (lambda t: ["run", "ruleset=open"], "use ruleset=external or ruleset=self"),
    "unknown scale": (lambda t: ["run", "scale=tiny"], "use scale=auto, smoke or full"),
    "bad device": (lambda t: ["run", "device=gpu0"], "use cpu, cuda, cuda:N or auto"),
    "no CUDA": (lambda t: ["run", "device=cuda"], "CUDA is not available here"),
    "unknown clock": (lambda t: ["run", "clock=tsc"], "clock='tsc' is not valid: use auto, cpu or wall"),
    "time resolution of 1": (lambda t: ["run", "time_resolution=1"], "time_resolution=1.0 is not valid"),
    "zero eval period": (lambda t: ["run", "eval_every_steps=0"], "must be positive or null"),
    "zero threads": (lambda t: ["run", "threads=0"], "threads must be positive or null"),
    "negative budget scale": (lambda t: ["run", "budget_scale=-1"], "budget_scale must be auto, measure, a positive number"),
    "budget scale of an unknown workload": (lambda t: ["run", "budget_scale={digit_logreg: 2}"],
                                            "budget_scale names unknown workload(s) digit_logreg"),
    # data
    "missing data files": (lambda t: ["run", "workload=mnist_logreg", "scale=full", f"data_dir={t}"],
                           "files not found under"),
    # studies (once also `python -m algoperf_lite.study`, now `algoperf-lite study` only)
    "study: unknown submission": (lambda t: ["study", f"results_dir={t}", "--dry-run", "study.submissions=[adamv]"],
                                  "error: unknown submission 'adamv'"),
    # scoring and report
    "score: no such directory": (lambda t: ["score", str(t / "nope")], "no such directory"),
    "score: neither input": (lambda t: ["score"], "give a results directory or --times"),
    "score: CSV lacks columns": (lambda t: ["score", "--times", str(_csv(t))], "missing column(s)"),
    "report: no trials": (lambda t: ["report", str(t)], "no finished trials found"),
}


def _yaml(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("learning_rate:\n  feasible_points: [.nan]\n")
    return path


def _csv(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("submission,time\nadamw,3\n")
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gives_one_message_and_exit_2(tmp_path, capsys, case):
    make_args, message = CASES[case]
    args = make_args(tmp_path)
    assert main(args) == 2
    captured = capsys.readouterr()
    out = (captured.out + captured.err).replace("\n", "")
    assert message in out, out
    assert "Traceback" not in out


def test_debug_shows_the_traceback():
    with pytest.raises(UserError, match="unknown workload"):
        main(["--debug", "run", "workload=nope"])
