"""Digits-shaped interop fixtures: make_fixtures.py's snnTorch and sinabs MLP and CNN, sized for `digits`.

`harness run --nir` needs a graph whose input is digits' 8x8x1 image and whose output has its 10 classes;
make_fixtures.py's MLP is 16-12-4 and its CNN ends in 4 outputs. This script runs the same builders (same
framework conventions, exporters, seeds and gains) with the MLP set to 64-16-10 and the CNN's last Linear
widened from 4 to 10 outputs, writing ``tests/data/interop/digits/FRAMEWORK/{mlp,cnn}.{nir,npz,json}``.
Run it in the framework's side venv::

    .venv-interop/snntorch/bin/python tools/interop/make_digits_fixtures.py snntorch
    .venv-interop/sinabs/bin/python tools/interop/make_digits_fixtures.py sinabs
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_fixtures as mf  # noqa: E402

DIGITS_CLASSES = 10
mf.MLP = (64, 16, DIGITS_CLASSES)
mf.OUT = mf.ROOT / "tests" / "data" / "interop" / "digits"


def widen_output_linear() -> None:
    """Make make_fixtures' CNN head ``torch.nn.Linear(36, 4)`` a ``Linear(36, 10)`` (digits' classes)."""
    import torch

    base = torch.nn.Linear

    class Linear(base):
        def __init__(self, n_in, n_out, *args, **kwargs):
            super().__init__(n_in, DIGITS_CLASSES if (n_in, n_out) == (36, 4) else n_out, *args, **kwargs)

    torch.nn.Linear = Linear


if __name__ == "__main__":
    widen_output_linear()
    for name in sys.argv[1:] or ("snntorch", "sinabs"):
        getattr(mf, name)()
