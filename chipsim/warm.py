"""Warm Numba's on-disk cache for every shipped profile, so the first real run compiles nothing.

``make install`` runs ``python -m chipsim.warm`` once: for each profile it compiles, places and simulates a
tiny dense network and, where the profile runs conv layers, a tiny conv one, with binary and analog input,
which compiles every kernel signature the profile's number format needs (weight dtype, fixed point or
float, kept kernel or CSR, and for fixed point the int16 input sums of networks of 2^16 neurons and more)
into ``NUMBA_CACHE_DIR``. Later processes load those from the cache.
"""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np


def _graphs(profile):
    import nir

    rng = np.random.default_rng(0)
    dense = nir.NIRGraph(
        {"input": nir.Input(np.array([6])), "fc": nir.Affine(rng.uniform(-1, 1, (5, 6)), np.zeros(5)),
         "lif": nir.LIF(tau=np.full(5, 1e-2), r=np.ones(5), v_leak=np.zeros(5), v_threshold=np.ones(5)),
         "output": nir.Output(np.array([5]))},
        [("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)
    out = [dense]
    if "conv" in profile.core.layer_kinds:
        shape = (2, 4, 4)
        conv = nir.Conv2d(input_shape=(4, 4), weight=rng.uniform(-1, 1, (2, 1, 3, 3)), stride=1, padding=1,
                          dilation=1, groups=1, bias=np.zeros(2))
        out.append(nir.NIRGraph(
            {"input": nir.Input(np.array([1, 4, 4])), "conv": conv,
             # IF gain is dt * r: r = 1/dt makes one full-scale weight reach the threshold on every chip
             "if": nir.IF(r=np.full(shape, 1.0 / profile.time_step_s), v_threshold=np.ones(shape)),
             "output": nir.Output(np.array(shape))},
            [("input", "conv"), ("conv", "if"), ("if", "output")], type_check=False))
    return out


def _expansion_kernels() -> None:
    """The compile kernels a tiny network does not reach: a dense layer with zeros, a chain of two weight
    nodes, weights that round to 0, and the parallel block drivers of large expansions."""
    from chipsim import expand

    w = np.array([[1.0, 0.0], [0.5, 2.0]])
    m = expand.product(expand.dense(w), expand.dense(w))
    expand.keep_nonzero(m.indptr, m.targets, np.array([1, 0, 2], np.int32), 2)
    wt = np.ascontiguousarray(w.T)
    expand._dense_blocks(wt, np.zeros(2, np.int64), np.zeros(0, np.int32), np.zeros(0), False, 1)
    geo = expand.ConvGeometry(np.ones((1, 1, 2, 2)), (1, 1), (0, 0), (1, 3, 3), (1, 2, 2))
    taps = expand._taps(3, 2, 2, 1, 0)
    expand._conv_blocks(geo.weight, 1, 2, 2, *taps, *taps, False, 1, np.zeros(9, np.int64),
                        np.zeros(0, np.int32), np.zeros(0), False, 1)


def warm(names=None, log=print) -> None:
    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import _abs_fan_in, prepare, simulate, simulate_stream

    _expansion_kernels()
    for name in names or hwprofiles.available():
        began = time.perf_counter()
        profile = hwprofiles.load(name)
        for graph in _graphs(profile):
            net = compile_graph(graph, profile)
            placement = place(net, profile)
            n_in = net.populations[0].size
            x = (np.random.default_rng(1).random((3, 2, n_in)) < 0.5).astype(np.uint8)
            cost(simulate(net, placement, x), placement, profile, net)
            simulate_stream(net, placement, x, workers=1)
            if net.fixed_point:  # the int16 input sums a large network gets (simulate.accumulator_dtype)
                for pr in net.projections:  # and the check that picks them
                    if pr.targets.size:
                        _abs_fan_in(np.asarray(pr.targets), np.asarray(pr.weights), 0,
                                    np.zeros(net.n_neurons, np.int64))
                wide = prepare(net, placement)
                simulate_stream(dataclasses.replace(wide, acc_dtype=np.int16), None, x, workers=1)
            else:
                simulate(net, placement, x * 0.5)
        log(f"warmed {name} in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    warm(sys.argv[1:] or None)
