"""chipfit's own MLP and CNN, exported for each framework (runs in chipfit's venv; ``make interop``).

Writes ``tests/data/interop/chipfit/MODEL[_VARIANT].nir`` (compress.nir_io.to_nir of a seeded chipfit
model, dt 1 ms), ``MODEL[_VARIANT].npz`` (the seeded input), and
``tests/data/interop/export/FRAMEWORK/MODEL.nir`` via ``harness export --to FRAMEWORK`` of the variant that
framework's importer can run (``MODEL.json`` records a one-line refusal otherwise). The variants are
chipfit models with the neuron options the target's importer has (docs/interop.md):

- default (snnTorch, Norse): LIF beta 0.9, reset to zero, one spike a step;
- ``multi`` (sinabs): LIF beta 0.9, subtract, multi-spike (sinabs' MultiSpike + MembraneSubtract);
- ``cuba_multi`` (Rockpool): CubaLIF alpha 0.8, beta 0.9, subtract, multi-spike (its LIFTorch);
- ``late`` (Spyx): LIF beta 0.9, subtract after the decay, one spike a step (Spyx's LIF).

``run_exports.py`` then runs the exports in each framework's importer, inside its side venv.
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
VARIANT = {"snntorch": "", "norse": "", "sinabs": "_multi", "rockpool": "_cuba_multi", "spyx": "_late"}
"""The chipfit model each target's export is made from (file suffix; see the module docstring)."""
NEURONS = {
    "": ({}, {}),
    "_multi": ({"reset": "subtract"}, {"spike_mode": "multi"}),
    "_cuba_multi": ({"reset": "subtract", "neuron": "cuba"}, {"spike_mode": "multi"}),
    "_late": ({"reset": "subtract"}, {"reset_after_decay": True}),
}
"""Variant -> (ModelConfig fields, attributes set on every neuron layer)."""


def model(kind: str, variant: str = ""):
    from compress.neurons import LIF

    config, layer_attrs = NEURONS[variant]
    torch.manual_seed(SEED)
    if kind == "mlp":
        net, shape, gain = build_model(ModelConfig(kind="mlp", hidden=(12,), **config), (16,), 4), (16,), 3.0
    else:
        cfg = ModelConfig(kind="cnn", conv_channels=(4,), kernel_size=3, **config)
        net, shape, gain = build_model(cfg, (1, 8, 8), 4), (1, 8, 8), 2.0
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(gain)
    for layer in net.modules():
        if isinstance(layer, LIF):
            for key, value in layer_attrs.items():
                setattr(layer, key, value)
    return net, shape


def main_() -> None:
    import nir

    (OUT / "chipfit").mkdir(parents=True, exist_ok=True)
    for kind in ("mlp", "cnn"):
        for variant in NEURONS:
            net, shape = model(kind, variant)
            nir.write(OUT / "chipfit" / f"{kind}{variant}.nir", to_nir(net))
            x = (np.random.default_rng(SEED).random((T, *shape)) < 0.3).astype(np.float32)
            np.savez_compressed(OUT / "chipfit" / f"{kind}{variant}.npz", input=x)
        for target in TARGETS:
            folder = OUT / "export" / target
            folder.mkdir(parents=True, exist_ok=True)
            path = OUT / "chipfit" / f"{kind}{VARIANT[target]}.nir"
            code = main(["export", "--nir", str(path), "--to", target, "--out", str(folder / f"{kind}.nir")])
            stale = folder / f"{kind}.json"
            if code != 0:
                stale.write_text(json.dumps({"refused": True, "exit": code}) + "\n")
            elif stale.exists():
                stale.unlink()


if __name__ == "__main__":
    main_()
