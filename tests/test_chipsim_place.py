"""chipsim.place and chipsim.constraints: cores, per-core resources and violations, hand-computed."""

import dataclasses

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim import constraints as cst
from chipsim.compile import compile_graph
from chipsim.fit import Violation
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.place import PlacementError, place, place_given, route_hops

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
    with pytest.raises(PlacementError) as error:
        place(toy_net([1, 1], [(0, 1, [(0, 0)])]), LOIHI, "random")
    assert str(error.value) == ("unknown placement strategy 'random'; "
                                "choose from auto, greedy, hops, partition")
    assert error.value.exit_code == 2


def test_place_given_reports_the_fit_of_a_mapping_made_elsewhere():
    # p1's three neurons on cores 5, 5 and 7 of a Loihi limited to 1 neuron per core; the input's "cores"
    # (9, 9) are ignored: it lives off-chip
    prof = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, neurons=1))
    net = toy_net([2, 3], [(0, 1, [(0, 0), (1, 1), (1, 2)])])
    pl = place_given(net, prof, (np.array([9, 9]), np.array([5, 5, 7])))
    assert [c.tolist() for c in pl.core_of_neuron] == [[-1, -1], [5, 5, 7]]
    assert pl.core_of_neuron[1].dtype == np.int32
    fit = pl.fit
    assert fit.strategy == "given" and fit.cores_used == 2 and fit.chips_needed == 1
    assert fit.usage["neurons_per_core"].tolist() == [0, 0, 0, 0, 0, 2, 0, 1]
    # core 5 reads input neurons 0 and 1, core 7 input neuron 1
    assert fit.usage["fan_in_axons"].tolist() == [0, 0, 0, 0, 0, 2, 0, 1]
    assert [(v.constraint, v.core, v.need, v.limit, v.population) for v in fit.violations] == [
        ("neurons_per_core", 5, 2.0, 1.0, "p1")]
    assert not fit.fits and fit.smallest_budget == {"neurons_per_core": 2.0}
    assert (pl.cores_per_chip, pl.mesh_width, pl.mesh_height, pl.cores_per_tile) == (128, 8, 4, 4)


def test_what_compile_found_the_chip_cannot_do_stays_in_the_fit():
    net = toy_net([2, 3], [(0, 1, [(0, 0), (1, 1), (1, 2)])])
    broken = Violation("reset_mode", None, 1.0, 0.0, "p1", "no reset to zero")
    net = dataclasses.replace(net, violations=(broken,))
    for pl in (place(net, LOIHI), place_given(net, LOIHI, (np.array([0, 0]), np.array([0, 0, 0])))):
        assert pl.fit.fits is False and pl.fit.violations == (broken,)


@pytest.mark.parametrize(("n", "fits", "chips"), [(4, True, 2), (5, False, 3)])
def test_cores_past_the_chips_the_system_joins_are_one_violation(n, fits, chips):
    # chips of 2 cores (2x1 tiles, 1 core each), at most 2 chips, 1 neuron a core: 4 neurons fill both chips,
    # a 5th needs a 3rd chip: 5 cores > 4, and the budget names 3 chips
    mesh = dataclasses.replace(LOIHI.mesh, width=2, height=1, cores_per_tile=1, max_chips=2)
    prof = dataclasses.replace(LOIHI, mesh=mesh, core=dataclasses.replace(LOIHI.core, neurons=1))
    fit = place(toy_net([1, n], [(0, 1, [(0, j) for j in range(n)])]), prof, "greedy").fit
    assert (fit.fits, fit.cores_used, fit.chips_needed, fit.cores_total) == (fits, n, chips, 4)
    if fits:
        assert fit.violations == () and fit.smallest_budget == {}
    else:
        [v] = fit.violations
        assert (v.constraint, v.core, v.need, v.limit) == ("cores", None, 5.0, 4.0)
        assert v.detail == "3 chips of 2 cores; loihi joins at most 2"
        assert fit.smallest_budget == {"chips": 3.0}


def speck_with_memory(memory):
    """Speck with its nine cores' (kernel, neuron) entries replaced by ``memory``."""
    from hwprofiles.profile import CoreMemory

    core = dataclasses.replace(SPECK.core, core_memory=tuple(CoreMemory(k, n) for k, n in memory))
    return dataclasses.replace(SPECK, core=core)


def test_speck_puts_each_layer_on_the_first_free_core_whose_memory_holds_it():
    # cores' (kernel, neuron) entries: 0 (4, 64), 1 (64, 4), 2 (64, 64), 3-8 (8, 8). Each layer reads the
    # input through a kernel (C_out, C_in, 1, 1): kernel entries C_in * 2^ceil(log2 C_out) (sinabs), neuron
    # entries its size.
    #   A: 1 neuron, 8 inputs: kernel 8 > 4 on core 0; core 1 holds (8 <= 64, 1 <= 4)      -> core 1
    #   B: 4 neurons, 1 input: kernel 1 x 4 = 4, neurons 4: core 0 exactly at both limits   -> core 0
    #   C: 64 neurons, 1 input: kernel 1 x 64 = 64, neurons 64: core 2 exactly              -> core 2
    #   D: 1 neuron, 100 inputs and A's 1 neuron: kernel 100 + 1 = 101, more than any core -> first free, 3
    prof = speck_with_memory([(4, 64), (64, 4), (64, 64)] + [(8, 8)] * 6)
    sizes = [100, 1, 4, 64, 1]
    links = [(0, 1, [(i, 0) for i in range(8)]), (0, 2, [(0, j) for j in range(4)]),
             (0, 3, [(0, j) for j in range(64)]), (0, 4, [(i, 0) for i in range(100)]), (1, 4, [(0, 0)])]
    net = toy_net(sizes, links)
    kernels = [(1, 8, 1, 1), (4, 1, 1, 1), (64, 1, 1, 1), (1, 100, 1, 1), (1, 1, 1, 1)]  # C_out, C_in, kh, kw
    net = dataclasses.replace(net, projections=tuple(
        dataclasses.replace(p, kernel_shape=k) for p, k in zip(net.projections, kernels, strict=True)))
    pl = place(net, prof)
    fit = pl.fit
    assert [c.tolist() for c in pl.core_of_neuron[1:]] == [[1], [0] * 4, [2] * 64, [3]]
    assert fit.usage["kernel_memory"].tolist() == [4, 8, 64, 101]
    assert fit.usage["neuron_memory"].tolist() == [4, 1, 64, 1]
    assert fit.usage["kernel_memory_limit"].tolist() == [4, 64, 64, 8]
    assert fit.usage["neuron_memory_limit"].tolist() == [64, 4, 64, 8]
    assert {fit.usage[k].dtype.kind for k in ("kernel_memory", "neuron_memory", "kernel_memory_limit",
                                               "neuron_memory_limit")} == {"i"}  # entries: integers
    assert [(v.constraint, v.core, v.need, v.limit, v.population) for v in fit.violations] == [
        ("kernel_memory", 3, 101.0, 8.0, "p4")]


def test_hops_strategy_numbers_cores_in_snake_order_of_the_tiles():
    # 3 x 2 tiles of 2 cores, one neuron a core: row 0 left to right (tiles 0, 1, 2: cores 0-5), row 1
    # right to left (tiles 5, 4, 3: cores 10, 11, 8, 9, 6, 7)
    mesh = dataclasses.replace(LOIHI.mesh, width=3, height=2, cores_per_tile=2)
    prof = dataclasses.replace(LOIHI, mesh=mesh, core=dataclasses.replace(LOIHI.core, neurons=1))
    net = toy_net([1, 12], [(0, 1, [(0, j) for j in range(12)])])
    assert place(net, prof, "hops").core_of_neuron[1].tolist() == [0, 1, 2, 3, 4, 5, 10, 11, 8, 9, 6, 7]
    assert place(net, prof, "greedy").core_of_neuron[1].tolist() == list(range(12))


def test_unique_weights_per_neuron_do_not_close_a_core():
    # a per-neuron table of 1 value: neuron j reads input j with weight j + 1, 3 values on the core but one
    # per neuron, so the core holds all three (a per-core limit of 1 would take three cores)
    core = dataclasses.replace(LOIHI.core, unique_weights=1, unique_weights_scope="neuron")
    prof = dataclasses.replace(LOIHI, core=core)
    net = toy_net([3, 3], [(0, 1, [(0, 0), (1, 1), (2, 2)])], weights=[[1, 2, 3]])
    fit = place(net, prof).fit
    assert fit.fits and fit.usage["neurons_per_core"].tolist() == [3]
    assert fit.usage["unique_weights"].tolist() == [1]


def test_a_per_neuron_limit_names_the_layer_of_the_neuron_that_breaks_it():
    # p1 (reads 1 input) and p2 (reads all 3) share core 0; fan-in 2 a neuron: p2's neuron needs 3
    prof = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, fan_in_per_neuron=2))
    net = toy_net([3, 1, 1], [(0, 1, [(0, 0)]), (0, 2, [(0, 0), (1, 0), (2, 0)])])
    [v] = place(net, prof).fit.violations
    assert (v.constraint, v.core, v.need, v.limit, v.population) == ("fan_in_per_neuron", 0, 3.0, 2.0, "p2")


def test_partition_gives_each_layer_its_own_cores():
    # greedy packs both 2-neuron layers on core 0; the partition (chipsim.partition) never shares a core
    net = toy_net([1, 2, 2], [(0, 1, [(0, 0), (0, 1)]), (1, 2, [(0, 0), (1, 1)])])
    greedy, tiled = place(net, LOIHI, "greedy"), place(net, LOIHI, "partition")
    assert [c.tolist() for c in greedy.core_of_neuron] == [[-1], [0, 0], [0, 0]]
    assert [c.tolist() for c in tiled.core_of_neuron] == [[-1], [0, 0], [1, 1]]
    assert (tiled.fit.strategy, tiled.fit.cores_used) == ("partition", 2)


def test_speck_memory_of_two_layers_placed_on_one_core_adds_up():
    # a mapping made elsewhere may put two layers on one core: their entries add (and are integers)
    prof = speck_with_memory([(4, 64)] * 9)
    net = toy_net([2, 2, 2], [(0, 1, [(0, 0), (1, 1)]), (1, 2, [(0, 0), (1, 1)])])
    net = dataclasses.replace(net, projections=tuple(
        dataclasses.replace(p, kernel_shape=(2, 2, 1, 1)) for p in net.projections))  # 2 x 2^1 = 4 entries
    fit = place_given(net, prof, (np.array([-1, -1]), np.array([0, 0]), np.array([0, 0]))).fit
    assert fit.usage["kernel_memory"].tolist() == [8] and fit.usage["neuron_memory"].tolist() == [4]
    assert fit.usage["kernel_memory"].dtype.kind == fit.usage["neuron_memory"].dtype.kind == "i"
    assert [(v.constraint, v.core, v.need, v.limit) for v in fit.violations] == [
        ("layers_per_core", 0, 2.0, 1.0), ("kernel_memory", 0, 8.0, 4.0)]


def test_synapse_memory_of_each_encoding_and_of_two_projections_into_a_layer_by_hand():
    # loihi.yaml: dense 8 bits an entry (n_pre entries a neuron), sparse 18 a stored synapse; each projection
    # takes the cheaper. p1 (2 neurons) reads 7 of the 8 (input, neuron) pairs: dense 4 x 2 x 8 = 64 < 7 x 18,
    # 32 bits a neuron. p2 reads input 3 (sparse, 18 < 4 x 8) then p1's neuron 0 (dense, 2 x 8 = 16 < 18): 34.
    # p3 the same two the other way round: 34. p4 (2 neurons): neuron 0 reads input 0 (sparse 18), neuron 1
    # nothing; p1 -> p4 stores no synapse. Total 64 + 34 + 34 + 18 = 150.
    p1 = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1), (3, 1)]
    links = [(0, 1, p1), (0, 2, [(3, 0)]), (1, 2, [(0, 0)]), (1, 3, [(1, 0)]), (0, 3, [(2, 0)]),
             (0, 4, [(0, 0)]), (1, 4, [])]
    weights = [[1, 2, 1, 2, 1, 2, 2], [1], [1], [1], [1], [1], []]  # p1's neuron 0 all 1, neuron 1 all 2
    fit = place(toy_net([4, 2, 1, 1, 2], links, weights), LOIHI).fit
    assert fit.usage["synapse_memory_bits"].tolist() == [150]
    assert fit.usage["layers_per_core"].tolist() == [4]
    assert fit.usage["unique_weights"].tolist() == [1]  # loihi: no table; counted per neuron, not per layer
    assert fit.usage["fan_in_per_neuron"].tolist() == [4]  # p1's neuron 1
    assert fit.usage["fan_out_per_neuron"].tolist() == [1]  # on chip; input 0's 3 synapses are off chip
    assert {fit.usage[k].dtype.kind for k in ("fan_in_per_neuron", "fan_out_per_neuron", "unique_weights",
                                               "layers_per_core", "neurons_per_core")} == {"i"}
    assert fit.limits["neurons_per_core"] == 1024.0 and fit.limits["fan_in_per_neuron"] is None
    assert fit.profile_name == "loihi" and fit.strategy == "greedy"


def test_a_one_neuron_network_has_one_layer_on_its_core():
    fit = place(toy_net([1, 1], [(0, 1, [(0, 0)])]), LOIHI).fit
    assert fit.usage["layers_per_core"].tolist() == [1] and fit.cores_used == 1


def test_other_per_neuron_limits_name_the_layer_of_the_neuron_that_breaks_them():
    # core 0 holds p1, p2, p3 (one neuron each); p2's neuron sends 3 synapses and has 2 distinct weights
    core = dataclasses.replace(LOIHI.core, fan_out_per_neuron=2, unique_weights=1,
                               unique_weights_scope="neuron")
    links = [(0, 1, [(0, 0)]), (0, 2, [(0, 0), (1, 0)]), (2, 3, [(0, 0), (0, 1), (0, 2)])]
    net = toy_net([2, 1, 2, 3], links, weights=[[1], [1, 2], [1, 1, 1]])
    fit = place(net, dataclasses.replace(LOIHI, core=core)).fit
    assert sorted((v.constraint, v.need, v.population) for v in fit.violations) == [
        ("fan_out_per_neuron", 3.0, "p2"), ("unique_weights", 2.0, "p2")]


def test_the_smallest_budget_is_the_largest_need_of_each_limit():
    # a mapping made elsewhere: 3 neurons on core 0, 2 on core 1, limit 1 -> the budget needs 3
    prof = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, neurons=1))
    net = toy_net([1, 5], [(0, 1, [(0, j) for j in range(5)])])
    fit = place_given(net, prof, (np.array([-1]), np.array([0, 0, 0, 1, 1]))).fit
    assert [(v.core, v.need) for v in fit.violations] == [(0, 3.0), (1, 2.0)]
    assert fit.smallest_budget == {"neurons_per_core": 3.0}


def test_layers_per_core_count_each_layer_on_the_core_it_is_given():
    # p2 on core 0 and p1 on core 2 (a mapping made elsewhere): one layer on each, none on core 1
    net = toy_net([1, 1, 1], [(0, 1, [(0, 0)]), (1, 2, [(0, 0)])])
    fit = place_given(net, LOIHI, (np.array([-1]), np.array([2]), np.array([0]))).fit
    assert fit.usage["layers_per_core"].tolist() == [1, 0, 1]
    assert fit.usage["neurons_per_core"].tolist() == [1, 0, 1]


def test_auto_takes_greedy_where_it_fits_else_the_partition_that_does():
    # fan-out axons 1 a core, 3 neurons a core. Greedy puts p1's two neurons and p2's first on core 0, p2's
    # second on core 1: p1's neurons 0 -> core 0 and 1 -> core 1 are two axons out of core 0. The partition
    # gives p1 a core per neuron (one axon each) and p2 its own core: it fits.
    core = dataclasses.replace(LOIHI.core, neurons=3, fan_out_axons=1)
    prof = dataclasses.replace(LOIHI, core=core)
    net = toy_net([1, 2, 2], [(0, 1, [(0, 0), (0, 1)]), (1, 2, [(0, 0), (1, 1)])])
    assert not place(net, prof, "greedy").fit.fits
    auto = place(net, prof)
    assert auto.fit.fits and auto.fit.strategy == "partition"
    assert place(toy_net([1, 2], [(0, 1, [(0, 0), (0, 1)])]), prof).fit.strategy == "greedy"


@pytest.mark.parametrize(("scope", "expected"), [("layer", [2]), ("core", [2]), ("neuron", [1])])
def test_unique_weights_are_counted_over_the_scope_of_the_table(scope, expected):
    # p1's neuron 0 reads weight 1, neuron 1 weight 2: two values in the layer and on its core, one a neuron
    core = dataclasses.replace(LOIHI.core, unique_weights=4, unique_weights_scope=scope)
    net = toy_net([2, 2], [(0, 1, [(0, 0), (1, 1)])], weights=[[1, 2]])
    fit = place(net, dataclasses.replace(LOIHI, core=core)).fit
    assert fit.usage["unique_weights"].tolist() == expected and fit.fits
