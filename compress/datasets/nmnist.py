"""N-MNIST (Orchard, Jayawant, Cohen & Thakor, Front. Neurosci. 9:437, 2015): MNIST digits seen by an
ATIS sensor moved in three saccades, 34 x 34 pixels, two polarities.

Published format (Orchard's ``Read_Ndataset.m``; tonic ``io.read_mnist_file``): folders ``Train/<digit>/``
and ``Test/<digit>/`` of ``*.bin`` files, each a run of 40-bit events, 5 bytes each, big-endian fields:
byte 0 x, byte 1 y, byte 2 bit 7 polarity (1 = ON) and bits 6..0 the timestamp's bits 22..16, bytes 3-4
its bits 15..0; the timestamp is in microseconds. An event with y = 240 marks a timestamp overflow in the
reference reader; samples last about 300 ms, far below the 2^23 us (8.4 s) the 23 bits hold, so such
records are dropped.
"""

from __future__ import annotations

import pathlib

import numpy as np

from compress.datasets.common import malformed, missing, stack
from compress.datasets.events import EventOptions, to_frames

SENSOR = (34, 34)  # width, height
SPLITS = ("Train", "Test")
LAYOUT = "Train/<digit>/*.bin and Test/<digit>/*.bin, digits 0..9, N-MNIST's 40-bit event files"
OVERFLOW_Y = 240


def read_events(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, y, p, t (us) of one N-MNIST ``.bin`` file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise malformed(path, f"not an N-MNIST event file: {raw.size} bytes is not a multiple of 5 "
                              "(40-bit events)")
    raw = raw.reshape(-1, 5).astype(np.int64)
    raw = raw[raw[:, 1] != OVERFLOW_Y]
    x, y = raw[:, 0], raw[:, 1]
    bad = (x >= SENSOR[0]) | (y >= SENSOR[1])
    if bad.any():
        i = int(np.argmax(bad))
        raise malformed(path, f"event {i} at x={x[i]}, y={y[i]} is outside the 34x34 N-MNIST sensor")
    p = raw[:, 2] >> 7
    t = ((raw[:, 2] & 127) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    return x, y, p, t


def _split(folder: pathlib.Path, split: str, opts: EventOptions) -> list[tuple[np.ndarray, int]]:
    root = folder / split
    if not root.is_dir():
        raise missing("nmnist", folder, f"the folder {split}/", LAYOUT)
    samples = []
    for digit in range(10):
        for path in sorted((root / str(digit)).glob("*.bin")):
            x, y, p, t = read_events(path)
            samples.append((to_frames(x, y, p, t, SENSOR, opts), digit))
    return samples


def load(folder: pathlib.Path, opts: EventOptions):
    """N-MNIST's Train and Test folders as frames [N, T, C, H, W]."""
    return stack("nmnist", opts, _split(folder, "Train", opts), _split(folder, "Test", opts), 10, folder)
