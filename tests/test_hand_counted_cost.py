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


@pytest.fixture(scope="module")
def loihi():
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


def test_truenorth_static_energy_per_chip_and_unknown_dynamic():
    # truenorth.yaml: static 63 mW a chip, 1 ms tick, every per-event figure null; 4096 cores a chip
    # (64 x 64 tiles of 1 core): cores 0, 36 and 130 are all on chip 0 -> 1 chip; 2 steps of 1 ms.
    c = cost(activity(), placement(4096, 64, 64, 1), hwprofiles.load("truenorth"))
    assert c.latency_s == pytest.approx(2e-3)
    assert c.energy_j["static"] == pytest.approx(0.063 * 1 * 2e-3)
    assert c.energy_j["synapse"] is None and c.energy_j["neuron"] is None
    assert c.total_j is None
    assert c.total_known_j == pytest.approx(0.063 * 2e-3)
    # the same cores spread over 3 chips (32 cores a chip for this test: chips 0, 1 and 4): 3 x the static
    spread = cost(activity(), placement(32, 8, 4, 1), hwprofiles.load("truenorth"))
    assert spread.energy_j["static"] == pytest.approx(0.063 * 3 * 2e-3)
