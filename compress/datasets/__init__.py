"""Event-based datasets read from a local folder in their published formats (nothing is downloaded).

One module per dataset: :mod:`~compress.datasets.nmnist` (N-MNIST, Orchard et al., Front. Neurosci.
2015), :mod:`~compress.datasets.dvs_gesture` (DVS128 Gesture, Amir et al., CVPR 2017),
:mod:`~compress.datasets.shd` (Spiking Heidelberg Digits, Cramer et al., IEEE TNNLS 2022) and
:mod:`~compress.datasets.cifar10_dvs` (CIFAR10-DVS, Li et al., Front. Neurosci. 2017). Each reads its
files, bins the events into T frames (:mod:`~compress.datasets.events`) and returns a
:class:`compress.data.Dataset` whose ``x`` holds uint8 spike frames [N, T, *input_shape] and whose
``steps`` is T. tonic (the field's loader) is not used: its dataset classes download when the files they
expect (often its own preprocessed copies) are missing, and it pulls in librosa and requests; the formats
are small enough to read here. A file that is absent or malformed is a one-line ``DataError`` naming the
folder, the file expected and what was wrong.
"""

from __future__ import annotations

import pathlib

from compress.datasets.events import EventOptions

EVENT_DATASETS = ("nmnist", "dvs-gesture", "shd", "cifar10-dvs")


def load_event_dataset(name: str, folder: pathlib.Path, opts: EventOptions):
    """Read the event dataset ``name`` from ``folder`` and bin it as ``opts`` says."""
    from compress.datasets import cifar10_dvs, dvs_gesture, nmnist, shd

    readers = {"nmnist": nmnist.load, "dvs-gesture": dvs_gesture.load, "shd": shd.load,
               "cifar10-dvs": cifar10_dvs.load}
    return readers[name](pathlib.Path(folder), opts)


def expected_layout(name: str) -> str:
    """What the folder of dataset ``name`` must hold, in one phrase."""
    from compress.datasets import cifar10_dvs, dvs_gesture, nmnist, shd

    return {"nmnist": nmnist.LAYOUT, "dvs-gesture": dvs_gesture.LAYOUT, "shd": shd.LAYOUT,
            "cifar10-dvs": cifar10_dvs.LAYOUT}[name]


__all__ = ["EVENT_DATASETS", "EventOptions", "expected_layout", "load_event_dataset"]
