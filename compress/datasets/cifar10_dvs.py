"""CIFAR10-DVS (Li, Liu, Ji, Li & Shi, Front. Neurosci. 11:309, 2017): 10,000 CIFAR-10 images (1,000
per class) shown moving to a DVS128 (128 x 128, two polarities).

Published format (the figshare release): one folder per class (``airplane``, ``automobile``, ``bird``,
``cat``, ``deer``, ``dog``, ``frog``, ``horse``, ``ship``, ``truck``) of ``*.aedat`` files in AEDAT 2.0
with DVS128 addresses (:mod:`compress.datasets.aedat`). tonic reads a later AEDAT 4 conversion
(``*.aedat4``) through the ``aedat`` package; those files are refused with a one-line hint, since
AEDAT 4 needs a flatbuffers and LZ4/zstd decoder. The dataset has no official split: the first 90% of
each class's files (sorted by name) train, the rest test, as is common (e.g. SpikingJelly's 9:1).
"""

from __future__ import annotations

import pathlib

from compress.datasets.aedat import read_aedat2_dvs128
from compress.datasets.common import missing, stack
from compress.datasets.events import EventOptions, to_frames

SENSOR = (128, 128)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_FRACTION = 0.9
LAYOUT = "one folder per class (airplane ... truck) of AEDAT 2.0 *.aedat files"


def load(folder: pathlib.Path, opts: EventOptions):
    """Every class folder's files, split 90/10 per class, as frames [N, T, C, H, W]."""
    train, test = [], []
    for label, name in enumerate(CLASSES):
        files = sorted((folder / name).glob("*.aedat"))
        if not files:
            v4 = sorted((folder / name).glob("*.aedat4"))
            what = (f"{name}/*.aedat (found {len(v4)} AEDAT 4 files, which are not read: use the AEDAT 2.0 "
                    "release)") if v4 else f"{name}/*.aedat"
            raise missing("cifar10-dvs", folder, what, LAYOUT)
        n_train = max(1, min(len(files) - 1, round(TRAIN_FRACTION * len(files)))) if len(files) > 1 else 1
        for index, path in enumerate(files):
            x, y, p, t = read_aedat2_dvs128(path)
            (train if index < n_train else test).append((to_frames(x, y, p, t, SENSOR, opts), label))
    return stack("cifar10-dvs", opts, train, test, len(CLASSES), folder)
