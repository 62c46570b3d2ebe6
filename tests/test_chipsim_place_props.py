"""Property: place()'s verdict survives an independent, loop-by-loop re-check of every per-core limit."""

import dataclasses
from collections import defaultdict

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

import hwprofiles
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.place import place

LOIHI = hwprofiles.load("loihi")
maybe = lambda s: st.none() | s  # noqa: E731


@st.composite
def networks(draw):
    sizes = [draw(st.integers(1, 6))] + draw(st.lists(st.integers(1, 10), min_size=1, max_size=3))
    params = NeuronParams(model="loihi_cuba", threshold=1)
    pops = tuple(
        Population(f"p{i}", n, (n,), None if i == 0 else params, np.zeros(n, np.int64))
        for i, n in enumerate(sizes)
    )
    projs = []
    for post in range(1, len(sizes)):
        for pre in sorted({post - 1, draw(st.integers(0, len(sizes) - 1))}):
            mask = draw(
                st.lists(st.booleans(), min_size=sizes[pre] * sizes[post], max_size=sizes[pre] * sizes[post])
            )
            pairs = [
                (i, j) for i in range(sizes[pre]) for j in range(sizes[post]) if mask[i * sizes[post] + j]
            ]
            w = draw(
                st.lists(st.sampled_from([-3, -2, -1, 1, 2, 3]), min_size=len(pairs), max_size=len(pairs))
            )
            rows = np.array([i for i, _ in pairs], np.int64)
            indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=sizes[pre]))])
            projs.append(
                Projection(
                    f"{pre}->{post}",
                    pre,
                    post,
                    "recurrent" if pre >= post else "sparse",
                    indptr,
                    np.array([j for _, j in pairs], np.int32),
                    np.array(w, np.int32),
                )
            )
    return ChipNetwork("toy", pops, tuple(projs), len(sizes) - 1, 1e-3, True)


@st.composite
def profiles(draw):
    core = dataclasses.replace(
        LOIHI.core,
        neurons=draw(maybe(st.integers(1, 8))),
        synapse_memory_bits=draw(maybe(st.integers(4, 120))),
        synapse_encoding_bits=draw(st.sampled_from([{"sparse": 4}, {"dense": 1, "sparse": 4}, {"dense": 2}])),
        fan_in_axons=draw(maybe(st.integers(1, 12))),
        fan_out_axons=draw(maybe(st.integers(1, 12))),
        fan_in_per_neuron=draw(maybe(st.integers(1, 8))),
        fan_out_per_neuron=draw(maybe(st.integers(1, 8))),
        unique_weights=draw(maybe(st.integers(1, 5))),
        unique_weights_scope=draw(st.sampled_from(["core", "neuron", "layer"])),
    )
    mesh = dataclasses.replace(
        LOIHI.mesh, width=2, height=2, cores_per_tile=2, max_chips=draw(st.integers(1, 3))
    )
    return dataclasses.replace(LOIHI, core=core, mesh=mesh)


def recheck(net, placement, profile):
    """Per-core needs by plain loops, from the definitions in chipsim.constraints and chipsim.place."""
    core_of = {
        (p, i): int(c) for p, cores in enumerate(placement.core_of_neuron) for i, c in enumerate(cores)
    }
    enc_bits = profile.core.synapse_encoding_bits
    need = defaultdict(lambda: defaultdict(int))
    axons_in, axons_out, values = defaultdict(set), defaultdict(set), defaultdict(set)
    fan_in, fan_out, w_neuron, w_layer = (
        defaultdict(int),
        defaultdict(int),
        defaultdict(set),
        defaultdict(set),
    )
    for (p, _), c in core_of.items():
        if p > 0:
            need["neurons_per_core"][c] += 1
    for proj in net.projections:
        n_pre, n_post = net.populations[proj.pre].size, net.populations[proj.post].size
        costs = {
            "sparse": proj.targets.size * enc_bits.get("sparse", 0),
            "dense": n_pre * n_post * enc_bits.get("dense", 0),
        }
        enc = min((e for e in enc_bits), key=lambda e: (costs[e], e))
        for j in range(n_post):
            if enc == "dense":
                need["synapse_memory_bits"][core_of[(proj.post, j)]] += n_pre * enc_bits["dense"]
        for i in range(n_pre):
            for s in range(proj.indptr[i], proj.indptr[i + 1]):
                j, w = int(proj.targets[s]), int(proj.weights[s])
                dst = core_of[(proj.post, j)]
                if enc == "sparse":
                    need["synapse_memory_bits"][dst] += enc_bits["sparse"]
                axons_in[dst].add((proj.pre, i))
                if proj.pre > 0:
                    axons_out[core_of[(proj.pre, i)]].add(((proj.pre, i), dst))
                    fan_out[(proj.pre, i)] += 1
                fan_in[(proj.post, j)] += 1
                values[dst].add(w)
                w_neuron[(proj.post, j)].add(w)
                w_layer[proj.post].add(w)
    for c in axons_in:
        need["fan_in_axons"][c] = len(axons_in[c])
    for c in axons_out:
        need["fan_out_axons"][c] = len(axons_out[c])
    scope = profile.core.unique_weights_scope
    for (p, i), c in core_of.items():
        if p == 0:
            continue
        need["fan_in_per_neuron"][c] = max(need["fan_in_per_neuron"][c], fan_in[(p, i)])
        need["fan_out_per_neuron"][c] = max(need["fan_out_per_neuron"][c], fan_out[(p, i)])
        unique = {"core": len(values[c]), "neuron": len(w_neuron[(p, i)]), "layer": len(w_layer[p])}[scope]
        need["unique_weights"][c] = max(need["unique_weights"][c], unique)
    cores = {c for (p, _), c in core_of.items() if p > 0}
    return need, cores


LIMITS = [
    "neurons_per_core",
    "synapse_memory_bits",
    "fan_in_axons",
    "fan_out_axons",
    "fan_in_per_neuron",
    "fan_out_per_neuron",
    "unique_weights",
]


@settings(max_examples=30, deadline=None)
@given(networks(), profiles(), st.sampled_from(["greedy", "hops"]))
def test_fit_verdict_survives_an_independent_recheck(net, profile, strategy):
    placement = place(net, profile, strategy)
    fit = placement.fit
    need, cores = recheck(net, placement, profile)
    limit_of = {
        name: getattr(profile.core, {"neurons_per_core": "neurons"}.get(name, name)) for name in LIMITS
    }
    excess = {
        (name, c)
        for name in LIMITS
        if limit_of[name] is not None
        for c, v in need[name].items()
        if v > limit_of[name]
    }
    if max(cores, default=-1) + 1 > profile.cores_total:
        excess.add(("cores", None))
    event("fits" if fit.fits else "does not fit")
    if fit.fits:
        assert not excess
        assert all(0 <= c < profile.cores_total for c in cores)
    else:
        assert fit.violations
        for v in fit.violations:
            assert (v.constraint, v.core) in excess
            if v.constraint != "cores":
                assert v.need == need[v.constraint][v.core] > v.limit
    assert {(v.constraint, v.core) for v in fit.violations} == excess
