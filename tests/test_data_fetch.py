"""Tests for hypermod.data.fetch, downloading from a local HTTP server on 127.0.0.1."""

import gzip
import hashlib
import io
import socket
import tarfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from conftest import serve, serve_handler

import hypermod.data.fetch as fetch
from hypermod.data import (
    ChecksumError,
    CorruptDataError,
    DataError,
    fetch_dataset,
    load_dataset,
    write_idx,
)

pytestmark = pytest.mark.usefixtures("isolated_data_env")

IDX_GZ = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def leftovers(directory: Path) -> list[str]:
    """Hidden temporary files and directories a failed fetch must not leave behind."""
    return sorted(p.name for p in directory.rglob(".*"))


def _gunzip_sha256(path: Path) -> str:
    return hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch, write_idx_set) -> Path:
    """A tiny MNIST-style mirror directory whose digests replace the real MNIST ones."""
    mirror = write_idx_set(tmp_path / "mirror", n_train=20, n_test=10)
    digests = {name.removesuffix(".gz"): _gunzip_sha256(mirror / name) for name in IDX_GZ}
    monkeypatch.setitem(fetch.IDX_SHA256, "mnist", digests)
    return mirror


def _refuse_download(*args, **kwargs):
    raise AssertionError("fetch tried to download when it should not have")


# --- MNIST-style sets ---------------------------------------------------------------------


def test_fetch_real_mnist_via_mirror_argument(tmp_path, shared_data_dir):
    with serve(shared_data_dir / "mnist") as url:
        destination = fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)
    assert destination == tmp_path / "data" / "mnist"
    assert sorted(p.name for p in destination.iterdir()) == sorted(IDX_GZ)
    dataset = load_dataset("mnist", data_dir=tmp_path / "data")
    assert len(dataset.train_labels) == 60000 and len(dataset.test_labels) == 10000


def test_fetch_real_mnist_via_environment(tmp_path, monkeypatch, shared_data_dir):
    monkeypatch.setenv("HYPERMOD_DATA", str(tmp_path / "env-root"))
    with serve(shared_data_dir / "mnist") as url:
        monkeypatch.setenv("HYPERMOD_MIRROR_MNIST", url)
        destination = fetch_dataset("mnist", progress=False)
    assert destination == tmp_path / "env-root" / "mnist"
    dataset = load_dataset("mnist")
    assert len(dataset.train_labels) == 60000 and len(dataset.test_labels) == 10000


def test_fetch_fashion_mnist_checksums_match_debian_files(tmp_path):
    if not (FASHION_SYSTEM_DIR / IDX_GZ[0]).is_file():
        pytest.skip(f"Fashion-MNIST not installed at {FASHION_SYSTEM_DIR}")
    with serve(FASHION_SYSTEM_DIR) as url:
        destination = fetch_dataset("fashion-mnist", root=tmp_path, mirror=url, progress=False)
    assert sorted(p.name for p in destination.iterdir()) == sorted(IDX_GZ)


def test_fetch_defaults_to_cache_and_shows_progress(tmp_path, fake_mnist, capsys):
    with serve(fake_mnist) as url:
        destination = fetch_dataset("mnist", mirror=url, progress=True)
    assert destination == tmp_path / "xdg-cache" / "hypermod" / "mnist"
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err
    assert len(load_dataset("mnist").train_labels) == 20


def test_verified_files_are_not_downloaded_again(tmp_path, fake_mnist, monkeypatch):
    with serve(fake_mnist) as url:
        destination = fetch_dataset("mnist", root=tmp_path, mirror=url, progress=False)
        # A damaged .gz is replaced; an intact one is kept.
        (destination / IDX_GZ[1]).write_bytes(b"\x1f\x8b not really gzip")
        fetch_dataset("mnist", root=tmp_path, mirror=url, progress=False)
    assert _gunzip_sha256(destination / IDX_GZ[1]) == _gunzip_sha256(fake_mnist / IDX_GZ[1])

    # Raw files count as present too; find_dataset prefers them.
    raw = destination / IDX_GZ[0].removesuffix(".gz")
    raw.write_bytes(gzip.decompress((destination / IDX_GZ[0]).read_bytes()))
    (destination / IDX_GZ[0]).unlink()
    monkeypatch.setattr(urllib.request, "urlopen", _refuse_download)
    assert fetch_dataset("mnist", root=tmp_path, mirror="http://unused/", progress=False)


def test_bad_raw_file_is_reported_not_shadowed(tmp_path, fake_mnist):
    destination = tmp_path / "mnist"
    destination.mkdir()
    write_idx(destination / "train-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ChecksumError, match="already present .* delete it"):
        fetch_dataset("mnist", root=tmp_path, mirror="http://unused/", progress=False)


def test_checksum_mismatch_leaves_no_file(tmp_path, fake_mnist):
    # Valid gzip, wrong content: only the decompressed digest can tell.
    bad = fake_mnist / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    expected = fetch.IDX_SHA256["mnist"]["t10k-labels-idx1-ubyte"]
    actual = hashlib.sha256(gzip.decompress(bad.read_bytes())).hexdigest()
    with serve(fake_mnist) as url, pytest.raises(ChecksumError) as info:
        fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)

    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message and expected in message and actual in message
    destination = tmp_path / "data" / "mnist"
    assert sorted(p.name for p in destination.iterdir()) == sorted(IDX_GZ[:3])
    assert leftovers(destination) == []


def test_real_checksums_reject_wrong_content(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / IDX_GZ[0]).write_bytes(gzip.compress(b"not mnist"))
    with (
        serve(mirror) as url,
        pytest.raises(ChecksumError, match=fetch.IDX_SHA256["mnist"]["train-images-idx3-ubyte"]),
    ):
        fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)
    assert not (tmp_path / "data").exists()  # nor the folders it made


def test_non_gzip_download_is_corrupt(tmp_path, fake_mnist):
    (fake_mnist / IDX_GZ[0]).write_bytes(b"<html>an error page</html>")
    with serve(fake_mnist) as url, pytest.raises(CorruptDataError, match="not a valid gzip"):
        fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)
    assert not (tmp_path / "data").exists()  # nor the folders it made


def test_http_404_names_the_url(tmp_path):
    (tmp_path / "empty").mkdir()
    with serve(tmp_path / "empty") as url, pytest.raises(DataError, match="HTTP 404") as info:
        fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)
    assert f"{url}train-images-idx3-ubyte.gz" in str(info.value)
    assert not (tmp_path / "data").exists()  # nor the folders it made


def test_unreachable_mirror_names_the_url(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/base"
    with pytest.raises(DataError, match=f"could not download {url}/train-images"):
        fetch_dataset("mnist", root=tmp_path, mirror=url, progress=False)


def test_unknown_checksums_refuse_to_download(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _refuse_download)
    unknown = dict.fromkeys(fetch.IDX_SHA256["fashion-mnist"])
    monkeypatch.setitem(fetch.IDX_SHA256, "fashion-mnist", unknown)
    with pytest.raises(DataError, match="no SHA-256 is recorded"):
        fetch_dataset("fashion-mnist", root=tmp_path, progress=False)


def test_names_and_mirror_variables():
    with pytest.raises(ValueError, match="scikit-learn"):
        fetch_dataset("digits")
    with pytest.raises(ValueError, match="valid names"):
        fetch_dataset("imagenet")
    assert fetch.mirror_variable("fashion-mnist") == "HYPERMOD_MIRROR_FASHION_MNIST"
    assert fetch.mirror_variable("cifar10") == "HYPERMOD_MIRROR_CIFAR10"


# --- CIFAR-10 -----------------------------------------------------------------------------


def _tar_gz(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None):
    """Write a .tar.gz holding `members` (name -> content) and `symlinks` (name -> target)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


@pytest.fixture
def cifar_mirror(tmp_path, monkeypatch, write_cifar_set) -> Path:
    """A mirror holding a tiny cifar-10-python.tar.gz, with its MD5 patched in."""
    batches = write_cifar_set(tmp_path / "src" / "cifar-10-batches-py", per_batch=2, n_test=3)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    members = {f"cifar-10-batches-py/{p.name}": p.read_bytes() for p in batches.iterdir()}
    archive = _tar_gz(mirror / fetch.CIFAR_ARCHIVE, members)
    monkeypatch.setattr(fetch, "CIFAR_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    return mirror


def test_fetch_cifar10(tmp_path, cifar_mirror, monkeypatch):
    with serve(cifar_mirror) as url:
        monkeypatch.setenv("HYPERMOD_MIRROR_CIFAR10", url)
        destination = fetch_dataset("cifar10", root=tmp_path / "data", progress=False)
    assert destination == tmp_path / "data" / "cifar10"
    assert [p.name for p in destination.iterdir()] == ["cifar-10-batches-py"]
    dataset = load_dataset("cifar10", data_dir=tmp_path / "data")
    assert dataset.train_images.shape == (10, 3, 32, 32) and len(dataset.test_labels) == 3

    monkeypatch.setattr(urllib.request, "urlopen", _refuse_download)
    assert fetch_dataset("cifar10", root=tmp_path / "data", progress=False) == destination


def test_cifar10_md5_mismatch(tmp_path, cifar_mirror, monkeypatch):
    monkeypatch.setattr(fetch, "CIFAR_MD5", "0" * 32)
    with serve(cifar_mirror) as url, pytest.raises(ChecksumError, match="0{32}"):
        fetch_dataset("cifar10", root=tmp_path / "data", mirror=url, progress=False)
    assert not (tmp_path / "data").exists()  # nor the folders it made


@pytest.mark.parametrize(
    ("members", "symlinks"),
    [
        # Four levels up from the scratch directory's member is tmp_path itself.
        ({"cifar-10-batches-py/../../../../escaped": b"x"}, None),
        ({"ABSOLUTE/escaped": b"x"}, None),
        ({}, {"cifar-10-batches-py/test_batch": "/etc/passwd"}),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_unsafe_archive_is_refused(tmp_path, monkeypatch, members, symlinks):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    members = {name.replace("ABSOLUTE", str(tmp_path)): data for name, data in members.items()}
    archive = _tar_gz(mirror / fetch.CIFAR_ARCHIVE, members, symlinks)
    monkeypatch.setattr(fetch, "CIFAR_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    with serve(mirror) as url, pytest.raises(CorruptDataError):
        fetch_dataset("cifar10", root=tmp_path / "data", mirror=url, progress=False)
    assert not list(tmp_path.rglob("escaped"))
    assert not (tmp_path / "data").exists()  # nor the folders it made

    # The fallback check for Pythons without tarfile filters refuses the same members.
    with tarfile.open(archive) as tar, pytest.raises(CorruptDataError, match="unsafe"):
        fetch._checked_members(tar, "archive")


# --- interrupted transfers ----------------------------------------------------------------


class _Interrupting(BaseHTTPRequestHandler):
    """Promises the whole file, sends half of it, then hangs up (or stalls, see `stall`)."""

    body = b""
    stall = 0.0

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body[: len(self.body) // 2])
        self.wfile.flush()
        time.sleep(self.stall)
        self.close_connection = True

    def log_message(self, *args):
        pass


def _interrupting_server(body: bytes, stall: float = 0.0):
    return serve_handler(type("Handler", (_Interrupting,), {"body": body, "stall": stall}))


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_interrupted_transfer_names_the_url_and_leaves_nothing(tmp_path, fake_mnist, name):
    body = (fake_mnist / IDX_GZ[0]).read_bytes() * 50
    with _interrupting_server(body) as url, pytest.raises(DataError) as info:
        fetch_dataset(name, root=tmp_path / "data", mirror=url, progress=False)
    message = str(info.value)
    assert message.startswith(f"could not download {url}")
    assert f"the transfer was interrupted after {len(body) // 2:,} of {len(body):,} bytes" \
        in message
    assert not (tmp_path / "data").exists()  # nor the folders it made


def test_stalled_transfer_times_out_and_leaves_nothing(tmp_path, fake_mnist, monkeypatch):
    monkeypatch.setattr(fetch, "TIMEOUT_S", 0.3)
    body = (fake_mnist / IDX_GZ[0]).read_bytes()
    with _interrupting_server(body, stall=2.0) as url, pytest.raises(DataError, match="timed out"):
        fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)
    assert not (tmp_path / "data").exists()  # nor the folders it made


def test_a_part_file_left_by_a_killed_fetch_is_replaced(tmp_path, fake_mnist):
    destination = tmp_path / "mnist"
    destination.mkdir()
    (destination / f".{IDX_GZ[0]}.part").write_bytes(b"half a download")  # as after kill -9
    with serve(fake_mnist) as url:
        fetch_dataset("mnist", root=tmp_path, mirror=url, progress=False)
    assert sorted(p.name for p in destination.iterdir()) == sorted(IDX_GZ)


def test_a_failed_fetch_into_the_cache_leaves_no_folder_it_made(tmp_path):
    """Issue 19 item 11: no empty ~/.cache/hypermod/mnist/ after a failure."""
    cache = tmp_path / "xdg-cache"  # $XDG_CACHE_HOME (isolated_data_env); not there yet
    (tmp_path / "empty").mkdir()
    with serve(tmp_path / "empty") as url, pytest.raises(DataError, match="HTTP 404"):
        fetch_dataset("mnist", mirror=url, progress=False)
    assert not cache.exists()


def test_a_failed_fetch_keeps_folders_that_were_there(tmp_path):
    mine = tmp_path / "data" / "mnist"
    mine.mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    with serve(tmp_path / "empty") as url, pytest.raises(DataError, match="HTTP 404"):
        fetch_dataset("mnist", root=tmp_path / "data", mirror=url, progress=False)
    assert mine.is_dir() and list(mine.iterdir()) == []
