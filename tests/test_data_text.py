"""The Tiny Shakespeare loader (a local file, else the ``datasets`` cache, never the
network) and ``algoperf-lite data download`` (offline: one message, non-zero exit)."""

from __future__ import annotations

import hashlib
import shutil
import time
import urllib.error
import urllib.request

import datasets
import huggingface_hub.constants
import pytest

from algoperf_lite import data
from algoperf_lite.download import TINY_SHAKESPEARE_SHA256, download_command
from conftest import SHARED_DATA

SHAKESPEARE = SHARED_DATA / "tinyshakespeare" / "input.txt"
needs_shakespeare = pytest.mark.skipif(
    not SHAKESPEARE.is_file(),
    reason=f"Tiny Shakespeare not found at {SHAKESPEARE} (../shared/data beside the checkout)",
)


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    """The Hugging Face caches pointed at an empty folder: nothing is cached."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf_datasets"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf_hub"))


@pytest.fixture
def offline(monkeypatch):
    """Every URL fails, as on a machine without a network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@needs_shakespeare
def test_text_from_the_data_dir():
    text = data.load_tiny_shakespeare(SHARED_DATA)
    assert len(text) == 1_115_394
    assert hashlib.sha256(text.encode()).hexdigest() == TINY_SHAKESPEARE_SHA256
    assert len(set(text)) == 65 and text.startswith("First Citizen:")


@needs_shakespeare
def test_text_from_the_datasets_cache_joins_its_three_splits(tmp_path, monkeypatch):
    # What karpathy/tiny_shakespeare holds: one row per split, 90/5/5% of the text.
    text = SHAKESPEARE.read_text()
    a, b = int(0.9 * len(text)), int(0.95 * len(text))
    cached = {"train": [{"text": text[:a]}], "validation": [{"text": text[a:b]}], "test": [{"text": text[b:]}]}
    monkeypatch.setattr(data, "_cached_hf_dataset", lambda name: cached)
    assert data.load_tiny_shakespeare(tmp_path) == text


@pytest.mark.parametrize("with_dir", [False, True])
def test_offline_without_text_fails_fast_with_one_message(tmp_path, empty_hf_cache, with_dir):
    flags = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    started = time.perf_counter()
    with pytest.raises(data.DataNotFoundError) as e:
        data.load_tiny_shakespeare(tmp_path if with_dir else None)
    message = str(e.value)

    assert time.perf_counter() - started < 5  # the datasets cache only: no network retries
    assert "tinyshakespeare/input.txt" in message and "karpathy/tiny_shakespeare" in message
    assert (f"expected {tmp_path}/tinyshakespeare/input.txt" in message) == with_dir
    assert "algoperf-lite data download tinyshakespeare" in message
    assert (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE) == flags  # restored


@pytest.mark.parametrize("name, files", [("tinyshakespeare", "tinyshakespeare/input.txt"),
                                         ("mnist", "MNIST/raw/")])
def test_download_offline_names_files_and_exits_non_zero(tmp_path, offline, capsys, name, files):
    assert download_command(name, str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: could not download {name}") and "no network (test)" in err
    assert f"Put {files}" in err and str(tmp_path) in err
    assert not (tmp_path / "tinyshakespeare" / "input.txt").exists()


def test_download_bad_input_exits_2(tmp_path, monkeypatch, capsys):
    assert download_command("imagenet", str(tmp_path)) == 2
    assert "known: mnist, fashion_mnist, cifar10, tinyshakespeare" in capsys.readouterr().err
    monkeypatch.delenv("ALGOPERF_LITE_DATA_DIR", raising=False)
    assert download_command("mnist", None) == 2
    assert "data_dir=DIR" in capsys.readouterr().err


@needs_shakespeare
def test_download_keeps_an_intact_file_without_the_network(tmp_path, offline, monkeypatch, capsys):
    (tmp_path / "tinyshakespeare").mkdir()
    shutil.copy(SHAKESPEARE, tmp_path / "tinyshakespeare" / "input.txt")
    monkeypatch.setenv("ALGOPERF_LITE_DATA_DIR", str(tmp_path))
    assert download_command("tinyshakespeare", None) == 0
    assert "tinyshakespeare: ready under" in capsys.readouterr().out
