"""compress.data: digits split, the idx and CIFAR readers on tiny fake files, one-line errors."""

import gzip
import pickle
import struct

import numpy as np
import pytest

from compress.data import DATASETS, DataError, load_dataset, read_idx


def write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def fake_mnist(folder, gz=False):
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, size=(5, 4, 3))
    test_x = rng.integers(0, 256, size=(2, 4, 3))
    write_idx(folder / "train-images-idx3-ubyte", train_x, gz)
    write_idx(folder / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 9]), gz)
    write_idx(folder / "t10k-images-idx3-ubyte", test_x, gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.array([7, 4]), gz)
    return train_x, test_x


def test_digits_split_is_stratified_80_20_and_scaled_to_unit_range():
    ds = load_dataset("digits")
    assert ds.x_train.shape == (1437, 1, 8, 8) and ds.x_test.shape == (360, 1, 8, 8)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.input_shape == (1, 8, 8) and ds.n_classes == 10
    assert set(np.bincount(ds.y_test)) <= {35, 36, 37}  # ~20% of each class of ~180


def test_digits_split_depends_on_seed_only():
    a, b, c = load_dataset("digits", seed=0), load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    assert np.array_equal(a.y_test, b.y_test) and np.array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reader_loads_fake_idx_files(tmp_path, gz):
    train_x, test_x = fake_mnist(tmp_path, gz)
    ds = load_dataset("mnist", tmp_path)
    assert ds.x_train.shape == (5, 1, 4, 3) and ds.input_shape == (1, 4, 3)
    assert np.allclose(ds.x_train[:, 0], train_x / 255.0) and np.allclose(ds.x_test[:, 0], test_x / 255.0)
    assert ds.y_train.tolist() == [0, 1, 2, 3, 9] and ds.y_test.tolist() == [7, 4]


def test_idx_with_bad_magic_is_a_data_error(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="magic"):
        read_idx(tmp_path / "bad")


def test_idx_with_truncated_data_is_a_data_error(tmp_path):
    write_idx(tmp_path / "x", np.zeros((3, 2, 2)))
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes()[:-1])
    with pytest.raises(DataError, match="shape"):
        read_idx(tmp_path / "x")


def test_cifar_reader_loads_fake_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = np.full((2, 3072), i * 10, dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": [i, 9 - i]}, f)
    ds = load_dataset("cifar10", tmp_path)
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.x_test.shape == (2, 3, 32, 32)
    assert ds.y_test.tolist() == [5, 4] and np.isclose(ds.x_test.max(), 50 / 255)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DataError) as error:
        load_dataset("imagenet")
    assert all(name in str(error.value) for name in DATASETS)


def test_file_dataset_without_data_dir_asks_for_it():
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("fashion-mnist")


def test_missing_folder_is_named_with_the_expected_files(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("mnist", tmp_path / "nowhere")
    assert "nowhere" in str(error.value) and "train-images-idx3-ubyte" in str(error.value)
    assert "\n" not in str(error.value)


def test_subset_takes_the_first_samples():
    ds = load_dataset("digits").subset(10, 4)
    assert len(ds.x_train) == len(ds.y_train) == 10 and len(ds.x_test) == 4


def test_a_dataset_read_from_files_carries_their_fingerprint_into_the_dense_cache_key(tmp_path):
    """Editing, replacing or adding a data file changes the key of the cached dense model (a stale model
    trained on the old files is never reused); reading the same files again keeps it."""
    import os

    from compress.architectures import ModelConfig
    from compress.pipeline import dense_key
    from compress.train import TrainConfig

    fake_mnist(tmp_path)

    def key():
        data = load_dataset("mnist", tmp_path)
        return dense_key(data.name + data.files, ModelConfig(), TrainConfig(), 0), data.files

    first, files = key()
    assert len(files) == 16 and key() == (first, files)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(labels, np.array([7, 5]))  # same size, other contents: a new mtime
    os.utime(labels, ns=(1, 1))
    second, _ = key()
    (tmp_path / "notes.txt").write_text("a file beside the data")
    third, _ = key()
    assert len({first, second, third}) == 3
    assert load_dataset("digits").files == ""
