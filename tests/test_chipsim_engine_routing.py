"""chipsim.routing: destination cores per neuron, (source, destination) pairs, XY hops."""

import numpy as np

from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.routing import _pair_ids_sorted, _pair_ids_table, route


def net_and_placement(rng, n=40, cores=12):
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    pops = (Population("in", 5, (5,), None, np.zeros(5, np.int64)),
            Population("a", n, (n,), params, np.zeros(n, np.int64)),
            Population("b", n, (n,), params, np.zeros(n, np.int64)))

    def rand(n_pre, n_post, k):
        return Projection("p", 0, 0, "dense", np.arange(n_pre + 1, dtype=np.int64) * k,
                          rng.integers(0, n_post, n_pre * k).astype(np.int32), np.ones(n_pre * k, np.int32))

    projs = [rand(5, n, 6), rand(n, n, 5), rand(n, n, 4)]
    projs = [Projection(f"p{i}", pre, post, "dense", p.indptr, p.targets, p.weights)
             for i, (p, (pre, post)) in enumerate(zip(projs, [(0, 1), (1, 2), (1, 1)], strict=True))]
    net = ChipNetwork("t", pops, tuple(projs), 2, 1e-3, True)
    fit = FitReport("t", True, (), 0, 0, 1)
    pl = Placement((np.full(5, -1, np.int32), rng.integers(0, cores, n).astype(np.int32),
                    rng.integers(0, cores, n).astype(np.int32)), fit, 8, 2, 2, 2)
    return net, pl


def test_destinations_are_the_distinct_cores_of_all_targets():
    rng = np.random.default_rng(0)
    net, pl = net_and_placement(rng)
    r = route(net, pl)
    off = net.offsets()
    for g in range(off[1], off[2]):  # population a: projections to b and to itself
        i = g - off[1]
        expected = set()
        for proj in net.projections[1:]:
            post = pl.core_of_neuron[proj.post][proj.targets[proj.indptr[i]:proj.indptr[i + 1]]]
            expected |= set(np.searchsorted(r.cores, post).tolist())
        got = r.dest_core[r.dest_indptr[g]:r.dest_indptr[g + 1]].tolist()
        assert sorted(got) == sorted(expected) and len(got) == len(set(got))


def test_many_core_fallback_numbers_the_same_pairs_and_hops():
    rng = np.random.default_rng(1)
    net, pl = net_and_placement(rng)
    r = route(net, pl)
    cx, cy = (np.asarray(a, np.int64) for a in pl.core_xy(r.cores))
    args = (r.dest_indptr, r.dest_core, r.core_of_neuron, cx, cy, r.cores.size)
    t_pair, t_ew, t_ns, t_src, t_dst = _pair_ids_table(*args)
    s_pair, s_ew, s_ns, s_src, s_dst = _pair_ids_sorted(*args)
    assert np.array_equal(t_ew, s_ew) and np.array_equal(t_ns, s_ns)
    live = t_pair >= 0
    assert np.array_equal(t_src[t_pair[live]], s_src[s_pair[live]])
    assert np.array_equal(t_dst[t_pair[live]], s_dst[s_pair[live]])
    assert np.array_equal(live, s_pair >= 0)
