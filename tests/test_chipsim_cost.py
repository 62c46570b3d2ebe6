"""chipsim.cost: energy and latency from Activity counters and the profile's published figures."""

import dataclasses
import json

import numpy as np
import pytest

import hwprofiles
from chipsim.cost import barrier_s, cost
from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.simulate import simulate

LOIHI = hwprofiles.load("loihi")


def one_spike_net():
    """Host input -> a (core 0, tile (0, 0)) -> b (core 36, tile 9 = (1, 1)); a fires once, b never."""
    a = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    b = NeuronParams(model="speck_iaf", threshold=100, state_bits=16)
    pops = (Population("in", 1, (1,), None, np.zeros(1, np.int64)),
            Population("a", 1, (1,), a, np.zeros(1, np.int64)),
            Population("b", 1, (1,), b, np.zeros(1, np.int64)))
    one = (np.array([0, 1]), np.array([0], np.int32), np.array([1], np.int32))
    net = ChipNetwork("loihi", pops, (Projection("in_a", 0, 1, "dense", *one),
                                      Projection("a_b", 1, 2, "dense", *one)), 2, 1e-3, True)
    fit = FitReport("loihi", True, (), 2, 128, 1)
    pl = Placement((np.array([-1], np.int32), np.array([0], np.int32), np.array([36], np.int32)), fit,
                   128, 8, 4, 4)
    return net, pl


def run_one_spike(profile=LOIHI):
    net, pl = one_spike_net()
    act = simulate(net, pl, np.array([[1]], np.uint8))
    return act, cost(act, pl, profile, net)


def test_one_spike_counters():
    act, _ = run_one_spike()
    assert act.cores.tolist() == [0, 36]
    assert act.synops[0, 0].tolist() == [1, 1]
    assert act.neuron_updates_active[0, 0].tolist() == [1, 1]
    assert act.spikes_out[0, 0].tolist() == [1, 0]
    assert act.packets_out[0, 0].tolist() == [1, 0]
    assert act.packets_in[0, 0].tolist() == [1, 1]  # the host's packet at core 0, a's packet at core 36
    assert (act.total("hops_ew"), act.total("hops_ns")) == (1, 1)


def test_one_spike_energy_from_profile_figures():
    _, c = run_one_spike()
    e, t = LOIHI.energy, LOIHI.latency
    assert c.energy_j["synapse"] == pytest.approx(2 * e.synapse_op_j)
    assert c.energy_j["neuron"] == pytest.approx(2 * e.neuron_update_active_j)
    assert c.energy_j["spike"] == pytest.approx(e.spike_out_j + e.message_out_j + 2 * e.message_in_j)
    assert c.energy_j["routing"] == pytest.approx(e.hop_ew_j + e.hop_ns_j)
    assert c.energy_j["mac"] == 0.0
    # latency: core 0 is the slower core (it also fires and sends); no bandwidth: hop latency only;
    # 2 tiles in use -> barrier entry for 2 tiles
    core0_s = t.synapse_op_s + t.neuron_update_active_s + t.spike_out_s + t.message_out_s + t.message_in_s
    step_s = core0_s + t.hop_ew_s + t.hop_ns_s + dict(t.barrier_sync_s)[2]
    assert c.latency_s == pytest.approx(step_s)
    assert c.throughput_per_s == pytest.approx(1 / step_s)
    assert c.energy_j["static"] == pytest.approx(e.static_power_w * step_s)  # one chip
    # loihi.yaml, by hand: synapse 2 x 35.5 pJ, neuron 2 x 72.8 pJ, spike 69.3 + 111 + 2 x 0 pJ,
    # routing 3.0 + 4.0 pJ; static 0.104 W x 1 chip x the step: 3.8 + 9.7 + 30 + 5.1 + 16 = 64.6 ns on
    # core 0, hops 4.1 + 6.5 ns, barrier (2 tiles) 1.0 us
    step_by_hand = 64.6e-9 + 10.6e-9 + 1.0e-6
    assert step_s == pytest.approx(step_by_hand)
    dynamic = (2 * 35.5 + 2 * 72.8 + 69.3 + 111.0 + 3.0 + 4.0) * 1e-12
    assert c.total_j == pytest.approx(dynamic + 0.104 * step_by_hand)
    assert any("bandwidth" in n for n in c.notes)


def test_one_spike_latency_with_link_bandwidth():
    mesh = dataclasses.replace(LOIHI.mesh, link_bandwidth_packets_per_s=1e8)
    _, c = run_one_spike(dataclasses.replace(LOIHI, mesh=mesh))
    t = LOIHI.latency
    core0_s = t.synapse_op_s + t.neuron_update_active_s + t.spike_out_s + t.message_out_s + t.message_in_s
    # one packet, two links (east then north): each 1/B on the link plus its hop latency
    network_s = 2 / 1e8 + t.hop_ew_s + t.hop_ns_s
    assert c.network_step_s.tolist() == pytest.approx([network_s])
    assert c.latency_s == pytest.approx(core0_s + network_s + dict(t.barrier_sync_s)[2])


def test_null_figure_makes_component_and_total_unknown():
    energy = dataclasses.replace(LOIHI.energy, hop_ns_j=None)
    _, c = run_one_spike(dataclasses.replace(LOIHI, energy=energy))
    assert c.energy_j["routing"] is None
    assert c.total_j is None
    assert c.unknown == ("routing",)
    known = sum(v for k, v in c.energy_j.items() if k != "routing")
    assert c.total_known_j == pytest.approx(known)
    assert any("energy.hop_ns_j" in n for n in c.notes)


def test_two_null_figures_are_named_in_one_note():
    energy = dataclasses.replace(LOIHI.energy, hop_ns_j=None, static_power_w=None)
    _, c = run_one_spike(dataclasses.replace(LOIHI, energy=energy))
    assert c.unknown == ("routing", "static")
    assert "unknown (null in the profile): energy.hop_ns_j, energy.static_power_w" in c.notes


def test_null_figure_with_nothing_to_price_costs_zero():
    energy = dataclasses.replace(LOIHI.energy, mac_j=None)
    _, c = run_one_spike(dataclasses.replace(LOIHI, energy=energy))
    assert c.energy_j["mac"] == 0.0 and c.unknown == ()
    # the total of test_one_spike_energy_from_profile_figures, by hand (loihi.yaml): no MAC was priced
    assert c.total_j == pytest.approx((2 * 35.5 + 2 * 72.8 + 69.3 + 111.0 + 3.0 + 4.0) * 1e-12
                                      + 0.104 * (64.6e-9 + 10.6e-9 + 1.0e-6))


def test_null_latency_is_a_noted_lower_bound():
    latency = dataclasses.replace(LOIHI.latency, spike_out_s=None)
    _, c = run_one_spike(dataclasses.replace(LOIHI, latency=latency))
    t = LOIHI.latency
    core0_s = t.synapse_op_s + t.neuron_update_active_s + t.message_out_s + t.message_in_s
    assert c.compute_step_s.tolist() == pytest.approx([core0_s])
    assert any("latency.spike_out_s" in n for n in c.notes)


@pytest.mark.parametrize(("tiles", "expected"), [(1, 6e-7), (2, 1e-6), (3, 1e-6), (28, 1.4e-6), (32, 1.8e-6)])
def test_barrier_uses_largest_entry_not_above_tiles(tiles, expected):
    assert barrier_s(LOIHI, tiles)[0] == expected


def test_energy_is_per_inference_mean_over_samples():
    net, pl = one_spike_net()
    act = simulate(net, pl, np.array([[[1], [1], [0]]], np.uint8))  # 3 samples, 2 spike
    c = cost(act, pl, LOIHI, net)
    assert c.samples == 3
    assert c.energy_j["synapse"] == pytest.approx(2 * 2 * LOIHI.energy.synapse_op_j / 3)


def test_float_profile_prices_macs_of_analog_input():
    prof = hwprofiles.load("generic-45nm")
    prm = NeuronParams(model="float_lif", threshold=1.0, tau_mem_s=2e-3)
    pops = (Population("in", 2, (2,), None, np.zeros(2)), Population("o", 1, (1,), prm, np.zeros(1)))
    proj = Projection("w", 0, 1, "dense", np.array([0, 1, 2]), np.array([0, 0], np.int32),
                      np.array([0.3, 0.2]))
    net = ChipNetwork("generic-45nm", pops, (proj,), 1, 1e-3, False)
    pl = Placement((np.array([-1, -1], np.int32), np.array([0], np.int32)), FitReport("g", True, (), 1, 1, 1),
                   1, 1, 1, 1)
    act = simulate(net, pl, np.array([[0.5, 0.0], [0.7, 0.1]]))
    c = cost(act, pl, prof, net)
    assert c.energy_j["mac"] == pytest.approx(3 * prof.energy.mac_j)
    assert c.energy_j["synapse"] == 0.0
    assert c.total_j == pytest.approx(c.total_known_j)


def test_cost_to_dict_is_json():
    _, c = run_one_spike()
    d = json.loads(json.dumps(c.to_dict()))
    assert d["energy_j"]["synapse"] == pytest.approx(2 * LOIHI.energy.synapse_op_j)
    assert len(d["latency_step_s"]) == 1


def test_without_traced_samples_network_time_is_the_longest_route():
    net, pl = one_spike_net()
    act = simulate(net, pl, np.array([[1]], np.uint8), traced_samples=0)
    assert act.pair_packets.shape[0] == 0
    c = cost(act, pl, LOIHI, net)
    assert c.network_step_s.tolist() == pytest.approx([LOIHI.latency.hop_ew_s + LOIHI.latency.hop_ns_s])
    assert any("longest route" in n for n in c.notes)


def test_real_time_tick_sets_the_step_latency():
    latency = dataclasses.replace(LOIHI.latency, step_timing="tick")
    _, barrier = run_one_spike()
    _, tick = run_one_spike(dataclasses.replace(LOIHI, latency=latency, time_step_s=1e-3))
    assert barrier.latency_s < 1e-3
    assert tick.latency_s == pytest.approx(1e-3)  # one step, waiting for the 1 ms tick
    assert any("tick" in n for n in tick.notes)


def test_work_that_overruns_the_tick_lengthens_the_step():
    latency = dataclasses.replace(LOIHI.latency, step_timing="tick")
    _, barrier = run_one_spike()
    _, tick = run_one_spike(dataclasses.replace(LOIHI, latency=latency, time_step_s=1e-9))
    assert tick.latency_s == pytest.approx(barrier.latency_s)
    assert any("overran" in n for n in tick.notes)


def test_null_figure_on_a_float_profile_is_unknown_not_zero():
    generic = hwprofiles.load("generic-45nm")
    energy = dataclasses.replace(generic.energy, synapse_op_j=None)
    _, c = run_one_spike(dataclasses.replace(generic, energy=energy))
    assert c.energy_j["synapse"] is None
    assert c.total_j is None
    assert c.total_known_j == pytest.approx(0.0)  # generic-45nm prices nothing else here


def test_dynamic_and_static_energy_are_reported_apart_and_sum_to_the_total():
    _, c = run_one_spike()
    e = LOIHI.energy
    dynamic = (2 * e.synapse_op_j + 2 * e.neuron_update_active_j + e.spike_out_j + e.message_out_j
               + 2 * e.message_in_j + e.hop_ew_j + e.hop_ns_j)
    assert c.dynamic_j == pytest.approx(dynamic)
    assert c.static_j == pytest.approx(e.static_power_w * c.latency_s)
    assert c.total_j == pytest.approx(c.dynamic_j + c.static_j)
    assert c.static_model["chips_powered"] == 1
    assert c.static_model["source"] == LOIHI.sources["energy.static_power_w"]


def test_static_energy_charges_every_chip_that_holds_a_used_core():
    net, pl = one_spike_net()
    two_chips = dataclasses.replace(pl, core_of_neuron=(pl.core_of_neuron[0], pl.core_of_neuron[1],
                                                        np.array([128 + 36], np.int32)))
    act = simulate(net, two_chips, np.array([[1]], np.uint8))
    c = cost(act, two_chips, LOIHI, net)
    assert c.static_model["chips_powered"] == 2
    assert c.static_j == pytest.approx(2 * LOIHI.energy.static_power_w * c.latency_s)


def test_an_unknown_dynamic_figure_leaves_dynamic_unknown_but_static_known():
    energy = dataclasses.replace(LOIHI.energy, spike_out_j=None)
    _, c = run_one_spike(dataclasses.replace(LOIHI, energy=energy))
    assert c.dynamic_j is None and c.total_j is None
    assert c.static_j == pytest.approx(LOIHI.energy.static_power_w * c.latency_s)
    assert c.dynamic_known_j == pytest.approx(c.total_known_j - c.static_j)
