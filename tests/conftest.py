"""Shared fixtures: the real digits workload and real submissions, with hooks to make
parts of them slow or scripted for the timing tests."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import torch

from algoperf_lite.trial.record import TrialRecord
from algoperf_lite.trial.runner import TrainResult, train
from algoperf_lite.trial.submissions import LoadedSubmission, load_submission
from algoperf_lite.trial.workloads import build_workload

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

def load_module(path: Path, name: str):
    """The Python file at ``path``, imported as a module named ``name`` (scripts and
    submissions are files, not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_script(name: str):
    """``scripts/<name>.py`` as a module."""
    return load_module(REPO / "scripts" / f"{name}.py", name)


ADAMW_POINT = {"learning_rate": 0.01, "one_minus_beta1": 0.1, "beta2": 0.999,
               "weight_decay": 1e-3, "warmup_factor": 0.05}


@pytest.fixture(autouse=True, scope="session")
def empty_data_dir(tmp_path_factory):
    """Every test reads an empty data directory unless it names one: never the user's
    cache, the same on every machine (Tiny Shakespeare comes from the package)."""
    path = tmp_path_factory.mktemp("data_dir")
    saved = os.environ.get("ALGOPERF_LITE_DATA_DIR")
    os.environ["ALGOPERF_LITE_DATA_DIR"] = str(path)
    yield path
    if saved is None:
        del os.environ["ALGOPERF_LITE_DATA_DIR"]
    else:
        os.environ["ALGOPERF_LITE_DATA_DIR"] = saved


@pytest.fixture(autouse=True)
def empty_cache_dir(tmp_path, monkeypatch):
    """Every test starts with no kept speed measurements, and never touches the user's."""
    monkeypatch.setenv("ALGOPERF_LITE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tests that call the runner directly train on one torch thread, as trials do
    (``threads=1``): the cpu clock charges every thread's CPU time."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Tests never reach the internet: a URL that is not this machine's fails at once, as
    offline (a closed network may instead hang until a timeout). Local servers still answer."""
    real = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        host = urllib.parse.urlsplit(url.full_url if isinstance(url, urllib.request.Request) else url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise urllib.error.URLError(f"no network in tests ({host})")
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_only)


@pytest.fixture
def digits():
    """The real digits_logreg workload (scikit-learn's bundled digits) on the CPU."""
    workload = build_workload("digits_logreg", "smoke", torch.device("cpu"))
    workload.prepare()
    return workload


@pytest.fixture
def adamw() -> LoadedSubmission:
    return load_submission("adamw")


def slowed(submission: LoadedSubmission, **delays: float) -> LoadedSubmission:
    """``submission`` with ``time.sleep(delay)`` added to the named functions."""

    def wrap(fn, delay):
        def slow(*args, **kwargs):
            time.sleep(delay)
            return fn(*args, **kwargs)

        return slow

    return dataclasses.replace(
        submission, **{name: wrap(getattr(submission, name), d) for name, d in delays.items()}
    )


def train_point(workload, submission, point, submission_clock=None, **fields) -> TrainResult:
    """``train`` with the point ``point`` and the record fields ``fields`` (seed,
    batch_size, budget_sec, clock, ...); the rest from the workload, as it is now."""
    return train(workload, submission, TrialRecord.of(workload, submission, hyperparameters=point, **fields),
                 clock=submission_clock)
