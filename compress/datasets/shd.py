"""Spiking Heidelberg Digits (Cramer, Stradmann, Schemmel & Zenke, IEEE TNNLS 33(7), 2022): spoken digits
0-9 in English and German (20 classes) through a model of the cochlea, 700 input channels.

Published format (``shd_train.h5`` / ``shd_test.h5``, gzipped on the site; give them unzipped): HDF5
with ``spikes/times`` (one float array per sample, seconds), ``spikes/units`` (one integer array per
sample, channel 0..699) and ``labels`` (0..19). Samples become frames [T, 700 // downsample] (channels
``c // downsample``); polarity does not apply.
"""

from __future__ import annotations

import pathlib

import numpy as np

from compress.data import DataError
from compress.datasets.common import malformed, missing, stack
from compress.datasets.events import EventOptions, to_frames

CHANNELS = 700
N_CLASSES = 20
FILES = {"train": "shd_train.h5", "test": "shd_test.h5"}
LAYOUT = "shd_train.h5 and shd_test.h5 (HDF5: spikes/times, spikes/units, labels)"


def _read(path: pathlib.Path, opts: EventOptions) -> list[tuple[np.ndarray, int]]:
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise malformed(path, f"not an HDF5 file ({error})") from None
    with handle:
        for key in ("spikes/times", "spikes/units", "labels"):
            if key not in handle:
                raise malformed(path, f"no '{key}' dataset (expected spikes/times, spikes/units, labels)")
        times, units, labels = handle["spikes/times"], handle["spikes/units"], np.asarray(handle["labels"])
        if not len(times) == len(units) == len(labels):
            raise malformed(path, f"spikes/times has {len(times)} samples, spikes/units {len(units)}, "
                                  f"labels {len(labels)}")
        samples = []
        for i in range(len(labels)):
            t, u = np.asarray(times[i], np.float64), np.asarray(units[i], np.int64)
            if t.shape != u.shape:
                raise malformed(path, f"sample {i}: {t.size} times but {u.size} units")
            if u.size and (u.min() < 0 or u.max() >= CHANNELS):
                raise malformed(path, f"sample {i}: unit {int(u.max())} outside 0..699")
            label = int(labels[i])
            if not 0 <= label < N_CLASSES:
                raise malformed(path, f"sample {i}: label {label} outside 0..19")
            frames = to_frames(u, np.zeros_like(u), np.zeros_like(u), t, (CHANNELS, 1), opts, polarities=1)
            samples.append((frames.reshape(opts.steps, -1), label))
    return samples


def load(folder: pathlib.Path, opts: EventOptions):
    """Both files as frames [N, T, 700 // downsample]."""
    splits = {}
    for split, name in FILES.items():
        path = folder / name
        if not path.is_file():
            hint = " (unzip the .gz)" if (folder / f"{name}.gz").is_file() else ""
            raise missing("shd", folder, name + hint, LAYOUT)
        splits[split] = _read(path, opts)
    try:
        return stack("shd", opts, splits["train"], splits["test"], N_CLASSES, folder)
    except ValueError as error:  # np.stack of ragged frames cannot happen; kept as a one-line error
        raise DataError(f"dataset 'shd' in '{folder}': {error}") from None
