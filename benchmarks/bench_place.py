"""Placement at scale (issue 19): time and peak memory of ``chipsim.place.place`` on networks of the size
users deploy, built directly as ChipNetworks (random weights; this is about speed, not accuracy).

Each case runs in its own process (so peak RSS is that case's): build, one warm-up place on a small net of
the same kinds (Numba's compile is not counted), then the timed place. ``--reference`` also times the
sort-based placer of commit 8136c1c (tests/place_reference.py) on the same network in the same process.

    NUMBA_CACHE_DIR=$PWD/.cache/numba .venv/bin/python benchmarks/bench_place.py [--cases mlp1k,...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chipsim.network import ChipNetwork, ConvKernel, NeuronParams, Population, Projection  # noqa: E402

PARAMS = NeuronParams(model="loihi_cuba", threshold=64, decay_u=4096, decay_v=0, state_bits=24,
                      current_bits=24, decay_bits=12, weight_shift=6)


def _pop(name, shape):
    n = int(np.prod(shape))
    return Population(name, n, tuple(shape), PARAMS if name != "input" else None, np.zeros(n, np.int64))


def dense_projection(name, pre, post, n_pre, n_post, density, rng):
    """Random CSR with ``density`` of the n_pre x n_post pairs (each pre gets round(density * n_post))."""
    k = max(1, int(round(density * n_post)))
    indptr = np.arange(n_pre + 1, dtype=np.int64) * k
    if k == n_post:
        targets = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
    else:
        targets = np.sort(rng.integers(0, n_post, size=(n_pre, k), dtype=np.int32), axis=1).ravel()
    weights = rng.integers(-127, 128, size=targets.size, dtype=np.int32)
    return Projection(name, pre, post, "dense", indptr, targets, weights)


def mlp(sizes, density=1.0, seed=0) -> ChipNetwork:
    rng = np.random.default_rng(seed)
    pops = [_pop("input", (sizes[0],))] + [_pop(f"l{i}", (n,)) for i, n in enumerate(sizes[1:], 1)]
    projs = [dense_projection(f"fc{i}", i, i + 1, a, b, density, rng)
             for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))]
    return ChipNetwork("loihi", tuple(pops), tuple(projs), len(pops) - 1, 1e-3, True)


def conv_stack(in_shape, layers, n_out=10, seed=0) -> ChipNetwork:
    """Kept-kernel convs (c_out, stride) with 3x3 kernels, padding 1, then a dense readout."""
    rng = np.random.default_rng(seed)
    pops, projs, shape = [_pop("input", in_shape)], [], tuple(in_shape)
    for i, (c_out, stride) in enumerate(layers):
        out = (c_out, (shape[1] + 2 - 3) // stride + 1, (shape[2] + 2 - 3) // stride + 1)
        w = rng.integers(-127, 128, size=(c_out, shape[0], 3, 3)).astype(np.int32)
        conv = ConvKernel(w, (stride, stride), (1, 1), shape, out)
        pops.append(_pop(f"conv{i}", out))
        projs.append(Projection(f"c{i}", i, i + 1, "conv", np.zeros(int(np.prod(shape)) + 1, np.int64),
                                np.zeros(0, np.int32), np.zeros(0, np.int32), conv=conv,
                                kernel_shape=(c_out, shape[0], 3, 3)))
        shape = out
    pops.append(_pop("out", (n_out,)))
    projs.append(dense_projection("fc", len(pops) - 2, len(pops) - 1, int(np.prod(shape)), n_out, 1.0, rng))
    return ChipNetwork("loihi", tuple(pops), tuple(projs), len(pops) - 1, 1e-3, True)


CASES = {
    "mlp1k_10": lambda: mlp([1000] * 11),  # 10,000 neurons, 10M synapses
    "mlp784_4995": lambda: mlp([784, 4995, 4995, 10]),  # 10,000 neurons, 28.9M synapses
    "conv64": lambda: conv_stack((3, 64, 64), [(16, 1), (16, 2)]),  # 81,930 neurons, 4.3M synapses
    "mlp1k_30": lambda: mlp([1000] * 31),  # 30,000 neurons, 30M synapses
    "mlp1k_100": lambda: mlp([1000] * 101),  # 100,000 neurons, 100M synapses
    "mlp_small": lambda: mlp([300] * 6),  # 1,500 neurons, 450k synapses (old vs new in one process)
}


def run_case(name: str, reference: bool) -> dict:
    import hwprofiles
    from chipsim.place import place

    profile = hwprofiles.load("loihi")
    place(mlp([20, 30, 10]), profile)  # Numba warm-up (from the cache where it is there)
    place(conv_stack((2, 8, 8), [(4, 1)]), profile)
    t0 = time.perf_counter()
    net = CASES[name]()
    build_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    placement = place(net, profile)
    place_s, place_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    out = dict(case=name, neurons=net.n_neurons, synapses=net.n_synapses, build_s=round(build_s, 3),
               place_s=round(place_s, 3), place_cpu_s=round(place_cpu_s, 3), fits=placement.fit.fits,
               cores=placement.fit.cores_used,
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    if reference:
        sys.path.insert(0, str(ROOT / "tests"))
        from place_reference import place as place_reference

        t0, c0 = time.perf_counter(), time.process_time()
        old = place_reference(net, profile)
        out["reference_place_s"] = round(time.perf_counter() - t0, 3)
        out["reference_place_cpu_s"] = round(time.process_time() - c0, 3)
        out["identical"] = all(np.array_equal(a, b) for a, b in
                               zip(old.core_of_neuron, placement.core_of_neuron, strict=True))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="mlp_small,mlp1k_10,conv64,mlp784_4995")
    ap.add_argument("--reference", action="store_true", help="also time the sort-based reference placer")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.reference)))
        return
    for name in args.cases.split(","):
        cmd = [sys.executable, __file__, "--one", name] + (["--reference"] if args.reference else [])
        res = subprocess.run(cmd, capture_output=True, text=True)
        print(res.stdout.strip() or res.stderr.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
