"""DVS128 Gesture (Amir et al., CVPR 2017): 11 hand and arm gestures by 29 subjects under 3 lighting
conditions, seen by a DVS128 (128 x 128, two polarities).

Published format (IBM's release ``DvsGesture.tar.gz``): one AEDAT 3.1 file per trial,
``userNN_<lighting>.aedat``, holding several gestures in a row; ``userNN_<lighting>_labels.csv`` with a
header and rows ``class,startTime_usec,endTime_usec`` (class 1..11); ``trials_to_train.txt`` and
``trials_to_test.txt`` listing the trial files of each split (23 and 6 subjects). Each labelled interval
[start, end) is one sample; the label is class - 1. The folder may be the release's ``DvsGesture/`` or
hold it.
"""

from __future__ import annotations

import csv
import pathlib

import numpy as np

from compress.datasets.aedat import read_aedat31_polarity
from compress.datasets.common import malformed, missing, stack
from compress.datasets.events import EventOptions, to_frames

SENSOR = (128, 128)
N_CLASSES = 11
LISTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}
LAYOUT = ("trials_to_train.txt, trials_to_test.txt and for every trial listed userNN_<light>.aedat "
          "(AEDAT 3.1) with userNN_<light>_labels.csv, as in DvsGesture.tar.gz")


def _root(folder: pathlib.Path) -> pathlib.Path:
    inner = folder / "DvsGesture"
    return inner if not (folder / LISTS["train"]).is_file() and inner.is_dir() else folder


def read_labels(path: pathlib.Path) -> list[tuple[int, int, int]]:
    """(class 0..10, start us, end us) of every row of a ``*_labels.csv``."""
    rows = []
    with open(path, newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if number == 1 and row and not row[0].strip().lstrip("-").isdigit():
                continue  # the header: class,startTime_usec,endTime_usec
            if not row:
                continue
            try:
                label, start, end = (int(v) for v in row[:3])
            except ValueError:
                raise malformed(path, f"row {number} is {row}, expected class,startTime_usec,endTime_usec "
                                      "(integers)") from None
            if not 1 <= label <= N_CLASSES or end <= start:
                raise malformed(path, f"row {number}: class {label} (expected 1..11) over "
                                      f"[{start}, {end}) us")
            rows.append((label - 1, start, end))
    return rows


def _trial(root: pathlib.Path, name: str, opts: EventOptions) -> list[tuple[np.ndarray, int]]:
    aedat = root / name
    labels = root / (aedat.stem + "_labels.csv")
    for path in (aedat, labels):
        if not path.is_file():
            raise missing("dvs-gesture", root, path.name, LAYOUT)
    x, y, p, t = read_aedat31_polarity(aedat)
    samples = []
    for label, start, end in read_labels(labels):
        keep = (t >= start) & (t < end)
        if keep.any():
            samples.append((to_frames(x[keep], y[keep], p[keep], t[keep], SENSOR, opts), label))
    return samples


def _split(root: pathlib.Path, split: str, opts: EventOptions) -> list[tuple[np.ndarray, int]]:
    listing = root / LISTS[split]
    if not listing.is_file():
        raise missing("dvs-gesture", root, LISTS[split], LAYOUT)
    samples = []
    for line in listing.read_text().splitlines():
        if line.strip():
            samples += _trial(root, line.strip(), opts)
    return samples


def load(folder: pathlib.Path, opts: EventOptions):
    """The trials of both lists, one sample per labelled gesture, as frames [N, T, C, H, W]."""
    root = _root(folder)
    train, test = _split(root, "train", opts), _split(root, "test", opts)
    return stack("dvs-gesture", opts, train, test, N_CLASSES, root)
