"""The linear-time placer gives exactly the placements (and usage) of the sort-based one it replaced.

``place_reference.py`` is chipsim/place.py as of commit 8136c1c, kept unchanged. Over the networks of the
placement tests (hand-built, compiled MLPs and convs, and the property test's random networks and
profiles) the 'greedy' and 'hops' strategies must assign every neuron the same core and report the same
per-core use and violations.
"""

import dataclasses

import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from place_reference import place as place_reference
from test_chipsim_place import chain_of_layers, mlp_graph, speck_conv_graph, toy_net
from test_chipsim_place_props import networks, profiles

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.place import place

LOIHI = hwprofiles.load("loihi")
TRUENORTH = hwprofiles.load("truenorth")
SPECK = hwprofiles.load("speck")


def assert_same(net, profile, strategy="greedy"):
    new, old = place(net, profile, strategy), place_reference(net, profile, strategy)
    for a, b in zip(new.core_of_neuron, old.core_of_neuron, strict=True):
        np.testing.assert_array_equal(a, b)
    assert new.fit.fits == old.fit.fits
    assert new.fit.violations == old.fit.violations
    assert new.fit.usage.keys() == old.fit.usage.keys()
    for k in old.fit.usage:
        np.testing.assert_array_equal(new.fit.usage[k], old.fit.usage[k], err_msg=k)
    return new


def conv_graph(c_in, hw, channels, k=3, stride=1, padding=1, seed=0, readout=None):
    """Conv + IF layers of ``channels`` (an int, or (c_out, stride)), then a dense ``readout`` if given;
    for dt = 1 ms (IF r = 1/dt, so a weight adds itself to v)."""
    rng = np.random.default_rng(seed)
    nodes, edges, prev, shape = {"input": nir.Input(np.array([c_in, *hw]))}, [], "input", (c_in, *hw)
    for i, c_out in enumerate(channels):
        c_out, stride = c_out if isinstance(c_out, tuple) else (c_out, stride)
        h = (shape[1] + 2 * padding - k) // stride + 1
        w = (shape[2] + 2 * padding - k) // stride + 1
        weight = rng.integers(-3, 4, size=(c_out, shape[0], k, k)).astype(float)
        nodes[f"conv{i}"] = nir.Conv2d(input_shape=shape[1:], weight=weight, stride=stride, padding=padding,
                                       dilation=1, groups=1, bias=np.zeros(c_out))
        shape = (c_out, h, w)
        nodes[f"if{i}"] = nir.IF(r=np.full(shape, 1e3), v_threshold=np.full(shape, 4.0))  # r = 1 / dt
        edges += [(prev, f"conv{i}"), (f"conv{i}", f"if{i}")]
        prev = f"if{i}"
    if readout:
        n_in = int(np.prod(shape))
        nodes["flat"] = nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array(shape)})
        nodes["fc"] = nir.Affine(rng.integers(-3, 4, size=(readout, n_in)).astype(float), np.zeros(readout))
        nodes["out_if"] = nir.IF(r=np.full(readout, 1e3), v_threshold=np.full(readout, 4.0))
        edges += [(prev, "flat"), ("flat", "fc"), ("fc", "out_if")]
        prev, shape = "out_if", (readout,)
    nodes["output"] = nir.Output(np.array(shape))
    return nir.NIRGraph(nodes, edges + [(prev, "output")], type_check=False)


@pytest.mark.parametrize("strategy", ["greedy", "hops"])
@pytest.mark.parametrize(
    ("sizes", "profile"),
    [([64, 2500, 100], LOIHI), ([16, 3000], LOIHI), ([5, 7, 3], TRUENORTH), ([300, 300, 10], TRUENORTH)],
)
def test_compiled_mlps_place_as_before(sizes, profile, strategy):
    assert_same(compile_graph(mlp_graph(sizes), profile, dt_s=1e-4), profile, strategy)


NO_CONV_ENCODING = dataclasses.replace(
    LOIHI, core=dataclasses.replace(LOIHI.core, synapse_encoding_bits={"dense": 8, "sparse": 18})
)


@pytest.mark.parametrize("profile", [LOIHI, NO_CONV_ENCODING])
def test_compiled_conv_nets_place_as_before(profile):
    net = compile_graph(conv_graph(2, (20, 20), [16, 32, 8], stride=1), profile, dt_s=1e-3)
    assert_same(net, profile)
    net = compile_graph(conv_graph(3, (16, 16), [8, 8], stride=2, padding=0), profile, dt_s=1e-3)
    assert_same(net, profile, "hops")


def test_speck_places_as_before():
    assert_same(compile_graph(speck_conv_graph(2, 8, 3, (34, 34)), SPECK, dt_s=1.0), SPECK)
    assert_same(compile_graph(speck_conv_graph(64, 64, 5, (6, 6)), SPECK, dt_s=1.0), SPECK)


def test_hand_built_networks_place_as_before():
    small = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, neurons=2))
    assert_same(toy_net([5000, 1], [(0, 1, [(i, 0) for i in range(5000)])]), LOIHI)
    assert_same(toy_net([1, 2, 4], [(0, 1, [(0, 0), (0, 1)]), (1, 2, [(0, 0), (0, 3), (1, 1)])]), small)
    assert_same(chain_of_layers(6, 8), small, "hops")


def test_core_scoped_weight_tables_place_as_before():
    scoped = dataclasses.replace(
        LOIHI, core=dataclasses.replace(LOIHI.core, unique_weights=5, unique_weights_scope="core")
    )
    rng = np.random.default_rng(1)
    pairs = [(i, j) for i in range(30) for j in range(40) if rng.random() < 0.3]
    net = toy_net([30, 40], [(0, 1, pairs)], weights=[rng.integers(-4, 5, len(pairs))])
    assert_same(net, scoped)


@settings(max_examples=60, deadline=None)
@given(networks(), profiles(), st.sampled_from(["greedy", "hops"]))
def test_random_networks_place_as_before(net, profile, strategy):
    assert_same(net, profile, strategy)
