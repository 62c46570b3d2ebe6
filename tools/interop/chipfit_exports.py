"""chipfit's own MLP and CNN, exported for each framework (runs in chipfit's venv; ``make interop``).

Writes ``tests/data/interop/chipfit/MODEL.nir`` (compress.nir_io.to_nir of a seeded chipfit model, its
default neurons: LIF beta 0.9, reset zero, dt 1 ms), ``MODEL.npz`` (the seeded input), and
``tests/data/interop/export/FRAMEWORK/MODEL.nir`` via ``harness export --to FRAMEWORK`` where the target
takes it (``MODEL.json`` records the one-line refusal otherwise). ``run_exports.py`` then runs those in
each framework's importer, inside its side venv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from compress.models import ModelConfig, build_model  # noqa: E402
from compress.nir_io import to_nir  # noqa: E402
from harness.cli import main  # noqa: E402

OUT = ROOT / "tests" / "data" / "interop"
T, SEED = 20, 0
TARGETS = ("snntorch", "norse", "sinabs", "rockpool", "spyx")


def model(kind: str):
    torch.manual_seed(SEED)
    if kind == "mlp":
        net, shape, gain = build_model(ModelConfig(kind="mlp", hidden=(12,)), (16,), 4), (16,), 3.0
    else:
        net = build_model(ModelConfig(kind="cnn", conv_channels=(4,), kernel_size=3), (1, 8, 8), 4)
        shape, gain = (1, 8, 8), 2.0
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(gain)
    return net, shape


def main_() -> None:
    import nir

    (OUT / "chipfit").mkdir(parents=True, exist_ok=True)
    for kind in ("mlp", "cnn"):
        net, shape = model(kind)
        path = OUT / "chipfit" / f"{kind}.nir"
        nir.write(path, to_nir(net))
        x = (np.random.default_rng(SEED).random((T, *shape)) < 0.3).astype(np.float32)
        np.savez_compressed(OUT / "chipfit" / f"{kind}.npz", input=x)
        for target in TARGETS:
            folder = OUT / "export" / target
            folder.mkdir(parents=True, exist_ok=True)
            code = main(["export", "--nir", str(path), "--to", target, "--out", str(folder / f"{kind}.nir")])
            if code != 0:
                (folder / f"{kind}.json").write_text(json.dumps({"refused": True, "exit": code}) + "\n")


if __name__ == "__main__":
    main_()
