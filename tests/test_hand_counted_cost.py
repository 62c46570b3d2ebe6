"""chipsim.cost against figures computed by hand from the profile YAML files.

The counters are chosen by hand (an Activity built directly, so the expectations do not move when the
engine's timing changes); every expected figure is written out as arithmetic on the numbers in
hwprofiles/profiles/*.yaml, never by calling the code under test or reading the loaded profile back.

The activity: 2 samples, 2 steps, 3 cores. Global cores 0 and 36 are on chip 0, core 130 on chip 1
(Loihi: 128 cores a chip, 4 a tile, 8 tiles a row: core 0 is tile (0, 0), core 36 is tile 9 = (1, 1),
core 130 is chip 1's tile 0). The cores hold 3, 2 and 1 neurons, and every neuron updates every step
(active + idle = 3, 2, 1 per core per step). Sample 0, step 0 does all the work; the rest is idle.
"""

import numpy as np
import pytest

import hwprofiles
from chipsim.activity import Activity
from chipsim.cost import cost
from chipsim.fit import FitReport, Placement

CORES = [0, 36, 130]
NEURONS = [3, 2, 1]
BUSY = {  # sample 0, step 0, per core (0, 36, 130)
    "synops": [4, 2, 1],
    "neuron_updates_active": [3, 1, 1],
    "neuron_updates_idle": [0, 1, 0],
    "spikes_out": [2, 1, 0],
    "packets_out": [3, 1, 0],
    "packets_in": [4, 2, 1],
    "hops_ew": [3, 0, 0],
    "hops_ns": [1, 1, 0],
}
# totals over samples, steps and cores:
#   synops 4+2+1 = 7; active 3+1+1 = 5; idle 1 (busy step) + 6 (sample 0, step 1) + 12 (sample 1) = 19;
#   spikes 3; packets out 4; packets in 7; hops E-W 3; hops N-S 2


def activity(pair_packets=None) -> Activity:
    shape = (2, 2, 3)
    counters = {name: np.zeros(shape, np.int32) for name in BUSY}
    for name, row in BUSY.items():
        counters[name][0, 0] = row
    counters["neuron_updates_idle"][0, 1] = NEURONS  # idle steps: every neuron idle
    counters["neuron_updates_idle"][1, :] = NEURONS
    if pair_packets is None:  # one traced flow, core 0 -> core 36 (compact 0 -> 1), one packet in step 0
        pair_packets = np.zeros((2, 2, 1), np.int32)
        pair_packets[0, 0, 0] = 1
    return Activity(
        cores=np.array(CORES, np.int64), macs=np.zeros(shape, np.int32), **counters,
        spike_counts=(), output_spikes=np.zeros((2, 2, 1), np.uint8),
        pairs=np.array([[0, 1]], np.int32), pair_packets=pair_packets, input_binary=True, dt_s=1e-3,
    )


def placement(cores_per_chip, width, height, cores_per_tile) -> Placement:
    fit = FitReport("hand", True, (), 3, cores_per_chip * 2, 2)
    return Placement((np.array([-1], np.int32),), fit, cores_per_chip, width, height, cores_per_tile)


LOIHI_PLACEMENT = placement(128, 8, 4, 4)  # loihi.yaml mesh: 8 x 4 tiles, 4 cores a tile


@pytest.fixture  # function scope: mutmut credits a call to the test whose setup made it, so every test
def loihi():  # that reads the cost must make its own
    return cost(activity(), LOIHI_PLACEMENT, hwprofiles.load("loihi"))


# Loihi latency by hand (loihi.yaml latency, ns): synapse 3.8, active 9.7, idle 6.0, spike 30, message out
# 5.1, message in 16, hop E-W 4.1, hop N-S 6.5; barrier table [[1, 0.6 us], [2, 1.0 us], [4, 1.4 us], ...].
# Sample 0, step 0, per core:
#   core 0:   4*3.8 + 3*9.7 + 0*6.0 + 2*30 + 3*5.1 + 4*16 = 15.2 + 29.1 + 60 + 15.3 + 64 = 183.6 ns (slowest)
#   core 36:  2*3.8 + 1*9.7 + 1*6.0 + 1*30 + 1*5.1 + 2*16 = 90.4 ns
#   core 130: 1*3.8 + 1*9.7 + 1*16 = 29.5 ns
# Idle steps: the slowest core is core 0, 3 idle updates = 18 ns.
# Compute per step, mean over the 2 traced samples: step 0 (183.6 + 18) / 2 = 100.8 ns; step 1 18 ns.
# Network: one packet 0 -> 36, 1 hop E-W + 1 hop N-S = 10.6 ns, in sample 0 step 0 only (no link bandwidth
# in loihi.yaml: hop latency, no contention): mean per step 5.3 ns, 0 ns.
# Tiles in use: 0, 9 and 32 (130 // 4) = 3 -> barrier entry for 2 tiles, 1.0 us.
LOIHI_COMPUTE_S = [100.8e-9, 18e-9]
LOIHI_NETWORK_S = [5.3e-9, 0.0]
LOIHI_STEP_S = [100.8e-9 + 5.3e-9 + 1.0e-6, 18e-9 + 1.0e-6]
LOIHI_LATENCY_S = 2.0e-6 + 124.1e-9


def test_loihi_energy_components_by_hand(loihi):
    # loihi.yaml energy (pJ): synapse 35.5, active 72.8, idle 51.2, spike out 69.3, message out 111,
    # message in 0, hop E-W 3.0, hop N-S 4.0; per inference = total / 2 samples
    assert loihi.energy_j["synapse"] == pytest.approx(7 * 35.5e-12 / 2)
    assert loihi.energy_j["neuron"] == pytest.approx((5 * 72.8e-12 + 19 * 51.2e-12) / 2)
    assert loihi.energy_j["spike"] == pytest.approx((3 * 69.3e-12 + 4 * 111.0e-12 + 7 * 0.0) / 2)
    assert loihi.energy_j["routing"] == pytest.approx((3 * 3.0e-12 + 2 * 4.0e-12) / 2)
    assert loihi.energy_j["mac"] == 0.0
    assert loihi.samples == 2


def test_loihi_idle_updates_are_priced():
    """Only idle updates: the neuron energy is the idle figure times their count (51.2 pJ each)."""
    act = activity(np.zeros((2, 2, 1), np.int32))
    only_idle = Activity(**{**act.__dict__, **{k: np.zeros_like(act.synops) for k in BUSY
                                                if k != "neuron_updates_idle"}})
    c = cost(only_idle, LOIHI_PLACEMENT, hwprofiles.load("loihi"))
    # idle updates: sample 0 step 0 core 36 (1) + sample 0 step 1 (3+2+1) + sample 1 (2 steps x 6) = 19
    assert c.energy_j["neuron"] == pytest.approx(19 * 51.2e-12 / 2)


def test_loihi_latency_terms_by_hand(loihi):
    assert loihi.compute_step_s.tolist() == pytest.approx(LOIHI_COMPUTE_S)
    assert loihi.network_step_s.tolist() == pytest.approx(LOIHI_NETWORK_S)
    assert loihi.barrier_s == pytest.approx(1.0e-6)
    assert loihi.latency_step_s.tolist() == pytest.approx(LOIHI_STEP_S)
    assert loihi.latency_s == pytest.approx(LOIHI_LATENCY_S)
    assert loihi.throughput_per_s == pytest.approx(1 / LOIHI_LATENCY_S)
    assert loihi.traced_samples == 2


def test_loihi_static_energy_counts_both_chips(loihi):
    # loihi.yaml static_power_w 0.104 W per chip; cores 0 and 36 on chip 0, core 130 on chip 1: 2 chips
    assert loihi.energy_j["static"] == pytest.approx(0.104 * 2 * LOIHI_LATENCY_S)


def test_static_energy_of_one_chip_is_half():
    act = activity()
    one_chip = Activity(**{**act.__dict__, "cores": np.array([0, 36, 37], np.int64)})  # 37: tile 9 too
    c = cost(one_chip, LOIHI_PLACEMENT, hwprofiles.load("loihi"))
    # tiles 0 and 9: barrier entry for 2 tiles, 1.0 us, so the latency is the same as with 3 tiles
    assert c.latency_s == pytest.approx(LOIHI_LATENCY_S)
    assert c.energy_j["static"] == pytest.approx(0.104 * 1 * LOIHI_LATENCY_S)


def test_loihi_total_is_the_hand_sum(loihi):
    dynamic = (7 * 35.5e-12 + 5 * 72.8e-12 + 19 * 51.2e-12 + 3 * 69.3e-12 + 4 * 111.0e-12
               + 3 * 3.0e-12 + 2 * 4.0e-12) / 2
    assert loihi.total_j == pytest.approx(dynamic + 0.104 * 2 * LOIHI_LATENCY_S)
    assert loihi.total_known_j == pytest.approx(loihi.total_j)
    assert loihi.unknown == ()


def test_spinnaker_energy_and_tick_latency_by_hand():
    # spinnaker.yaml: 43 nJ per synaptic event, 100 nJ per neuron update active or idle, everything else 0;
    # no latency figures; steps last the 1 ms tick (step_timing: tick); mesh 1 x 1 tile of 16 cores.
    # Global cores 0 and 36 and 130: chips 0, 2 and 8 (16 cores a chip).
    c = cost(activity(), placement(16, 1, 1, 16), hwprofiles.load("spinnaker"))
    assert c.energy_j["synapse"] == pytest.approx(7 * 43e-9 / 2)
    assert c.energy_j["neuron"] == pytest.approx((5 + 19) * 100e-9 / 2)
    assert c.energy_j["spike"] == 0.0 and c.energy_j["routing"] == 0.0
    assert c.energy_j["static"] == 0.0
    assert c.latency_step_s.tolist() == pytest.approx([1e-3, 1e-3])
    assert c.latency_s == pytest.approx(2e-3)
    assert c.total_j == pytest.approx((7 * 43e-9 + 24 * 100e-9) / 2)


def test_truenorth_static_floor_per_chip_and_synaptic_events_at_its_whole_chip_figure():
    # truenorth.yaml: static 63 mW a chip, 1 ms tick, 2.5 pJ per synaptic event (a whole-chip figure), the
    # other per-event terms 0 (inside it); 4096 cores a chip (64 x 64 tiles of 1 core): cores 0, 36 and 130
    # are all on chip 0 -> 1 chip; 2 steps of 1 ms; 7 synops over 2 samples -> 3.5 per inference
    c = cost(activity(), placement(4096, 64, 64, 1), hwprofiles.load("truenorth"))
    assert c.latency_s == pytest.approx(2e-3)
    assert c.energy_j["static"] == pytest.approx(0.063 * 1 * 2e-3)
    assert c.energy_j["synapse"] == pytest.approx(7 * 2.5e-12 / 2)
    assert (c.energy_j["neuron"], c.energy_j["spike"], c.energy_j["routing"]) == (0.0, 0.0, 0.0)
    assert c.dynamic_j == pytest.approx(7 * 2.5e-12 / 2)
    assert c.total_j == pytest.approx(0.063 * 2e-3 + 7 * 2.5e-12 / 2)
    # the same cores spread over 3 chips (32 cores a chip for this test: chips 0, 1 and 4): 3 x the static
    spread = cost(activity(), placement(32, 8, 4, 1), hwprofiles.load("truenorth"))
    assert spread.energy_j["static"] == pytest.approx(0.063 * 3 * 2e-3)


def test_loihi_notes_say_what_was_assumed(loihi):
    assert loihi.notes == (
        "no link bandwidth in the profile: network time is hop latency only, without contention",
        "synapse energy uses synapse_op_j for every synaptic event; the per-encoding figures "
        "(synapse_op_by_encoding_j) are not applied",
    )


def test_truenorth_notes_name_every_assumption():
    c = cost(activity(), placement(4096, 64, 64, 1), hwprofiles.load("truenorth"))
    lower_bound = "not published: taken as 0 (latency is a lower bound)"
    assert c.notes == (
        f"hop latency {lower_bound}",
        "no link bandwidth in the profile: network time is hop latency only, without contention",
        "barrier sync: no figure in the profile, taken as 0",
        *(f"latency.{f}_s {lower_bound}" for f in ("synapse_op", "neuron_update_active", "neuron_update_idle",
                                                   "spike_out", "message_out", "message_in")),
        "real-time chip: each step lasts the 0.001 s tick",
    )
    assert c.unknown == ()  # every energy term has a figure (issue 12: 2.5 pJ per synaptic event, the rest 0)


def test_latency_is_averaged_over_the_traced_samples_only():
    one_traced = np.zeros((1, 2, 1), np.int32)
    one_traced[0, 0, 0] = 1
    c = cost(activity(one_traced), LOIHI_PLACEMENT, hwprofiles.load("loihi"))
    # sample 0 only: 183.6 ns and 18 ns of compute, 10.6 ns and 0 of network (see LOIHI_COMPUTE_S)
    assert c.compute_step_s.tolist() == pytest.approx([183.6e-9, 18e-9])
    assert c.network_step_s.tolist() == pytest.approx([10.6e-9, 0.0])
    assert c.traced_samples == 1
    assert c.energy_j["synapse"] == pytest.approx(7 * 35.5e-12 / 2)  # energy still over both samples


def test_a_tick_overrun_by_one_step_is_counted():
    import dataclasses

    loihi = hwprofiles.load("loihi")
    tick = dataclasses.replace(loihi, time_step_s=1.05e-6,
                               latency=dataclasses.replace(loihi.latency, step_timing="tick"))
    c = cost(activity(), LOIHI_PLACEMENT, tick)
    # steps take 1.1061 us and 1.018 us (LOIHI_STEP_S): the first overruns the 1.05 us tick
    assert c.latency_step_s.tolist() == pytest.approx([LOIHI_STEP_S[0], 1.05e-6])
    assert c.notes[-2] == "real-time chip: each step lasts the 1.05e-06 s tick (1 steps overran it)"


def test_zero_latency_has_no_throughput():
    # generic-45nm: no latency figures, no barrier table, steps as fast as they go: 0 s
    c = cost(activity(), placement(1, 1, 1, 1), hwprofiles.load("generic-45nm"))
    assert c.latency_s == 0.0 and c.throughput_per_s is None
    assert c.energy_j["synapse"] == pytest.approx(7 * 0.9e-12 / 2)  # generic-45nm.yaml: 0.9 pJ


def test_a_barrier_table_without_an_entry_small_enough_uses_its_smallest():
    import dataclasses

    from chipsim.cost import barrier_s

    loihi = hwprofiles.load("loihi")
    table = dataclasses.replace(loihi, latency=dataclasses.replace(
        loihi.latency, barrier_sync_s=((2, 1e-6), (4, 2e-6))))
    assert barrier_s(table, 1) == (1e-6, "barrier sync: no entry for <= 1 tiles, used the smallest")
    assert barrier_s(table, 3) == (1e-6, None)
    assert barrier_s(table, 4) == (2e-6, None)
    empty = dataclasses.replace(loihi, latency=dataclasses.replace(loihi.latency, barrier_sync_s=()))
    assert barrier_s(empty, 3) == (0.0, "barrier sync: no figure in the profile, taken as 0")


def two_flow_activity(traced=2):
    """The activity above with a second flow, core 36 -> core 130: tile (1, 1) -> chip 1's tile (0, 0), which
    sits at x = 8 (chips side by side along x): 7 hops E-W and 1 N-S. One packet on each flow in step 0."""
    act = activity()
    packets = np.zeros((traced, 2, 2), np.int32)
    if traced:
        packets[0, 0] = [1, 1]
    pairs = np.array([[0, 1], [1, 2]], np.int32)
    return Activity(**{**act.__dict__, "pairs": pairs, "pair_packets": packets})


def test_network_time_is_the_longest_flow():
    c = cost(two_flow_activity(), LOIHI_PLACEMENT, hwprofiles.load("loihi"))
    # flow 0 -> 36: 4.1 + 6.5 = 10.6 ns; flow 36 -> 130: 7 x 4.1 + 6.5 = 35.2 ns; mean over 2 samples
    assert c.network_step_s.tolist() == pytest.approx([35.2e-9 / 2, 0.0])


def test_without_traced_samples_the_network_time_is_the_longest_route_every_step():
    c = cost(two_flow_activity(traced=0), LOIHI_PLACEMENT, hwprofiles.load("loihi"))
    assert c.network_step_s.tolist() == pytest.approx([35.2e-9, 35.2e-9])
    assert c.traced_samples == 0
    # compute then averages over all samples: as LOIHI_COMPUTE_S
    assert c.compute_step_s.tolist() == pytest.approx(LOIHI_COMPUTE_S)


def test_one_unpublished_hop_latency_counts_as_zero_and_is_noted():
    import dataclasses

    loihi = hwprofiles.load("loihi")
    no_ns = dataclasses.replace(loihi, latency=dataclasses.replace(loihi.latency, hop_ns_s=None))
    c = cost(two_flow_activity(), LOIHI_PLACEMENT, no_ns)
    # flows: 1 x 4.1 ns and 7 x 4.1 = 28.7 ns (N-S hops free); mean over the 2 samples
    assert c.network_step_s.tolist() == pytest.approx([28.7e-9 / 2, 0.0])
    assert c.notes[0] == "hop latency not published: taken as 0 (latency is a lower bound)"
    no_ew = dataclasses.replace(loihi, latency=dataclasses.replace(loihi.latency, hop_ew_s=None))
    assert cost(two_flow_activity(), LOIHI_PLACEMENT, no_ew).network_step_s.tolist() == pytest.approx(
        [6.5e-9 / 2, 0.0])


def test_to_dict_lists_every_field(loihi):
    d = loihi.to_dict()
    assert set(d) == {f for f in loihi.__dataclass_fields__}
    assert d["notes"] == list(loihi.notes) and d["unknown"] == []
    assert d["latency_step_s"] == pytest.approx(LOIHI_STEP_S)
    assert d["samples"] == 2 and d["profile_name"] == "loihi"


def test_static_model_says_what_static_charges_with_the_yaml_source(loihi):
    assert loihi.static_model == {
        "power_w_per_chip": 0.104, "chips_powered": 2, "latency_s": pytest.approx(LOIHI_LATENCY_S),
        "charges": "static_power_w x chips powered x latency per inference; a chip is powered when it "
                   "holds a used core, for the whole inference (the figure is whole-chip leakage)",
        "source": "derived from Frady et al., NICE 2020: 3.34 W static for a 32-chip Nahuku system, "
                  "divided by 32",
        "note": "not in Davies 2018; the supply voltage of the measurement is unstated",
    }
    assert loihi.static_j == pytest.approx(0.104 * 2 * LOIHI_LATENCY_S)


def test_a_network_priced_on_another_chip_is_noted():
    from types import SimpleNamespace

    c = cost(activity(), placement(4096, 64, 64, 1), hwprofiles.load("truenorth"), SimpleNamespace(
        profile_name="loihi"))
    assert c.notes[0] == "network compiled for loihi, priced on truenorth"
    same = cost(activity(), LOIHI_PLACEMENT, hwprofiles.load("loihi"), SimpleNamespace(profile_name="loihi"))
    assert not any("compiled for" in n for n in same.notes)


def test_cores_of_one_tile_pay_the_one_tile_barrier():
    act = activity()
    one_tile = Activity(**{**act.__dict__, "cores": np.array([0, 1, 2], np.int64)})  # tile 0 holds cores 0-3
    c = cost(one_tile, LOIHI_PLACEMENT, hwprofiles.load("loihi"))
    assert c.barrier_s == pytest.approx(0.6e-6)  # loihi.yaml: [1, 0.6 us]
    assert c.energy_j["static"] == pytest.approx(0.104 * 1 * c.latency_s)


def test_a_vertical_flow_counts_its_north_south_hops():
    act = activity()
    # cores 36 (tile 9 = (1, 1)) and 100 (tile 25 = (1, 3)): 0 hops E-W, 2 N-S; one packet in step 0
    vertical = Activity(**{**act.__dict__, "cores": np.array([36, 100, 101], np.int64)})
    assert cost(vertical, LOIHI_PLACEMENT, hwprofiles.load("loihi")).network_step_s.tolist() == pytest.approx(
        [2 * 6.5e-9 / 2, 0.0])
    untraced = Activity(**{**vertical.__dict__, "pair_packets": np.zeros((0, 2, 1), np.int32)})
    assert cost(untraced, LOIHI_PLACEMENT, hwprofiles.load("loihi")).network_step_s.tolist() == pytest.approx(
        [13e-9, 13e-9])


def test_longest_route_with_an_unpublished_hop_latency_and_without_any_route():
    import dataclasses

    loihi = hwprofiles.load("loihi")
    untraced = two_flow_activity(traced=0)
    no_ns = dataclasses.replace(loihi, latency=dataclasses.replace(loihi.latency, hop_ns_s=None))
    assert cost(untraced, LOIHI_PLACEMENT, no_ns).network_step_s.tolist() == pytest.approx([28.7e-9] * 2)
    no_ew = dataclasses.replace(loihi, latency=dataclasses.replace(loihi.latency, hop_ew_s=None))
    assert cost(untraced, LOIHI_PLACEMENT, no_ew).network_step_s.tolist() == pytest.approx([6.5e-9] * 2)
    no_routes = Activity(**{**untraced.__dict__, "pairs": np.zeros((0, 2), np.int32),
                            "pair_packets": np.zeros((0, 2, 0), np.int32)})
    assert cost(no_routes, LOIHI_PLACEMENT, loihi).network_step_s.tolist() == [0.0, 0.0]


def test_no_cores_and_no_samples_cost_only_the_barrier():
    loihi = hwprofiles.load("loihi")
    empty = {name: np.zeros((2, 3, 0), np.int32) for name in BUSY}
    no_cores = Activity(cores=np.zeros(0, np.int64), macs=np.zeros((2, 3, 0), np.int32), **empty,
                        spike_counts=(), output_spikes=np.zeros((3, 2, 1), np.uint8),
                        pairs=np.zeros((0, 2), np.int32), pair_packets=np.zeros((2, 3, 0), np.int32),
                        input_binary=True, dt_s=1e-3)
    c = cost(no_cores, LOIHI_PLACEMENT, loihi)
    # no tiles in use: loihi.yaml's smallest barrier entry, 0.6 us, for each of 3 steps
    assert c.compute_step_s.tolist() == [0.0, 0.0, 0.0]
    assert c.latency_s == pytest.approx(3 * 0.6e-6)
    none = {name: np.zeros((0, 3, 3), np.int32) for name in BUSY}
    no_samples = Activity(cores=np.array(CORES, np.int64), macs=np.zeros((0, 3, 3), np.int32), **none,
                          spike_counts=(), output_spikes=np.zeros((3, 0, 1), np.uint8),
                          pairs=np.zeros((0, 2), np.int32), pair_packets=np.zeros((0, 3, 0), np.int32),
                          input_binary=True, dt_s=1e-3)
    c = cost(no_samples, LOIHI_PLACEMENT, loihi)
    assert c.compute_step_s.tolist() == [0.0, 0.0, 0.0]  # not NaN
    assert c.network_step_s.tolist() == [0.0, 0.0, 0.0]
    assert c.latency_s == pytest.approx(3 * 1.0e-6)  # cores 0, 36, 130: 3 tiles -> the 2-tile entry
    assert c.energy_j["synapse"] == 0.0


def test_unpublished_static_power_leaves_static_and_total_unknown():
    import dataclasses

    loihi = hwprofiles.load("loihi")
    no_static = dataclasses.replace(loihi, energy=dataclasses.replace(loihi.energy, static_power_w=None))
    c = cost(activity(), LOIHI_PLACEMENT, no_static)
    assert c.energy_j["static"] is None and c.total_j is None and c.unknown == ("static",)
    assert c.notes[-1] == "unknown (null in the profile): energy.static_power_w"
    assert c.total_known_j == pytest.approx((7 * 35.5e-12 + 5 * 72.8e-12 + 19 * 51.2e-12 + 3 * 69.3e-12
                                             + 4 * 111.0e-12 + 3 * 3.0e-12 + 2 * 4.0e-12) / 2)


def test_a_step_that_lasts_exactly_the_tick_does_not_overrun_it():
    import dataclasses

    loihi = hwprofiles.load("loihi")
    step0 = float(cost(activity(), LOIHI_PLACEMENT, loihi).latency_step_s[0])  # the longer step, as priced
    tick = dataclasses.replace(loihi, time_step_s=step0,
                               latency=dataclasses.replace(loihi.latency, step_timing="tick"))
    c = cost(activity(), LOIHI_PLACEMENT, tick)
    assert c.latency_s == pytest.approx(2 * step0)
    assert c.notes[-2] == f"real-time chip: each step lasts the {step0:g} s tick"
