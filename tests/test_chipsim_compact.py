"""The sparse fired-list compaction (issue 19) lists exactly what the branch-free one lists: random flags at
densities from none to all, sizes that leave a tail of fewer than 8 flags, slices starting off a word
boundary, and a run where the choice between the two flips between steps (bursts of firing)."""

import numpy as np
import pytest

from chipsim import engine
from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.simulate import simulate


@pytest.mark.parametrize("density", [0.0, 0.003, 0.027, 0.3, 1.0])
@pytest.mark.parametrize(("size", "start"), [(1000, 0), (1013, 3), (7, 1), (0, 0)])
def test_sparse_compaction_lists_the_same_neurons(density, size, start):
    rng = np.random.default_rng(int(density * 1000) + size)
    flag = (rng.random(size + start) < density).astype(np.uint8)[start:]
    want = np.full(size + 1, -1, np.int64)
    got = np.full(size + 1, -1, np.int64)
    n = engine._compact(flag, 40, want)
    assert engine._compact_sparse(flag, 40, got) == n == int(flag.sum())
    np.testing.assert_array_equal(got[:n], want[:n])
    np.testing.assert_array_equal(want[:n], 40 + np.flatnonzero(flag))


def test_bursts_switch_compactions_and_keep_every_spike():
    # 400 neurons driven by an input that is silent, then all on, then sparse: the previous step's count
    # picks the dense compaction in and after a burst, the sparse one elsewhere; the raster must still be
    # each neuron's own threshold crossing (input weight 10 per input spike, threshold 15, no leak)
    n = 400
    indptr = np.arange(n + 1, dtype=np.int64)
    proj = Projection("in", 0, 1, "sparse", indptr, np.arange(n, dtype=np.int32), np.full(n, 10, np.int32))
    prm = NeuronParams(model="speck_iaf", threshold=15, state_bits=16)
    pops = (Population("in", n, (n,), None, np.zeros(n, np.int64)),
            Population("h", n, (n,), prm, np.zeros(n, np.int64)))
    net = ChipNetwork("t", pops, (proj,), 1, 1e-3, True)
    cores = (np.full(n, -1, np.int32), np.zeros(n, np.int32))
    pl = Placement(cores, FitReport("t", True, (), 1, 1, 1), 1, 1, 1, 1)
    rng = np.random.default_rng(0)
    x = np.zeros((12, 1, n), np.uint8)
    x[2:5] = 1  # burst: everyone fires every other step
    x[7:] = rng.random((5, 1, n)) < 0.02
    act = simulate(net, pl, x, record_raster=True)
    # reference: v += 10 per input spike; fire when v >= 15, subtracting or zeroing to 0 (reset zero)
    v = np.zeros(n, np.int64)
    want = np.zeros((12, n), np.uint8)
    for t in range(12):
        v += 10 * x[t, 0]
        want[t] = v >= 15
        v[want[t] == 1] = 0
    np.testing.assert_array_equal(act.raster[1][:, 0], want)
    assert want[3].all() and 0 < want[7:].sum() < 5 * n
