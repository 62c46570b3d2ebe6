"""chipsim.simulate: bit-exact neuron updates, delivery order, counters, batches, bad input."""

import math

import numpy as np
import pytest

from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, ConvKernel, NeuronParams, Population, Projection
from chipsim.simulate import SimulationInputError, simulate
from hwprofiles.errors import UserError

LOIHI = dict(model="loihi_cuba", state_bits=24, current_bits=24, decay_bits=12, weight_shift=6)


def placement(core_lists, cores_per_chip=128, width=8, height=4, cores_per_tile=4):
    fit = FitReport("test", True, (), 0, 0, 1)
    return Placement(tuple(np.asarray(c, np.int32) for c in core_lists), fit, cores_per_chip, width, height,
                     cores_per_tile)


def dense(name, pre, post, w):
    """CSR projection from a dense [n_pre, n_post] matrix (zeros dropped)."""
    w = np.asarray(w)
    rows, cols = np.nonzero(w)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=w.shape[0]))]).astype(np.int64)
    return Projection(name, pre, post, "dense", indptr, cols.astype(np.int32), w[rows, cols])


def pop(name, n, params, bias=0):
    dtype = np.float64 if params is not None and params.model == "float_lif" else np.int64
    return Population(name, n, (n,), params, np.full(n, bias, dtype))


def one_layer(params, w, bias=0, fixed=True):
    """Input [n_in] -> one population, all neurons on core 0; returns (net, placement)."""
    w = np.asarray(w)
    pops = (pop("in", w.shape[0], None), pop("out", w.shape[1], params, bias))
    net = ChipNetwork("test", pops, (dense("w", 0, 1, w),), 1, 1e-3, fixed)
    return net, placement([[-1] * w.shape[0], [0] * w.shape[1]])


def v_trace(net, pl, x):
    """Membrane can't be read out directly: run and return output spikes [steps]."""
    return simulate(net, pl, x).output_spikes[:, 0, 0]


def loihi_reference(inputs, w, decay_u, decay_v, bias, threshold, reset="zero", refractory=0, bits=24,
                    u_bits=None):
    """Pure-Python loihi_cuba of network.py's docstring (Lava's: u decays by du + 1 and wraps once into
    (-2^(b-1), 2^(b-1)], v is clipped to +-(2^(b-1) - 1)); returns (spikes, u trace, v trace)."""
    u_bits = bits if u_bits is None else u_bits

    def sat(x, b):
        return min(max(x, -(2 ** (b - 1)) + 1), 2 ** (b - 1) - 1)

    def wrap(x, b):
        half = 2 ** (b - 1)
        return x - 2 * half if x > half else x + 2 * half if x <= -half else x

    def rz(x, d):
        return x >> d if x >= 0 else -((-x) >> d)

    u = v = ref = 0
    spikes, us, vs = [], [], []
    for row in inputs:
        x = sum(wi for wi, s in zip(w, row, strict=True) if s)
        u = wrap(rz(u * (4096 - decay_u - 1), 12) + x * 64, u_bits)
        fired = False
        if ref > 0:
            ref -= 1
        else:
            v = sat(rz(v * (4096 - decay_v), 12) + u + bias, bits)
            if v > threshold * 64:
                fired = True
                v = v - threshold * 64 if reset == "subtract" else 0
                ref = refractory
        spikes.append(int(fired))
        us.append(u)
        vs.append(v)
    return spikes, us, vs


def simple_reference(model, ins, threshold, reset, bits, decay_u=0, decay_v=0, bias=0):
    """Pure-Python truenorth_lif / xylo_shift / speck_iaf of network.py's docstring; spikes per step."""

    def sat(x):
        return min(max(x, -(2 ** (bits - 1))), 2 ** (bits - 1) - 1)

    u = v = 0
    out = []
    for x in ins:
        if model == "truenorth_lif":
            v = sat(v + x + bias - decay_v)
        elif model == "xylo_shift":
            u = sat(u - (u >> decay_u) + x)
            v = sat(v - (v >> decay_v) + u + bias)
        else:
            v = sat(v + x + bias)
        fired = v >= threshold
        if fired:
            v = sat(v - threshold) if reset == "subtract" else 0
        out.append(int(fired))
    return out


def test_single_loihi_neuron_integrates_to_threshold():
    params = NeuronParams(threshold=10, decay_u=4095, **LOIHI)
    net, pl = one_layer(params, [[4]])
    # u = 4<<6 = 256 every step; v = 256, 512, 768 > 640: spike, reset to 0
    assert v_trace(net, pl, np.ones((6, 1), np.uint8)).tolist() == [0, 0, 1, 0, 0, 1]


def test_loihi_trajectory_matches_docstring_with_negative_values():
    rng = np.random.default_rng(0)
    x = (rng.random((12, 2)) < [0.7, 0.3]).astype(np.uint8)
    w = [150, -100]
    params = NeuronParams(threshold=120, decay_u=1000, decay_v=300, reset="subtract", **LOIHI)
    net, pl = one_layer(params, np.array(w)[:, None], bias=-37)
    expected, us, vs = loihi_reference(x, w, 1000, 300, -37, 120, reset="subtract")
    assert min(us) < 0 and min(vs) < 0 and sum(expected) > 0  # the test exercises both signs and spikes
    assert v_trace(net, pl, x).tolist() == expected


def test_loihi_decay_rounds_toward_zero_for_negative_state():
    # one inhibitory spike: u = -3 << 6 = -192; next u = (-192 * (4096 - (0 + 1))) >>0 12 = -191 (a floor
    # gives -192). decay_v = 4095 makes v = u + bias + (v * 1) >>0 12 = u + bias here: with bias 192, v = 0
    # then 1 > threshold 0: a spike at step 1 only if the rounding is toward zero.
    x = np.array([[1], [0]], np.uint8)
    assert loihi_reference(x, [-3], 0, 4095, 0, 0)[1] == [-192, -191]
    net, pl = one_layer(NeuronParams(threshold=0, decay_u=0, decay_v=4095, **LOIHI), [[-3]], bias=192)
    assert v_trace(net, pl, x).tolist() == [0, 1]


SATURATION_CASES = {  # name: (bits, weights, input rows, threshold, reset, bias, decay_u, decay_v)
    "v_positive": (dict(state_bits=12, current_bits=24), [10], [[1]] * 10, 31, "subtract", 0, 4095, 0),
    "v_negative": (dict(state_bits=12, current_bits=24), [-10, 10], [[1, 0]] * 4 + [[0, 1]] * 6, 7, "zero", 0,
                   4095, 0),
    # 64 inputs every step, u barely decays: it passes 2^23 (or -2^23) within 20 steps and wraps
    "u_positive": (dict(state_bits=24, current_bits=24), [127] * 64, [[1] * 64] * 20, 131071, "zero", 0, 0,
                   4095),
    "u_negative": (dict(state_bits=24, current_bits=24), [-128] * 64, [[1] * 64] * 20, 0, "zero", 0, 0, 4095),
}


@pytest.mark.parametrize("case", sorted(SATURATION_CASES))
def test_loihi_state_saturates_or_wraps_at_its_bounds(case):
    """v saturates at +-(2^(b-1) - 1); u wraps (Lava's bit-accurate model)."""
    bits, w, rows, thr, reset, bias, du, dv = SATURATION_CASES[case]
    x = np.array(rows, np.uint8)
    params = NeuronParams(threshold=thr, reset=reset, decay_u=du, decay_v=dv, **(LOIHI | bits))
    net, pl = one_layer(params, np.array(w)[:, None], bias=bias)
    ref = dict(reset=reset, bits=bits["state_bits"], u_bits=bits["current_bits"])
    saturating, _, _ = loihi_reference(x, w, du, dv, bias, thr, **ref)
    wrapping_free, _, _ = loihi_reference(x, w, du, dv, bias, thr, reset=reset, bits=60)
    assert saturating != wrapping_free  # the case reaches the bound
    assert v_trace(net, pl, x).tolist() == saturating


@pytest.mark.parametrize("model", ["speck_iaf", "truenorth_lif", "xylo_shift"])
def test_state_saturates_positive_and_negative(model):
    # 8-bit v in [-128, 127]; net input +100 x3, -100 x4, +100 x3, subtractive reset at 120
    ins = [100] * 3 + [-100] * 4 + [100] * 3
    decay = dict(decay_u=0, decay_v=7) if model == "xylo_shift" else {}
    params = NeuronParams(model=model, threshold=120, reset="subtract", state_bits=8, current_bits=8, **decay)
    net, pl = one_layer(params, np.array([[100], [-100]]))
    x = np.array([[1, 0] if i > 0 else [0, 1] for i in ins], np.uint8)
    expected = simple_reference(model, ins, 120, "subtract", 8, **decay)
    assert expected != simple_reference(model, ins, 120, "subtract", 60, **decay)
    assert simulate(net, pl, x).output_spikes[:, 0, 0].tolist() == expected


def test_speck_refractory_holds_voltage_and_ignores_input():
    params = NeuronParams(model="speck_iaf", threshold=2, refractory_steps=2, state_bits=16)
    net, pl = one_layer(params, [[1]])
    # v: 1, 2 spike -> 0; refractory for 2 steps (input ignored); then 1, 2 spike
    assert v_trace(net, pl, np.ones((8, 1), np.uint8)).tolist() == [0, 1, 0, 0, 0, 1, 0, 0]


def test_loihi_refractory_holds_v_while_u_integrates():
    rng = np.random.default_rng(4)
    x = (rng.random((20, 1)) < 0.5).astype(np.uint8)
    params = NeuronParams(threshold=2, decay_u=600, decay_v=200, refractory_steps=2, **LOIHI)
    net, pl = one_layer(params, [[3]])
    expected, _, _ = loihi_reference(x, [3], 600, 200, 0, 2, refractory=2)
    assert expected != loihi_reference(x, [3], 600, 200, 0, 2)[0]
    assert v_trace(net, pl, x).tolist() == expected


@pytest.mark.parametrize(("reset", "expected"),
                         [("zero", [0, 1, 0, 1, 0, 1]), ("subtract", [0, 1, 0, 1, 1, 0])])
def test_truenorth_reset_modes(reset, expected):
    # v += 3 per step, threshold 5. zero: 3, 6* -> 0, 3, 6* -> 0, 3, 6*.
    # subtract: 3, 6* -> 1, 4, 7* -> 2, 5* -> 0, 3
    params = NeuronParams(model="truenorth_lif", threshold=5, reset=reset, state_bits=16)
    net, pl = one_layer(params, [[3]])
    assert v_trace(net, pl, np.ones((6, 1), np.uint8)).tolist() == expected


def test_truenorth_linear_leak_and_bias():
    # v = v + in + bias - leak = v + 4 + 1 - 2: 3, 6, 9 >= 9 spike at step 2
    params = NeuronParams(model="truenorth_lif", threshold=9, decay_v=2, state_bits=16)
    net, pl = one_layer(params, [[4]], bias=1)
    assert v_trace(net, pl, np.ones((4, 1), np.uint8)).tolist() == [0, 0, 1, 0]


def test_xylo_shift_decays_by_bit_shift():
    # u = u - (u >> 1) + in, in = 8 at t0 only: u = 8, 4, 2, 1. v = v - (v >> 2) + u: 8, 8 - 2 + 4 = 10 >= 10:
    # spike, zero reset; then 0 + 2 = 2, 2 - 0 + 1 = 3
    params = NeuronParams(model="xylo_shift", threshold=10, decay_u=1, decay_v=2, state_bits=16,
                          current_bits=16)
    net, pl = one_layer(params, [[8]])
    x = np.array([[1], [0], [0], [0]], np.uint8)
    assert v_trace(net, pl, x).tolist() == [0, 1, 0, 0]


def two_layer_recurrent(rng, n_in=6, n_hid=20, n_out=5, density=0.4):
    params = NeuronParams(threshold=30, decay_u=800, decay_v=500, refractory_steps=1, **LOIHI)

    def rand_w(a, b):
        return np.where(rng.random((a, b)) < density, rng.integers(-40, 80, (a, b)), 0)

    pops = (pop("in", n_in, None), pop("hid", n_hid, params, 3), pop("out", n_out, params))
    projs = (dense("in_hid", 0, 1, rand_w(n_in, n_hid)), dense("hid_hid", 1, 1, rand_w(n_hid, n_hid)),
             dense("hid_out", 1, 2, rand_w(n_hid, n_out)), dense("out_hid", 2, 1, rand_w(n_out, n_hid)))
    net = ChipNetwork("t", pops, projs, 2, 1e-3, True)
    pl = placement([[-1] * n_in, rng.integers(0, 9, n_hid), rng.integers(30, 40, n_out)])
    return net, pl


def test_batch_equals_one_by_one_and_is_repeatable():
    rng = np.random.default_rng(1)
    net, pl = two_layer_recurrent(rng)
    x = (rng.random((30, 4, 6)) < 0.5).astype(np.uint8)
    batch = simulate(net, pl, x)
    again = simulate(net, pl, x)
    assert batch.output_spikes.sum() > 0
    assert np.array_equal(batch.output_spikes, again.output_spikes)
    assert np.array_equal(batch.synops, again.synops)
    for b in range(4):
        one = simulate(net, pl, x[:, b])
        assert np.array_equal(one.output_spikes[:, 0], batch.output_spikes[:, b])
        assert np.array_equal(one.synops[0], batch.synops[b])
        assert np.array_equal(one.hops_ew[0], batch.hops_ew[b])
        assert np.array_equal(one.spike_counts[1][0], batch.spike_counts[1][b])


def test_recurrent_projection_delivers_next_step():
    # in -> a (same step); a -> a recurrent weight: a's spike at t adds input at t+1
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    pops = (pop("in", 1, None), pop("a", 2, params))
    projs = (dense("in_a", 0, 1, [[1, 0]]), dense("a_a", 1, 1, [[0, 1], [0, 0]]))
    net = ChipNetwork("t", pops, projs, 1, 1e-3, True)
    act = simulate(net, placement([[-1], [0, 1]]), np.array([[1], [0], [0]], np.uint8), record_raster=True)
    assert act.raster[1][:, 0].tolist() == [[1, 0], [0, 1], [0, 0]]


def test_conv_kernel_matches_expanded_csr():
    rng = np.random.default_rng(2)
    w = rng.integers(-3, 4, (2, 1, 3, 3))
    conv = ConvKernel(w, (1, 1), (1, 1), (1, 4, 4), (2, 4, 4))
    dense_w = np.zeros((16, 32), np.int64)  # by hand: out[co,oy,ox] += w[co,0,ky,kx] in[oy+ky-1, ox+kx-1]
    for co in range(2):
        for oy in range(4):
            for ox in range(4):
                for ky in range(3):
                    for kx in range(3):
                        iy, ix = oy + ky - 1, ox + kx - 1
                        if 0 <= iy < 4 and 0 <= ix < 4:
                            dense_w[iy * 4 + ix, co * 16 + oy * 4 + ox] += w[co, 0, ky, kx]
    params = NeuronParams(model="speck_iaf", threshold=3, state_bits=16)
    pops = (Population("in", 16, (1, 4, 4), None, np.zeros(16, np.int64)), pop("c", 32, params))
    empty = Projection("conv", 0, 1, "conv", np.zeros(17, np.int64), np.zeros(0, np.int32),
                       np.zeros(0, np.int32), conv=conv)
    kept = ChipNetwork("t", pops, (empty,), 1, 1e-3, True)
    expanded = ChipNetwork("t", pops, (dense("conv", 0, 1, dense_w),), 1, 1e-3, True)
    pl = placement([[-1] * 16, np.repeat([0, 1], 16)])
    x = (rng.random((10, 16)) < 0.4).astype(np.uint8)
    a, b = simulate(kept, pl, x), simulate(expanded, pl, x)
    assert a.output_spikes.sum() > 0
    assert np.array_equal(a.output_spikes, b.output_spikes)
    assert np.array_equal(a.synops, b.synops)
    assert np.array_equal(a.packets_in, b.packets_in)


def test_packets_and_hops_on_a_2x2_mesh():
    # 2x2 mesh, 1 core per tile: core k at (k % 2, k // 2). Neuron on core 0 targets cores 1, 2, 3 (2 on 3).
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    pops = (pop("in", 1, None), pop("a", 1, params), pop("b", 4, params))
    projs = (dense("in_a", 0, 1, [[1]]), dense("a_b", 1, 2, [[1, 1, 1, 1]]))
    net = ChipNetwork("t", pops, projs, 2, 1e-3, True)
    pl = placement([[-1], [0], [1, 2, 3, 3]], cores_per_chip=4, width=2, height=2, cores_per_tile=1)
    act = simulate(net, pl, np.array([[1]], np.uint8))
    # a's spike: packets to cores 1, 2, 3 (distinct); hops E-W: 1 (to 1) + 0 (to 2) + 1 (to 3) = 2; N-S: 0+1+1
    assert act.cores.tolist() == [0, 1, 2, 3]
    assert act.packets_out[0, 0].tolist() == [3, 0, 0, 0]
    assert (act.hops_ew[0, 0, 0], act.hops_ns[0, 0, 0]) == (2, 2)
    # host input: one packet in at core 0, none out; synops: 1 on core 0, 1, 1, 2 on cores 1, 2, 3
    assert act.packets_in[0, 0].tolist() == [1, 1, 1, 1]
    assert act.synops[0, 0].tolist() == [1, 1, 1, 2]
    assert act.spikes_out[0, 0].tolist() == [1, 1, 1, 2]


def test_hops_on_an_8x4_mesh_across_two_chips():
    # Loihi layout: 8x4 tiles, 4 cores per tile, 128 cores per chip; chips side by side along x.
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    pops = (pop("in", 1, None), pop("a", 1, params), pop("b", 3, params))
    projs = (dense("in_a", 0, 1, [[1]]), dense("a_b", 1, 2, [[1, 1, 1]]))
    net = ChipNetwork("t", pops, projs, 2, 1e-3, True)
    # source core 5 = tile 1 (1, 0). targets: core 127 = tile 31 (7, 3); core 3 = tile 0 (0, 0);
    # core 128 + 36 = chip 1 tile 9 -> (1 + 8, 1)
    pl = placement([[-1], [5], [127, 3, 164]])
    act = simulate(net, pl, np.array([[1]], np.uint8))
    src = int(np.flatnonzero(act.cores == 5)[0])
    assert act.hops_ew[0, 0, src] == 6 + 1 + 8
    assert act.hops_ns[0, 0, src] == 3 + 0 + 1


def test_neuron_updates_active_and_idle():
    params = NeuronParams(model="speck_iaf", threshold=5, state_bits=16)
    net, pl = one_layer(params, [[1, 0, 0]] , bias=0)
    net = ChipNetwork("t", (net.populations[0], Population("out", 3, (3,), params, np.array([0, 0, 2]))),
                      net.projections, 1, 1e-3, True)
    act = simulate(net, pl, np.array([[1], [0]], np.uint8))
    # step 0: neuron 0 has input, 2 has bias: 2 active, 1 idle; step 1: neuron 0 has state, 2 bias: same
    assert act.neuron_updates_active[0, :, 0].tolist() == [2, 2]
    assert act.neuron_updates_idle[0, :, 0].tolist() == [1, 1]


def float_params(**kw):
    base = dict(model="float_lif", threshold=1.0, tau_syn_s=5e-3, tau_mem_s=20e-3, r=2.0, v_leak=0.1,
                w_in=1.5)
    return NeuronParams(**(base | kw))


@pytest.mark.parametrize("integrator", ["euler", "exact"])
def test_float_lif_matches_numpy_nir_equations(integrator):
    rng = np.random.default_rng(3)
    w = rng.normal(0.5, 0.6, (4, 3))
    prm = float_params(integrator=integrator, reset="subtract")
    net, pl = one_layer(prm, w, bias=0.05, fixed=False)
    x = (rng.random((40, 4)) < 0.5).astype(np.uint8)
    dt = 1e-3
    if integrator == "euler":
        ga, gb = dt / 5e-3, dt / 20e-3
    else:
        ga, gb = 1 - math.exp(-dt / 5e-3), 1 - math.exp(-dt / 20e-3)
    i_syn, v, spikes = np.zeros(3), np.zeros(3), []
    for t in range(40):
        inp = x[t] @ w + 0.05
        i_syn = i_syn + ga * (-i_syn + 1.5 * inp)
        v = v + gb * (0.1 - v + 2.0 * i_syn)
        s = v > 1.0
        v = np.where(s, v - 1.0, v)
        spikes.append(s.astype(np.uint8))
    out = simulate(net, pl, x).output_spikes[:, 0]
    assert np.array(spikes).sum() > 0
    assert np.array_equal(out, np.array(spikes))


def test_float_analog_input_is_counted_as_macs():
    net, pl = one_layer(float_params(), [[1.0, 2.0]], fixed=False)
    act = simulate(net, pl, np.array([[0.5], [0.0], [1.0]]))
    assert not act.input_binary
    assert act.macs[0, :, 0].tolist() == [2, 0, 2]
    assert act.total("synops") == 0


def test_steps_pads_with_silence():
    params = NeuronParams(model="speck_iaf", threshold=1, state_bits=16)
    net, pl = one_layer(params, [[1]])
    act = simulate(net, pl, np.ones((2, 1), np.uint8), steps=4)
    assert act.output_spikes[:, 0, 0].tolist() == [1, 1, 0, 0]


@pytest.mark.parametrize("x", [np.ones((3, 1, 2), np.uint8), np.ones((3,), np.uint8), np.ones((2, 1, 1, 1)),
                               np.full((3, 1), 2, np.uint8), np.array([["a"]])])
def test_bad_input_is_a_user_error(x):
    net, pl = one_layer(NeuronParams(model="speck_iaf", threshold=1, state_bits=16), [[1]])
    with pytest.raises(SimulationInputError):
        simulate(net, pl, x)
    assert issubclass(SimulationInputError, UserError)


@pytest.mark.parametrize(("stride", "padding"), [((2, 1), (0, 1)), ((1, 2), (1, 0))])
def test_conv_kernel_with_two_input_channels_and_unequal_stride_and_padding_matches_expanded_csr(stride,
                                                                                                  padding):
    """out[co, oy, ox] += w[co, ci, ky, kx] * in[ci, oy * sy + ky - py, ox * sx + kx - px] (inside the
    image), expanded here by hand; the kept kernel must deliver the same, in H and W separately."""
    rng = np.random.default_rng(3)
    (sy, sx), (py, px) = stride, padding
    c_in, c_out, k, h, w_in = 2, 3, 3, 5, 6
    ho, wo = (h + 2 * py - k) // sy + 1, (w_in + 2 * px - k) // sx + 1
    w = rng.integers(-3, 4, (c_out, c_in, k, k))
    n_in, n_out = c_in * h * w_in, c_out * ho * wo
    dense_w = np.zeros((n_in, n_out), np.int64)
    for co in range(c_out):
        for ci in range(c_in):
            for oy in range(ho):
                for ox in range(wo):
                    for ky in range(k):
                        for kx in range(k):
                            iy, ix = oy * sy + ky - py, ox * sx + kx - px
                            if 0 <= iy < h and 0 <= ix < w_in:
                                src, dst = (ci * h + iy) * w_in + ix, (co * ho + oy) * wo + ox
                                dense_w[src, dst] += w[co, ci, ky, kx]
    conv = ConvKernel(w, stride, padding, (c_in, h, w_in), (c_out, ho, wo))
    params = NeuronParams(model="speck_iaf", threshold=3, state_bits=16)
    pops = (Population("in", n_in, (c_in, h, w_in), None, np.zeros(n_in, np.int64)), pop("c", n_out, params))
    empty = Projection("conv", 0, 1, "conv", np.zeros(n_in + 1, np.int64), np.zeros(0, np.int32),
                       np.zeros(0, np.int32), conv=conv)
    kept = ChipNetwork("t", pops, (empty,), 1, 1e-3, True)
    expanded = ChipNetwork("t", pops, (dense("conv", 0, 1, dense_w),), 1, 1e-3, True)
    pl = placement([[-1] * n_in, np.repeat([0, 1, 2], ho * wo)])
    x = (rng.random((10, n_in)) < 0.4).astype(np.uint8)
    a, b = simulate(kept, pl, x), simulate(expanded, pl, x)
    assert a.output_spikes.sum() > 0
    assert np.array_equal(a.output_spikes, b.output_spikes)
    assert np.array_equal(a.synops, b.synops)
