"""chipsim.place: every core limit at the limit and one past it, with the packing counted by hand.

Each test takes Loihi's profile with one limit set small (dataclasses.replace), builds a network small
enough to count, and checks the exact per-core use and the exact violation (or none). A placer may pack
differently in the future (a rewrite for speed, conv partitioning); what these tests pin down is the spec:
a core never holds more than a limit allows when one more neuron would break it, it is not closed while
the next neuron still fits, and a limit checked on the result is reported with the need and the limit.
"""

import dataclasses

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.place import place as place_any

LOIHI = hwprofiles.load("loihi")
SPECK = hwprofiles.load("speck")


def place(net, profile):
    """Greedy first fit, whose packing these tests count by hand ('auto' may cut a layer differently
    where greedy does not fit: chipsim.partition)."""
    return place_any(net, profile, "greedy")


def with_core(profile=LOIHI, **limits):
    return dataclasses.replace(profile, core=dataclasses.replace(profile.core, **limits))


def toy_net(sizes, links):
    """Populations of ``sizes`` (0 = input); projections ``links`` = [(pre, post, [(i, j), ...])], w 1."""
    params = NeuronParams(model="loihi_cuba", threshold=1)
    pops = tuple(Population(f"p{i}", n, (n,), None if i == 0 else params, np.zeros(n, np.int64))
                 for i, n in enumerate(sizes))
    projs = []
    for pre, post, pairs in links:
        pairs = sorted(pairs)
        rows = np.array([a for a, _ in pairs], np.int64)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=sizes[pre]))])
        projs.append(Projection(f"{pre}->{post}", pre, post, "sparse", indptr,
                                np.array([b for _, b in pairs], np.int32), np.ones(len(pairs), np.int32)))
    return ChipNetwork("toy", pops, tuple(projs), len(sizes) - 1, 1e-3, True)


def one_to_many(n):
    """One input neuron driving a layer of ``n`` neurons."""
    return toy_net([1, n], [(0, 1, [(0, j) for j in range(n)])])


def constraints(fit):
    return sorted((v.constraint, v.core, v.need, v.limit) for v in fit.violations)


# --- limits placement packs against ---------------------------------------------------------------------

@pytest.mark.parametrize(("n", "per_core"), [(8, [4, 4]), (9, [4, 4, 1]), (4, [4]), (5, [4, 1])])
def test_neurons_per_core(n, per_core):
    fit = place(one_to_many(n), with_core(neurons=4)).fit
    assert fit.usage["neurons_per_core"].tolist() == per_core
    assert fit.fits and fit.cores_used == len(per_core)


def sparse_only(**limits):
    """Loihi with one synapse encoding, 'sparse' at 10 bits a synapse: a neuron's memory = 10 x in-degree."""
    return with_core(synapse_encoding_bits=(("sparse", 10),), **limits)


@pytest.mark.parametrize(("memory", "per_core"), [
    (40, [40, 40]),  # 20 bits a neuron (2 synapses): exactly 2 a core
    (59, [40, 40]),  # a third neuron would need 60
    (60, [60, 20]),  # at 60 it fits
    (61, [60, 20]),
])
def test_synapse_memory_bits(memory, per_core):
    net = toy_net([8, 4], [(0, 1, [(2 * j, j) for j in range(4)] + [(2 * j + 1, j) for j in range(4)])])
    fit = place(net, sparse_only(synapse_memory_bits=memory)).fit
    assert fit.usage["synapse_memory_bits"].tolist() == per_core
    assert fit.fits


def test_synapse_memory_of_a_neuron_too_big_for_any_core_is_reported():
    net = toy_net([8, 1], [(0, 1, [(i, 0) for i in range(8)])])  # 8 synapses x 10 bits = 80
    fit = place(net, sparse_only(synapse_memory_bits=79)).fit
    assert constraints(fit) == [("synapse_memory_bits", 0, 80.0, 79.0)]
    assert not place(net, sparse_only(synapse_memory_bits=80)).fit.violations


@pytest.mark.parametrize(("fan_in", "per_core"), [
    (4, [4, 4]),  # each neuron brings 2 new axons: 2 neurons a core
    (3, [2, 2, 2, 2]),  # one past: a second neuron would make 4
    (6, [6, 2]),
    (8, [8]),
])
def test_fan_in_axons_of_disjoint_inputs(fan_in, per_core):
    net = toy_net([8, 4], [(0, 1, [(2 * j, j) for j in range(4)] + [(2 * j + 1, j) for j in range(4)])])
    fit = place(net, with_core(fan_in_axons=fan_in)).fit
    assert fit.usage["fan_in_axons"].tolist() == per_core
    assert fit.fits


@pytest.mark.parametrize(("fan_in", "per_core"), [(5, [5, 3]), (4, [4, 4]), (6, [6])])
def test_fan_in_axons_count_a_shared_input_once(fan_in, per_core):
    # neuron j reads inputs 0, 1 and j + 2: the first brings 3 axons, every next one 1 more
    net = toy_net([6, 4], [(0, 1, [(0, j) for j in range(4)] + [(1, j) for j in range(4)]
                            + [(j + 2, j) for j in range(4)])])
    fit = place(net, with_core(fan_in_axons=fan_in)).fit
    assert fit.usage["fan_in_axons"].tolist() == per_core


def test_unique_weights_per_core_pack_until_the_next_value_would_break_it():
    # neuron j has the single weight j + 1; 2 distinct values a core -> 2 neurons a core
    pops = (Population("in", 1, (1,), None, np.zeros(1, np.int64)),
            Population("h", 5, (5,), NeuronParams(model="loihi_cuba", threshold=1), np.zeros(5, np.int64)))
    proj = Projection("w", 0, 1, "sparse", np.array([0, 5]), np.arange(5, dtype=np.int32),
                      np.arange(1, 6, dtype=np.int32))
    net = ChipNetwork("toy", pops, (proj,), 1, 1e-3, True)
    fit = place(net, with_core(unique_weights=2, unique_weights_scope="core")).fit
    assert fit.usage["neurons_per_core"].tolist() == [2, 2, 1]
    assert fit.usage["unique_weights"].tolist() == [2, 2, 1]
    assert fit.fits


# --- limits checked on the placed result ----------------------------------------------------------------

def fan_out_net():
    """p1 (2 neurons, core 0) -> p2 (6 neurons, cores 1-3 at 2 a core), all to all: 2 x 3 = 6 pairs."""
    all_to_all = [(i, j) for i in range(2) for j in range(6)]
    return toy_net([1, 2, 6], [(0, 1, [(0, 0), (0, 1)]), (1, 2, all_to_all)])


def test_fan_out_axons_at_the_limit_and_one_past():
    at = place(fan_out_net(), with_core(neurons=2, fan_out_axons=6)).fit
    assert at.usage["fan_out_axons"].tolist() == [6, 0, 0, 0]
    assert at.fits
    past = place(fan_out_net(), with_core(neurons=2, fan_out_axons=5)).fit
    assert constraints(past) == [("fan_out_axons", 0, 6.0, 5.0)]


def test_fan_in_and_fan_out_per_neuron_at_the_limit_and_one_past():
    net = toy_net([3, 2], [(0, 1, [(0, 0), (1, 0), (2, 0), (0, 1)])])  # neuron 0: fan-in 3; input 0: out 2
    assert place(net, with_core(fan_in_per_neuron=3)).fit.fits
    assert constraints(place(net, with_core(fan_in_per_neuron=2)).fit) == [("fan_in_per_neuron", 0, 3.0, 2.0)]
    # fan-out per neuron is counted for on-chip neurons: p1's neuron 0 reaches 3 neurons of p2
    net2 = toy_net([1, 1, 3], [(0, 1, [(0, 0)]), (1, 2, [(0, 0), (0, 1), (0, 2)])])
    assert place(net2, with_core(fan_out_per_neuron=3)).fit.fits
    assert constraints(place(net2, with_core(fan_out_per_neuron=2)).fit) == [
        ("fan_out_per_neuron", 0, 3.0, 2.0)]


def test_destinations_per_layer_at_the_limit_and_one_past():
    # p1 (core 0) sends to p2 and p3: 2 destination layers
    net = toy_net([1, 1, 1, 1], [(0, 1, [(0, 0)]), (1, 2, [(0, 0)]), (1, 3, [(0, 0)])])
    at = place(net, with_core(destinations_per_layer=2)).fit
    assert at.usage["destinations_per_layer"].tolist() == [2]
    assert at.fits
    assert constraints(place(net, with_core(destinations_per_layer=1)).fit) == [
        ("destinations_per_layer", 0, 2.0, 1.0)]


def speck_chain(n_layers):
    """n_layers dense layers of 2 neurons (Speck: one layer per core, 9 cores)."""
    links = [(0, 1, [(0, 0), (0, 1)])] + [(p, p + 1, [(0, 0), (1, 1)]) for p in range(1, n_layers)]
    return toy_net([1] + [2] * n_layers, links)


def test_layers_per_core_at_nine_layers_on_nine_speck_cores_and_one_past():
    at = place(speck_chain(9), SPECK).fit  # speck.yaml: 3 x 3 cores, one layer a core
    assert at.usage["layers_per_core"].tolist() == [1] * 9
    assert at.fits and at.cores_used == 9
    past = place(speck_chain(10), SPECK).fit
    assert past.usage["layers_per_core"].max() == 1  # never two layers on a core: a tenth core instead
    # ten cores on a chip of nine; the tenth core does not exist, so it has no neuron memory either
    assert constraints(past) == [("cores", None, 10.0, 9.0), ("neuron_memory", 9, 2.0, 0.0)]


def conv_graph(c_in, c_out, k, hw=(6, 6)):
    ho, wo = hw[0] - k + 1, hw[1] - k + 1
    shape = (c_out, ho, wo)
    conv = nir.Conv2d(input_shape=hw, weight=np.ones((c_out, c_in, k, k)), stride=1, padding=0, dilation=1,
                      groups=1, bias=np.zeros(c_out))
    return nir.NIRGraph(
        {"input": nir.Input(np.array([c_in, *hw])), "conv": conv,
         "if": nir.IF(r=np.ones(shape), v_threshold=np.ones(shape)), "output": nir.Output(np.array(shape))},
        [("input", "conv"), ("conv", "if"), ("if", "output")], type_check=False)


def shape_violations(graph, **limits):
    prof = with_core(**limits)
    fit = place(compile_graph(graph, prof, dt_s=1e-3), prof).fit
    return [(v.constraint, v.need, v.limit) for v in fit.violations]


def test_kernel_size_at_the_limit_and_one_past():
    assert shape_violations(conv_graph(2, 3, 3), max_kernel_size=3) == []
    assert shape_violations(conv_graph(2, 3, 3), max_kernel_size=2) == [("kernel_size", 3, 2)]


def test_channels_at_the_limit_and_one_past():
    # 2 input channels, 3 output channels: the larger, 3, counts
    assert shape_violations(conv_graph(2, 3, 3), max_channels=3) == []
    assert shape_violations(conv_graph(2, 3, 3), max_channels=2) == [("channels", 3, 2)]
    assert shape_violations(conv_graph(3, 2, 3), max_channels=2) == [("channels", 3, 2)]


def test_output_and_input_neurons_at_the_limit_and_one_past():
    net = toy_net([3, 4], [(0, 1, [(0, j) for j in range(4)])])
    assert place(net, with_core(max_output_neurons=4, max_input_channels=3)).fit.fits
    assert constraints(place(net, with_core(max_output_neurons=3)).fit) == [("output_neurons", None, 4, 3)]
    assert constraints(place(net, with_core(max_input_channels=2)).fit) == [("input_channels", None, 3, 2)]


# --- a kept conv kernel: memory per output channel present on a core -----------------------------------

def conv_net(profile):
    # 2 -> 3 channels, 3 x 3 kernel over 6 x 6: 3 channels of 4 x 4 = 16 neurons; Loihi keeps the kernel
    # (conv encoding, 8 bits): each channel present on a core costs 2 x 3 x 3 x 8 = 144 bits there
    net = compile_graph(conv_graph(2, 3, 3), profile, dt_s=1e-3)
    [proj] = net.projections
    assert proj.conv is not None and proj.targets.size == 0
    return net


@pytest.mark.parametrize(("limits", "neurons", "bits"), [
    ({"neurons": 20}, [20, 20, 8], [288, 288, 144]),  # core 0: channel 0 and 4 neurons of 1; core 1: 1 and 2
    ({"synapse_memory_bits": 288}, [32, 16], [288, 144]),  # two whole channels fit, a third would need 432
    ({"synapse_memory_bits": 287}, [16, 16, 16], [144, 144, 144]),
    ({"neurons": 17, "synapse_memory_bits": 288}, [17, 17, 14], [288, 288, 144]),
])
def test_conv_channel_memory_packing(limits, neurons, bits):
    prof = with_core(**limits)
    fit = place(conv_net(prof), prof).fit
    assert fit.usage["neurons_per_core"].tolist() == neurons
    assert fit.usage["synapse_memory_bits"].tolist() == bits
    assert fit.fits


def test_violations_name_the_layer_that_breaks_the_limit():
    past = place(fan_out_net(), with_core(neurons=2, fan_out_axons=5)).fit
    [v] = past.violations
    assert (v.population, str(v)) == ("p1", "fan_out_axons on core 0 (layer p1): needs 6, limit 5")
    [k] = place(compile_graph(conv_graph(2, 3, 3), with_core(max_kernel_size=2), dt_s=1e-3),
                with_core(max_kernel_size=2)).fit.violations
    assert (k.constraint, k.core, k.population) == ("kernel_size", 0, "if")


def two_convs():
    """input (1, 4, 4) -> 1x1 conv to 2 channels -> IF (32) -> 1x1 conv to 3 channels -> IF (48), kernels
    kept: a channel present on a core costs conv 1: 1 x 1 x 1 x 8 = 8 bits, conv 2: 2 x 1 x 1 x 8 = 16."""
    def conv(c_in, c_out):
        return nir.Conv2d(input_shape=(4, 4), weight=np.ones((c_out, c_in, 1, 1)), stride=1, padding=0,
                          dilation=1, groups=1, bias=np.zeros(c_out))

    def neurons(shape):
        return nir.IF(r=np.ones(shape), v_threshold=np.ones(shape))

    return nir.NIRGraph(
        {"input": nir.Input(np.array([1, 4, 4])), "c1": conv(1, 2), "if1": neurons((2, 4, 4)),
         "c2": conv(2, 3), "if2": neurons((3, 4, 4)), "output": nir.Output(np.array([3, 4, 4]))},
        [("input", "c1"), ("c1", "if1"), ("if1", "c2"), ("c2", "if2"), ("if2", "output")], type_check=False)


def test_two_kept_kernels_per_core_use_and_axons_by_hand():
    # 31 neurons a core: core 0 = if1 0-30 (channels 0, 1 of conv 1: 16 bits); core 1 = if1 31 (channel 1: 8)
    # and if2 0-29 (channels 0, 1 of conv 2: 32); core 2 = if2 30-47 (channels 1, 2: 32).
    # if1 neuron at position p (of 16) feeds if2 neurons p, 16 + p, 32 + p: cores 1 and 2 for every p (if2
    # 0-29 on core 1), so 2 fan-out axons and 3 synapses out each; fan-in axons: core 0 reads all 16 pixels,
    # core 1 pixel 15 and all 32 of if1, core 2 all 32 of if1.
    prof = with_core(neurons=31)
    net = compile_graph(two_convs(), prof, dt_s=1e-3)
    assert all(p.conv is not None and p.targets.size == 0 for p in net.projections)
    fit = place(net, prof).fit
    assert fit.usage["neurons_per_core"].tolist() == [31, 31, 18]
    assert fit.usage["synapse_memory_bits"].tolist() == [16, 40, 32]
    assert fit.usage["fan_in_axons"].tolist() == [16, 33, 32]
    assert fit.usage["fan_out_axons"].tolist() == [62, 2, 0]
    assert fit.usage["fan_out_per_neuron"].tolist() == [3, 3, 0]
    assert fit.usage["fan_in_per_neuron"].tolist() == [1, 2, 2]


def test_kept_kernels_of_each_layer_count_against_its_own_cores_memory():
    # 40 bits a core: if1's two channels cost 8 + 8; if2's channel 0 brings 16 more (32), its channel 1 would
    # make 48: core 1 opens at if2 neuron 16 with channel 1 (16 bits), channel 2 makes 32
    prof = with_core(synapse_memory_bits=40)
    fit = place(compile_graph(two_convs(), prof, dt_s=1e-3), prof).fit
    assert fit.usage["neurons_per_core"].tolist() == [48, 32]
    assert fit.usage["synapse_memory_bits"].tolist() == [32, 32]
    assert fit.fits


def test_kept_kernel_channels_are_counted_from_the_layers_first_neuron():
    # input (1, 5, 5): 25 input neurons, so the conv layer's neurons start at global id 25, not at a channel
    # boundary. 2 x 2 kernel to 2 channels of 4 x 4; 32 bits a channel (1 x 2 x 2 x 8). 20 neurons a core:
    # core 0 = channel 0 and 4 neurons of channel 1 (64 bits), core 1 = the rest of channel 1 (32)
    prof = with_core(neurons=20)
    graph = conv_graph(1, 2, 2, hw=(5, 5))
    fit = place(compile_graph(graph, prof, dt_s=1e-3), prof).fit
    assert fit.usage["neurons_per_core"].tolist() == [20, 12]
    assert fit.usage["synapse_memory_bits"].tolist() == [64, 32]


def test_shape_violations_name_the_core_layer_projection_and_network_ends():
    prof = with_core(max_kernel_size=2, max_channels=2)
    fit = place(compile_graph(conv_graph(2, 3, 3), prof, dt_s=1e-3), prof).fit
    assert [(v.constraint, v.core, v.need, v.limit, v.population, v.detail) for v in fit.violations] == [
        ("kernel_size", 0, 3, 2, "if", "input->if"), ("channels", 0, 3, 2, "if", "input->if")]
    net = toy_net([3, 4], [(0, 1, [(0, j) for j in range(4)])])
    fit = place(net, with_core(max_output_neurons=3, max_input_channels=2)).fit
    assert [(v.constraint, v.core, v.need, v.limit, v.population) for v in fit.violations] == [
        ("input_channels", None, 3, 2, "p0"), ("output_neurons", None, 4, 3, "p1")]
    # a dense projection's kernel shape (n_post, n_pre, 1, 1) is for Speck's memory, not a conv's channels
    dense = dataclasses.replace(net, projections=(dataclasses.replace(net.projections[0],
                                                                      kernel_shape=(4, 3, 1, 1)),))
    assert place(dense, with_core(max_channels=2)).fit.fits
