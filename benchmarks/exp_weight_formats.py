"""What each chip's weight format costs, measured: Loihi's negative exponents, and the formats on one layer.

1. Loihi's negative weight exponents: small weights under a large threshold, with and without them.

One layer of 32 IF neurons with 2,048 inputs (weights uniform in 0..1, half of them zero) and a threshold of
100,000, far beyond what the 17-bit threshold mantissa can hold at the weights' own scale. The compile then
has to take a coarse scale (threshold / 131071 weight units per LSB); without negative exponents the weights
round to 0 and 1 there, with them the projection takes exponent -7 and keeps its mantissa bits (Lava floors
the summed input of a step by 2^7). Poisson input (rate 0.3) for 2,000 steps; output spikes per neuron are
compared with the float reference (generic-45nm).

2. One random layer (256 x 256, Gaussian weights of std 1/16) in every fixed-point chip's format: the
weight rmse relative to the weights' standard deviation, and the distinct values kept. TrueNorth's 4 axon
types, shared by every neuron an axon reaches, hold little of weights with no such structure.

Prints one JSON object. Seeded; runs in seconds.
"""

from __future__ import annotations

import dataclasses
import json

import nir
import numpy as np

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import simulate


def graph(w: np.ndarray, threshold: float) -> nir.NIRGraph:
    n_out, n_in = w.shape
    nodes = {"input": nir.Input(np.array([n_in])), "fc": nir.Affine(w, np.zeros(n_out)),
             "if": nir.IF(r=np.ones(n_out), v_threshold=np.full(n_out, threshold)),
             "output": nir.Output(np.array([n_out]))}
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False)


def exponents(n_in: int = 2048, n_out: int = 32, steps: int = 2000, threshold: float = 1e5,
              seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (n_out, n_in)) * (rng.random((n_out, n_in)) < 0.5)
    x = (rng.random((steps, 1, n_in)) < 0.3).astype(np.uint8)
    loihi = hwprofiles.load("loihi")
    no_negative = dataclasses.replace(loihi, core=dataclasses.replace(loihi.core, weight_exponent_min=None))
    out, counts = {}, {}
    for name, profile in (("float", hwprofiles.load("generic-45nm")), ("loihi", loihi),
                          ("loihi_exponents_0_to_7", no_negative)):
        net = compile_graph(graph(w, threshold), profile, dt_s=1.0)
        act = simulate(net, place(net, profile), x)
        counts[name] = np.asarray(act.output_spikes).sum(axis=0).ravel().astype(int)
        q = net.quantization[0]
        out[name] = {"exponent": q.exponent, "weight_rmse": q.rmse, "spikes": int(counts[name].sum())}
    for name in ("loihi", "loihi_exponents_0_to_7"):
        out[name]["spikes_off_float_per_neuron_sum"] = int(np.abs(counts[name] - counts["float"]).sum())
    return out


def formats(n: int = 256, seed: int = 0) -> dict:
    w = np.random.default_rng(seed).normal(0, 1 / np.sqrt(n), (n, n))
    out = {}
    for chip in ("loihi", "truenorth", "speck", "xylo-audio2", "akida"):
        q = compile_graph(graph(w, 1.0), hwprofiles.load(chip), dt_s=1.0).quantization[0]
        out[chip] = {"format": hwprofiles.load(chip).core.weight_format, "bits": q.bits,
                     "rmse_over_std": round(q.rmse / float(w.std()), 4), "distinct": q.distinct_values}
    return out


if __name__ == "__main__":
    print(json.dumps({"negative_exponents": exponents(), "formats": formats()}, indent=1))
