"""Shared fixtures."""

import contextlib
import functools
import os
import pickle
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

# Real data shipped beside the repository (../shared/data), used when present;
# $HYPERMOD_TEST_DATA points elsewhere (a folder holding mnist/).
SHARED_DATA = Path(
    os.environ.get("HYPERMOD_TEST_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


@pytest.fixture
def shared_data_dir() -> Path:
    """The root holding mnist/ with the four real MNIST .gz files; skips if absent."""
    if not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST not found under {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def isolated_data_env(monkeypatch, tmp_path):
    """Hide the user's data roots, mirrors and proxies so data tests see only tmp_path."""
    for variable in ("HYPERMOD_DATA", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("MNIST", "FASHION_MNIST", "CIFAR10"):
        monkeypatch.delenv(f"HYPERMOD_MIRROR_{variable}", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def _write_idx_set(directory: Path, n_train=12, n_test=5, suffix=".gz", seed=0) -> Path:
    """Write a tiny MNIST-style set (28 x 28 uint8 images, labels 0..9) into `directory`."""
    from hypermod.data import write_idx

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return directory


def _write_cifar_set(directory: Path, per_batch=4, n_test=3) -> Path:
    """Write tiny CIFAR-10 batches (protocol-2 pickles with bytes keys) into `directory`."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if name == "test_batch" else per_batch
        batch = {
            b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, size=n).tolist(),
        }
        (directory / name).write_bytes(pickle.dumps(batch, protocol=2))
    return directory


@pytest.fixture
def write_idx_set():
    """Factory: write_idx_set(directory, n_train=12, n_test=5, suffix=".gz", seed=0) -> dir."""
    return _write_idx_set


@pytest.fixture
def write_cifar_set():
    """Factory: write_cifar_set(directory, per_batch=4, n_test=3) -> directory."""
    return _write_cifar_set


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep request logs out of the test output
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve `directory` over HTTP on a free local port; yields the base URL."""
    with serve_handler(functools.partial(_QuietHandler, directory=str(directory))) as url:
        yield url


@contextlib.contextmanager
def serve_handler(handler):
    """Serve with the request handler class `handler` on a free local port; yields the URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval makes shutdown() return quickly (the default waits up to 0.5 s).
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
