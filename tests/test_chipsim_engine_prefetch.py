"""The engine's prefetching delivery and packet counting (issue 19) against a NumPy reference: every step's
synaptic input, synaptic events and packets per core, on random networks with rows of every length
(empty, shorter and longer than the prefetch distance), several projections into one population, delays,
recurrence, interleaved cores, a batch; fixed point (loihi_cuba, xylo_shift, int8/int16/int32 weights) and
float. The input sums are read back from the recorded current ``u``, which each case's parameters make
equal to the step's input (loihi: ``decay_u = 2^12 - 1``, no shift; xylo: shift 0; float: ``tau_syn = 0``).
"""

import platform

import numba as nb
import numpy as np
import pytest

from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.prefetch import prefetch
from chipsim.simulate import simulate

PARAMS = {
    "loihi_cuba": dict(model="loihi_cuba", threshold=40, decay_u=4095, decay_v=600, refractory_steps=1,
                       state_bits=24, current_bits=24, decay_bits=12, weight_shift=0),
    "xylo_shift": dict(model="xylo_shift", threshold=40, decay_u=0, decay_v=2, state_bits=16,
                       current_bits=16),
    "float_lif": dict(model="float_lif", threshold=40.0, tau_syn_s=0.0, tau_mem_s=5e-3),
}
SIZES = (20, 50, 300)  # input, hidden, output: output rows run up to 300 targets (past PREFETCH_ROW_TARGETS)


def _csr(rng, n_pre, n_post, density, wdtype, lo, hi):
    """Random CSR; a few rows empty, one row full (every target), the rest ``density``. Returns (indptr,
    targets, weights, dense [n_pre, n_post])."""
    mask = rng.random((n_pre, n_post)) < rng.choice([0.0, density, density / 10], size=(n_pre, 1))
    mask[n_pre // 2] = True
    w = rng.integers(lo, hi, (n_pre, n_post)) * mask
    rows, cols = np.nonzero(w)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_pre))]).astype(np.int64)
    return indptr, cols.astype(np.int32), w[rows, cols].astype(wdtype), w


def random_case(model, wdtype, seed):
    """input -> hidden (+ hidden -> hidden, recurrent) -> output (delay 2, and input -> output)."""
    rng = np.random.default_rng(seed)
    n_in, n_h, n_o = SIZES
    fixed = model != "float_lif"
    wd = wdtype if fixed else np.float64
    hi = 60 if wdtype == np.int8 or not fixed else 300
    specs = [("in_h", 0, 1, 0.3, 0), ("rec", 1, 1, 0.1, 0), ("h_o", 1, 2, 0.2, 2), ("in_o", 0, 2, 0.1, 0)]
    sizes = (n_in, n_h, n_o)
    projs, dense = [], []
    for name, pre, post, density, delay in specs:
        lo_w = -hi // 3 if name == "rec" else -hi // 6
        indptr, tg, wt, w = _csr(rng, sizes[pre], sizes[post], density, wd, lo_w, hi)
        projs.append(Projection(name, pre, post, "dense", indptr, tg, wt, delay_steps=delay))
        dense.append((pre, post, delay, w))
    prm = NeuronParams(**{**PARAMS[model], **({"threshold": 300} if hi == 300 else {})})
    bias_dtype = np.int64 if fixed else np.float64
    pops = (Population("in", n_in, (n_in,), None, np.zeros(n_in, bias_dtype)),
            Population("h", n_h, (n_h,), prm, np.zeros(n_h, bias_dtype)),
            Population("o", n_o, (n_o,), prm, np.zeros(n_o, bias_dtype)))
    net = ChipNetwork("t", pops, tuple(projs), 2, 1e-3, fixed)
    cores = (np.full(n_in, -1, np.int32), rng.integers(0, 3, n_h).astype(np.int32),
             rng.integers(2, 6, n_o).astype(np.int32))  # interleaved: short same-core runs, a shared core
    pl = Placement(cores, FitReport("t", True, (), 0, 0, 1), 16, 4, 4, 1)
    x = (rng.random((25, 2, n_in)) < 0.35).astype(np.uint8)
    return net, pl, x, dense, cores


def reference(act, dense, cores, compact):
    """(input [pop][steps, batch, size], events [batch, steps, core], packets_in [batch, steps, core]) from
    the engine's own rasters: spikes of step t - lag times the dense weights, lag as chipsim.network fixes."""
    raster = [r.astype(np.int64) for r in act.raster]
    steps, batch = raster[0].shape[:2]
    n_cores = compact.size
    inputs = [np.zeros(r.shape, np.float64) for r in raster]
    events = np.zeros((batch, steps, n_cores), np.int64)
    packets = np.zeros((batch, steps, n_cores), np.int64)
    dest = [set() for _ in range(sum(r.shape[2] for r in raster))]
    off = np.cumsum([0] + [r.shape[2] for r in raster])
    for pre, post, delay, w in dense:
        lag = delay if delay > 0 else int(pre >= post)
        post_core = np.searchsorted(act.cores, cores[post])
        for t in range(lag, steps):
            spikes = raster[pre][t - lag]  # [batch, n_pre]
            inputs[post][t] += spikes @ w
            hits = spikes @ (w != 0)  # [batch, n_post] events into each post neuron
            for b in range(batch):
                events[b, t] += np.bincount(post_core, weights=hits[b], minlength=n_cores).astype(np.int64)
        for i, j in zip(*np.nonzero(w), strict=True):
            dest[off[pre] + i].add(int(post_core[j]))
    spiking = np.concatenate(raster, axis=2)  # [steps, batch, n_total]
    for g, ds in enumerate(dest):
        for d in ds:
            packets[:, :, d] += spiking[:, :, g].T
    return inputs, events, packets


@pytest.mark.parametrize(("model", "wdtype"), [("loihi_cuba", np.int8), ("loihi_cuba", np.int16),
                                                ("loihi_cuba", np.int32), ("xylo_shift", np.int8),
                                                ("float_lif", np.float64)])
@pytest.mark.parametrize("seed", [0, 1])
def test_delivery_events_and_packets_match_numpy_reference(model, wdtype, seed):
    net, pl, x, dense, cores = random_case(model, wdtype, seed)
    act = simulate(net, pl, x, record_raster=True, record_state=True)
    compact = act.cores
    inputs, events, packets = reference(act, dense, cores, compact)
    for p in (1, 2):
        assert 0 < act.raster[p].mean() < 0.9, f"population {p} should fire, not always"
        np.testing.assert_array_equal(act.state[p][0], inputs[p])
    np.testing.assert_array_equal(act.synops, events)
    np.testing.assert_array_equal(act.packets_in, packets)


def test_prefetch_reads_nothing_and_writes_nothing():
    @nb.njit
    def touch(a, idx):
        s = 0
        for i in idx:
            prefetch(a, i)  # past the end too: a prefetch never faults
            s += a[min(i, a.size - 1)]
        return s

    a = np.arange(10, dtype=np.int32)
    before = a.copy()
    assert touch(a, np.array([0, 3, 9, 10, 4096], np.int64)) == 0 + 3 + 9 + 9 + 9
    np.testing.assert_array_equal(a, before)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 instruction name")
def test_prefetch_compiles_to_a_prefetch_instruction():
    @nb.njit
    def ask(a, i):
        prefetch(a, i)

    ask(np.zeros(4, np.int32), 1)
    (asm,) = ask.inspect_asm().values()
    assert "prefetcht0" in asm
