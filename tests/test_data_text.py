"""Tiny Shakespeare: the copy inside the package (checked by sha256), a data directory's
file in its place, and ``algoperf-lite data download`` (offline: one message, exit 1)."""

from __future__ import annotations

import hashlib
import lzma
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rich.console import Console

from algoperf_lite import data
from algoperf_lite.cli import main
from algoperf_lite.commands.data import download_command
from conftest import SHARED_DATA

SHAKESPEARE = SHARED_DATA / "tinyshakespeare" / "input.txt"


@pytest.fixture
def offline(monkeypatch):
    """Every URL fails, as on a machine without a network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def console():
    return Console(record=True, width=300)


def test_the_package_ships_the_text_and_checks_it(tmp_path):
    text = data.load_tiny_shakespeare(tmp_path)  # an empty data directory
    assert len(text) == 1_115_394
    assert hashlib.sha256(text.encode()).hexdigest() == data.TINY_SHAKESPEARE_SHA256
    assert len(set(text)) == 65 and text.startswith("First Citizen:")


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"no {SHAKESPEARE} (../shared/data beside the checkout)")
def test_the_shipped_text_is_the_published_file(tmp_path):
    assert data.load_tiny_shakespeare(tmp_path).encode() == SHAKESPEARE.read_bytes()


def test_a_data_directory_file_takes_the_place_of_the_shipped_one(tmp_path):
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("To be, or not to be\n")
    assert data.load_tiny_shakespeare(tmp_path) == "To be, or not to be\n"


def test_a_damaged_shipped_copy_is_refused(tmp_path, monkeypatch):
    (tmp_path / "bundled_data").mkdir()
    (tmp_path / "bundled_data" / "tinyshakespeare.txt.xz").write_bytes(lzma.compress(b"First Citizen: (cut)"))
    monkeypatch.setattr(data, "files", lambda package: tmp_path)
    with pytest.raises(data.DataNotFoundError, match="fails its sha256 check"):
        data.load_tiny_shakespeare(tmp_path / "empty")


@pytest.mark.parametrize("name, files", [("tinyshakespeare", "tinyshakespeare/input.txt"),
                                         ("mnist", "MNIST/raw/")])
def test_download_offline_names_files_and_exits_1(tmp_path, offline, console, name, files):
    assert download_command(name, str(tmp_path), console) == 1
    out = console.export_text().replace("\n", "")
    assert out.startswith(f"error: could not download {name}") and "no network (test)" in out
    assert f"Put {files}" in out and str(tmp_path) in out
    assert not (tmp_path / "tinyshakespeare" / "input.txt").exists()


def test_download_lists_the_names_it_knows_and_refuses_others(tmp_path, console, capsys):
    assert download_command(None, str(tmp_path), console) == 0
    listing = console.export_text()
    assert f"datasets (into {tmp_path})" in listing
    assert all(name in listing for name in ("mnist", "fashion_mnist", "cifar10", "tinyshakespeare"))
    assert main(["data", "download", "imagenet"]) == 2
    assert "known: mnist, fashion_mnist, cifar10, tinyshakespeare" in capsys.readouterr().out


def test_download_uses_the_data_directory_of_every_command(tmp_path, offline, monkeypatch, console):
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_bytes(data.load_tiny_shakespeare(tmp_path / "no").encode())
    monkeypatch.setenv("ALGOPERF_LITE_DATA_DIR", str(tmp_path))
    assert download_command("tinyshakespeare", None, console) == 0  # intact already: no network needed
    assert f"tinyshakespeare: ready under {tmp_path}" in console.export_text()


def test_the_default_data_directory_is_a_per_user_cache(tmp_path, monkeypatch):
    from algoperf_lite.paths import data_dir

    monkeypatch.delenv("ALGOPERF_LITE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data_dir() == tmp_path / "algoperf-lite"
    assert data_dir("elsewhere") == Path("elsewhere").resolve()  # the config key first
