"""What the event readers share: the error they raise and stacking binned samples into a Dataset."""

from __future__ import annotations

import pathlib

import numpy as np

from compress.data import DataError, Dataset
from compress.datasets.events import EventOptions


def malformed(path: pathlib.Path, what: str) -> DataError:
    """One line: the file and what was wrong with it."""
    return DataError(f"{path}: {what}")


def missing(name: str, folder: pathlib.Path, expected: str, layout: str) -> DataError:
    """One line: the folder, the file expected and the layout the dataset needs."""
    return DataError(f"dataset '{name}': folder '{folder}' lacks {expected} (expected {layout})")


Samples = list[tuple[np.ndarray, int]]


def stack(name: str, opts: EventOptions, train: Samples, test: Samples, n_classes: int,
          folder: pathlib.Path) -> Dataset:
    """A Dataset of uint8 frames [N, T, *shape] from (frames, label) pairs of each split."""
    for split, samples in (("train", train), ("test", test)):
        if not samples:
            raise DataError(f"dataset '{name}': folder '{folder}' has no {split} samples")

    def arrays(samples):
        return (np.stack([s for s, _ in samples]).astype(np.uint8),
                np.asarray([label for _, label in samples], dtype=np.int64))

    x_train, y_train = arrays(train)
    x_test, y_test = arrays(test)
    return Dataset(name, x_train, y_train, x_test, y_test, tuple(int(s) for s in x_train.shape[2:]),
                   n_classes, steps=opts.steps, variant=opts.variant)
