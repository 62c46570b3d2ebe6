"""chipsim.place and chipsim.constraints: cores, per-core resources and violations, hand-computed."""

import dataclasses

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim import constraints as cst
from chipsim.compile import compile_graph
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.place import PlacementError, place, route_hops

LOIHI = hwprofiles.load("loihi")
TRUENORTH = hwprofiles.load("truenorth")
SPECK = hwprofiles.load("speck")
DT = 1e-4


def mlp_graph(sizes, seed=0):
    rng = np.random.default_rng(seed)
    nodes, edges, prev = {"input": nir.Input(np.array([sizes[0]]))}, [], "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        nodes[f"fc{i}"] = nir.Affine(rng.uniform(0.1, 1.0, size=(b, a)), np.zeros(b))
        nodes[f"lif{i}"] = nir.LIF(
            tau=np.full(b, 1e-3), r=np.full(b, 10.0), v_leak=np.zeros(b), v_threshold=np.ones(b)
        )
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(np.array([sizes[-1]]))
    return nir.NIRGraph(nodes, edges + [(prev, "output")], type_check=False)


def toy_net(sizes, links, weights=None):
    """A ChipNetwork built directly: populations of ``sizes`` (0 = input) and CSR projections from
    ``links`` = [(pre, post, [(i, j), ...])] with weight 1 (or ``weights[k]`` per link)."""
    params = NeuronParams(model="loihi_cuba", threshold=1)
    pops = [
        Population(f"p{i}", n, (n,), None if i == 0 else params, np.zeros(n, np.int64))
        for i, n in enumerate(sizes)
    ]
    projs = []
    for k, (pre, post, pairs) in enumerate(links):
        pairs = sorted(pairs)
        i = np.array([a for a, _ in pairs], np.int64)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=sizes[pre]))])
        w = np.ones(len(pairs), np.int32) if weights is None else np.asarray(weights[k], np.int32)
        projs.append(
            Projection(
                f"{pre}->{post}", pre, post, "sparse", indptr, np.array([b for _, b in pairs], np.int32), w
            )
        )
    return ChipNetwork("toy", tuple(pops), tuple(projs), len(sizes) - 1, 1e-3, True)


def test_64_2500_100_on_loihi_needs_five_cores_because_synapse_memory_binds():
    # Dense 8-bit rows. Layer 1: 64 x 8 = 512 bits/neuron -> 1024, 1024, 452 neurons on cores 0-2.
    # Layer 2: 2500 x 8 = 20,000 bits/neuron; core 2 has 1,048,576 - 452 x 512 = 817,152 bits left -> 40
    # neurons; then 52 per core (52 x 20,000 = 1,040,000 <= 1,048,576) -> 52 on core 3, 8 on core 4.
    net = compile_graph(mlp_graph([64, 2500, 100]), LOIHI, dt_s=DT)
    fit = place(net, LOIHI).fit
    assert fit.fits and fit.cores_used == 5 and fit.chips_needed == 1
    assert fit.usage["neurons_per_core"].tolist() == [1024, 1024, 492, 52, 8]
    assert fit.usage["synapse_memory_bits"].tolist() == [
        524288,
        524288,
        452 * 512 + 40 * 20000,
        1040000,
        160000,
    ]
    assert fit.usage["fan_in_axons"].tolist() == [64, 64, 2564, 2500, 2500]


def test_a_neuron_count_bound_network_uses_ceil_of_neurons_over_1024_cores():
    net = compile_graph(mlp_graph([16, 3000]), LOIHI, dt_s=DT)  # 16 x 8 bits/neuron: memory does not bind
    assert place(net, LOIHI).fit.cores_used == 3


def test_five_distinct_integer_weights_per_neuron_break_truenorth_weight_format():
    # the compiler clusters them onto 4 axon types (so the core's unique_weights holds), but integer weights
    # are a graph already quantized: that TrueNorth cannot keep them is a weight_format violation
    graph = mlp_graph([5, 1])
    graph.nodes["fc0"] = nir.Affine(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), np.zeros(1))
    fit = place(compile_graph(graph, TRUENORTH, dt_s=DT), TRUENORTH).fit
    assert not fit.fits
    assert [(v.constraint, v.core, v.need, v.limit, v.population) for v in fit.violations] == [
        ("weight_format", None, 5, 4, "lif0")]


def test_four_distinct_weights_per_neuron_fit_truenorth():
    graph = mlp_graph([5, 1])
    graph.nodes["fc0"] = nir.Affine(np.array([[1.0, 2.0, 3.0, 4.0, 4.0]]), np.zeros(1))
    assert place(compile_graph(graph, TRUENORTH, dt_s=DT), TRUENORTH).fit.fits


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "out_hw", "kernel", "neuron"),
    [
        (2, 8, (3, 3), (32, 32), 2 * 2 ** (4 + 3), 8 * 2 ** (5 + 5)),  # 256, 8192
        (16, 32, (5, 5), (13, 13), 16 * 2 ** (5 + 5), 32 * 2 ** (4 + 4)),  # 16384, 8192
        (3, 10, (1, 1), (7, 5), 3 * 2 ** (0 + 4), 10 * 2 ** (3 + 3)),  # 48, 640
    ],
)
def test_speck_kernel_and_neuron_memory_follow_the_sinabs_formula(c_in, c_out, k, out_hw, kernel, neuron):
    assert cst.speck_kernel_memory(c_in, c_out, *k) == kernel
    assert cst.speck_neuron_memory(c_out, *out_hw) == neuron


def speck_conv_graph(c_in, c_out, k, hw):
    ho, wo = hw[0] - k + 1, hw[1] - k + 1
    shape = (c_out, ho, wo)
    conv = nir.Conv2d(
        input_shape=hw,
        weight=np.ones((c_out, c_in, k, k)),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(c_out),
    )
    lif = nir.IF(r=np.ones(shape), v_threshold=np.ones(shape))
    return nir.NIRGraph(
        {
            "input": nir.Input(np.array([c_in, *hw])),
            "conv": conv,
            "if": lif,
            "output": nir.Output(np.array(shape)),
        },
        [("input", "conv"), ("conv", "if"), ("if", "output")],
        type_check=False,
    )


def test_speck_places_a_conv_layer_on_a_core_whose_memory_holds_it():
    # 2 -> 8 channels, 3x3, 34x34 input: kernel 256 entries, neurons 8 * 2^(5+5) = 8192: core 0 holds it
    net = compile_graph(speck_conv_graph(2, 8, 3, (34, 34)), SPECK, dt_s=1.0)
    fit = place(net, SPECK).fit
    assert fit.fits and fit.cores_used == 1
    assert fit.usage["kernel_memory"][0] == 256 and fit.usage["neuron_memory"][0] == 8192


def test_speck_layer_too_big_for_every_core_is_a_kernel_memory_violation():
    # 64 -> 64 channels, 5x5: kernel 64 * 2^(5+6) = 131,072 > 64Ki, the largest core's kernel memory
    net = compile_graph(speck_conv_graph(64, 64, 5, (6, 6)), SPECK, dt_s=1.0)
    fit = place(net, SPECK).fit
    [v] = [v for v in fit.violations if v.constraint == "kernel_memory"]
    assert (v.need, v.limit) == (131072, 16384)  # first free core (0) has 16Ki


def test_one_neuron_with_5000_inputs_breaks_loihi_fan_in_axons_on_its_core():
    net = toy_net([5000, 1], [(0, 1, [(i, 0) for i in range(5000)])])
    fit = place(net, LOIHI).fit
    [v] = fit.violations
    assert (v.constraint, v.core, v.need, v.limit) == ("fan_in_axons", 0, 5000, 4096)


def test_200k_neurons_on_loihi_span_two_chips():
    net = toy_net([1, 200_000], [(0, 1, [(0, j) for j in range(200_000)])])
    fit = place(net, LOIHI).fit
    assert fit.cores_used == 196 and fit.chips_needed == 2  # ceil(200000/1024) = 196 > 128 cores per chip
    assert fit.fits


def test_more_chips_than_the_system_joins_is_a_cores_violation():
    one_chip = dataclasses.replace(LOIHI, mesh=dataclasses.replace(LOIHI.mesh, max_chips=1))
    net = toy_net([1, 200_000], [(0, 1, [(0, j) for j in range(200_000)])])
    fit = place(net, one_chip).fit
    [v] = fit.violations
    assert (v.constraint, v.core, v.need, v.limit) == ("cores", None, 196, 128)


def chain_of_layers(n_layers, width):
    links = [(0, 1, [(0, j) for j in range(width)])]
    links += [(p, p + 1, [(i, j) for i in range(width) for j in range(width)]) for p in range(1, n_layers)]
    return toy_net([1] + [width] * n_layers, links)


def test_snake_order_cuts_hops_where_a_layer_chain_wraps_a_mesh_row():
    # 4x4 mesh, 1 core/tile, 8 neurons/core: 16 layers of 8 neurons, one layer per core, all-to-all between
    # consecutive layers: each of 8 neurons sends one packet to the next core. Row-major: 12 one-hop steps
    # and 3 row wraps of 3 + 1 = 4 hops -> 8 * (12 + 12) = 192. Snake: 15 one-hop steps -> 8 * 15 = 120.
    mesh = dataclasses.replace(LOIHI.mesh, width=4, height=4, cores_per_tile=1, max_chips=1)
    prof = dataclasses.replace(LOIHI, mesh=mesh, core=dataclasses.replace(LOIHI.core, neurons=8))
    net = chain_of_layers(16, 8)
    assert route_hops(net, place(net, prof, "greedy")) == 192
    assert route_hops(net, place(net, prof, "hops")) == 120


def test_fan_out_axons_count_distinct_destination_cores_per_source_neuron():
    prof = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, neurons=2))
    # p1 (2 neurons, core 0) -> p2 (4 neurons, cores 1, 2): neuron 0 reaches both cores, neuron 1 core 1
    net = toy_net([1, 2, 4], [(0, 1, [(0, 0), (0, 1)]), (1, 2, [(0, 0), (0, 3), (1, 1)])])
    fit = place(net, prof).fit
    assert fit.usage["fan_out_axons"].tolist() == [3, 0, 0]


def test_input_population_lives_off_chip():
    pl = place(toy_net([3, 2], [(0, 1, [(0, 0), (2, 1)])]), LOIHI)
    assert pl.core_of_neuron[0].tolist() == [-1, -1, -1]
    assert pl.core_of_neuron[1].tolist() == [0, 0]


def test_unknown_strategy_is_a_user_error():
    with pytest.raises(PlacementError, match="unknown placement strategy"):
        place(toy_net([1, 1], [(0, 1, [(0, 0)])]), LOIHI, "random")
