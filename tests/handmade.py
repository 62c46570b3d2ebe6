"""A compressed model made by hand (no training), for tests of harness.run, the CLI and sweeps.

64 inputs -> 10 IF neurons; neuron k reads input pixel k only (weight 1, threshold half of it), so on chip
neuron k fires in (nearly) every step pixel k spikes. ``cache_model`` puts it where ``harness.run`` looks
for a compressed model, so `harness run` / `harness sweep` use it instead of training one.
"""

from pathlib import Path

import nir
import numpy as np

import hwprofiles
from compress.files import write_json_atomic
from harness import run as runs


def tiny_graph() -> nir.NIRGraph:
    w = np.zeros((10, 64))
    w[np.arange(10), np.arange(10)] = 1.0
    return nir.NIRGraph(
        {"input": nir.Input(np.array([64])), "fc": nir.Affine(w, np.zeros(10)),
         # IF gain is dt * r (1e-3 at the 1 ms step): a threshold of 0.5e-3 fires on one input spike
         "lif": nir.IF(r=np.ones(10), v_threshold=np.full(10, 0.5e-3)), "output": nir.Output(np.array([10]))},
        [("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)


def metrics(steps: int) -> dict:
    """What compress.pipeline writes, with float and exported accuracies the chip cannot produce here."""
    return {"accuracy_dense": 0.5, "accuracy": 0.25, "train": {"steps": steps}, "synops_per_sample": 7.0,
            "weights": 640, "nonzero": 10, "sparsity": 630 / 640, "neurons_used": 10,
            "distinct_per_group_max": 1, "layers": {"fc": {"distinct_in_layer": 2}}, "method": "stub",
            "epochs": 0, "wall_time_s": 0.0, "budget_met": True}


def cache_model(spec: "runs.RunSpec", cache: Path) -> Path:
    """Write the hand-made model as ``spec``'s compressed model in ``cache``; returns its folder."""
    budget = runs.budget_for(spec, hwprofiles.load(spec.profile))
    folder = Path(cache) / "compressed" / f"{spec.method}-{runs.compression_key(spec, budget)}"
    folder.mkdir(parents=True, exist_ok=True)
    nir.write(str(folder / "model.nir"), tiny_graph())
    write_json_atomic(folder / "metrics.json", metrics(spec.steps))
    return folder
