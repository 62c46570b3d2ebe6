"""chipsim.engine on networks small enough to follow by hand: float neurons' counters, refractory and
multi-spikes, Loihi's current at exactly its wrap bounds. Every expected number is worked out in the
comments from the equations of chipsim.network's docstring, not computed by the code under test.

The float neurons are IFs with tau_syn = 0, tau_mem = inf, r = 1 / dt and w_in = 1: then A = 1, B = 0,
C = dt * r = 1, so each step u = x and v += x, with x = this step's input + bias (simulate's
_float_coefficients)."""

import numpy as np

from chipsim.network import ChipNetwork, ConvKernel, NeuronParams, Population, Projection
from chipsim.simulate import simulate
from tests.test_chipsim_engine import dense, placement, pop

DT = 1e-3


def float_if(**kw):
    return NeuronParams(**(dict(model="float_lif", threshold=1.0, tau_syn_s=0.0, tau_mem_s=np.inf, r=1 / DT)
                           | kw))


def test_float_counters_per_core_refractory_and_the_strict_threshold():
    # in -> 4 IF neurons; neurons 0, 1 on core 0, neurons 2, 3 on core 1; refractory 2 steps, reset to 0.
    # weights 0.6, 0, 1.5, 0 from the one input; neuron 3 has bias 0.25; input spikes in steps 0, 1, 2, 5.
    prm = float_if(refractory_steps=2)
    out = Population("out", 4, (4,), prm, np.array([0.0, 0.0, 0.0, 0.25]))
    w = dense("w", 0, 1, [[0.6, 0.0, 1.5, 0.0]])
    net = ChipNetwork("t", (pop("in", 1, None), out), (w,), 1, DT, False)
    x = np.array([[1], [1], [1], [0], [0], [1]], np.uint8)
    act = simulate(net, placement([[-1], [0, 0, 1, 1]]), x)
    # neuron 0: v 0.6, 1.2 > 1 fires in step 1 (v = 0, 2 steps held), held in 2 and 3 (active in 3: u was
    #   0.6), step 4 nothing at all (idle), step 5 v = 0.6
    # neuron 1: no input, no bias, no state: idle every step
    # neuron 2: 1.5 > 1 fires in step 0, held in 1 and 2 (its input ignored: with one step held it would
    #   fire again in step 2), step 3 u falls from 1.5 to 0 (active), step 4 idle, step 5 fires again
    # neuron 3: v = 0.25, 0.5, 0.75, 1.0 (not > 1: no spike in step 3), 1.25 fires in step 4; active always
    assert act.output_spikes[:, 0].tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
                                                [0, 0, 0, 1], [0, 0, 1, 0]]
    assert act.cores.tolist() == [0, 1]
    assert act.neuron_updates_active[0, :, 0].tolist() == [1, 1, 1, 1, 0, 1]
    assert act.neuron_updates_idle[0, :, 0].tolist() == [1, 1, 1, 1, 2, 1]
    assert act.neuron_updates_active[0, :, 1].tolist() == [2, 2, 2, 2, 1, 2]
    assert act.neuron_updates_idle[0, :, 1].tolist() == [0, 0, 0, 0, 1, 0]
    # the population's own counters: 5 + 11 active, 7 + 1 idle; 4 input spikes x 2 synapses (0s dropped)
    assert act.population["synops"].tolist() == [[0, 8]]
    assert act.population["neuron_updates_active"].tolist() == [[0, 16]]
    assert act.population["neuron_updates_idle"].tolist() == [[0, 8]]
    assert act.spike_counts[1][0].tolist() == [1, 0, 2, 1]


def test_float_multi_spikes_count_floor_v_over_threshold_and_deliver_that_many_times_their_weight():
    # in -> a (2 IF neurons, multi-spike, threshold 0.5, subtractive reset) -> b (2 IF neurons, one spike,
    # threshold 0.9); weights in -> a 1.25, 0.5; a -> b0 0.25, 0.5 (b1 gets nothing); input spikes in steps
    # 0 and 1; a0 and b0 on core 0, a1 and b1 on core 1.
    a = pop("a", 2, float_if(threshold=0.5, spike="multi", reset="subtract"))
    b = pop("b", 2, float_if(threshold=0.9))
    projs = (dense("in_a", 0, 1, [[1.25, 0.5]]), dense("a_b", 1, 2, [[0.25, 0.0], [0.5, 0.0]]))
    net = ChipNetwork("t", (pop("in", 1, None), a, b), projs, 1, DT, False)
    act = simulate(net, placement([[-1], [0, 1], [0, 1]]), np.array([[1], [1], [0]], np.uint8),
                   record_raster=True)
    # a0: v = 1.25 -> floor(1.25 / 0.5) = 2 spikes, v = 1.25 - 2 * 0.5 = 0.25; then v = 1.5 -> 3 spikes, v = 0
    # a1: v = 0.5 (>= 0.5: multi-spike fires at the threshold) -> 1 spike, v = 0; the same in step 1
    assert act.output_spikes[:, 0].tolist() == [[2, 1], [3, 1], [0, 0]]
    assert act.spike_counts[1][0].tolist() == [5, 2]
    # b: step 0 gets 2 * 0.25 + 1 * 0.5 = 1.0 > 0.9, fires (one spike a step), v = 0; step 1 gets
    # 3 * 0.25 + 0.5 = 1.25, fires again. Weighted by 1 a spike, step 0 would bring 0.75 and no spike.
    assert act.raster[2][:, 0, 0].tolist() == [1, 1, 0]
    assert act.spike_counts[2][0].tolist() == [2, 0]
    # every neuron but b1 (no input, no bias) is active in all 3 steps (step 2: u falls from its last input
    # to 0); each core adds up the updates of both populations' neurons on it
    assert act.neuron_updates_active[0, :, 0].tolist() == [2, 2, 2]
    assert act.neuron_updates_idle[0, :, 0].tolist() == [0, 0, 0]
    assert act.neuron_updates_active[0, :, 1].tolist() == [1, 1, 1]
    assert act.neuron_updates_idle[0, :, 1].tolist() == [1, 1, 1]


def test_loihi_current_at_exactly_its_wrap_bounds_is_kept():
    # Lava wraps u once into (-2^23, 2^23]: 2^23 and -2^23 + 1 are inside and stay; one past each wraps.
    # decay_u = 4095 keeps nothing of the last step's u, and weight_shift 0: u = the step's input sum.
    prm = NeuronParams(model="loihi_cuba", threshold=2 ** 22, decay_u=4095, state_bits=24, current_bits=24,
                       decay_bits=12, weight_shift=0)
    w = [[2 ** 23, -(2 ** 23) + 1, 2 ** 23 + 1, -(2 ** 23)]]
    net = ChipNetwork("t", (pop("in", 1, None), pop("a", 4, prm)), (dense("w", 0, 1, w),), 1, DT, True)
    act = simulate(net, placement([[-1], [0, 0, 0, 0]]), np.ones((1, 1), np.uint8), record_state=True)
    u, _ = act.state[1]
    assert u[0, 0].tolist() == [2 ** 23, -(2 ** 23) + 1, -(2 ** 23) + 1, 2 ** 23]


def test_analog_input_scales_each_weight_by_its_value():
    # one analog input (values 0.5, 1, 0, 2) -> one IF neuron, weight 0.75: u = value * 0.75 each step,
    # v: 0.375, 1.125 > 1 fires (v = 0), 0, 1.5 fires. Unscaled, step 3 would bring only 0.75: no spike.
    net = ChipNetwork("t", (pop("in", 1, None), pop("out", 1, float_if())), (dense("w", 0, 1, [[0.75]]),), 1,
                      DT, False)
    act = simulate(net, placement([[-1], [0]]), np.array([[0.5], [1.0], [0.0], [2.0]]), record_state=True)
    u, v = act.state[1]
    assert u[:, 0, 0].tolist() == [0.375, 0.75, 0.0, 1.5]
    assert v[:, 0, 0].tolist() == [0.375, 0.0, 0.0, 0.0]
    assert act.output_spikes[:, 0, 0].tolist() == [0, 1, 0, 1]
    assert act.macs[0, :, 0].tolist() == [1, 1, 0, 1]


def test_analog_input_into_a_kept_kernel_of_unequal_height_and_width_matches_the_expanded_csr():
    """out[co, oy, ox] += w[co, 0, ky, kx] * value[oy + ky, ox + kx] for a 2 x 3 kernel (no padding, stride 1)
    on a 3 x 4 image: the expansion below is written out by hand; the kept kernel must deliver the same
    weighted input (integer weights and values in halves: every sum is exact in float64)."""
    rng = np.random.default_rng(5)
    w = rng.integers(-2, 3, (2, 1, 2, 3)).astype(np.float64)
    dense_w = np.zeros((12, 8))
    for co in range(2):
        for oy in range(2):
            for ox in range(2):
                for ky in range(2):
                    for kx in range(3):
                        dense_w[(oy + ky) * 4 + ox + kx, co * 4 + oy * 2 + ox] += w[co, 0, ky, kx]
    conv = ConvKernel(w, (1, 1), (0, 0), (1, 3, 4), (2, 2, 2))
    prm = float_if(threshold=2.0)
    pops = (Population("in", 12, (1, 3, 4), None, np.zeros(12)), pop("c", 8, prm))
    empty = Projection("conv", 0, 1, "conv", np.zeros(13, np.int64), np.zeros(0, np.int32), np.zeros(0),
                       conv=conv)
    kept = ChipNetwork("t", pops, (empty,), 1, DT, False)
    expanded = ChipNetwork("t", pops, (dense("conv", 0, 1, dense_w),), 1, DT, False)
    pl = placement([[-1] * 12, np.repeat([0, 1], 4)])
    x = rng.integers(0, 4, (6, 12)) * 0.5
    x[0] = 0.0
    x[0, 5] = 1.5  # a step with one pixel alone
    a = simulate(kept, pl, x, record_state=True)
    b = simulate(expanded, pl, x, record_state=True)
    assert a.output_spikes.sum() > 0
    assert np.array_equal(a.state[1][0], b.state[1][0])
    assert np.array_equal(a.state[1][1], b.state[1][1])
    assert np.array_equal(a.output_spikes, b.output_spikes)
    assert np.array_equal(a.macs, b.macs)
    assert np.array_equal(a.population["macs"], b.population["macs"])


def test_pair_packets_and_hops_of_two_neurons_firing_on_one_core_in_one_step():
    # 2x2 mesh, one core per tile: core k at (k % 2, k // 2). a0, a1 on core 0 both fire in step 0;
    # a0 -> b0 (core 1), b1 (core 2); a1 -> b0 (core 1).
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    pops = (pop("in", 1, None), pop("a", 2, params), pop("b", 2, params))
    projs = (dense("in_a", 0, 1, [[1, 1]]), dense("a_b", 1, 2, [[1, 1], [1, 0]]))
    net = ChipNetwork("t", pops, projs, 2, DT, True)
    pl = placement([[-1], [0, 0], [1, 2]], cores_per_chip=4, width=2, height=2, cores_per_tile=1)
    act = simulate(net, pl, np.array([[0], [1]], np.uint8), traced_samples=1)
    # in step 1, packets: a0 two (to cores 1 and 2), a1 one (to core 1): pair 0 -> 1 carries 2, 0 -> 2 one
    pairs = [tuple(act.cores[p].tolist()) for p in act.pairs]
    step1 = {pair: int(n) for pair, n in zip(pairs, act.pair_packets[0, 1], strict=True) if n}
    assert step1 == {(0, 1): 2, (0, 2): 1}
    assert act.pair_packets[0, 0].sum() == 0
    # hops from core 0: a0 E-W 1 (to core 1) + 0, N-S 0 + 1 (to core 2); a1 E-W 1, N-S 0
    src = int(np.flatnonzero(act.cores == 0)[0])
    assert (act.hops_ew[0, 1, src], act.hops_ns[0, 1, src]) == (2, 1)
    assert act.packets_out[0, 1, src] == 3


def test_a_single_step_is_recorded():
    # a raster and a state trace of one step (the recording is switched on by its steps, not by > 1 step)
    prm = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    net = ChipNetwork("t", (pop("in", 1, None), pop("a", 2, prm)), (dense("w", 0, 1, [[1, 0]]),), 1, DT, True)
    act = simulate(net, placement([[-1], [0, 0]]), np.ones((1, 1), np.uint8), record_raster=True,
                   record_state=True)
    assert act.raster[1][:, 0].tolist() == [[1, 0]]
    assert act.raster[0][:, 0].tolist() == [[1]]
    assert act.state[1][1][:, 0].tolist() == [[0, 0]]  # neuron 0 fired and reset to 0


def test_speck_iaf_has_no_leak_whatever_its_decay_register_holds():
    # speck_iaf: v = v + in + bias (no leak); truenorth_lif subtracts decay_v every step
    speck = NeuronParams(model="speck_iaf", threshold=100, decay_v=3, state_bits=16)
    truenorth = NeuronParams(model="truenorth_lif", threshold=100, decay_v=3, state_bits=16)
    for prm, expected in ((speck, [5, 10, 10]), (truenorth, [2, 4, 1])):
        pops = (pop("in", 1, None), pop("a", 1, prm))
        net = ChipNetwork("t", pops, (dense("w", 0, 1, [[5]]),), 1, DT, True)
        act = simulate(net, placement([[-1], [0]]), np.array([[1], [1], [0]], np.uint8), record_state=True)
        assert act.state[1][1][:, 0, 0].tolist() == expected, prm.model


def test_a_shift_of_one_floors_its_own_sum_and_leaves_the_other_projections_alone():
    # speck_iaf (v += input) fed by two projections: a plain one (weight 5 from input 0) and one with
    # input_shift 1 (weights 3, -3 from inputs 1, 2): its summed input of a step is floored by 2 on its own.
    prm = NeuronParams(model="speck_iaf", threshold=1000, state_bits=16)
    plain = dense("plain", 0, 1, [[5], [0], [0]])
    shifted = dense("shifted", 0, 1, [[0], [3], [-3]])
    shifted = Projection(shifted.name, 0, 1, "dense", shifted.indptr, shifted.targets, shifted.weights,
                         input_shift=1)
    net = ChipNetwork("t", (pop("in", 3, None), pop("a", 1, prm)), (plain, shifted), 1, DT, True)
    x = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], np.uint8)
    act = simulate(net, placement([[-1] * 3, [0]]), x, record_state=True)
    # steps: 5 + floor(3 / 2) = 6; floor(3 / 2) = 1; floor(-3 / 2) = -2; 5 + floor(0 / 2) = 5
    assert act.state[1][1][:, 0, 0].tolist() == [6, 7, 5, 10]


def test_a_batch_traces_only_its_first_samples_pair_packets():
    # the 2x2 mesh of the test above; 3 samples, only the first traced: its pair packets are those of the
    # sample run alone, the others' are not added to them
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    pops = (pop("in", 1, None), pop("a", 2, params), pop("b", 2, params))
    projs = (dense("in_a", 0, 1, [[1, 1]]), dense("a_b", 1, 2, [[1, 1], [1, 0]]))
    net = ChipNetwork("t", pops, projs, 2, DT, True)
    pl = placement([[-1], [0, 0], [1, 2]], cores_per_chip=4, width=2, height=2, cores_per_tile=1)
    x = np.array([[[0, 1, 1]], [[1, 1, 0]]], np.uint8)  # [steps, 1, batch]: sample 0 fires in step 1 only
    x = np.moveaxis(x, 2, 1)  # [steps, batch, 1]
    act = simulate(net, pl, x, traced_samples=1)
    alone = simulate(net, pl, x[:, :1], traced_samples=1)
    assert act.pair_packets.shape[0] == 1
    assert act.pair_packets.tolist() == alone.pair_packets.tolist()
    assert alone.pair_packets[0, 0].sum() == 0 and alone.pair_packets[0, 1].sum() == 3


def test_a_single_spike_subtractive_reset_takes_the_threshold_once_and_a_held_voltage_is_active():
    # one IF neuron, threshold 1, subtractive reset, one spike a step, refractory 1; input 2.5 in step 0:
    # v = 2.5 fires, v = 1.5 (the threshold once, not floor(2.5) times); step 1 held (u falls to 0: active);
    # step 2 v = 1.5 > 1 fires again, v = 0.5; step 3 held at 0.5, no input and u = 0, but v != 0: active
    net = ChipNetwork("t", (pop("in", 1, None), pop("a", 1, float_if(reset="subtract", refractory_steps=1))),
                      (dense("w", 0, 1, [[2.5]]),), 1, DT, False)
    act = simulate(net, placement([[-1], [0]]), np.array([[1], [0], [0], [0]], np.uint8), record_state=True)
    assert act.output_spikes[:, 0, 0].tolist() == [1, 0, 1, 0]
    assert act.state[1][1][:, 0, 0].tolist() == [1.5, 1.5, 0.5, 0.5]
    assert act.neuron_updates_active[0, :, 0].tolist() == [1, 1, 1, 1]
