"""Tests for hypermod.data.catalog (ImageDataset, discovery, load_dataset) and digits."""

import os

import numpy as np
import pytest

import hypermod.data.catalog as catalog
from hypermod.data import (
    DATASETS,
    CorruptDataError,
    DatasetNotFoundError,
    ImageDataset,
    find_dataset,
    load_dataset,
    load_digits_dataset,
    search_roots,
    write_idx,
)

pytestmark = pytest.mark.usefixtures("isolated_data_env")

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _tiny_dataset(**overrides) -> ImageDataset:
    fields = dict(
        name="tiny",
        train_images=np.zeros((4, 1, 2, 3), dtype=np.uint8),
        train_labels=np.array([0, 1, 2, 1]),
        test_images=np.zeros((2, 1, 2, 3), dtype=np.uint8),
        test_labels=np.array([2, 0]),
        num_classes=3,
        source="test",
    )
    fields.update(overrides)
    return ImageDataset(**fields)


def test_dataset_names():
    assert DATASETS == ("digits", "mnist", "fashion-mnist", "cifar10")


# --- ImageDataset -------------------------------------------------------------------------


def test_image_dataset_properties_and_subset():
    dataset = _tiny_dataset()
    assert dataset.image_shape == (1, 2, 3)
    assert dataset.input_dim == 6
    small = dataset.subset(n_train=3, n_test=1)
    np.testing.assert_array_equal(small.train_labels, [0, 1, 2])
    np.testing.assert_array_equal(small.test_labels, [2])
    assert small.train_images.shape == (3, 1, 2, 3) and small.source == "test"
    assert dataset.subset(n_test=2).train_images.shape[0] == 4
    assert "train=4" in repr(dataset) and "image_shape=(1, 2, 3)" in repr(dataset)


@pytest.mark.parametrize(("n_train", "n_test"), [(0, None), (5, None), (None, 3), (None, -1)])
def test_subset_rejects_out_of_range(n_train, n_test):
    with pytest.raises(ValueError, match="n_train" if n_train is not None else "n_test"):
        _tiny_dataset().subset(n_train=n_train, n_test=n_test)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"train_images": np.zeros((4, 1, 2, 3), dtype=np.float32)}, "train_images"),
        ({"test_images": np.zeros((2, 2, 3), dtype=np.uint8)}, "test_images must be a 4-D"),
        ({"train_labels": np.array([0, 1, 2, 1], dtype=np.int32)}, "train_labels"),
        ({"train_labels": [0, 1, 2, 1]}, "train_labels must be a numpy array"),
        ({"test_labels": np.array([0, 1, 2])}, "test_labels has 3 entries for 2 test_images"),
        ({"train_labels": np.array([0, 1, 3, 1])}, r"train_labels must lie in 0\.\.2"),
        ({"test_images": np.zeros((2, 1, 3, 3), dtype=np.uint8)}, "must match"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_image_dataset_validates_fields(overrides, match):
    with pytest.raises(ValueError, match=match):
        _tiny_dataset(**overrides)


# --- digits -------------------------------------------------------------------------------


def test_digits_split_and_scaling():
    from sklearn.datasets import load_digits

    dataset = load_dataset("digits")
    assert dataset.source == "scikit-learn" and dataset.name == "digits"
    assert dataset.train_images.shape == (1437, 1, 8, 8)
    assert dataset.test_images.shape == (360, 1, 8, 8)
    assert dataset.train_images.dtype == np.uint8 and dataset.train_labels.dtype == np.int64
    assert dataset.train_images.max() == 255 and dataset.train_images.min() == 0

    reference = load_digits()
    order = np.random.default_rng(0).permutation(1797)
    expected = np.array([round(v * 255 / 16) for v in reference.data[order].ravel()])
    images = np.concatenate([dataset.train_images, dataset.test_images])
    np.testing.assert_array_equal(images.reshape(-1), expected)
    labels = np.concatenate([dataset.train_labels, dataset.test_labels])
    np.testing.assert_array_equal(labels, reference.target[order])

    again = load_digits_dataset()
    np.testing.assert_array_equal(again.train_labels, dataset.train_labels)


# --- discovery ----------------------------------------------------------------------------


def test_search_roots_order(monkeypatch, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("HYPERMOD_DATA", f"{first}{os.pathsep}{os.pathsep}{second}")
    cache = tmp_path / "xdg-cache" / "hypermod"
    assert search_roots() == [first, second, cache]
    assert search_roots(tmp_path / "x") == [tmp_path / "x", first, second, cache]
    assert search_roots(str(second)) == [second, first, cache]  # no repeats

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("HYPERMOD_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert search_roots() == [tmp_path / "home" / ".cache" / "hypermod"]


def test_load_idx_set_from_data_dir(tmp_path, write_idx_set):
    write_idx_set(tmp_path / "mnist", n_train=12, n_test=5)
    assert find_dataset("mnist", tmp_path) == tmp_path / "mnist"
    dataset = load_dataset("mnist", data_dir=tmp_path)
    assert dataset.train_images.shape == (12, 1, 28, 28)
    assert dataset.test_images.shape == (5, 1, 28, 28)
    assert dataset.train_labels.dtype == np.int64 and dataset.num_classes == 10
    assert dataset.source == str(tmp_path / "mnist")


def test_raw_files_are_preferred_over_gz(tmp_path, write_idx_set):
    directory = write_idx_set(tmp_path / "fashion-mnist", seed=1, suffix=".gz")
    write_idx_set(directory, seed=2, suffix="")
    reference = write_idx_set(tmp_path / "raw-only" / "fashion-mnist", seed=2, suffix="")
    loaded = load_dataset("fashion-mnist", tmp_path)
    expected = load_dataset("fashion-mnist", reference.parent)
    np.testing.assert_array_equal(loaded.train_images, expected.train_images)


def test_roots_are_searched_in_order(monkeypatch, tmp_path, write_idx_set):
    write_idx_set(tmp_path / "env" / "mnist", n_train=11)
    write_idx_set(tmp_path / "xdg-cache" / "hypermod" / "mnist", n_train=13)
    write_idx_set(tmp_path / "explicit" / "mnist", n_train=17)
    assert len(load_dataset("mnist").train_labels) == 13
    monkeypatch.setenv("HYPERMOD_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mnist").train_labels) == 11
    assert len(load_dataset("mnist", tmp_path / "explicit").train_labels) == 17


def test_system_location_is_searched_last(monkeypatch, tmp_path, write_idx_set):
    system = write_idx_set(tmp_path / "usr-share" / "fashion-mnist", n_train=14)
    monkeypatch.setattr(catalog, "SYSTEM_LOCATIONS", {"fashion-mnist": (system,)})
    assert find_dataset("fashion-mnist", tmp_path / "empty") == system
    assert len(load_dataset("fashion-mnist").train_labels) == 14


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("mnist", "hypermod data fetch mnist"),
        ("fashion-mnist", "apt-get install dataset-fashion-mnist"),
        ("cifar10", "must be downloaded"),
    ],
)
def test_not_found_lists_every_place_searched(monkeypatch, tmp_path, name, advice):
    system = tmp_path / "usr-share" / name
    monkeypatch.setattr(catalog, "SYSTEM_LOCATIONS", {name: (system,)})
    monkeypatch.setenv("HYPERMOD_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, data_dir=tmp_path / "explicit")
    message = str(info.value)
    for place in (tmp_path / "explicit", tmp_path / "env", tmp_path / "xdg-cache" / "hypermod"):
        assert str(place / name) in message
    assert str(system) in message
    assert advice in message and f"hypermod data fetch {name}" in message
    assert isinstance(info.value, FileNotFoundError)


def test_not_found_names_missing_files(tmp_path, write_idx_set):
    directory = write_idx_set(tmp_path / "mnist")
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    (directory / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        find_dataset("mnist", tmp_path)
    message = str(info.value)
    assert f"{directory} (missing train-images-idx3-ubyte[.gz], t10k-labels" in message
    assert "train-labels" not in message


def test_count_mismatch_names_both_files(tmp_path, write_idx_set):
    directory = write_idx_set(tmp_path / "mnist", n_train=12)
    labels = directory / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(11, dtype=np.uint8))
    with pytest.raises(CorruptDataError, match="holds 12 images but .* holds 11 labels") as info:
        load_dataset("mnist", tmp_path)
    assert str(directory / "train-images-idx3-ubyte.gz") in str(info.value)
    assert str(labels) in str(info.value)


@pytest.mark.parametrize(
    ("file", "array", "match"),
    [
        ("t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 10], np.uint8), r"found 0\.\.10"),
        ("t10k-labels-idx1-ubyte.gz", np.zeros((5, 1), np.uint8), r"expected \(N,\) integer"),
        ("t10k-images-idx3-ubyte.gz", np.zeros((5, 27, 28), np.uint8), r"\(N, 28, 28\) uint8"),
        ("t10k-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.float32), "dtype float32"),
    ],
)
def test_malformed_idx_set_is_rejected(tmp_path, file, array, match, write_idx_set):
    directory = write_idx_set(tmp_path / "mnist", n_test=5)
    write_idx(directory / file, array)
    with pytest.raises(CorruptDataError, match=match) as info:
        load_dataset("mnist", tmp_path)
    assert str(directory / file) in str(info.value)


@pytest.mark.parametrize("subdir", ["cifar10", "cifar10/cifar-10-batches-py"])
def test_load_cifar10_in_either_layout(tmp_path, subdir, write_cifar_set):
    write_cifar_set(tmp_path / subdir, per_batch=4, n_test=3)
    assert find_dataset("cifar10", tmp_path) == tmp_path / subdir
    dataset = load_dataset("cifar10", tmp_path)
    assert dataset.train_images.shape == (20, 3, 32, 32)
    assert dataset.test_images.shape == (3, 3, 32, 32)
    assert dataset.image_shape == (3, 32, 32) and dataset.input_dim == 3072


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="digits, mnist, fashion-mnist, cifar10"):
        load_dataset("svhn")
    with pytest.raises(ValueError, match="scikit-learn"):
        find_dataset("digits")


# --- real data ----------------------------------------------------------------------------


def test_real_mnist(shared_data_dir):
    dataset = load_dataset("mnist", data_dir=shared_data_dir)
    assert dataset.train_images.shape == (60000, 1, 28, 28)
    assert dataset.test_images.shape == (10000, 1, 28, 28)
    assert np.bincount(dataset.train_labels).tolist() == MNIST_TRAIN_COUNTS
    assert dataset.train_images.max() == 255 and dataset.train_images.min() == 0


def test_real_fashion_mnist_if_installed():
    system = catalog.SYSTEM_LOCATIONS["fashion-mnist"][0]
    if not (system / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST not installed at {system} (apt package dataset-fashion-mnist)")
    dataset = load_dataset("fashion-mnist")
    assert dataset.source == str(system)
    # Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
    assert np.bincount(dataset.train_labels).tolist() == [6000] * 10
    assert np.bincount(dataset.test_labels).tolist() == [1000] * 10
