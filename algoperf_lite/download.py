"""``algoperf-lite data download NAME [data_dir=DIR]``: fetch a dataset's files into the
data directory, when online. torchvision downloads and md5-checks MNIST, Fashion-MNIST
and CIFAR-10; Tiny Shakespeare comes from its public URL, checked by sha256. When the
download fails (offline), one message says which files to put where, and the exit code
is non-zero. Trials never download: their loaders only read (:mod:`algoperf_lite.data`).
"""

from __future__ import annotations

import hashlib
import sys
import urllib.request
from pathlib import Path

from algoperf_lite.atomic import write_text_atomic
from algoperf_lite.data import DATASETS, TORCHVISION_CLASSES
from algoperf_lite.paths import data_dir as resolve_data_dir

TINY_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def download_command(name: str, data_dir: str | None) -> int:
    """Download ``name`` (a key of :data:`algoperf_lite.data.DATASETS`) into ``data_dir``
    (else ``ALGOPERF_LITE_DATA_DIR``). Returns the exit code: 0 done, 1 download failed,
    2 bad input."""
    if name not in DATASETS:
        print(f"error: unknown dataset {name!r}; known: {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    root = resolve_data_dir(data_dir)
    if root is None:
        print(f"error: no data directory: pass data_dir=DIR (or set ALGOPERF_LITE_DATA_DIR=DIR); "
              f"{name} goes to DIR/{DATASETS[name]}", file=sys.stderr)
        return 2
    try:
        if name == "tinyshakespeare":
            _download_tiny_shakespeare(root)
        else:
            _download_torchvision(name, root)
    except (OSError, RuntimeError) as e:  # URLError is an OSError; torchvision raises RuntimeError
        print(f"error: could not download {name} ({e}). Offline? Put {DATASETS[name]} under {root} "
              f"by hand (copied from a machine that has them), or run this again when online.", file=sys.stderr)
        return 1
    print(f"{name}: ready under {root} ({DATASETS[name]})")
    return 0


def _download_torchvision(name: str, root: Path) -> None:
    import torchvision

    cls = getattr(torchvision.datasets, TORCHVISION_CLASSES[name])
    for train in (True, False):  # skips files already present and intact
        cls(root=str(root), train=train, download=True)


def _download_tiny_shakespeare(root: Path) -> None:
    file = root / DATASETS["tinyshakespeare"]
    if file.is_file() and _sha256(file.read_bytes()) == TINY_SHAKESPEARE_SHA256:
        return
    with urllib.request.urlopen(TINY_SHAKESPEARE_URL, timeout=60) as response:
        payload = response.read()
    if _sha256(payload) != TINY_SHAKESPEARE_SHA256:
        raise RuntimeError(f"{TINY_SHAKESPEARE_URL} sent {len(payload):,} bytes with an unexpected sha256")
    write_text_atomic(file, payload.decode("utf-8"))


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
