"""Results directories from someone else (issue 26): whatever a results directory holds,
`score`, `report` and `study` (its --dry-run and --status too) give one message and exit 2
or a warning and the rest scored; never a traceback, nothing read from outside it and
nothing raw on the terminal."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from algoperf_lite.cli import main
from algoperf_lite.results import check_trial
from test_scoring_fakes import make_results_dir, write_trial

INF = float("inf")
DEEP = "[" * 200_000 + "]" * 200_000
TIMES = {("adamw", "mnist"): [[10.0, 12.0]], ("sgd", "mnist"): [[20.0, INF]]}
STUDY = {"name": "shared", "rules": {"num_trials": 2, "num_studies": 1}, "workloads": ["mnist"],
         "trials": [f"external_tuning/{s}/study_0/mnist/trial_{i}" for s in ("adamw", "sgd") for i in (0, 1)]}


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Traceback" not in out, out
    return code, out.replace("\n", "")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results_dir(tmp_path / "results", TIMES, study=STUDY)


def trial(results: Path, submission: str = "sgd", index: int = 1) -> Path:
    return results / "external_tuning" / submission / "study_0" / "mnist" / f"trial_{index}"


@pytest.mark.parametrize("damaged", ["outcome.json", "spec.json"])
def test_a_deeply_nested_record_is_skipped_with_a_warning_and_the_rest_scored(results, capsys, damaged):
    (trial(results) / damaged).write_text(DEEP)
    code, out = run(capsys, "score", str(results))
    assert code == 0 and f"{damaged} is unreadable: nested deeper than 64 levels" in out
    assert "1 unfinished trial(s)" in out and "sgd/study_0/mnist/trial_1" in out
    assert run(capsys, "report", str(results))[0] == 0


def test_a_record_of_the_wrong_types_is_skipped_with_a_warning(results, capsys):
    outcome = trial(results) / "outcome.json"
    outcome.write_text(json.dumps({**json.loads(outcome.read_text()), "num_evals": "4", "status": 7}))
    spec = trial(results, "adamw", 0) / "spec.json"
    spec.write_text(json.dumps({**json.loads(spec.read_text()), "rules": [1, 2]}))
    code, out = run(capsys, "score", str(results))
    assert code == 0 and "2 unfinished trial(s)" in out and "is unreadable: " in out
    assert run(capsys, "report", str(results))[0] == 0


def test_a_deeply_nested_environment_is_left_out_of_the_page_with_a_warning(results, capsys):
    (trial(results, "adamw", 0) / "environment.json").write_text(DEEP)
    code, out = run(capsys, "report", str(results))
    assert code == 0 and "environment.json: nested deeper than 64 levels: that trial's environment is left out" in out


@pytest.mark.parametrize("study, message", [
    (DEEP, "study.json: nested deeper than 64 levels"),
    (json.dumps({**STUDY, "trials": ["/etc"]}), "trials[0] ('/etc') is not a trial folder inside the results directory"),
    (json.dumps({**STUDY, "trials": [1, None, {}]}), "trials[0] (1) is not a trial folder"),
    (json.dumps({**STUDY, "rules": [1, 2]}), "study.json: rules is list, not dict"),
    (json.dumps({**STUDY, "workloads": [1, None, {}]}), "workloads holds something that is not a name"),
    (json.dumps([1, 2]), "study.json: not a JSON object but list"),
    ("\x89PNG\r\n\x1a\n\x00\xff", "study.json: not UTF-8 text"),
])
def test_a_damaged_study_json_is_one_message(results, capsys, study, message):
    (results / "study.json").write_bytes(study.encode("latin-1"))
    for command in ("score", "report"):
        code, out = run(capsys, command, str(results))
        assert code == 2 and message in out and out.count("error:") == 1, out


def test_trial_paths_that_leave_the_results_directory_are_refused_and_nothing_outside_is_read(tmp_path, capsys):
    other = make_results_dir(tmp_path / "other", {("outsider", "mnist"): [[5.0]]})
    results = make_results_dir(tmp_path / "results", TIMES, study={
        **STUDY, "trials": [*STUDY["trials"], "../other/external_tuning/outsider/study_0/mnist/trial_0"]})
    code, out = run(capsys, "score", str(results))
    assert code == 2 and "is not a trial folder inside the results directory" in out
    # Without a plan every trial folder is read, but none that a link leads outside.
    (results / "study.json").unlink()
    (results / "external_tuning" / "outsider").symlink_to(other / "external_tuning" / "outsider")
    code, out = run(capsys, "score", str(results))
    assert code == 0 and "outsider" not in out and "outsider" not in (results / "scores.csv").read_text()


def test_a_100000_character_name_makes_a_page_and_figures_of_ordinary_size(tmp_path, capsys):
    long = "x" * 100_000
    results = make_results_dir(tmp_path / "results", {("adamw", "mnist"): [[10.0]]})
    write_trial(results, long, "mnist", 0, 0, 12.0, folder="long")
    assert run(capsys, "report", str(results))[0] == 0
    assert long in (results / "leaderboard.html").read_text(encoding="utf-8")  # the page has it whole
    for png in (results / "leaderboard_plots").glob("*.png"):
        width, height = struct.unpack(">II", png.read_bytes()[16:24])
        assert width < 3000 and height < 3000, (png.name, width, height)


def test_escape_sequences_in_names_do_not_reach_the_terminal(tmp_path, capsys):
    hostile = "evil\x1b[2J\x1b]0;owned\x07\x9b31m"
    results = make_results_dir(tmp_path / "results", {("adamw", "mnist"): [[10.0]], (hostile, "mnist"): [[INF]]})
    for command in ("score", "report"):
        code, out = run(capsys, command, str(results))
        assert code == 0 and "evil[2J" in out
        assert not any(c in out for c in "\x1b\x07\x9b"), repr(out)


@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_no_file_outside_the_results_directory_is_read_into_the_page(tmp_path, capsys, where):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "tuning_search_space.json").write_text(json.dumps({"password": "hunter2-marker"}))
    results = make_results_dir(tmp_path / "results", TIMES)
    for spec_file in results.glob("external_tuning/*/*/*/*/spec.json"):  # no search space of its own
        spec = json.loads(spec_file.read_text())
        spec["submission_path"] = str(secret) if where == "absolute" else "../secret"
        spec_file.write_text(json.dumps(spec))
        outcome = json.loads((spec_file.parent / "outcome.json").read_text())
        (spec_file.parent / "outcome.json").write_text(json.dumps({**outcome, "spec_hash": None}))
    assert run(capsys, "report", str(results))[0] == 0
    page = (results / "leaderboard.html").read_text(encoding="utf-8")
    assert "hunter2-marker" not in page and "outside the results directory: not read" in page


# --- a real study's results, damaged -------------------------------------------------------------

STUDY_ARGS = ["study=smoke", "budget_sec=0.3", "eval_period_sec=0.1", "stop_at_target=false", "quiet=true",
              "score=false"]


@pytest.fixture(scope="module")
def study_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("study") / "results"
    assert main(["study", *STUDY_ARGS, f"results_dir={results}"]) == 0
    return results


@pytest.fixture
def copy(study_results: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(study_results, tmp_path / "results"))


@pytest.mark.parametrize("damaged", ["outcome.json", "spec.json"])
def test_a_study_reruns_a_deeply_nested_record_with_a_warning(copy, capsys, damaged):
    (folder,) = copy.glob("external_tuning/adamw/study_0/*/trial_0")
    (folder / damaged).write_text(DEEP)
    args = [*STUDY_ARGS, f"results_dir={copy}"]
    for extra in ("--dry-run", "--status"):
        assert run(capsys, "study", *args, extra)[0] == 0
    code, out = run(capsys, "study", *args)
    assert code == 0 and f"damaged ({damaged} is unreadable: nested deeper than 64 levels); it is rerun" in out
    assert check_trial(folder)[0] is not None  # whole again


def test_a_study_refuses_a_results_directory_whose_study_json_is_damaged(copy, capsys):
    (copy / "study.json").write_text(DEEP)
    args = [*STUDY_ARGS, f"results_dir={copy}"]
    code, out = run(capsys, "study", *args, "--dry-run")
    assert code == 0 and "a run would be refused" in out and "study.json is not readable (nested deeper" in out
    code, out = run(capsys, "study", *args)
    assert code == 2 and "is not readable (nested deeper than 64 levels)" in out and "overwrite=true" in out
