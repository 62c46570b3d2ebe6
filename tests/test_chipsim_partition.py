"""chipsim.partition: conv layers cut by channel groups x spatial tiles; 'auto' placement; the budget."""

import dataclasses

import numpy as np
from test_chipsim_place import toy_net
from test_chipsim_place_reference import conv_graph

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.place import place

LOIHI = hwprofiles.load("loihi")


def conv20k():
    """2x28x28 input -> 16x28x28 -> 32x14x14 (stride 2) -> 32x7x7 (stride 2) -> 10: 20,394 IF neurons."""
    return compile_graph(conv_graph(2, (28, 28), [(16, 1), (32, 2), (32, 2)], readout=10), LOIHI, dt_s=1e-3)


def test_a_20k_conv_net_that_greedy_spreads_over_two_chips_is_partitioned_onto_one():
    net = conv20k()
    assert net.n_neurons == 20394
    greedy = place(net, LOIHI, "greedy").fit
    # greedy packs whole channels: each 16x28x28 neuron reaches all 7 cores of the next layer
    assert not greedy.fits and greedy.chips_needed == 2
    assert {v.constraint for v in greedy.violations} == {"fan_out_axons"}
    fit = place(net, LOIHI).fit  # 'auto': greedy does not fit, the partition does
    assert fit.fits and fit.strategy == "partition" and fit.chips_needed == 1
    assert fit.cores_used < greedy.cores_used
    assert fit.usage["fan_out_axons"].max() <= 4096 and fit.usage["fan_in_axons"].max() <= 4096


def test_a_layer_is_cut_into_full_channel_square_blocks_before_channel_groups():
    # 4x8x8 = 256 neurons, 64 per core: 4 tiles at least. Of the 4-tile cuts, all 4 channels x 4x4
    # blocks has 1 channel group (the previous layer reaches fewer cores) and square blocks: tile 0 =
    # rows 0-3 x cols 0-3, tile 1 = rows 0-3 x cols 4-7, tile 2 = rows 4-7 x cols 0-3, tile 3 the rest.
    small = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, neurons=64))
    net = compile_graph(conv_graph(1, (8, 8), [4]), small, dt_s=1e-3)
    cores = place(net, small, "partition").core_of_neuron[1].reshape(4, 8, 8)
    expected = np.zeros((4, 8, 8), np.int32)
    expected[:, :4, 4:], expected[:, 4:, :4], expected[:, 4:, 4:] = 1, 2, 3
    np.testing.assert_array_equal(cores, expected)


def test_auto_keeps_the_greedy_placement_where_it_fits():
    net = compile_graph(conv_graph(2, (12, 12), [4, 4]), LOIHI, dt_s=1e-3)
    auto, greedy = place(net, LOIHI), place(net, LOIHI, "greedy")
    assert greedy.fit.fits and auto.fit.strategy == "greedy"
    for a, b in zip(auto.core_of_neuron, greedy.core_of_neuron, strict=True):
        np.testing.assert_array_equal(a, b)


def test_where_nothing_fits_the_report_gives_the_smallest_budget_that_would():
    # one neuron with 5,000 inputs: no cut helps; this placement holds with 5,000 fan-in axons per core
    fit = place(toy_net([5000, 1], [(0, 1, [(i, 0) for i in range(5000)])]), LOIHI).fit
    assert not fit.fits and fit.smallest_budget == {"fan_in_axons": 5000.0}
    one_chip = dataclasses.replace(LOIHI, mesh=dataclasses.replace(LOIHI.mesh, max_chips=1))
    fit = place(toy_net([1, 200_000], [(0, 1, [(0, j) for j in range(200_000)])]), one_chip).fit
    assert fit.smallest_budget == {"chips": 2.0}  # 196 cores of 128 per chip


def test_a_fitting_placement_has_no_budget_to_report():
    assert place(toy_net([3, 2], [(0, 1, [(0, 0), (2, 1)])]), LOIHI).fit.smallest_budget == {}


def test_the_receptive_field_bound_is_never_below_the_exact_fan_in():
    from chipsim.insynapses import in_synapses
    from chipsim.partition import _fan_in_bound, _tile_fan_in

    net = compile_graph(conv_graph(3, (11, 9), [(5, 1), (4, 2)]), LOIHI, dt_s=1e-3)
    ins = in_synapses(net)
    for pop in (1, 2):
        c, h, w = net.populations[pop].shape
        idx = np.arange(c * h * w)
        for th, tw in [(1, 1), (2, 3), (4, 4), (h, w)]:
            n_ty, n_tx = -(-h // th), -(-w // tw)
            tile = ((idx // w) % h // th) * n_tx + idx % w // tw
            axons, _ = _tile_fan_in(tile, n_ty * n_tx, pop, net.offsets(), ins, False)
            bound = _fan_in_bound(net, pop, th, tw, n_ty, n_tx)
            assert axons.max() <= bound
            if th == h and tw == w:  # the whole layer reads every input neuron
                assert bound == axons.max() == net.populations[pop - 1].size
