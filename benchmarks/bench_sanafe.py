"""chipsim vs SANA-FE 2.2.9 on conv and dense networks on Loihi (issue 12): one JSON per cell under
docs/results/sanafe/, from which ``benchmarks/sanafe_table.py`` writes docs/validation.md's table.

Every network has integer weights and thresholds, compiled for loihi at dt = 1 (weights reach v as given;
a LIF's r = tau does the same), placed by chipfit's placer (``chipsim.place``, strategy auto); the same
network and core mapping run in SANA-FE (``harness.sanafe_model``, detailed timing model). Input: Bernoulli
spikes at ``rate`` per step. Wall times are on a shared 2-core machine: noisy.

    PYTHONPATH=. nice -n 10 python benchmarks/bench_sanafe.py --cell conv-if-16        # one cell
    PYTHONPATH=. nice -n 10 python benchmarks/bench_sanafe.py --all                    # every cell
    PYTHONPATH=. python benchmarks/bench_sanafe.py --list
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import time

import nir
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "sanafe"


def neurons(shape, threshold: float, tau: float | None):
    """IF (r = 1) or LIF (tau in steps, r = tau: the input reaches v unscaled), threshold as given."""
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if tau is None:
        return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, threshold))
    return nir.LIF(tau=np.full(shape, float(tau)), r=np.full(shape, float(tau)), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, threshold))


def conv_net(side: int, c1: int, c2: int, seed: int, tau: float | None = None, bias: bool = True
             ) -> nir.NIRGraph:
    """input (2, side, side) -> conv c1 3x3 (stride 1, pad 1, bias unless ``bias`` is False) -> IF/LIF ->
    conv c2 3x3 (stride 2) -> IF/LIF -> fc 10 -> IF/LIF."""
    rng = np.random.default_rng(seed)
    h2 = (side - 3) // 2 + 1

    def w(lo, hi, shape):
        return rng.integers(lo, hi, size=shape).astype(float)

    nodes = {
        "input": nir.Input(np.array([2, side, side])),
        "conv1": nir.Conv2d(input_shape=(side, side), weight=w(-2, 5, (c1, 2, 3, 3)), stride=1, padding=1,
                            dilation=1, groups=1, bias=w(0, 2, (c1,)) * bias),
        "if1": neurons((c1, side, side), 8.0, tau),
        "conv2": nir.Conv2d(input_shape=(side, side), weight=w(-2, 4, (c2, c1, 3, 3)), stride=2, padding=0,
                            dilation=1, groups=1, bias=np.zeros(c2)),
        "if2": neurons((c2, h2, h2), 30.0, tau),
        "flat": nir.Flatten(start_dim=0, input_type={"input": np.array([c2, h2, h2])}),
        "fc": nir.Affine(w(-2, 4, (10, c2 * h2 * h2)), np.zeros(10)),
        "if3": neurons(10, 60.0, tau),
        "output": nir.Output(np.array([10])),
    }
    edges = [("input", "conv1"), ("conv1", "if1"), ("if1", "conv2"), ("conv2", "if2"), ("if2", "flat"),
             ("flat", "fc"), ("fc", "if3"), ("if3", "output")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def dense_net(n_in: int, hidden: int, seed: int, tau: float | None = None, recurrent: bool = False
              ) -> nir.NIRGraph:
    """input n_in -> fc hidden (bias) -> IF/LIF [-> recurrent fc hidden -> back] -> fc 10 (10% of the
    synapses: a full fan-in of thousands would wrap Loihi's 24-bit u, which SANA-FE does not model) ->
    IF/LIF."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(np.array([n_in])),
        "fc1": nir.Affine(rng.integers(-2, 6, size=(hidden, n_in)).astype(float),
                          rng.integers(0, 3, size=hidden).astype(float)),
        "lif1": neurons(hidden, 25.0, tau),
        "fc2": nir.Affine(rng.integers(-2, 5, size=(10, hidden)).astype(float)
                          * (rng.random((10, hidden)) < 0.1), np.zeros(10)),
        "lif2": neurons(10, 40.0, tau),
        "output": nir.Output(np.array([10])),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    if recurrent:
        rec = rng.integers(-5, 5, size=(hidden, hidden)).astype(float) * (rng.random((hidden, hidden)) < 0.02)
        nodes["rec"] = nir.Affine(rec, np.zeros(hidden))
        edges += [("lif1", "rec"), ("rec", "lif1")]
    return nir.NIRGraph(nodes, edges, type_check=False)


# name -> (description, graph builder, refractory steps per population or None, steps, input rate, seed)
CELLS = {
    "conv-if-16": ("conv 8x16x16 (s1, bias) -> conv 12 s2 -> fc 10, IF",
                   lambda: conv_net(16, 8, 12, 0), None, 100, 0.2, 0),
    "conv-lif-16": ("conv 8x16x16 (s1, bias) -> conv 12 s2 -> fc 10, LIF tau 16 (dv 256)",
                    lambda: conv_net(16, 8, 12, 0, tau=16.0), None, 100, 0.25, 0),
    "dense-if": ("fc 2500 (bias) -> fc 10 from 300 inputs, IF",
                 lambda: dense_net(300, 2500, 1), None, 100, 0.1, 1),
    "dense-lif-recurrent-refractory": ("fc 1500 (bias) + recurrent 1500 -> fc 10 from 200 inputs, LIF tau 8 "
                                       "(dv 512), refractory 2 / 1",
                                       lambda: dense_net(200, 1500, 2, tau=8.0, recurrent=True), (2, 1), 100,
                                       0.1, 2),
    "conv-if-32": ("conv 12x32x32 (s1, bias) -> conv 16 s2 -> fc 10, IF",
                   lambda: conv_net(32, 12, 16, 0), None, 50, 0.2, 0),
    "conv-lif-26": ("conv 16x26x26 (s1, bias) -> conv 24 s2 -> fc 10, LIF tau 32 (dv 128)",
                    lambda: conv_net(26, 16, 24, 3, tau=32.0), None, 40, 0.15, 3),
}


def with_refractory(net, steps):
    """``net`` with population k held ``steps[k - 1]`` steps after a spike (chipfit's refractory_steps)."""
    pops = [net.populations[0]] + [
        dataclasses.replace(p, params=dataclasses.replace(p.params, refractory_steps=int(r)))
        for p, r in zip(net.populations[1:], steps, strict=True)]
    return dataclasses.replace(net, populations=tuple(pops))


def one(name: str) -> dict:
    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate
    from harness import sanafe_model

    what, build, refractory, steps, rate, seed = CELLS[name]
    profile = hwprofiles.load("loihi")
    net = compile_graph(build(), profile, dt_s=1.0)
    if refractory:
        net = with_refractory(net, refractory)
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
    params = net.populations[1].params
    return {"cell": name, "network": what, "neuron": "LIF" if params.decay_v else "IF",
            "refractory_steps": [p.params.refractory_steps for p in net.populations[1:]],
            "neurons": net.n_neurons, "synapses": net.n_synapses, "cores": int(placement.fit.cores_used),
            "input_rate": rate, "seed": seed, "place_s": place_s, "chipsim_s": chipsim_s,
            "sanafe_input_somas": theirs.input_somas, "load_average": os.getloadavg()[0],
            "command": f"PYTHONPATH=. nice -n 10 python benchmarks/bench_sanafe.py --cell {name}", **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", action="append", choices=sorted(CELLS), help="run this cell (repeatable)")
    parser.add_argument("--all", action="store_true", help="run every cell")
    parser.add_argument("--list", action="store_true", help="list the cells")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="folder for the per-cell JSON")
    args = parser.parse_args()
    if args.list:
        for name, cell in CELLS.items():
            print(f"{name}: {cell[0]}")
        return
    names = sorted(CELLS) if args.all else (args.cell or [])
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        r = one(name)
        (args.out / f"{name}.json").write_text(json.dumps(r, indent=1, default=float) + "\n")
        e = r["energy_j"]
        print(f"{name}: {r['neurons']} neurons, {r['cores']} cores, spikes {r['spikes']} identical "
              f"{r['spike_counts_identical']}; energy synapse {e['synapse']['relative_error']:.2%} soma "
              f"{e['soma']['relative_error']:.2%} network {e['network']['relative_error']:.2%}; latency "
              f"{r['latency_s']['relative_error']:.2%}; wall chipsim {r['chipsim_s']:.2f} s, SANA-FE "
              f"{r['wall_s']['sanafe']:.1f} s")


if __name__ == "__main__":
    main()
