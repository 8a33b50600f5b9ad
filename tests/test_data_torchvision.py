"""The torchvision loaders, on tiny files written in the real on-disk formats: MNIST's
IDX files (big-endian magic 2051/2049 headers, then uint8 data) under DIR/MNIST/raw/, and
CIFAR-10's pickled batches under DIR/cifar-10-batches-py/.

torchvision checks CIFAR-10's files against the md5s of the real ones
(``CIFAR10._check_integrity`` and ``_load_meta``). To load tiny files through the real
class, the tests subclass it with only those expected md5s replaced by the tiny files'
own (:func:`cifar10_class_for`): the integrity check itself still runs. MNIST's loader
checks that the files exist, not their md5s, so it reads the tiny files as they are."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
import torchvision

from algoperf_lite import data
from data_files import cifar10_class_for, tiny_cifar10, write_cifar10, write_mnist  # noqa: F401 (a fixture)


@pytest.mark.parametrize("name, folder", [("MNIST", "MNIST"), ("FashionMNIST", "FashionMNIST")])
def test_mnist_idx_files_load_through_torchvision(tmp_path, name, folder):
    arrays = write_mnist(tmp_path, folder)
    train, test = data.load_torchvision_mnist(name, tmp_path)

    assert train.inputs.shape == (30, 1, 28, 28) and test.inputs.shape == (10, 1, 28, 28)
    assert train.inputs.dtype == torch.float32
    torch.testing.assert_close(train.inputs[:, 0], torch.from_numpy(arrays["train_images"]).float() / 255)
    torch.testing.assert_close(test.inputs[:, 0], torch.from_numpy(arrays["t10k_images"]).float() / 255)
    assert train.targets.tolist() == arrays["train_labels"].tolist()
    assert test.targets.dtype == torch.int64


def test_cifar10_pickled_batches_load_through_torchvision(tiny_cifar10):
    root, arrays = tiny_cifar10
    train, test = data.load_torchvision_cifar10(root)

    assert train.inputs.shape == (20, 3, 32, 32) and test.inputs.shape == (5, 3, 32, 32)
    # Channel-first again: image i, channel c, pixel (y, x) is byte c*1024 + y*32 + x of row i.
    expected = torch.from_numpy(arrays["train_rows"]).float().view(20, 3, 32, 32) / 255
    torch.testing.assert_close(train.inputs, expected)
    assert train.inputs[3, 2, 5, 7].item() == pytest.approx(arrays["train_rows"][3, 2 * 1024 + 5 * 32 + 7] / 255)
    assert train.targets.tolist() == arrays["train_labels"].tolist()
    assert test.targets.tolist() == arrays["test_labels"].tolist()


def test_cifar10_files_failing_the_real_md5_are_refused(tmp_path):
    write_cifar10(tmp_path)  # tiny files; the real class expects the real files' md5s
    with pytest.raises(data.DataNotFoundError) as e:
        data.load_torchvision_cifar10(tmp_path)
    assert "md5" in str(e.value) and "cifar-10-batches-py/" in str(e.value)


@pytest.fixture
def offline(monkeypatch):
    """Every URL fails, as on a machine without a network (torchvision opens them with urlopen)."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize("load, dataset, files", [
    (lambda d: data.load_torchvision_mnist("MNIST", d), "mnist",
     "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte"),
    (lambda d: data.load_torchvision_mnist("FashionMNIST", d), "fashion_mnist", "FashionMNIST/raw/"),
    (data.load_torchvision_cifar10, "cifar10", "cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}"),
])
def test_offline_without_files_one_message_names_files_and_place(tmp_path, offline, empty_data_dir, load,
                                                                   dataset, files):
    with pytest.raises(data.DataNotFoundError) as default_dir:
        load(None)  # the data directory every command uses ($ALGOPERF_LITE_DATA_DIR here)
    with pytest.raises(data.DataNotFoundError) as given_dir:
        load(tmp_path)

    assert f"files not found under {empty_data_dir}" in str(default_dir.value)
    assert f"put {tmp_path}/{files}" in str(given_dir.value)
    for message in (str(default_dir.value), str(given_dir.value)):
        assert "fetching them failed (" in message and "no network (test)" in message
        assert f"algoperf-lite data download {dataset}" in message and "data_dir=DIR" in message
        assert "\n" not in message  # one line


def gzipped_idx(raw: Path) -> dict[str, bytes]:
    """The four MNIST files of ``raw`` gzipped, as the mirrors serve them."""
    return {f"{p.name}.gz": gzip.compress(p.read_bytes()) for p in sorted(raw.iterdir())}


@pytest.fixture
def mnist_mirror(tmp_path, monkeypatch):
    """A local HTTP server serving tiny MNIST files, and torchvision's MNIST pointed at it
    with those files' md5s: the real download code path, without the internet."""
    arrays = write_mnist(tmp_path / "source")
    served = gzipped_idx(tmp_path / "source" / "MNIST" / "raw")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = served.get(self.path.lstrip("/"))
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources",
                        [(name, hashlib.md5(body).hexdigest()) for name, body in served.items()])
    yield arrays
    server.shutdown()


def test_missing_files_are_fetched_into_the_data_directory(tmp_path, mnist_mirror):
    train, test = data.load_torchvision_mnist("MNIST", tmp_path / "data")
    assert (tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert train.inputs.shape == (30, 1, 28, 28) and test.inputs.shape == (10, 1, 28, 28)
    assert train.targets.tolist() == mnist_mirror["train_labels"].tolist()
    again, _ = data.load_torchvision_mnist("MNIST", tmp_path / "data")  # read, not fetched again
    torch.testing.assert_close(again.inputs, train.inputs)
