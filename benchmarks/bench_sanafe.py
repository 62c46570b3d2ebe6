"""chipsim vs SANA-FE 2.2.9 on conv IF networks of 10k+ neurons over 16+ Loihi cores (issue 12).

Each network: input (2, H, W) -> Conv2d C1x3x3 (stride 1, pad 1, bias) -> IF -> Conv2d C2x3x3 (stride 2)
-> IF -> Affine 10 -> IF, integer weights, compiled for loihi at dt = 1 (weights reach v as given),
placed by chipfit's placer; the same network and core mapping run in SANA-FE (harness.sanafe_model).
Prints one JSON line per network and a markdown table row for docs/validation.md. Timings are wall
clock on a shared machine: noisy.

    PYTHONPATH=. python benchmarks/bench_sanafe.py --sizes 32 --steps 100
"""

from __future__ import annotations

import argparse
import json
import time

import nir
import numpy as np

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.cost import cost
from chipsim.place import place
from chipsim.simulate import simulate
from harness import sanafe_model


def conv_net(side: int, c1: int, c2: int, seed: int) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)
    h2 = (side - 3) // 2 + 1

    def w(lo, hi, shape):
        return rng.integers(lo, hi, size=shape).astype(float)

    nodes = {
        "input": nir.Input(np.array([2, side, side])),
        "conv1": nir.Conv2d(input_shape=(side, side), weight=w(-2, 5, (c1, 2, 3, 3)), stride=1, padding=1,
                            dilation=1, groups=1, bias=w(0, 2, (c1,))),
        "if1": nir.IF(r=np.ones((c1, side, side)), v_threshold=np.full((c1, side, side), 8.0)),
        "conv2": nir.Conv2d(input_shape=(side, side), weight=w(-2, 4, (c2, c1, 3, 3)), stride=2, padding=0,
                            dilation=1, groups=1, bias=np.zeros(c2)),
        "if2": nir.IF(r=np.ones((c2, h2, h2)), v_threshold=np.full((c2, h2, h2), 30.0)),
        "flat": nir.Flatten(start_dim=0, input_type={"input": np.array([c2, h2, h2])}),
        "fc": nir.Affine(w(-2, 4, (10, c2 * h2 * h2)), np.zeros(10)),
        "if3": nir.IF(r=np.ones(10), v_threshold=np.full(10, 60.0)),
        "output": nir.Output(np.array([10])),
    }
    edges = [("input", "conv1"), ("conv1", "if1"), ("if1", "conv2"), ("conv2", "if2"), ("if2", "flat"),
             ("flat", "fc"), ("fc", "if3"), ("if3", "output")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def one(side: int, c1: int, c2: int, steps: int, rate: float, seed: int) -> dict:
    profile = hwprofiles.load("loihi")
    net = compile_graph(conv_net(side, c1, c2, seed), profile, dt_s=1.0)
    start = time.perf_counter()
    placement = place(net, profile)
    place_s = time.perf_counter() - start
    x = np.random.default_rng(seed + 1).random((steps, net.populations[0].size)) < rate
    start = time.perf_counter()
    activity = simulate(net, placement, x[:, None].astype(np.uint8), steps=steps + 1, record_raster=True)
    chipsim_s = time.perf_counter() - start
    priced = cost(activity, placement, profile, net)
    theirs = sanafe_model.run(net, placement.core_of_neuron, x)
    result = sanafe_model.compare(net, activity, priced, theirs, profile, steps)
    return {"network": f"conv {c1}x{side}x{side} -> conv {c2} s2 -> fc 10", "neurons": net.n_neurons,
            "synapses": net.n_synapses, "cores": int(placement.fit.cores_used), "steps": steps,
            "place_s": place_s, "chipsim_s": chipsim_s, **result}


def row(r: dict) -> str:
    e = r["energy_j"]
    return (f"| {r['network']} | {r['neurons']} | {r['cores']} | {r['spikes']['chipsim']} = "
            f"{r['spikes']['sanafe']} ({'identical' if r['spike_counts_identical'] else 'DIFFER'}) | "
            f"{r['synaptic_events']['chipsim']} / {r['synaptic_events']['sanafe']} | "
            f"{100 * e['synapse']['relative_error']:.3f}% | {100 * e['soma']['relative_error']:.3f}% | "
            f"{100 * e['network']['relative_error']:.1f}% | {100 * r['latency_s']['relative_error']:.1f}% | "
            f"{r['chipsim_s']:.2f} s / {r['wall_s']['sanafe']:.1f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32])
    parser.add_argument("--c1", type=int, default=12)
    parser.add_argument("--c2", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for side in args.sizes:
        r = one(side, args.c1, args.c2, args.steps, args.rate, args.seed)
        print(json.dumps(r, default=float))
        print(row(r))


if __name__ == "__main__":
    main()
