"""Tiny data files in the real on-disk formats, for tests: MNIST's and Fashion-MNIST's IDX
files (big-endian magic 2051/2049 headers, then uint8 data) under DIR/MNIST/raw/ and
DIR/FashionMNIST/raw/, CIFAR-10's pickled batches under DIR/cifar-10-batches-py/, and Tiny
Shakespeare's plain text under DIR/tinyshakespeare/input.txt.

torchvision checks CIFAR-10's files against the md5s of the real ones
(``CIFAR10._check_integrity`` and ``_load_meta``). To load tiny files through the real
class, the tests subclass it with only those expected md5s replaced by the tiny files'
own (:func:`cifar10_class_for`): the integrity check itself still runs. MNIST's loader
checks that the files exist, not their md5s, so it reads the tiny files as they are."""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torchvision

from algoperf_lite import data

CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def write_idx(raw: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """``prefix``-images-idx3-ubyte and ``prefix``-labels-idx1-ubyte, as MNIST ships them."""
    raw.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">4i", 2051, n, rows, cols) + images.tobytes())
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">2i", 2049, n) + labels.tobytes())


def write_mnist(root: Path, folder: str = "MNIST", num_train: int = 30, num_test: int = 10,
                seed: int = 0) -> dict[str, np.ndarray]:
    """Random uint8 images and labels in torchvision's layout ``root/folder/raw/``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", num_train), ("t10k", num_test)):
        arrays[f"{prefix}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}_labels"] = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(root / folder / "raw", prefix, arrays[f"{prefix}_images"], arrays[f"{prefix}_labels"])
    return arrays


def write_cifar10(root: Path, per_batch: int = 4, num_test: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    """CIFAR-10's python version: pickled dicts with ``data`` (N, 3072) uint8 rows, each
    the red, green and blue 32x32 planes in turn, and ``labels``; plus batches.meta."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train_rows": [], "train_labels": []}
    for name, n in [(b, per_batch) for b in CIFAR_BATCHES] + [("test_batch", num_test)]:
        rows = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        (folder / name).write_bytes(pickle.dumps({"data": rows, "labels": labels}))
        if name == "test_batch":
            arrays["test_rows"], arrays["test_labels"] = rows, np.array(labels)
        else:
            arrays["train_rows"].append(rows)
            arrays["train_labels"] += labels
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(10)]}))
    arrays["train_rows"] = np.concatenate(arrays["train_rows"])
    arrays["train_labels"] = np.array(arrays["train_labels"])
    return arrays


def cifar10_class_for(root: Path) -> type:
    """torchvision's CIFAR10 expecting the md5s of the tiny files under ``root``."""
    folder = root / "cifar-10-batches-py"

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    real = torchvision.datasets.CIFAR10
    return type("TinyCIFAR10", (real,), {
        "train_list": [[name, md5(name)] for name in CIFAR_BATCHES],
        "test_list": [["test_batch", md5("test_batch")]],
        "meta": {**real.meta, "md5": md5("batches.meta")},
    })


@pytest.fixture
def tiny_cifar10(tmp_path, monkeypatch) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = write_cifar10(tmp_path)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", cifar10_class_for(tmp_path))
    return tmp_path, arrays


# Sized so that every full scale's splits make sense: a validation set of a sixth of MNIST's
# 600 (its 10,000 of 60,000) and a tenth of CIFAR-10's 200 (5,000 of 50,000), each training
# set larger than the batches the full-scale tests use, and 6,000 characters of the real
# Tiny Shakespeare: 21 training windows of the full scale's 256 characters, one validation
# and one test window.
FULL_SCALE_MNIST = (600, 100)
FULL_SCALE_CIFAR10 = (40, 50)  # per training batch (5 of them), test
FULL_SCALE_SHAKESPEARE_CHARS = 6000


def write_full_scale_data(root: Path) -> Path:
    """Every file the full scales read, tiny (see the sizes above); ``root``. CIFAR-10 then
    loads through :func:`cifar10_class_for` (``root``)."""
    write_mnist(root, "MNIST", *FULL_SCALE_MNIST, seed=0)
    write_mnist(root, "FashionMNIST", *FULL_SCALE_MNIST, seed=1)
    write_cifar10(root, *FULL_SCALE_CIFAR10, seed=2)
    text = data.load_tiny_shakespeare(root)  # the package's copy: no file there yet
    (root / "tinyshakespeare").mkdir(parents=True, exist_ok=True)
    (root / "tinyshakespeare" / "input.txt").write_text(text[:FULL_SCALE_SHAKESPEARE_CHARS], encoding="utf-8")
    return root
