"""chipsim.compile on graphs of one to four neurons, every figure worked out by hand in the comments.

Gains, fixed-point thresholds, biases, decays, kinds and kernel shapes of projections, delays, the notes and
fit violations a user reads: the arithmetic is written beside each expected number, from the NIR equations
in chipsim/compile.py's docstring and the profile YAMLs (numbers copied into the comments). Small graphs
only: ``make mutation`` runs this file once per mutant of chipsim/compile.py.
"""

import dataclasses
import math

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim.compile import CompileError, compile_graph, weight_table
from chipsim.fit import Violation
from chipsim.representable import RepresentationError

LOIHI = hwprofiles.load("loihi")  # 8-bit mantissa x 2^0..7, threshold 17 bits, weight_shift 6, decay 12 bits
SPINNAKER = hwprofiles.load("spinnaker")  # float; resets: zero
GENERIC = hwprofiles.load("generic-45nm")  # float; resets: zero, subtract
TRUENORTH = hwprofiles.load("truenorth")  # 9-bit signed, axon types, no leak, no current; zero|subtract
XYLO = hwprofiles.load("xylo-audio2")  # 8-bit signed symmetric, 16-bit state and threshold, shifts; subtract
SPECK = hwprofiles.load("speck")  # 8-bit signed, IAF; subtract|zero, default subtract


def graph(nodes: dict, edges: list) -> nir.NIRGraph:
    return nir.NIRGraph(nodes, edges, type_check=False)


def line(*ops, n_in, n_out=1) -> nir.NIRGraph:
    """input -> ops... -> output, the nodes named a, b, c, ..."""
    names = [chr(ord("a") + i) for i in range(len(ops))]
    nodes = {"input": nir.Input(np.atleast_1d(n_in)), **dict(zip(names, ops, strict=True)),
             "output": nir.Output(np.array([n_out]))}
    path = ["input", *names, "output"]
    return graph(nodes, list(zip(path, path[1:], strict=False)))


def lif(n=1, tau=2.0, r=1.0, v_leak=0.0, threshold=1.0, **more) -> nir.LIF:
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.full(n, v_leak),
                   v_threshold=np.full(n, threshold), **more)


def cuba(n=1, tau_syn=2.0, tau_mem=4.0, r=1.0, w_in=1.0, threshold=1.0, **more) -> nir.CubaLIF:
    return nir.CubaLIF(tau_syn=np.full(n, tau_syn), tau_mem=np.full(n, tau_mem), r=np.full(n, r),
                       v_leak=np.zeros(n), v_threshold=np.full(n, threshold), w_in=np.full(n, w_in), **more)


def if_(n=1, threshold=1.0, r=1.0, **more) -> nir.IF:
    shape = n if isinstance(n, tuple) else (n,)
    return nir.IF(r=np.full(shape, r), v_threshold=np.full(shape, threshold), **more)


def dense(w, b=None):
    w = np.asarray(w, float)
    return nir.Linear(w) if b is None else nir.Affine(w, np.asarray(b, float))


def by_post(proj) -> list[list]:
    """The projection's weights as a [post][pre] list (0 where no synapse)."""
    n_pre = proj.indptr.size - 1
    out = [[0] * n_pre for _ in range(int(proj.targets.max(initial=-1)) + 1)]
    for pre in range(n_pre):
        for k in range(proj.indptr[pre], proj.indptr[pre + 1]):
            out[proj.targets[k]][pre] = proj.weights[k].item()
    return out


def with_neuron(profile, **changes):
    return dataclasses.replace(profile, neuron=dataclasses.replace(profile.neuron, **changes))


def with_core(profile, **changes):
    return dataclasses.replace(profile, core=dataclasses.replace(profile.core, **changes))


# ---------------------------------------------------------------- gains, thresholds, biases (Xylo)


def test_xylo_lif_euler_gain_threshold_bias_and_leak_by_hand():
    # LIF tau 2 s, r 2, v_leak 0.5, threshold 3, dt 0.5 s, euler: input gain dt/tau = 0.25, weight gain
    # 0.25 * r = 0.5. Effective weights 1 * 0.5 = 0.5 and -0.5 * 0.5 = -0.25; 8-bit signed: scale 0.5 / 127.
    # Integers: 127 and -63.5 -> -64 (half to even). Threshold 3 / scale = 762 exactly; Xylo compares >=:
    # 762 + 1 = 763. Bias: 0.5 * b (0.25) + 0.25 * v_leak (0.5) = 0.25 -> 0.25 / scale = 63.5 -> 64.
    g = line(dense([[1.0, -0.5]], [0.25]), lif(tau=2.0, r=2.0, v_leak=0.5, threshold=3.0), n_in=2)
    net = compile_graph(g, XYLO, dt_s=0.5)
    pop, proj, quant = net.populations[1], net.projections[0], net.quantization[0]
    assert quant.scale == pytest.approx(0.5 / 127, rel=1e-12)
    assert by_post(proj) == [[127, -64]]
    assert pop.params.threshold == 763
    assert pop.bias.tolist() == [64]
    # Xylo: dv = round(log2(tau / dt)) = log2(4) = 2; a LIF has no current shift
    assert (pop.params.decay_v, pop.params.decay_u) == (2, 0)
    assert (pop.params.model, pop.params.state_bits, pop.params.decay_bits) == ("xylo_shift", 16, 8)
    assert (pop.params.current_bits, pop.params.weight_shift) == (16, 0)
    # NIR resets to zero; Xylo only subtracts: the chip's reset, and a note that says so
    assert pop.params.reset == "subtract"
    assert net.notes == ("b: NIR resets to zero; xylo-audio2 only resets by 'subtract'",)
    assert net.violations == ()
    # the rounding error: -64 * scale = -0.251969 against -0.25 (0 for 127): in NIR units before the gain
    err = (64 * 0.5 / 127 - 0.25) / 0.5
    assert quant.max_abs_error == pytest.approx(err, rel=1e-9)
    assert quant.rmse == pytest.approx(math.sqrt(err**2 / 2), rel=1e-9)
    assert (quant.bits, quant.distinct_values, quant.exponent) == (8, 2, None)


def test_xylo_lif_exact_integrator_gain_by_hand():
    # exact: input gain 1 - exp(-dt/tau) = 1 - exp(-0.25) = 0.2211992; weight gain x r 2 = 0.4423984.
    # scale 0.4423984 / 127; threshold 3 / scale = 861.2 -> 861, +1 for >= : 862.
    # Bias: 0.4423984 * 0.25 + 0.2211992 * 0.5 = 0.2211992 -> / scale = 63.5 -> 64.
    g = line(dense([[1.0, -0.5]], [0.25]), lif(tau=2.0, r=2.0, v_leak=0.5, threshold=3.0), n_in=2)
    net = compile_graph(g, XYLO, dt_s=0.5, integrator="exact")
    gain = 2 * (1 - math.exp(-0.25))
    assert net.quantization[0].scale == pytest.approx(gain / 127, rel=1e-12)
    assert net.populations[1].params.threshold == math.floor(3 / (gain / 127)) + 1 == 862
    assert net.populations[1].bias.tolist() == [64]
    assert by_post(net.projections[0]) == [[127, -64]]


def test_an_if_takes_dt_times_r_and_has_no_leak_to_drop():
    # IF r 3, dt 0.25: gain dt * r = 0.75; weight 2 -> 1.5, scale 1.5 / 127; threshold 6 / scale = 508 -> 509
    g = line(dense([[2.0]]), if_(threshold=6.0, r=3.0), n_in=1)
    net = compile_graph(g, XYLO, dt_s=0.25)
    assert net.quantization[0].scale == pytest.approx(1.5 / 127, rel=1e-12)
    assert net.populations[1].params.threshold == 509
    # an IF never leaks: the largest shift (min(2^8 - 1, 16) = 16), and no note about a dropped leak
    assert net.populations[1].params.decay_v == 16
    on_truenorth = compile_graph(g, TRUENORTH, dt_s=0.25)
    assert not any("leak" in note for note in on_truenorth.notes)


def test_xylo_cubalif_shifts_and_gain_by_hand():
    # CubaLIF tau_syn 4, tau_mem 8, r 2, w_in 3, dt 1, euler: g_v = 1/8 * 2 = 0.25, its DC gain x w_in
    # = 0.75, into the current x dt/tau_syn = 0.1875. Weight 1 -> scale 0.1875 / 127; threshold 3:
    # 3 / scale = 2032 -> 2033. Shifts: du = log2(4) = 2, dv = log2(8) = 3. Bias gain 0.75: 0.5 b -> 0.375
    # / scale = 254.
    g = line(dense([[1.0]], [0.5]), cuba(tau_syn=4.0, tau_mem=8.0, r=2.0, w_in=3.0, threshold=3.0), n_in=1)
    net = compile_graph(g, XYLO, dt_s=1.0)
    pop = net.populations[1]
    assert net.quantization[0].scale == pytest.approx(0.1875 / 127, rel=1e-12)
    assert pop.params.threshold == 2033
    assert (pop.params.decay_u, pop.params.decay_v) == (2, 3)
    assert pop.bias.tolist() == [254]


def test_a_shift_is_capped_by_the_state_or_the_decay_register():
    # tau_mem 2^20 dt: log2 = 20 > min(2^8 - 1, 16) = 16; with 3 decay bits the cap is 2^3 - 1 = 7
    g = line(dense([[1.0]]), lif(tau=2.0**20, threshold=1e-7), n_in=1)
    assert compile_graph(g, XYLO, dt_s=1.0).populations[1].params.decay_v == 16
    three = with_neuron(XYLO, decay_bits=3)
    assert compile_graph(g, three, dt_s=1.0).populations[1].params.decay_v == 7


def test_a_bias_past_the_state_is_clipped_and_counted_in_the_note():
    # IF r 1, dt 1: gain 1; weights 1, scale 1/127; biases 300 and -300 -> +-38100 LSBs past +-32767 / -32768
    g = line(dense([[1.0], [1.0]], [300.0, -300.0]), if_(2), n_in=1, n_out=2)
    net = compile_graph(g, XYLO, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [32767, -32768]
    assert "b: 2 bias values clipped to 16-bit state" in net.notes


def test_the_threshold_mantissa_without_threshold_bits_is_the_state_range_over_the_weight_shift():
    # Loihi with threshold_bits null: (2^(24-1) - 1) >> 6 = 131071. Integer weights on the grid keep scale 1,
    # so a threshold of 131071 is the mantissa 131071 (strict >), and 131072 is one past the top
    untopped = with_neuron(LOIHI, threshold_bits=None)
    net = compile_graph(line(dense([[1.0]]), if_(threshold=131071.0), n_in=1), untopped, dt_s=1.0)
    assert net.populations[1].params.threshold == 131071
    with pytest.raises(RepresentationError, match=r"^node 'b': threshold 131072 is 131072 weight LSBs; loihi "
                       r"holds threshold mantissas 0\.\.131071 \(the weights would need a coarser scale\)$"):
        compile_graph(line(dense([[1.0]]), if_(threshold=131072.0), n_in=1), untopped, dt_s=1.0)
    # Xylo with threshold_bits null: (2^15 - 1) >> 0 = 32767; weight 1 at scale 1/127, threshold 258 is
    # 32766 LSBs -> >= : 32767, the top; 259 is 32893 LSBs, past it
    xylo = with_neuron(XYLO, threshold_bits=None)
    net = compile_graph(line(dense([[1.0]]), if_(threshold=258.0), n_in=1), xylo, dt_s=1.0)
    assert net.populations[1].params.threshold == 32767
    with pytest.raises(RepresentationError, match=r"^node 'b': threshold 259 is 32893 weight LSBs; "
                       r"xylo-audio2 holds threshold mantissas 0\.\.32767 "):
        compile_graph(line(dense([[1.0]]), if_(threshold=259.0), n_in=1), xylo, dt_s=1.0)


def test_defaults_where_a_profile_leaves_state_and_decay_bits_out():
    # state_bits null -> 16, decay_bits null -> 12 (Loihi: dv of tau 4, dt 1 = round(4096 * 0.25) = 1024);
    # weight 4 x gain 1/4 = 1, an integer: scale 1, so threshold 1 is mantissa 1, 1 << 6 within 16 bits
    loihi = with_neuron(LOIHI, state_bits=None, decay_bits=None)
    net = compile_graph(line(dense([[4.0]]), lif(tau=4.0), n_in=1), loihi, dt_s=1.0)
    p = net.populations[1].params
    assert (p.state_bits, p.decay_bits, p.decay_v, p.decay_u) == (16, 12, 1024, 4095)
    loihi8 = with_neuron(LOIHI, decay_bits=8)  # 2^8 * 0.25 = 64; a LIF's current register: 2^8 - 1
    p = compile_graph(line(dense([[4.0]]), lif(tau=4.0), n_in=1), loihi8, dt_s=1.0).populations[1].params
    assert (p.decay_bits, p.decay_v, p.decay_u) == (8, 64, 255)


def test_weight_bits_null_means_eight():
    # a symmetric 8-bit default: weight 1 -> 127
    xylo = with_core(XYLO, weight_bits=None)
    net = compile_graph(line(dense([[1.0, 0.5]]), if_(threshold=10.0), n_in=2), xylo, dt_s=1.0)
    assert (net.quantization[0].bits, by_post(net.projections[0])) == (8, [[127, 64]])


def test_unsigned_weights_use_the_whole_range():
    # 8-bit unsigned: top 255; weight 1 -> 255, 0.5 -> 127.5 -> 128 (half to even)
    xylo = with_core(XYLO, weight_signed=False)
    net = compile_graph(line(dense([[1.0, 0.5]]), if_(threshold=10.0), n_in=2), xylo, dt_s=1.0)
    assert by_post(net.projections[0]) == [[255, 128]]


# ---------------------------------------------------------------- Loihi


def test_loihi_lif_decays_euler_exact_and_clipped():
    # LIF tau 4, dt 1: euler retention 0.75 -> dv = round(4096 * 0.25) = 1024; exact 1 - exp(-0.25) =
    # 0.2211992 -> round(906.03) = 906. A LIF has no current: du = 2^12 - 1 = 4095 (u forgets every step)
    g = line(dense([[1.0]]), lif(tau=4.0), n_in=1)
    p = compile_graph(g, LOIHI, dt_s=1.0).populations[1].params
    assert (p.decay_v, p.decay_u) == (1024, 4095)
    assert compile_graph(g, LOIHI, dt_s=1.0, integrator="exact").populations[1].params.decay_v == 906
    assert (p.model, p.state_bits, p.current_bits, p.decay_bits, p.weight_shift) == ("loihi_cuba", 24, 24, 12,
                                                                                       6)
    # tau 0.5 = dt / 2: euler retention max(0, 1 - 2) = 0, so dv = 4096, one past the 12-bit register
    net = compile_graph(line(dense([[1.0]]), lif(tau=0.5), n_in=1), LOIHI, dt_s=1.0)
    assert net.populations[1].params.decay_v == 4095
    assert net.notes == ("b: voltage decay 4096 (forget every step) clipped to the register's 4095",)
    # tau 1 = dt: euler retention 0 too; exact exp(-1): round(4096 * 0.6321206) = 2589, in range, no note
    net = compile_graph(line(dense([[1.0]]), lif(tau=1.0), n_in=1), LOIHI, dt_s=1.0, integrator="exact")
    assert (net.populations[1].params.decay_v, net.notes) == (2589, ())


def test_loihi_cubalif_decays_gain_and_bias_by_hand():
    # CubaLIF tau_syn 2, tau_mem 4, r 2, w_in 3, dt 1: du register = round(4096 * 0.5) - 1 = 2047; dv = 1024.
    # g_v = 1/4 * 2 = 0.5, DC gain x w_in 3 = 1.5, weight gain x dt/tau_syn = 0.75. Weights 2, 1 -> 1.5,
    # 0.75 (one sign: mantissa top 255): scale 1.5 / 255; mantissas 255 and 127.5 -> 128.
    # Bias: DC gain 1.5 x b 0.5 = 0.75 -> / scale = 127.5 -> x 2^6 (Loihi's weight shift) = 8160.
    # Threshold 3 / scale = 510 (strict >): 510.
    neuron = cuba(tau_syn=2.0, tau_mem=4.0, r=2.0, w_in=3.0, threshold=3.0)
    g = line(dense([[2.0, 1.0]], [0.5]), neuron, n_in=2)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    pop, quant = net.populations[1], net.quantization[0]
    assert (pop.params.decay_u, pop.params.decay_v) == (2047, 1024)
    assert quant.scale == pytest.approx(1.5 / 255, rel=1e-12) and quant.exponent == 0
    assert by_post(net.projections[0]) == [[255, 128]]
    assert pop.bias.tolist() == [8160]
    assert pop.params.threshold == 510


@pytest.mark.parametrize("tau_syn, du", [(1e9, 0), (0.25, 4095)])
def test_loihi_current_decay_is_held_in_its_register(tau_syn, du):
    # tau_syn 1e9 s: round(4096 * 1e-9) - 1 = -1 -> 0; tau_syn 0.25: 4096 - 1 = 4095 (the top), kept
    g = line(dense([[1.0]]), cuba(tau_syn=tau_syn, tau_mem=4.0), n_in=1)
    assert compile_graph(g, LOIHI, dt_s=1.0).populations[1].params.decay_u == du


def test_loihi_threshold_floors_the_scale_and_small_weights_take_negative_exponents():
    # IF, dt 1, r 1: weights 0.5 and 0.25 (one sign). The weights alone would take scale 0.5 / 255; the
    # threshold 131071 * 4 must fit Loihi's 17-bit mantissa (top 131071): the scale is at least 4. At 4 the
    # largest weight needs 0.5 / 4 / 255 = 2^-11 of the mantissa: exponent -8 (weight_exponent_min) is the
    # finest allowed: mantissas 0.5 / 4 * 256 = 32, 0.25 / 4 * 256 = 16; the sum is shifted by 8.
    g = line(dense([[0.5, 0.25]]), if_(threshold=4 * 131071.0), n_in=2)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert net.quantization[0].scale == 4.0 and net.quantization[0].exponent == -8
    assert by_post(net.projections[0]) == [[32, 16]] and net.projections[0].input_shift == 8
    # with weight_exponent_min 3 (> 0) the exponents start at 0 still: min(3, 0)
    floor0 = with_core(LOIHI, weight_exponent_min=3)
    net = compile_graph(g, floor0, dt_s=1.0)
    assert net.quantization[0].exponent == 0 and net.projections[0].input_shift == 0
    # an infinite threshold (never fires) sets no floor: weight 0.5 on 255 at exponent 0, on a float chip
    # only; on Loihi a threshold that is not finite is refused earlier, so floor the other way: threshold 0
    net = compile_graph(line(dense([[0.5, 0.25]]), if_(threshold=0.0), n_in=2), LOIHI, dt_s=1.0)
    assert net.quantization[0].scale == pytest.approx(0.5 / 255, rel=1e-12)
    assert by_post(net.projections[0]) == [[255, 128]] and net.populations[1].params.threshold == 0


def test_loihi_without_threshold_bits_sets_no_scale_floor():
    # no threshold_bits: no floor from the threshold; weight 0.5, 0.25 -> scale 0.5 / 255, exponent 0
    untopped = with_neuron(LOIHI, threshold_bits=None)
    net = compile_graph(line(dense([[0.5, 0.25]]), if_(threshold=1.0), n_in=2), untopped, dt_s=1.0)
    assert net.quantization[0].scale == pytest.approx(0.5 / 255, rel=1e-12)
    assert net.quantization[0].exponent == 0


def test_loihi_integer_weights_off_its_mantissa_keep_scale_one_with_an_exponent():
    # integers 510 = 255 x 2 and 2: on the grid at exponent 1 (mantissas 255, 1): scale 1, stored 510 and 2
    g = line(dense([[510.0, 2.0]]), if_(threshold=1000.0), n_in=2)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert (net.quantization[0].scale, net.quantization[0].exponent) == (1.0, 1)
    assert by_post(net.projections[0]) == [[510, 2]] and net.populations[1].params.threshold == 1000
    # integers are a graph quantized already; Loihi holds these, so no violation and no note
    assert (net.violations, net.notes) == ((), ())


def test_the_weight_format_of_another_chip_kind_is_symmetric():
    # Loihi's mantissa x exponent format needs a loihi_cuba neuron: with the Xylo neuron it is plain 8-bit
    mixed = dataclasses.replace(XYLO, core=LOIHI.core)
    net = compile_graph(line(dense([[1.0, 0.5]]), if_(threshold=10.0), n_in=2), mixed, dt_s=1.0)
    assert by_post(net.projections[0]) == [[127, 64]] and net.quantization[0].exponent is None
    # and with no exponent range Loihi's own neuron takes the plain format too
    plain = with_core(LOIHI, weight_exponent_max=None)
    net = compile_graph(line(dense([[1.0, 0.5]]), if_(threshold=10.0), n_in=2), plain, dt_s=1.0)
    assert by_post(net.projections[0]) == [[127, 64]] and net.quantization[0].exponent is None


# ---------------------------------------------------------------- chips without a leak or a current


def test_truenorth_drops_the_leak_and_the_current_and_says_so():
    # CubaLIF tau_syn 2, tau_mem 4, r 1, w_in 1, dt 1: TrueNorth has neither; the weights take the DC gain
    # g_v * w_in = 1/4 = 0.25 (no dt/tau_syn factor). Weight 1 -> 0.25; 9-bit signed: scale 0.25 / 255;
    # threshold 1 / scale = 1020 -> >= : 1021. Retention dropped: 1 - 1/4 = 0.75.
    g = line(dense([[1.0]]), cuba(tau_syn=2.0, tau_mem=4.0), n_in=1)
    net = compile_graph(g, TRUENORTH, dt_s=1.0)
    pop = net.populations[1]
    assert net.quantization[0].scale == pytest.approx(0.25 / 255, rel=1e-12)
    assert pop.params.threshold == 1021
    assert (pop.params.decay_u, pop.params.decay_v) == (0, 0)
    assert net.notes == ("b: truenorth_lif has no multiplicative leak; dropped retention 0.75/step",
                         "b: truenorth_lif has no synaptic current; CubaLIF input taken at its DC gain")
    exact = compile_graph(g, TRUENORTH, dt_s=1.0, integrator="exact")
    assert exact.notes[0] == "b: truenorth_lif has no multiplicative leak; dropped retention 0.778801/step"


def test_speck_resets_as_the_graph_asks_and_subtracts_by_default_where_nir_says_zero():
    g = line(dense([[1.0]]), if_(), n_in=1)
    net = compile_graph(g, SPECK, dt_s=1.0)
    assert net.populations[1].params.reset == "zero"  # NIR's default, which Speck supports: no note
    assert net.notes == () and net.violations == ()
    for asked in ("zero", "subtract"):
        g = line(dense([[1.0]]), if_(metadata={"reset": asked}), n_in=1)
        net = compile_graph(g, SPECK, dt_s=1.0)
        assert (net.populations[1].params.reset, net.violations) == (asked, ())


def test_a_reset_the_chip_lacks_is_a_fit_violation_and_the_chip_resets_its_way():
    g = line(dense([[1.0]]), if_(metadata={"reset": "subtract"}), n_in=1)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert net.populations[1].params.reset == "zero"
    assert net.violations == (Violation(
        "reset_mode", None, 1, 0, "b",
        "the graph resets by 'subtract'; loihi resets only by zero (simulated with 'zero')"),)
    g = line(dense([[1.0]]), if_(metadata={"reset": "zero"}), n_in=1)
    net = compile_graph(g, XYLO, dt_s=1.0)
    assert net.populations[1].params.reset == "subtract"
    assert [v.detail for v in net.violations] == [
        "the graph resets by 'zero'; xylo-audio2 resets only by subtract (simulated with 'subtract')"]
    assert net.notes == ()  # the violation says it; no second note


def test_multi_spike_neurons_are_a_violation_on_a_chip_and_kept_in_float():
    g = line(dense([[1.0]]), if_(metadata={"spike": "multi"}), n_in=1)
    net = compile_graph(g, XYLO, dt_s=1.0)
    assert net.populations[1].params.spike == "single"
    assert net.violations == (Violation(
        "spike_mode", None, 1, 0, "b",
        "the graph's neurons fire several spikes a step (multi-spike); xylo-audio2 fires one (simulated"
        " single-spike)"),)
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert (net.populations[1].params.spike, net.violations) == ("multi", ())
    g = line(dense([[1.0]]), if_(metadata={"spike": "single"}), n_in=1)
    assert compile_graph(g, XYLO, dt_s=1.0).violations == ()


def test_subtract_after_decay_is_kept_in_float_and_approximated_on_a_chip():
    meta = {"reset": "subtract", "reset_after_decay": True}
    g = line(dense([[1.0]]), lif(metadata=meta), n_in=1)
    net = compile_graph(g, GENERIC, dt_s=1.0)
    p = net.populations[1].params
    assert (p.reset, p.reset_after_decay) == ("subtract", True)
    assert net.notes == ()
    net = compile_graph(g, TRUENORTH, dt_s=1.0)  # LIF tau 2, dt 1: retention 1 - 1/2 dropped too
    assert net.notes == ("node 'b': the graph subtracts the threshold after the next decay (snnTorch's and"
                         " Spyx's order); truenorth subtracts it at the spike (approximated)",
                         "b: truenorth_lif has no multiplicative leak; dropped retention 0.5/step")
    # after a reset to zero the order does not matter: no flag in float, no note on the chip
    g = line(dense([[1.0]]), lif(metadata={"reset": "zero", "reset_after_decay": True}), n_in=1)
    assert compile_graph(g, GENERIC, dt_s=1.0).populations[1].params.reset_after_decay is False
    assert not any("decay" in n for n in compile_graph(g, TRUENORTH, dt_s=1.0).notes)
    g = line(dense([[1.0]]), lif(metadata={"reset": "subtract"}), n_in=1)
    assert compile_graph(g, GENERIC, dt_s=1.0).populations[1].params.reset_after_decay is False


# ---------------------------------------------------------------- float chips


def test_float_neurons_keep_their_parameters_and_fold_per_neuron_r_and_threshold_into_the_weights():
    # r = 1, 2 (reference r[0] = 1: k = 1, 2); thresholds 2, 1 (reference max 2: k x 2/2, 2/1 = 1, 4)
    n = nir.LIF(tau=np.array([0.5, 0.5]), r=np.array([1.0, 2.0]), v_leak=np.array([0.5, 0.25]),
                v_threshold=np.array([2.0, 1.0]))
    g = line(dense([[1.0], [3.0]], [1.0, 1.0]), n, n_in=1, n_out=2)
    net = compile_graph(g, SPINNAKER, dt_s=0.1)
    pop, p = net.populations[1], net.populations[1].params
    assert by_post(net.projections[0]) == [[1.0], [12.0]]  # 3 x 4
    assert pop.bias.tolist() == [1.0, 4.0]
    # v_leak scaled by the thresholds (0.5 x 1, 0.25 x 2) is one value, 0.5
    assert (p.model, p.threshold, p.r, p.v_leak) == ("float_lif", 2.0, 1.0, 0.5)
    assert (p.tau_mem_s, p.w_in) == (0.5, 1.0)
    assert (p.tau_syn_s, p.v_reset, p.reset, p.integrator) == (0.0, 0.0, "zero", "euler")
    assert net.quantization[0].distinct_values == 2 and net.quantization[0].bits is None


def test_float_cubalif_keeps_both_taus_and_per_neuron_ones():
    c = nir.CubaLIF(tau_syn=np.array([1.0, 2.0]), tau_mem=np.array([3.0, 4.0]), r=np.ones(2),
                    v_leak=np.zeros(2), v_threshold=np.ones(2), w_in=np.array([2.0, 4.0]))
    net = compile_graph(line(dense([[1.0], [1.0]]), c, n_in=1, n_out=2), SPINNAKER, dt_s=0.1,
                        integrator="exact")
    p = net.populations[1].params
    assert (p.tau_syn_s, p.tau_mem_s, p.w_in, p.integrator) == (1.0, 3.0, 2.0, "exact")
    assert p.tau_syn_per_neuron_s.tolist() == [1.0, 2.0] and p.tau_mem_per_neuron_s.tolist() == [3.0, 4.0]
    assert by_post(net.projections[0]) == [[1.0], [2.0]]  # w_in 4 / reference 2
    # a LIF has no current: no per-neuron tau_syn even where its taus differ
    n = nir.LIF(tau=np.array([1.0, 2.0]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    net = compile_graph(line(dense([[1.0], [1.0]]), n, n_in=1, n_out=2), SPINNAKER, dt_s=0.1)
    p = net.populations[1].params
    assert p.tau_syn_per_neuron_s is None and p.tau_mem_per_neuron_s.tolist() == [1.0, 2.0]
    assert p.tau_syn_s == 0.0


def test_zero_reference_r_or_w_in_leave_the_weights_unscaled():
    n = nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.array([0.0, 2.0]), v_leak=np.zeros(2),
                    v_threshold=np.ones(2), w_in=np.array([0.0, 3.0]))
    net = compile_graph(line(dense([[1.0], [1.0]]), n, n_in=1, n_out=2), SPINNAKER, dt_s=0.1)
    assert by_post(net.projections[0]) == [[1.0], [1.0]]


def test_a_float_chip_keeps_a_conv_kernel_times_the_neurons_factor():
    w = np.array([[[[1.0, 0.0], [2.0, 1.0]]]])  # 1 x 1 x 2 x 2
    c = nir.Conv2d(input_shape=(3, 3), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    n = nir.IF(r=np.full((1, 2, 2), 2.0), v_threshold=np.ones((1, 2, 2)))
    spinnaker = with_core(SPINNAKER, synapse_encoding_bits={"sparse": 32, "conv": 8})
    net = compile_graph(line(c, n, n_in=[1, 3, 3]), spinnaker, dt_s=1.0)
    proj = net.projections[0]
    assert proj.conv.weight.tolist() == w.tolist()  # every neuron's factor k is 1 (r equal)
    assert proj.targets.size == 0 and proj.indptr.tolist() == [0] * 10
    assert net.quantization[0].distinct_values == 2  # 1 and 2 (0 is no synapse)
    assert proj.kernel_shape == (1, 1, 2, 2) and proj.kind == "conv"


# ---------------------------------------------------------------- projections


def test_biases_pass_through_the_rest_of_the_chain_and_a_shared_tail_counts_once():
    # input -> A (bias 1, 2) -> L [1, 3] -> n: n's bias 1 x 1 + 3 x 2 = 7, weight 1 + 3 = 4
    g = line(dense([[1.0], [1.0]], [1.0, 2.0]), dense([[1.0, 3.0]]), if_(), n_in=1)
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [7.0] and by_post(net.projections[0]) == [[4.0]]
    # input -> w1 -> S (bias 0.5), input -> w2 -> S: two paths, one projection, S's bias once
    g = graph({"input": nir.Input(np.array([1])), "w1": dense([[1.0]]), "w2": dense([[2.0]]),
               "s": dense([[1.0]], [0.5]), "n": if_(), "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("input", "w2"), ("w1", "s"), ("w2", "s"), ("s", "n"), ("n", "output")])
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [0.5] and by_post(net.projections[0]) == [[3.0]]
    assert [p.name for p in net.projections] == ["input->n"]


def test_a_scalar_bias_fills_the_layer_and_a_zero_bias_is_none():
    g = line(dense([[1.0], [1.0]], [0.5]), if_(2), n_in=1, n_out=2)
    g.nodes["a"].bias = np.array([0.5])
    assert compile_graph(g, SPINNAKER, dt_s=1.0).populations[1].bias.tolist() == [0.5, 0.5]
    g.nodes["a"].bias = np.zeros(3)  # zeros of any size: no bias at all (not a size error)
    assert compile_graph(g, SPINNAKER, dt_s=1.0).populations[1].bias.tolist() == [0.0, 0.0]


def test_a_conv_bias_per_channel_repeats_over_the_channels_pixels():
    w = np.ones((2, 1, 2, 2))
    c = nir.Conv2d(input_shape=(2, 3), weight=w, stride=1, padding=0, dilation=1, groups=1,
                   bias=np.array([1.0, -2.0]))
    net = compile_graph(line(c, if_((2, 1, 2)), n_in=[1, 2, 3]), SPINNAKER, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [1.0, 1.0, -2.0, -2.0]
    c.bias = np.array([1.0, 2.0, 3.0, 4.0])  # one per output: taken as it is
    net = compile_graph(line(c, if_((2, 1, 2)), n_in=[1, 2, 3]), SPINNAKER, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [1.0, 2.0, 3.0, 4.0]


def kinds_and_shapes(net):
    return [(p.name, p.kind, p.kernel_shape) for p in net.projections]


def test_each_projection_kind_and_kernel_shape():
    flat = nir.Flatten({"input": np.array([1, 2, 2])})
    c = nir.Conv2d(input_shape=(3, 3), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    c2 = nir.Conv2d(input_shape=(2, 2), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
                    groups=1, bias=np.zeros(1))
    p = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]), padding=np.array([0, 0]))
    cases = [
        (line(dense([[1.0, 2.0]]), if_(), n_in=2), ("dense", (1, 2, 1, 1))),
        (line(c, if_((1, 2, 2)), n_in=[1, 3, 3]), ("conv", (1, 1, 2, 2))),
        (line(c, flat, dense(np.ones((1, 4))), if_(), n_in=[1, 3, 3]), ("conv", (1, 1, 2, 2))),
        (line(c, c2, if_((1, 1, 1)), n_in=[1, 3, 3]), ("conv", None)),
        (line(p, if_((1, 2, 2)), n_in=[1, 3, 3]), ("sumpool", None)),
        (line(p, flat, dense(np.ones((1, 4))), if_(), n_in=[1, 3, 3]), ("dense", (1, 9, 1, 1))),
        (line(flat, if_(4), n_in=[1, 2, 2], n_out=4), ("sparse", None)),
    ]
    for g, (kind, shape) in cases:
        net = compile_graph(g, SPINNAKER, dt_s=1.0)
        [(_, got_kind, got_shape)] = kinds_and_shapes(net)
        assert (got_kind, got_shape) == (kind, shape), g.nodes
    # Flatten alone is the identity: input pixel i -> neuron i, weight 1
    proj = compile_graph(cases[-1][0], SPINNAKER, dt_s=1.0).projections[0]
    assert proj.indptr.tolist() == [0, 1, 2, 3, 4] and proj.targets.tolist() == [0, 1, 2, 3]
    assert proj.weights.tolist() == [1.0] * 4


def test_a_conv_is_kept_only_alone_on_its_path_and_on_a_chip_with_a_conv_encoding():
    c = nir.Conv2d(input_shape=(3, 3), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    g = line(c, if_((1, 2, 2), threshold=10.0), n_in=[1, 3, 3])
    assert compile_graph(g, SPECK, dt_s=1.0).projections[0].conv is not None  # speck: conv encoding
    no_conv = with_core(SPECK, synapse_encoding_bits={"dense": 8})
    proj = compile_graph(g, no_conv, dt_s=1.0).projections[0]
    assert proj.conv is None and proj.indptr.size == 10 and proj.targets.size == 16  # 4 taps x 4 outputs
    # a Flatten before the conv: the conv's input is the flat (9,) read as (1, 3, 3), still one path
    flat = nir.Flatten({"input": np.array([1, 3, 3])})
    g = line(flat, c, if_((1, 2, 2), threshold=10.0), n_in=[1, 3, 3])
    assert compile_graph(g, SPECK, dt_s=1.0).projections[0].conv.in_shape == (1, 3, 3)


def test_a_recurrent_projection_is_named_by_its_ends_and_runs_next_step():
    g = line(dense([[1.0]]), if_(), n_in=1)
    g.nodes["rec"] = dense([[0.5]])
    g.edges += [("b", "rec"), ("rec", "b")]
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert [(p.name, p.pre, p.post, p.kind) for p in net.projections] == [
        ("input->b", 0, 1, "dense"), ("b->b", 1, 1, "recurrent")]
    assert net.projections[1].kernel_shape == (1, 1, 1, 1)  # a dense one: [post, pre, 1, 1]


def test_populations_are_ordered_from_the_input_and_a_back_edge_is_recurrent():
    # input -> w1 -> n1 -> w2 -> n2 -> output, n2 -> w3 -> n1 (a cycle n1 <-> n2)
    g = graph({"input": nir.Input(np.array([1])), "w1": dense([[1.0]]), "n1": if_(), "w2": dense([[1.0]]),
               "n2": if_(), "w3": dense([[1.0]]), "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "n1"), ("n1", "w2"), ("w2", "n2"), ("n2", "w3"), ("w3", "n1"),
               ("n2", "output")])
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert [p.name for p in net.populations] == ["input", "n1", "n2"] and net.output == 2
    assert sorted((p.name, p.kind) for p in net.projections) == [
        ("input->n1", "dense"), ("n1->n2", "dense"), ("n2->n1", "recurrent")]


def test_two_sources_into_one_population_share_its_scale():
    # input -> w1 (1) -> n1; input -> w2 (4) -> n2 ... n1 -> w3 (0.5) -> n2: n2's two projections take
    # one scale, max |w| = 4 over 127; 0.5 -> 15.875 -> 16
    g = graph({"input": nir.Input(np.array([1])), "w1": dense([[1.0]]), "n1": if_(threshold=10.0),
               "w2": dense([[4.0]]), "w3": dense([[0.5]]), "n2": if_(threshold=10.0),
               "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "n1"), ("input", "w2"), ("w2", "n2"), ("n1", "w3"), ("w3", "n2"),
               ("n2", "output")])
    net = compile_graph(g, XYLO, dt_s=1.0)
    into_n2 = {p.name: p.weights.tolist() for p in net.projections if p.post == 2}
    assert into_n2 == {"input->n2": [127], "n1->n2": [16]}
    assert {q.projection: q.scale for q in net.quantization if q.projection.endswith("n2")} == pytest.approx(
        {"input->n2": 4 / 127, "n1->n2": 4 / 127})
    assert net.populations[2].params.threshold == math.floor(10 / (4 / 127)) + 1  # 317 + 1


def test_each_projection_gets_the_chips_delay_plus_its_delay_nodes():
    # truenorth: 1 step of synaptic delay; a Delay of 2 s at dt 0.5 s is 4 steps more
    g = line(dense([[1.0]]), nir.Delay(np.array([2.0])), if_(), n_in=1)
    assert compile_graph(g, TRUENORTH, dt_s=0.5).projections[0].delay_steps == 5
    # two Delay nodes on one path add up: 1 + 2 + 3
    g = line(dense([[1.0]]), nir.Delay(np.array([2.0])), nir.Delay(np.array([3.0])), if_(), n_in=1)
    assert compile_graph(g, TRUENORTH, dt_s=1.0).projections[0].delay_steps == 6
    # a delay of 0 steps on a chip without programmable delays is its base delay
    g = line(dense([[1.0]]), nir.Delay(np.array([0.0])), if_(), n_in=1)
    assert compile_graph(g, with_neuron(XYLO), dt_s=1.0).projections[0].delay_steps == 0
    assert compile_graph(g, LOIHI, dt_s=1.0).projections[0].delay_steps == 1
    # a per-neuron Delay that is the same for each neuron is one delay
    g = line(dense([[1.0], [1.0]]), nir.Delay(np.array([1.0, 1.0])), if_(2), n_in=1, n_out=2)
    assert compile_graph(g, TRUENORTH, dt_s=1.0).projections[0].delay_steps == 2


def test_delays_past_a_chip_with_no_range_are_refused_and_equal_path_delays_are_one():
    g = graph({"input": nir.Input(np.array([1])), "w1": dense([[1.0]]), "d1": nir.Delay(np.array([2.0])),
               "w2": dense([[1.0]]), "d2": nir.Delay(np.array([2.0])), "n": if_(),
               "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "d1"), ("d1", "n"), ("input", "w2"), ("w2", "d2"), ("d2", "n"),
               ("n", "output")])
    assert compile_graph(g, TRUENORTH, dt_s=1.0).projections[0].delay_steps == 3
    # loihi2: synapse_delay_max_steps null: a delay past the base is refused
    loihi2 = hwprofiles.load("loihi2")
    with pytest.raises(CompileError, match=r"^projection 'input' -> 'n': a delay of 3 steps; loihi2 allows "
                       r"only 1 \(no programmable delay\) \(latency\.synapse_delay_max_steps\)$"):
        compile_graph(g, loihi2, dt_s=1.0)


# ---------------------------------------------------------------- weight tables


def test_weight_table_per_neuron_and_per_layer_by_hand():
    targets, weights = np.array([0, 1, 0, 1, 1]), np.array([5, 3, 5, 7, 3])
    index, table = weight_table(targets, weights, per_target=True)
    # neuron 0 holds {5}, neuron 1 {3, 7}: rows sorted, padded with 0
    assert table.tolist() == [[5, 0], [3, 7]] and index.tolist() == [0, 0, 0, 1, 0]
    assert index.dtype == np.uint16 and table.dtype == weights.dtype
    index, table = weight_table(targets, weights, per_target=False)
    assert table.tolist() == [[3, 5, 7]] and index.tolist() == [1, 0, 1, 2, 0]
    index, table = weight_table(np.array([], np.int32), np.array([], np.int32), per_target=True)
    assert index.shape == (0,) and table.shape == (0, 0)
    assert (index.dtype, table.dtype) == (np.uint16, np.int32)
    index, table = weight_table(np.array([2]), np.array([-4]), per_target=True)
    assert table.tolist() == [[0], [0], [-4]] and index.tolist() == [0]


@pytest.mark.parametrize("scope, table, index", [
    ("layer", [[-64, 32, 127]], [2, 2, 0, 1]),  # one row for the layer
    ("neuron", [[-64, 127], [32, 127]], [1, 1, 0, 0]),  # a row per post neuron
])
def test_a_chip_with_unique_weights_gets_its_table(scope, table, index):
    # weights [post][pre] = [[1, -0.5], [1, 0.25]] at scale 1/127: 127, -64 (half to even), 127, 32 (31.75);
    # the synapses in CSR order (by pre): 127 -> post 0, 127 -> post 1, -64 -> post 0, 32 -> post 1
    chip = with_core(XYLO, unique_weights=4, unique_weights_scope=scope)
    g = line(dense([[1.0, -0.5], [1.0, 0.25]]), if_(2, threshold=10.0), n_in=2, n_out=2)
    proj = compile_graph(g, chip, dt_s=1.0).projections[0]
    assert by_post(proj) == [[127, -64], [127, 32]]
    assert proj.weight_table_scope == scope
    assert proj.weight_table.tolist() == table and proj.weight_index.tolist() == index
    plain = compile_graph(g, XYLO, dt_s=1.0).projections[0]
    assert (plain.weight_table, plain.weight_index, plain.weight_table_scope) == (None, None, None)


def test_a_weight_that_rounds_to_zero_is_no_synapse():
    # 1 and 0.003 at scale 1/127: 0.381 -> 0, dropped; the error counts it (0.003)
    g = line(dense([[1.0, 0.003]]), if_(threshold=10.0), n_in=2)
    net = compile_graph(g, XYLO, dt_s=1.0)
    proj = net.projections[0]
    assert (proj.indptr.tolist(), proj.targets.tolist(), proj.weights.tolist()) == ([0, 1, 1], [0], [127])
    assert net.quantization[0].max_abs_error == pytest.approx(0.003)
    assert net.quantization[0].rmse == pytest.approx(0.003 / math.sqrt(2))


def test_a_conv_kernel_on_a_fixed_point_chip_by_hand():
    # kernel [[1, 0.5], [0, -0.25]], IF r 1 at dt 1: gain 1, scale 1/127: 127, 63.5 -> 64, -31.75 -> -32
    w = np.array([[[[1.0, 0.5], [0.0, -0.25]]]])
    c = nir.Conv2d(input_shape=(3, 3), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2), threshold=10.0), n_in=[1, 3, 3]), SPECK, dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    assert proj.conv.weight.tolist() == [[[[127, 64], [0, -32]]]]
    assert proj.indptr.tolist() == [0] * 10 and proj.targets.size == 0 and proj.weights.size == 0
    assert proj.input_shift == 0 and proj.kernel_shape == (1, 1, 2, 2)
    # errors over the three taps that are synapses: 0, 64/127 - 0.5 = 0.5/127, 0.25 - 32/127 = 0.25/127
    assert quant.max_abs_error == pytest.approx(0.5 / 127)
    assert quant.rmse == pytest.approx(math.sqrt((0.5**2 + 0.25**2) / 3) / 127)
    assert (quant.distinct_values, quant.bits, quant.scale) == (3, 8, pytest.approx(1 / 127))


def test_a_float_conv_kernel_takes_the_neurons_common_factor_and_keeps_its_geometry():
    # thresholds 1, 2, 1, 2 (reference 2: factors 2, 1, 2, 1) and r 1, 2, 1, 2 (reference 1: 1, 2, 1, 2):
    # every neuron's factor k is 2, one value, so the kernel stays a kernel, times 2
    w = np.array([[[[1.0, 0.0], [2.0, -1.0]]]])
    c = nir.Conv2d(input_shape=(3, 3), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    n = nir.IF(r=np.array([1.0, 2.0, 1.0, 2.0]).reshape(1, 2, 2),
               v_threshold=np.array([1.0, 2.0, 1.0, 2.0]).reshape(1, 2, 2))
    spinnaker = with_core(SPINNAKER, synapse_encoding_bits={"sparse": 32, "conv": 8})
    net = compile_graph(line(c, n, n_in=[1, 3, 3]), spinnaker, dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    assert proj.conv.weight.tolist() == (2 * w).tolist()
    assert (proj.conv.stride, proj.conv.padding) == ((1, 1), (0, 0))
    assert (proj.conv.in_shape, proj.conv.out_shape) == ((1, 3, 3), (1, 2, 2))
    assert (proj.name, proj.pre, proj.post, proj.kind, proj.kernel_shape) == ("input->b", 0, 1, "conv",
                                                                              (1, 1, 2, 2))
    assert proj.indptr.tolist() == [0] * 10 and proj.indptr.dtype == np.int64  # 9 inputs + 1
    assert (proj.targets.size, proj.targets.dtype, proj.weights.size) == (0, np.int32, 0)
    assert proj.n_synapses == 3 * 4  # three nonzero taps, each output pixel
    assert quant == dataclasses.replace(quant, projection="input->b", bits=None, scale=1.0, distinct_values=3,
                                        rmse=0.0, max_abs_error=0.0, exponent=None)
    assert net.populations[1].params.threshold == 2.0


def test_a_float_dense_projection_takes_each_neurons_factor():
    # thresholds 1, 2: factors 2, 1; weights [[1], [1]] -> 2, 1; float distinct values 2; nothing lost
    n = if_(2)
    n.v_threshold = np.array([1.0, 2.0])
    net = compile_graph(line(dense([[1.0], [1.0]]), n, n_in=1, n_out=2), SPINNAKER, dt_s=1.0)
    assert by_post(net.projections[0]) == [[2.0], [1.0]]
    q0 = net.quantization[0]
    assert (q0.projection, q0.bits, q0.scale, q0.distinct_values, q0.rmse, q0.max_abs_error) == (
        "input->b", None, 1.0, 2, 0.0, 0.0)


def test_scalar_and_uneven_conv_and_pool_geometry():
    # stride (1, 2), padding (1, 0) on a 3 x 4 input, 2 x 2 kernel: out ((3 + 2 - 2) // 1 + 1,
    # (4 + 0 - 2) // 2 + 1) = (4, 2)
    c = nir.Conv2d(input_shape=(3, 4), weight=np.ones((1, 1, 2, 2)), stride=(1, 2), padding=(1, 0),
                   dilation=1, groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 4, 2), threshold=10.0), n_in=[1, 3, 4]), SPECK, dt_s=1.0)
    kernel = net.projections[0].conv
    assert (kernel.stride, kernel.padding, kernel.out_shape) == ((1, 2), (1, 0), (1, 4, 2))
    # the same conv as a file may hold it: stride and padding as plain numbers
    c.stride, c.padding, c.dilation, c.groups = 2, 1, 1, 1
    # out ((3 + 2 - 2) // 2 + 1, (4 + 2 - 2) // 2 + 1) = (2, 3)
    net = compile_graph(line(c, if_((1, 2, 3), threshold=10.0), n_in=[1, 3, 4]), SPECK, dt_s=1.0)
    assert (net.projections[0].conv.stride, net.projections[0].conv.padding) == ((2, 2), (1, 1))
    assert net.populations[1].shape == (1, 2, 3)
    # a pool of window (1, 2), stride (1, 2), padding (0, 1) on 3 x 4: ((3 - 1) + 1, (4 + 2 - 2) // 2 + 1)
    p = nir.SumPool2d(kernel_size=np.array([1, 2]), stride=np.array([1, 2]), padding=np.array([0, 1]))
    net = compile_graph(line(p, if_((1, 3, 3), threshold=10.0), n_in=[1, 3, 4]), SPECK, dt_s=1.0)
    assert net.populations[1].shape == (1, 3, 3)
    # input row 0 = pixels 0..3; output column j sums input columns 2j - 1 and 2j: pixel 0 -> out 0,
    # 1 -> out 1, 2 -> out 1, 3 -> out 2 (each 1, so the same integer)
    proj = net.projections[0]
    assert proj.targets[:4].tolist() == [0, 1, 1, 2] and proj.indptr[:5].tolist() == [0, 1, 2, 3, 4]
    p = nir.SumPool2d(kernel_size=2, stride=2, padding=0)  # plain numbers
    net = compile_graph(line(p, if_((1, 1, 2), threshold=10.0), n_in=[1, 3, 4]), SPECK, dt_s=1.0)
    assert net.populations[1].shape == (1, 1, 2) and net.projections[0].kind == "sumpool"


def test_truenorth_chooses_axon_types_over_both_projections_into_a_population():
    # n2 hears the input (3 axons, weights 1, 2, 3) and n1 (2 axons, 3 and 5): five axons numbered on, 0..4,
    # weights 1, 2, 3, 3, 5 into one neuron. Four types: the three widest gaps (2 between 3 and 5, 1 and
    # 1) split them into {1} {2} {3, 3} {5}, so every axon keeps its weight. 9-bit signed, scale 5/255:
    # 51, 102, 153, 153, 255.
    g = graph({"input": nir.Input(np.array([3])), "w1": dense(np.ones((2, 3))), "n1": if_(2, threshold=10.0),
               "w2": dense([[3.0, 5.0]]), "w3": dense([[1.0, 2.0, 3.0]]), "n2": if_(threshold=10.0),
               "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "n1"), ("n1", "w2"), ("w2", "n2"), ("input", "w3"), ("w3", "n2"),
               ("n2", "output")])
    net = compile_graph(g, TRUENORTH, dt_s=1.0)
    into = {p.name: p for p in net.projections if p.post == 2}
    assert into["input->n2"].weights.tolist() == [51, 102, 153]
    assert into["n1->n2"].weights.tolist() == [153, 255]
    for p in into.values():
        assert p.weight_table_scope == "neuron"
        assert p.weight_table[p.targets, p.weight_index].tolist() == p.weights.tolist()
        assert p.weight_index.dtype == np.uint16
    # one table for the population: its row holds the four type values
    assert sorted(into["n1->n2"].weight_table[0].tolist()) == [51, 102, 153, 255]
    # the two projections' axons of weight 3 share a type
    assert into["input->n2"].weight_index[2] == into["n1->n2"].weight_index[0]
    quants = {q.projection: q for q in net.quantization if q.projection in into}
    assert {k: (q.rmse, q.max_abs_error, q.distinct_values) for k, q in quants.items()} == {
        "input->n2": (0.0, 0.0, 3), "n1->n2": (0.0, 0.0, 2)}


def test_per_neuron_gains_on_a_fixed_point_chip_scale_each_neurons_weights():
    # thresholds 1, 2 (reference 2: factors 2, 1), IF r 1 at dt 1: effective weights 1 x 2 = 2 and 1 x 1 = 1;
    # scale 2 / 127: 127 and 63.5 -> 64; threshold 2 / scale = 127, >= : 128
    n = if_(2)
    n.v_threshold = np.array([1.0, 2.0])
    net = compile_graph(line(dense([[1.0], [1.0]]), n, n_in=1, n_out=2), XYLO, dt_s=1.0)
    assert by_post(net.projections[0]) == [[127], [64]]
    assert net.populations[1].params.threshold == 128
    # the rounding error in NIR units (divided back by each neuron's gain): neuron 1: 64 x 2/127 - 1
    err = 64 * 2 / 127 - 1
    assert net.quantization[0].max_abs_error == pytest.approx(err)
    assert net.quantization[0].rmse == pytest.approx(err / math.sqrt(2))


def test_a_pool_over_two_channels_keeps_each_channel_to_itself():
    # (2, 2, 2) input, a 2 x 2 pool of stride 2: channel c's four pixels all go to output c
    p = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    net = compile_graph(line(p, if_((2, 1, 1), threshold=10.0), n_in=[2, 2, 2]), SPECK, dt_s=1.0)
    proj = net.projections[0]
    assert proj.indptr.tolist() == list(range(9))
    assert proj.targets.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert proj.weights.tolist() == [127] * 8  # every tap 1: the top integer
    assert proj.kind == "sumpool" and proj.kernel_shape is None


def test_an_all_zero_kernel_compiles_to_no_synapse_and_no_error():
    c = nir.Conv2d(input_shape=(3, 3), weight=np.zeros((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2)), n_in=[1, 3, 3]), SPECK, dt_s=1.0)
    quant = net.quantization[0]
    assert (quant.rmse, quant.max_abs_error, quant.distinct_values, quant.scale) == (0.0, 0.0, 0, 1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[0, 0], [0, 0]]]]
    assert net.projections[0].n_synapses == 0


def test_loihi_sign_modes_by_hand():
    # all negative: inhibitory, mantissas -255..0: -1 -> -255, -0.5 -> -127.5 -> -128 (half to even)
    net = compile_graph(line(dense([[-1.0, -0.5]]), if_(threshold=10.0), n_in=2), LOIHI, dt_s=1.0)
    assert by_post(net.projections[0]) == [[-255, -128]]
    assert net.quantization[0].scale == pytest.approx(1 / 255)
    # a kept kernel whose taps are >= 0 with a zero among them: excitatory (0..255): 1 -> 255, 0.5 -> 128,
    # 0.25 -> 63.75 -> 64 (mixed would give even values up to 254)
    w = np.array([[[[1.0, 0.5], [0.0, 0.25]]]])
    c = nir.Conv2d(input_shape=(3, 3), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2), threshold=10.0), n_in=[1, 3, 3]), LOIHI, dt_s=1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[255, 128], [0, 64]]]]
    # a kept kernel of both signs: mixed, even values: 1 -> 254, -0.5 -> -127 -> -128, 0.25 -> 63.5 -> 64
    w = np.array([[[[1.0, -0.5], [0.0, 0.25]]]])
    c.weight = w
    net = compile_graph(line(c, if_((1, 2, 2), threshold=10.0), n_in=[1, 3, 3]), LOIHI, dt_s=1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[254, -128], [0, 64]]]]
    assert net.quantization[0].scale == pytest.approx(1 / 254)


def test_speck_compares_at_or_above_its_threshold():
    # IF r 1, dt 1: weight 1 -> 127 at scale 1/127; threshold 1 = 127 LSBs; v >= th: 128
    net = compile_graph(line(dense([[1.0]]), if_(threshold=1.0), n_in=1), SPECK, dt_s=1.0)
    assert net.populations[1].params.threshold == 128
    assert net.populations[1].params.model == "speck_iaf"


def test_neurons_with_r_zero_take_no_input_and_lose_nothing():
    # r 0: gain dt * r = 0, every effective weight 0: scale 1, no stored synapse, no error
    net = compile_graph(line(dense([[1.0, 0.5]]), if_(r=0.0), n_in=2), XYLO, dt_s=1.0)
    assert net.projections[0].n_synapses == 0
    q0 = net.quantization[0]
    assert (q0.scale, q0.rmse, q0.max_abs_error, q0.distinct_values) == (1.0, 0.0, 0.0, 0)
    c = nir.Conv2d(input_shape=(3, 3), weight=np.ones((1, 1, 2, 2)), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2), r=0.0), n_in=[1, 3, 3]), SPECK, dt_s=1.0)
    q0 = net.quantization[0]
    assert (q0.scale, q0.rmse, q0.max_abs_error, q0.distinct_values) == (1.0, 0.0, 0.0, 0)


def test_a_kept_kernel_on_loihi_is_a_projection_of_integer_arrays_with_its_name_and_exponent():
    # IF r 2 at dt 1: gain 2; kernel [[2, 1], [0, -0.5]] -> effective 4, 2, 0, -1; mixed: scale 4 / 254;
    # mantissas 254, 127 -> 128 (even), 0, -63.5 -> -64 (2 x rint(-31.75) = -64)
    w = np.array([[[[2.0, 1.0], [0.0, -0.5]]]])
    c = nir.Conv2d(input_shape=(3, 3), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2), r=2.0, threshold=100.0), n_in=[1, 3, 3]), LOIHI, dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    assert proj.conv.weight.tolist() == [[[[254, 128], [0, -64]]]]
    assert (proj.indptr.dtype, proj.targets.dtype, proj.weights.dtype) == (np.int64, np.int32, np.int32)
    assert proj.indptr.tolist() == [0] * 10 and proj.input_shift == 0
    assert (quant.projection, quant.exponent, quant.bits, quant.distinct_values) == ("input->b", 0, 8, 3)
    # errors in NIR units over the three nonzero taps: back = mantissa x scale / gain 2
    lsb = 4 / 254
    errs = [254 * lsb / 2 - 2, 128 * lsb / 2 - 1, -64 * lsb / 2 + 0.5]
    assert quant.max_abs_error == pytest.approx(max(abs(e) for e in errs))
    assert quant.rmse == pytest.approx(math.sqrt(sum(e * e for e in errs) / 3))


def test_loihi_exact_cubalif_current_decay():
    # exact: du register = round(4096 * (1 - exp(-1/2))) - 1 = round(1611.7) - 1 = 1611
    g = line(dense([[1.0]]), cuba(tau_syn=2.0, tau_mem=4.0), n_in=1)
    assert compile_graph(g, LOIHI, dt_s=1.0, integrator="exact").populations[1].params.decay_u == 1611


def test_a_voltage_decay_of_exactly_the_registers_top_is_no_clip():
    # euler, tau = 4096/4095 dt: retention 1 - 4095/4096 = 1/4096, dv = round(4096 x 4095/4096) = 4095
    net = compile_graph(line(dense([[1.0]]), lif(tau=4096 / 4095), n_in=1), LOIHI, dt_s=1.0)
    assert (net.populations[1].params.decay_v, net.notes) == (4095, ())


def test_truenorth_with_per_neuron_gains_and_a_weight_that_rounds_to_zero():
    # thresholds 1, 2 (reference 2: factors 2, 1); weights [post][pre] [[1, 0.001], [1, 1]]: effective
    # [[2, 0.002], [1, 1]]; 9-bit signed: scale 2/255; 2 -> 255, 0.002 -> 0.255 -> 0 (no synapse), 1 -> 127.5.
    # Axon types (4 > 2 axons: each axon its own type): the type value of axon 0 for neuron 1 is 127.5 ->
    # 128 (half to even); axon 1 for neuron 1: 128.
    n = if_(2, threshold=10.0)
    n.v_threshold = np.array([1.0, 2.0])
    net = compile_graph(line(dense([[1.0, 0.001], [1.0, 1.0]]), n, n_in=2, n_out=2), TRUENORTH, dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    assert by_post(proj) == [[255, 0], [128, 128]]
    assert proj.indptr.tolist() == [0, 2, 3] and proj.targets.tolist() == [0, 1, 1]
    assert proj.weight_table[proj.targets, proj.weight_index].tolist() == proj.weights.tolist()
    assert proj.weight_index.dtype == np.uint16 and proj.weight_index.size == 3
    # errors in NIR units (divided back by each neuron's gain 2, 1): 0.001 lost; 128 x 2/255 - 1 twice
    errs = [0.0, 0.001, 128 * 2 / 255 - 1, 128 * 2 / 255 - 1]
    assert quant.max_abs_error == pytest.approx(max(errs))
    assert quant.rmse == pytest.approx(math.sqrt(sum(e * e for e in errs) / 4))
    assert quant.distinct_values == 2  # 255, 128


def test_a_table_needs_a_unique_weights_limit_as_well_as_a_scope():
    chip = with_core(XYLO, unique_weights=None, unique_weights_scope="neuron")
    g = line(dense([[1.0, 0.5]]), if_(threshold=10.0), n_in=2)
    proj = compile_graph(g, chip, dt_s=1.0).projections[0]
    assert (proj.weight_table, proj.weight_index, proj.weight_table_scope) == (None, None, None)
    assert proj.kernel_shape == (1, 2, 1, 1) and proj.kind == "dense"
    chip = with_core(XYLO, unique_weights=4, unique_weights_scope="network")  # a scope with no table
    g = line(dense([[1.0, 0.5]]), if_(threshold=10.0), n_in=2)
    proj = compile_graph(g, chip, dt_s=1.0).projections[0]
    assert proj.weight_table is None


def test_loihi_integers_off_its_grid_are_rescaled_and_noted():
    # 257 is odd and past 255: no exponent holds it exactly, so the weights are not kept as integers: the
    # scale is 257/255 (one sign, top 255), mantissas 257 -> 255 and 1 / (257/255) = 0.992 -> 1
    net = compile_graph(line(dense([[257.0, 1.0]]), if_(threshold=1000.0), n_in=2), LOIHI, dt_s=1.0)
    assert net.quantization[0].scale == pytest.approx(257 / 255)
    assert by_post(net.projections[0]) == [[255, 1]] and net.quantization[0].exponent == 0
    # the largest error is the 1: 1 x 257/255 - 1 = 2/255 = 0.007843
    assert net.notes == ("b: the graph's integer weights (up to 257) are not kept exactly by loihi's 8-bit "
                         "mantissas x 2^e (e up to 7; mixed-sign mantissas even); rescaled, max error "
                         "0.007843",)


def test_loihi_mixed_weights_take_the_mixed_mantissa_top_for_their_exponent():
    # threshold 4 x 131071 floors the scale at 4; mixed weights 127.5 and -1: need 127.5 / 4 / 254 =
    # 0.12549 > 2^-3, so exponent -2 (with the single-sign top 255 it would be exactly 2^-3: -3).
    # Mantissas at -2: 127.5 / 4 x 4 = 127.5 -> 2 x rint(63.75) = 128; -1 -> 2 x rint(-0.5) = 0, dropped
    g = line(dense([[127.5, -1.0]]), if_(threshold=4 * 131071.0), n_in=2)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert (net.quantization[0].scale, net.quantization[0].exponent) == (4.0, -2)
    assert net.projections[0].weights.tolist() == [128] and net.projections[0].input_shift == 2


def test_a_strict_threshold_at_the_states_top_could_never_fire():
    # Loihi compares v > th; with an 18-bit state (top 2^17 - 1 = 131071) and no weight shift, a threshold
    # mantissa of 131071 can never be passed. 131070 can.
    chip = with_neuron(LOIHI, weight_shift=0, state_bits=18)
    with pytest.raises(RepresentationError, match=r"^node 'b': threshold 131071 is mantissa 131071 "
                       r"\(x 2\^0\), beyond the 18-bit state's top 131071 on loihi: the neuron could never "
                       r"fire$"):
        compile_graph(line(dense([[1.0]]), if_(threshold=131071.0), n_in=1), chip, dt_s=1.0)
    net = compile_graph(line(dense([[1.0]]), if_(threshold=131070.0), n_in=1), chip, dt_s=1.0)
    assert net.populations[1].params.threshold == 131070


@pytest.mark.parametrize("profile, dtype", [(XYLO, np.int64), (SPINNAKER, np.float64)])
def test_the_network_names_its_chip_step_and_populations(profile, dtype):
    g = line(dense([[1.0, 0.5], [0.25, 1.0], [1.0, 1.0]]), if_(3, threshold=10.0), n_in=2, n_out=3)
    net = compile_graph(g, profile, dt_s=0.5)
    assert (net.profile_name, net.dt_s, net.output) == (profile.name, 0.5, 1)
    assert net.fixed_point == profile.fixed_point
    source, layer = net.populations
    assert (source.name, source.size, source.shape, source.params) == ("input", 2, (2,), None)
    assert source.bias.tolist() == [0, 0] and source.bias.dtype == dtype
    assert (layer.name, layer.size, layer.shape) == ("b", 3, (3,))
    assert layer.bias.tolist() == [0, 0, 0] and layer.bias.dtype == dtype
    [proj] = net.projections
    assert (proj.name, proj.pre, proj.post, proj.kind, proj.delay_steps) == ("input->b", 0, 1, "dense",
                                                                             profile.latency.synapse_delay_steps)
    assert [q.projection for q in net.quantization] == ["input->b"]


def test_thresholds_a_billionth_apart_are_folded_into_the_weights():
    # rtol 1e-9, no absolute tolerance: thresholds 1 and 1 + 5e-9 differ, so neuron 0's weight takes the
    # factor (1 + 5e-9) / 1; 1 + 1e-7 likewise (numpy's default rtol 1e-5 would call both equal)
    for other in (1.0 + 5e-9, 1.0 + 1e-7):
        n = if_(2)
        n.v_threshold = np.array([1.0, other])
        net = compile_graph(line(dense([[1.0], [1.0]]), n, n_in=1, n_out=2), SPINNAKER, dt_s=1.0)
        assert by_post(net.projections[0]) == [[other], [1.0]]


def test_node_metadata_that_is_not_a_mapping_is_none():
    n = if_(metadata={"reset": "subtract"})
    n.metadata = None
    net = compile_graph(line(dense([[1.0]]), n, n_in=1), LOIHI, dt_s=1.0)
    assert (net.populations[1].params.reset, net.violations) == ("zero", ())


def test_an_li_on_a_float_chip_resets_to_zero_and_never_fires():
    li = nir.LI(tau=np.full(1, 0.5), r=np.ones(1), v_leak=np.zeros(1))
    p = compile_graph(line(dense([[1.0]]), li, n_in=1), SPINNAKER, dt_s=1.0).populations[1].params
    assert (p.v_reset, p.threshold, p.tau_mem_s, p.tau_syn_s) == (0.0, np.inf, 0.5, 0.0)


def test_a_one_tap_kernel_on_loihi():
    # a 1 x 1 kernel of 0.5 (one tap, one sign): scale 0.5 / 255, mantissa 255
    c = nir.Conv2d(input_shape=(2, 2), weight=np.full((1, 1, 1, 1), 0.5), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2), threshold=10.0), n_in=[1, 2, 2]), LOIHI, dt_s=1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[255]]]]
    assert net.quantization[0].scale == pytest.approx(0.5 / 255)


def test_a_kernel_below_one_times_its_gain_sets_the_scale():
    # Speck, IF r 2 at dt 1: gain 2; kernel taps 0.5, 0.25 -> 1, 0.5: scale 1/127; 127, 63.5 -> 64;
    # threshold 1 -> 127 LSBs, >= : 128
    w = np.array([[[[0.5, 0.25]]]])
    c = nir.Conv2d(input_shape=(1, 2), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 1, 1), r=2.0), n_in=[1, 1, 2]), SPECK, dt_s=1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[127, 64]]]]
    assert net.quantization[0].scale == pytest.approx(1 / 127)
    assert net.populations[1].params.threshold == 128


def test_loihi_with_three_neurons_of_one_gain():
    # weights [post][pre] [[1], [0.5], [-1]]: mixed, scale 1 / 254: 254, 127 -> 128, -254
    g = line(dense([[1.0], [0.5], [-1.0]]), if_(3, threshold=10.0), n_in=1, n_out=3)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert by_post(net.projections[0]) == [[254], [128], [-254]]
    assert net.quantization[0].scale == pytest.approx(1 / 254)


def test_biases_of_two_projections_into_one_population_add_up():
    # input -> A (bias 1) -> n2 and input -> n1 -> B (bias 2) -> n2: n2's bias is 1 + 2 = 3
    g = graph({"input": nir.Input(np.array([1])), "w1": dense([[1.0]]), "n1": if_(),
               "a": dense([[1.0]], [1.0]), "b": dense([[1.0]], [2.0]), "n2": if_(),
               "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "n1"), ("input", "a"), ("a", "n2"), ("n1", "b"), ("b", "n2"),
               ("n2", "output")])
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert net.populations[2].name == "n2" and net.populations[2].bias.tolist() == [3.0]


def test_a_scalar_bias_passes_through_the_next_weights_to_every_neuron():
    # A: weight [[1], [1]], bias 0.5 for both outputs; L [[1, 2], [3, 0]]: bias into n = 0.5 x (1 + 2),
    # 0.5 x 3
    a = dense([[1.0], [1.0]], [0.0, 0.0])
    a.bias = np.array([0.5])
    g = line(a, dense([[1.0, 2.0], [3.0, 0.0]]), if_(2), n_in=1, n_out=2)
    assert compile_graph(g, SPINNAKER, dt_s=1.0).populations[1].bias.tolist() == [1.5, 1.5]


def test_loihi_sign_stats_take_each_neurons_own_gain():
    # thresholds 2, 1 (reference 2: factors 1, 2): effective weights 0.5 and 1; one sign, scale 1 / 255:
    # 127.5 -> 128 and 255 (with neuron 0's gain for both, the scale would be 0.5 / 255 and 1 would clip)
    n = if_(2)
    n.v_threshold = np.array([2.0, 1.0])
    net = compile_graph(line(dense([[0.5], [0.5]]), n, n_in=1, n_out=2), LOIHI, dt_s=1.0)
    assert by_post(net.projections[0]) == [[128], [255]]
    assert net.quantization[0].scale == pytest.approx(1 / 255)


def test_a_fixed_point_bias_takes_each_neurons_factor():
    # thresholds 1, 2: factors 2, 1; weights 1 -> effective 2, 1: scale 2 / 127; biases 0.5 x factor = 1,
    # 0.5 -> 1 / scale = 63.5 -> 64, 0.5 / scale = 31.75 -> 32
    n = if_(2)
    n.v_threshold = np.array([1.0, 2.0])
    net = compile_graph(line(dense([[1.0], [1.0]], [0.5, 0.5]), n, n_in=1, n_out=2), XYLO, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [64, 32]


def test_truenorth_weights_are_int32_and_a_neuron_of_gain_zero_loses_nothing():
    # r 1, 0 (reference 1: factors 1, 0): effective weights 1, 0: neuron 1 takes no synapse and its
    # weight counts as kept exactly (no division by its zero gain)
    n = if_(2, threshold=10.0)
    n.r = np.array([1.0, 0.0])
    net = compile_graph(line(dense([[1.0], [1.0]]), n, n_in=1, n_out=2), TRUENORTH, dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    assert proj.weights.tolist() == [255] and proj.targets.tolist() == [0] and proj.weights.dtype == np.int32
    assert (quant.rmse, quant.max_abs_error) == (0.0, 0.0)


def test_loihi_kernel_of_non_positive_taps_is_inhibitory():
    # taps -1, -0.5, 0, -0.25 (none > 0): inhibitory, -255..0: -255, -127.5 -> -128, 0, -63.75 -> -64
    w = np.array([[[[-1.0, -0.5], [0.0, -0.25]]]])
    c = nir.Conv2d(input_shape=(3, 3), weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1))
    net = compile_graph(line(c, if_((1, 2, 2), threshold=10.0), n_in=[1, 3, 3]), LOIHI, dt_s=1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[-255, -128], [0, -64]]]]


def test_a_float_dense_projection_has_no_kernel_and_a_one_output_conv_keeps_one():
    net = compile_graph(line(dense([[1.0]]), if_(), n_in=1), SPINNAKER, dt_s=1.0)
    assert net.projections[0].conv is None
    c = nir.Conv2d(input_shape=(2, 2), weight=np.full((1, 1, 2, 2), 0.5), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    spinnaker = with_core(SPINNAKER, synapse_encoding_bits={"sparse": 32, "conv": 8})
    net = compile_graph(line(c, if_((1, 1, 1)), n_in=[1, 2, 2]), spinnaker, dt_s=1.0)
    assert net.projections[0].conv.weight.tolist() == [[[[0.5, 0.5], [0.5, 0.5]]]]


def test_a_conv_into_neurons_of_different_gains_is_expanded_per_neuron():
    # thresholds 1, 2, 1, 2 (reference 2: factors 2, 1, 2, 1): no common factor, so the kernel is expanded:
    # every output sums its 2 x 2 window with weights x its factor; 1 x 1 kernel of 1 on a (1, 2, 2) input:
    # input pixel i -> output i, effective 2, 1, 2, 1; Speck: scale 2/127: 127, 64 (63.5), 127, 64
    c = nir.Conv2d(input_shape=(2, 2), weight=np.ones((1, 1, 1, 1)), stride=1, padding=0, dilation=1,
                   groups=1, bias=np.zeros(1))
    n = if_((1, 2, 2), threshold=10.0)
    n.v_threshold = np.array([1.0, 2.0, 1.0, 2.0]).reshape(1, 2, 2)
    net = compile_graph(line(c, n, n_in=[1, 2, 2]), SPECK, dt_s=1.0)
    proj = net.projections[0]
    assert proj.conv is None and proj.kind == "conv"
    assert by_post(proj) == [[127, 0, 0, 0], [0, 64, 0, 0], [0, 0, 127, 0], [0, 0, 0, 64]]


def test_two_biases_on_one_path_both_count():
    # A (w 1, b 1) -> B (w 2, b 3) -> n: bias into n = 3 + 2 x 1 = 5
    g = line(dense([[1.0]], [1.0]), dense([[2.0]], [3.0]), if_(), n_in=1)
    net = compile_graph(g, SPINNAKER, dt_s=1.0)
    assert net.populations[1].bias.tolist() == [5.0] and by_post(net.projections[0]) == [[2.0]]


def test_truenorth_takes_an_all_zero_projection_and_a_one_axon_one_beside_another():
    # all-zero weights: no synapse, no axon type to choose, nothing lost
    net = compile_graph(line(dense([[0.0, 0.0]]), if_(threshold=10.0), n_in=2), TRUENORTH, dt_s=1.0)
    assert net.projections[0].n_synapses == 0 and net.quantization[0].rmse == 0.0
    # n2 hears the input on one axon (weight 1) and n1 on four (2, 3, 3.2, 5): five axons, four types; the
    # three widest gaps (1.8, 1, 1) split them {1} {2} {3, 3.2} {5}; the third type is their mean 3.1.
    # Scale 5/255: 51, 102, 3.1 x 51 = 158.1 -> 158 (twice), 255
    g = graph({"input": nir.Input(np.array([1])), "w1": dense(np.ones((4, 1))), "n1": if_(4, threshold=10.0),
               "w2": dense([[2.0, 3.0, 3.2, 5.0]]), "w3": dense([[1.0]]), "n2": if_(threshold=10.0),
               "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "n1"), ("n1", "w2"), ("w2", "n2"), ("input", "w3"), ("w3", "n2"),
               ("n2", "output")])
    net = compile_graph(g, TRUENORTH, dt_s=1.0)
    into = {p.name: p.weights.tolist() for p in net.projections if p.post == 2}
    assert into == {"input->n2": [51], "n1->n2": [102, 158, 158, 255]}
