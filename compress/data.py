"""Datasets for training and evaluating SNNs, read offline from files a user already has.

``digits`` is scikit-learn's ``load_digits`` (1797 8x8 images, shipped inside the wheel) with a fixed
stratified 80/20 split. ``mnist`` and ``fashion-mnist`` read the standard idx files (LeCun et al. 1998;
Xiao et al. 2017), optionally gzipped; ``cifar10`` reads the python pickles of Krizhevsky (2009). The
event datasets (``nmnist``, ``dvs-gesture``, ``shd``, ``cifar10-dvs``) are read and binned into T frames by
:mod:`compress.datasets`; their ``x`` is uint8 spikes [N, T, *input_shape] and ``steps`` is T. Nothing
is downloaded: the folder is the user's.
"""

from __future__ import annotations

import gzip
import pathlib
import pickle
import struct
from dataclasses import dataclass, replace

import numpy as np

from hwprofiles.errors import UserError

STATIC_DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")
EVENT_DATASETS = ("nmnist", "dvs-gesture", "shd", "cifar10-dvs")  # compress.datasets
DATASETS = STATIC_DATASETS + EVENT_DATASETS
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_FILES = (*(f"{CIFAR_DIR}/data_batch_{i}" for i in range(1, 6)), f"{CIFAR_DIR}/test_batch")
TEST_FRACTION = 0.2


class DataError(UserError):
    """A dataset that is unknown, or whose files are absent or malformed."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images as float32 in [0, 1] shaped [N, *input_shape]; labels int64 [N]. An event dataset instead
    holds uint8 spike frames [N, T, *input_shape] with ``steps`` = T, and ``variant`` names its binning."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    n_classes: int
    steps: int | None = None  # T of pre-binned event frames; None: static images (encoded at train time)
    variant: str = ""  # how the frames were made (binning, polarity, downsampling); part of cache keys
    files: str = ""  # folder_fingerprint of the files read ("" for the embedded digits); in cache keys

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Dataset:
        """The first ``n_train`` / ``n_test`` samples of each split (``None``: all); for quick runs."""
        return replace(self, x_train=self.x_train[:n_train], y_train=self.y_train[:n_train],
                       x_test=self.x_test[:n_test], y_test=self.y_test[:n_test])


def load_dataset(name: str, data_dir: str | pathlib.Path | None = None, seed: int = 0,
                 events=None) -> Dataset:
    """Load ``name`` (one of :data:`DATASETS`); the file-backed sets read ``data_dir``. ``events``: the
    :class:`compress.datasets.EventOptions` of an event dataset (default: its defaults)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}")
    if name == "digits":
        return _digits(seed)
    if data_dir is None:
        raise DataError(f"dataset '{name}' is read from files: give --data-dir, the folder holding "
                        f"{_expected(name)}")
    folder = pathlib.Path(data_dir)
    if not folder.is_dir():
        problem = "is a file" if folder.exists() else "does not exist"
        raise DataError(f"dataset '{name}': folder '{folder}' {problem} (expected {_expected(name)})")
    if name in EVENT_DATASETS:
        from compress.datasets import EventOptions, load_event_dataset

        loaded = load_event_dataset(name, folder, events or EventOptions())
    else:
        missing = [f for f in _expected_files(name) if _find(folder, f) is None]
        if missing:
            raise DataError(f"dataset '{name}': folder '{folder}' lacks {', '.join(missing)} "
                            f"(expected {_expected(name)})")
        loaded = _cifar10(folder) if name == "cifar10" else _idx_set(name, folder)
    return replace(loaded, files=folder_fingerprint(folder))


def folder_fingerprint(folder: str | pathlib.Path) -> str:
    """Hash of every file's path (relative to ``folder``), size in bytes and modification time (ns) under
    ``folder``: what make would look at. Cached models are keyed by it, so replacing, adding or editing a
    data file trains again, without reading gigabytes of events to hash their contents."""
    import hashlib

    root = pathlib.Path(folder)
    entries = sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
                     for p in root.rglob("*") if p.is_file())
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16]


def _expected_files(name: str) -> tuple[str, ...]:
    return CIFAR_FILES if name == "cifar10" else IDX_FILES


def _expected(name: str) -> str:
    if name in EVENT_DATASETS:
        from compress.datasets import expected_layout

        return expected_layout(name)
    if name == "cifar10":
        return "cifar-10-batches-py/data_batch_1..5 and test_batch"
    return ", ".join(IDX_FILES) + " (each optionally .gz)"


def _find(folder: pathlib.Path, name: str) -> pathlib.Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _digits(seed: int) -> Dataset:
    """scikit-learn digits, pixel values /16, stratified split with ``seed`` (20% test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed)
    return Dataset("digits", x_train, y_train, x_test, y_test, (1, 8, 8), 10)


def read_idx(path: pathlib.Path) -> np.ndarray:
    """Read one idx file (unsigned-byte data; magic 0x0000 08 D), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path}: header says shape {shape} but holds {data.size} bytes of data")
    return data.reshape(shape)


def _idx_set(name: str, folder: pathlib.Path) -> Dataset:
    arrays = [read_idx(_find(folder, f)) for f in IDX_FILES]
    x_train, y_train, x_test, y_test = arrays
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{folder}: {split} images {x.shape} and labels {y.shape} do not match")
    h, w = x_train.shape[1:]
    return Dataset(name, _images(x_train[:, None]), y_train.astype(np.int64), _images(x_test[:, None]),
                   y_test.astype(np.int64), (1, h, w), 10)


def _images(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0)


def _cifar10(folder: pathlib.Path) -> Dataset:
    batches = []
    for f in CIFAR_FILES:
        with open(folder / f, "rb") as handle:
            try:
                batch = pickle.load(handle, encoding="bytes")
                batches.append((np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32),
                                np.asarray(batch[b"labels"], dtype=np.int64)))
            except (pickle.UnpicklingError, KeyError, ValueError, EOFError) as error:
                raise DataError(f"{folder / f}: not a CIFAR-10 python batch ({error})") from None
    x_train = np.concatenate([b[0] for b in batches[:5]])
    y_train = np.concatenate([b[1] for b in batches[:5]])
    x_test, y_test = batches[5]
    return Dataset("cifar10", _images(x_train), y_train, _images(x_test), y_test, (3, 32, 32), 10)
