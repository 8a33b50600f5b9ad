"""Trackers (logger=tensorboard | wandb): what a trial sends them, read back from the files
they wrote and compared with the trial's own record."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from algoperf_lite.cli import main
from algoperf_lite.configs import load_config
from algoperf_lite.errors import UserError
from algoperf_lite.results import EVAL_COLUMNS, read_evals, read_outcome, read_spec
from algoperf_lite.trial.run import prepare_trial, run_prepared

# Evals by step count: a short trial with a known number of evals.
SHORT = ["device=cpu", "budget_scale=1", "max_steps=60", "eval_every_steps=20", "stop_at_target=false", "quiet=true"]


def run_trial(tmp_path: Path, *overrides: str):
    trial = prepare_trial(load_config("run", [*SHORT, f"results_dir={tmp_path / 'results'}", *overrides]))
    outcome = run_prepared(trial)
    return trial, outcome


def metric_columns(row: dict[str, str]) -> list[str]:
    return [k for k in row if k not in EVAL_COLUMNS]


# --- TensorBoard -------------------------------------------------------------------------------

def tensorboard_events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = folder.glob("events.out.tfevents.*")  # one run, one file
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def test_tensorboard_event_file_holds_every_eval_and_the_settings(tmp_path):
    trial, outcome = run_trial(tmp_path, "logger=tensorboard")
    evals = read_evals(trial.path)
    assert [int(r["step"]) for r in evals] == [1, 20, 40, 60] and outcome.num_evals == 4
    events = tensorboard_events(trial.path / "tensorboard")

    for column in metric_columns(evals[0]):  # train/..., validation/..., test/...
        scalars = events.Scalars(column)
        assert [s.step for s in scalars] == [int(r["step"]) for r in evals], column
        assert [s.value for s in scalars] == pytest.approx([float(r[column]) for r in evals], rel=1e-6), column
    times = events.Scalars("time/submission_time")
    assert [s.value for s in times] == pytest.approx([float(r["submission_time"]) for r in evals], rel=1e-6)
    # Event times are the start plus the submission time: the "relative" axis is submission time.
    accuracy = events.Scalars("validation/accuracy")
    assert [a.wall_time - accuracy[0].wall_time for a in accuracy] == pytest.approx(
        [float(r["submission_time"]) - float(evals[0]["submission_time"]) for r in evals], abs=1e-3)
    assert [s.value for s in events.Scalars("outcome/reached")] == [float(outcome.reached)]

    settings = json.loads(events.Tensors("settings/text_summary")[0].tensor_proto.string_val[0]
                          .decode().strip("`\n"))
    spec = read_spec(trial.path)
    assert settings["hyperparameters"] == spec["hyperparameters"] and settings["seed"] == spec["seed"]
    assert set(events.PluginTagToContent("hparams")) >= {"_hparams_/experiment", "_hparams_/session_start_info"}
    start = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    assert b"hp/learning_rate" in start and b"digits_logreg" in start


def test_logger_dir_puts_the_logs_under_it_by_the_trials_relative_path(tmp_path):
    trial, _ = run_trial(tmp_path, "logger=tensorboard", f"logger_dir={tmp_path / 'tb'}")
    folder = tmp_path / "tb" / Path(*trial.path.parts[-5:])
    assert len(tensorboard_events(folder).Scalars("validation/accuracy")) == 4
    assert not (trial.path / "tensorboard").exists()


def test_a_tracker_failing_mid_trial_warns_and_the_record_stands(tmp_path, monkeypatch, capsys):
    from torch.utils.tensorboard import SummaryWriter

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(SummaryWriter, "add_scalar", broken)
    trial, outcome = run_trial(tmp_path, "logger=tensorboard")
    assert "logger=tensorboard stopped logging this trial: OSError: disk full" in capsys.readouterr().err
    assert read_outcome(trial.path).status == outcome.status == "training_complete"
    assert len(read_evals(trial.path)) == 4


# --- Weights & Biases, offline ---------------------------------------------------------------------

@pytest.fixture
def wandb_offline(tmp_path, monkeypatch):
    """W&B offline, with every folder it uses in tmp_path (never the user's)."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_PROJECT", "algoperf-lite-tests")
    for name in ("DIR", "CACHE_DIR", "CONFIG_DIR", "DATA_DIR", "ARTIFACT_DIR"):
        monkeypatch.setenv(f"WANDB_{name}", str(tmp_path / f"wandb_{name.lower()}"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def wandb_records(run_file: Path) -> list:
    """The records of an offline run's ``run-<id>.wandb``: LevelDB's log format (32 KiB
    blocks of chunks with a 7-byte header: crc32, length, type) after W&B's own 7-byte
    header, each record one protobuf ``Record``."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = run_file.read_bytes()
    assert data[:4] == b":W&B"
    block, pos, payloads, pending = 32768, 7, [], b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:  # FULL
            payloads.append(chunk)
        elif kind == 2:  # FIRST
            pending = chunk
        elif kind == 3:  # MIDDLE
            pending += chunk
        elif kind == 4:  # LAST
            payloads.append(pending + chunk)
    records = []
    for payload in payloads:
        record = pb.Record()
        record.ParseFromString(payload)
        records.append(record)
    return records


def test_wandb_offline_run_holds_every_eval_the_settings_and_the_outcome(tmp_path, wandb_offline):
    trial, outcome = run_trial(tmp_path, "logger=wandb")
    (run_file,) = (trial.path / "wandb").glob("offline-run-*/run-*.wandb")
    records = wandb_records(run_file)
    by_kind: dict[str, list] = {}
    for r in records:
        by_kind.setdefault(r.WhichOneof("record_type"), []).append(r)

    (run,) = [r.run for r in by_kind["run"]]
    assert run.project == "algoperf-lite-tests"
    assert run.display_name == "adamw/digits_logreg/study_0/trial_0" and run.run_group == "results"
    assert list(run.tags) == ["external", "adamw", "digits_logreg"]
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    spec = read_spec(trial.path)
    assert config["hyperparameters"] == spec["hyperparameters"]
    assert config["workload"] == "digits_logreg" and config["seed"] == spec["seed"]

    history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
               for r in by_kind["history"]]
    evals = read_evals(trial.path)
    assert [h["_step"] for h in history] == [int(r["step"]) for r in evals]
    for logged, row in zip(history, evals):
        assert logged["time/submission_time"] == pytest.approx(float(row["submission_time"]))
        for column in metric_columns(row):
            assert logged[column] == pytest.approx(float(row[column]), rel=1e-6), column

    summary = {item.key or "/".join(item.nested_key): json.loads(item.value_json)
               for r in by_kind["summary"] for item in r.summary.update}
    assert summary["outcome/status"] == outcome.status == "training_complete"
    assert summary["outcome/num_evals"] == 4


def test_wandb_that_cannot_start_is_one_user_error_before_training_and_leaves_no_files(tmp_path, wandb_offline,
                                                                                         monkeypatch):
    import wandb

    def refuse(**kwargs):
        raise wandb.errors.UsageError("api_key not configured (no-tty)")

    monkeypatch.setattr(wandb, "init", refuse)
    trial = prepare_trial(load_config("run", [*SHORT, f"results_dir={tmp_path / 'results'}", "logger=wandb"]))
    with pytest.raises(UserError, match="logger=wandb could not start: UsageError: api_key not configured"):
        run_prepared(trial)
    assert not (tmp_path / "results").exists()


# --- choosing a logger -------------------------------------------------------------------------------

def test_a_logger_that_is_not_installed_is_refused_before_training_naming_the_extra(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    assert main(["run", "logger=wandb", "device=cpu", f"results_dir={tmp_path}"]) == 2
    out = capsys.readouterr().out
    assert "logger=wandb needs the wandb package" in out and "pip install 'algoperf-lite[wandb]'" in out
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written
    with pytest.raises(UserError, match="logger must be null, tensorboard or wandb"):
        prepare_trial(load_config("run", ["logger=tensorbord", "device=cpu"]))


def test_a_study_gives_its_logger_to_every_trial_which_opens_it_where_it_runs():
    from algoperf_lite.study.plan import trial_configs

    settings = load_config("study", ["study=smoke", "logger=tensorboard", "logger_dir=/tmp/tb"])
    configs = trial_configs(settings, "cpu")
    assert configs and {(c.logger, c.logger_dir) for c in configs} == {("tensorboard", "/tmp/tb")}
