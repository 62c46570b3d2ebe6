"""chipsim.quantize, function by function, with every expected value worked out by hand."""

import math

import numpy as np
import pytest

from chipsim import quantize as q


@pytest.mark.parametrize(("bits", "signed", "expected"), [
    (8, True, (-127, 127)), (8, False, (0, 255)), (1, True, (0, 0)), (1, False, (0, 1)),
    (9, True, (-255, 255)),
])
def test_weight_range(bits, signed, expected):
    assert q.weight_range(bits, signed) == expected


def test_weight_scale_puts_the_largest_magnitude_on_the_top_mantissa():
    assert q.weight_scale(2.54, 8, True) == pytest.approx(2.54 / 127)
    assert q.weight_scale(2.55, 8, False) == pytest.approx(2.55 / 255)
    assert q.weight_scale(0.0, 8, True) == 1.0  # all zero: any scale, 1
    assert q.weight_scale(3.0, 1, True) == 1.0  # a 1-bit signed grid has no nonzero mantissa
    assert q.weight_scale(3.0, 1, False) == 3.0  # 1-bit unsigned: 0 or 1, so 1 LSB = the largest weight


def test_quantize_weights_rounds_half_to_even_and_clips():
    w = np.array([0.5, 1.5, 2.5, -0.5, -1.49, 300.0, -300.0, 126.6])
    out = q.quantize_weights(w, 1.0, 8, True)
    assert out.dtype == np.int32
    assert out.tolist() == [0, 2, 2, 0, -1, 127, -127, 127]
    assert q.quantize_weights(np.array([0.3, 0.9, -0.9]), 0.1, 4, False).tolist() == [3, 9, 0]


def test_quantize_weights_divides_in_float64_whatever_the_input_dtype():
    # -0.97283465 (a float32) / (0.7 / 127) = -176.50000000... in float64 -> -177; float32 arithmetic would
    # give -176.5 exactly and round to even, -176
    w = np.array([-0.9728346467018127], np.float32)
    assert q.quantize_weights(w, 0.7 / 127, 9, True).tolist() == [-177]


def test_quantization_error_in_weight_units():
    # w = [1.0, 2.2], w_int = [1, 2] at scale 1: errors 0 and -0.2 -> rmse sqrt(0.04 / 2), max 0.2
    rmse, worst = q.quantization_error(np.array([1.0, 2.2]), np.array([1, 2]), 1.0)
    assert rmse == pytest.approx(math.sqrt(0.02)) and worst == pytest.approx(0.2)
    # at scale 0.5, w_int 3 stands for 1.5: error 0.5 against w = 1.0
    assert q.quantization_error(np.array([1.0]), np.array([3]), 0.5) == pytest.approx((0.5, 0.5))
    assert q.quantization_error(np.array([]), np.array([]), 1.0) == (0.0, 0.0)


@pytest.mark.parametrize(("threshold", "scale", "strict", "expected"), [
    (1.0, 1 / 127, True, (127, False)),  # 127 * (1/127) <= 1.0: m = 127; Loihi compares v > 127
    (1.0, 1 / 127, False, (128, False)),  # v >= 128 on a '>=' chip
    (1.0, 0.3, True, (3, False)),  # 3 * 0.3 = 0.9 <= 1 < 1.2
    (1.0, 0.3, False, (4, False)),
    (0.9, 0.3, True, (3, False)),  # 3 * 0.3 (0.8999999999999999) <= 0.9 as floats
    (0.29, 0.01, True, (29, False)),  # 0.29 / 0.01 = 28.999999999999996, yet 29 * 0.01 <= 0.29: m = 29
    (0.29, 0.01, False, (30, False)),
    (0.35, 0.01, True, (34, False)),  # 0.35 / 0.01 = 35.0, yet 35 * 0.01 = 0.35000000000000003 > 0.35
    (0.35, 0.01, False, (35, False)),
    (1.0, 0.001, True, (200, True)),  # 1000 clipped to the 200 maximum
    (-1.0, 0.5, True, (0, True)),  # a negative threshold clips to 0
    (1.0, 1e-320, True, (200, True)),  # threshold / scale overflows to inf: the maximum
    (-1.0, 1e-320, True, (0, True)),  # -inf: 0
])
def test_threshold_mantissa(threshold, scale, strict, expected):
    assert q.threshold_mantissa(threshold, scale, strict=strict, max_mantissa=200) == expected


def test_threshold_mantissa_matches_the_float_comparison_for_every_integer_voltage():
    scale, threshold = 0.1, 0.7  # 7 * 0.1 = 0.7000000000000001 > 0.7 as floats: m = 6
    m, _ = q.threshold_mantissa(threshold, scale, strict=True, max_mantissa=1000)
    assert m == 6
    for v in range(20):
        assert (v > m) == (v * scale > threshold), v


def test_clip_signed_rounds_saturates_and_counts():
    values, clipped = q.clip_signed(np.array([1.4, 1.6, -2.5, 200.0, -200.0, 127.0, -128.0]), 8)
    assert values.dtype == np.int64
    assert values.tolist() == [1, 2, -2, 127, -128, 127, -128]
    assert clipped == 2


@pytest.mark.parametrize(("tau", "integrator", "expected"), [
    (0.0, "euler", 0.0), (math.inf, "euler", 1.0), (math.inf, "exact", 1.0),
    (4e-3, "euler", 0.75), (4e-3, "exact", math.exp(-0.25)), (0.5e-3, "euler", 0.0),  # 1 - 2 < 0 -> 0
])
def test_decay_factor(tau, integrator, expected):
    assert q.decay_factor(tau, 1e-3, integrator) == pytest.approx(expected)


@pytest.mark.parametrize(("tau", "integrator", "expected"), [
    (4e-3, "euler", 1024),  # 4096 x (1 - 0.75)
    (4e-3, "exact", round(4096 * (1 - math.exp(-0.25)))),  # 906
    (math.inf, "euler", 0),  # no leak
    (0.0, "euler", 4096),  # forget every step
    (0.5e-3, "euler", 4096),
    (1000.0, "euler", 0),  # 4096 x 1e-6 rounds to 0
])
def test_decay_constant(tau, integrator, expected):
    assert q.decay_constant(tau, 1e-3, integrator, 12) == expected


@pytest.mark.parametrize(("tau", "expected"), [
    (8e-3, 3), (6e-3, 3), (5e-3, 2), (1e-3, 0), (0.1e-3, 0), (1.0, 10), (math.inf, 10), (0.0, 0), (-1.0, 0),
])
def test_decay_shift(tau, expected):
    # round(log2(tau / 1 ms)): log2 6 = 2.58 -> 3, log2 5 = 2.32 -> 2, log2 1000 = 9.97 -> 10 (the max)
    assert q.decay_shift(tau, 1e-3, 10) == expected


@pytest.mark.parametrize("grid", [None, ("mixed", 0), ("mixed", 2), ("excitatory", 1), ("inhibitory", 0)])
def test_quantize_synapses_is_the_array_rules_in_one_pass(grid):
    rng = np.random.default_rng(3)
    w = np.concatenate([rng.normal(0, 1, 200), [0.5, 1.5, -2.5, 3.0, 0.0]])  # halfway values round to even
    sign = {"excitatory": 1, "inhibitory": -1}.get(grid[0] if grid else None)
    w = w if sign is None else sign * np.abs(w)
    targets = rng.integers(0, 4, w.size).astype(np.int32)
    gain = np.array([1.0, 0.5, 0.0, 2.0])  # post 2 has no gain: its weights count as kept exactly
    scale = 0.01 if grid is None else 0.004
    w_int, rmse, max_err, nonzero, distinct = q.quantize_synapses(w, gain, targets, scale, 8, True, grid)
    eff = w * gain[targets]
    if grid is None:
        expected = q.quantize_weights(eff, scale, 8, True)
    else:
        expected = (q.loihi_round(eff / scale / 2 ** grid[1], grid[0]) << grid[1]).astype(np.int32)
    assert w_int.dtype == np.int32 and w_int.tolist() == expected.tolist()
    g = gain[targets]
    err = np.where(g != 0, expected * scale / np.where(g != 0, g, 1) - w, 0.0)
    assert rmse == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-12)
    assert max_err == np.max(np.abs(err)) and nonzero == np.count_nonzero(expected)
    assert distinct == np.unique(expected[expected != 0]).size


@pytest.mark.parametrize(("w", "expected"), [
    ([], "excitatory"), ([0, 0], "excitatory"), ([0.0, 0.5], "excitatory"), ([-0.5, 0.0], "inhibitory"),
    ([-1.0, 1.0], "mixed"), ([-1.0, 0.5], "mixed"),
])
def test_sign_mode(w, expected):
    assert q.sign_mode(np.array(w)) == expected


def test_loihi_mantissa_top_is_254_mixed_and_255_for_one_sign():
    assert [q.loihi_mantissa_top(m) for m in ("mixed", "excitatory", "inhibitory")] == [254, 255, 255]


def test_loihi_round_to_the_nearest_mantissa_of_each_sign_mode():
    # mixed: even values in -256..254 (2 * rint(x / 2)); one sign: integers in 0..255 or -255..0
    assert q.loihi_round([3.0, 1.2, -300.0, 300.0], "mixed").tolist() == [4, 2, -256, 254]
    assert q.loihi_round([-3.0, 2.5, 300.0], "excitatory").tolist() == [0, 2, 255]
    assert q.loihi_round([-300.0, 2.0, -2.5], "inhibitory").tolist() == [-255, 0, -2]


def test_loihi_exponent_is_the_finest_that_holds_the_largest_weight():
    # need = max_abs / scale / top, then the smallest e in exponent_min..exponent_max with need <= 2^e
    assert q.loihi_exponent(100.0, 1.0, "excitatory", 7) == 0  # 100 / 255 <= 1, from exponent_min 0
    assert q.loihi_exponent(255.0, 1.0, "mixed", 7) == 1  # 255 / 254 > 1: the mixed top is 254
    assert q.loihi_exponent(255.0, 1.0, "excitatory", 7) == 0
    assert q.loihi_exponent(1e6, 1.0, "excitatory", 7) == 7  # 3,922 > 2^7: as far as exponent_max reaches
    assert q.loihi_exponent(255.0 / 8, 1.0, "excitatory", 7, exponent_min=-8) == -3
    # no weights, or no scale: exponent 0 whatever the range (not exponent_min)
    assert q.loihi_exponent(0.0, 1.0, "excitatory", 7, exponent_min=-8) == 0
    assert q.loihi_exponent(5.0, 0.0, "mixed", 7, exponent_min=1) == 0


def test_loihi_scale():
    assert q.loihi_scale([3.0, 4.0], ["mixed", "mixed"], 7, integer_exact=True) == 1.0
    assert q.loihi_scale([0.0, 0.0], ["mixed", "excitatory"], 7, integer_exact=False) == 1.0
    # the smallest weights use their whole mantissa: 2.55 / 255; a zero-weight projection does not count
    one_sign = ["excitatory", "excitatory"]
    assert q.loihi_scale([0.0, 2.55], one_sign, 7, False) == pytest.approx(0.01, rel=1e-12)
    # the largest beyond top * 2^exponent_max sets the scale: 1,000 / (255 * 2^3)
    assert q.loihi_scale([0.255, 1000.0], one_sign, 3, False) == pytest.approx(1000 / (255 * 8), rel=1e-12)
    with pytest.raises(ValueError):  # one mode per projection
        q.loihi_scale([1.0, 2.0], ["mixed"], 7, False)


def test_loihi_mantissas_at_a_positive_and_a_negative_exponent():
    # w / scale = 6, -4; / 2^1 = 3, -2; mixed rounds to even: 4, -2; stored << 1: 8, -4
    m = q.loihi_mantissas(np.array([3.0, -2.0]), 0.5, "mixed", 1)
    assert m.dtype == np.int32 and m.tolist() == [8, -4]
    # e = -2: the mantissa itself (1 / 0.25 = 4), the sum is floored by 2^2 later
    assert q.loihi_mantissas(np.array([1.0]), 1.0, "excitatory", -2).tolist() == [4]


@pytest.mark.parametrize(("w", "exponent_max", "expected"), [
    ([], 3, True), ([0.5], 3, False), ([255.0], 0, True), ([300.0], 0, False), ([301.0], 1, False),
    ([1020.0], 2, True), ([2040.0], 2, False), ([-2.0, 4.0], 0, True), ([-3.0, 4.0], 1, False),
    ([-510.0, 0.0], 1, True),
])
def test_on_loihi_grid(w, exponent_max, expected):
    # integers that are mantissa x 2^e for one e in 0..exponent_max: 1,020 = 255 x 4; 2,040 needs 2^3;
    # mixed mantissas are even (3 is not, and 1.5 at e = 1 is no integer); -510 = -255 x 2
    assert q.on_loihi_grid(np.array(w), exponent_max) is expected


def test_quantize_synapses_gains_per_target_or_one_for_all_and_no_synapses():
    w = np.array([1.0, -2.0, 0.5])
    targets = np.array([0, 1, 1], np.int32)
    # per target: effective 1, -4, 1 at scale 0.5 -> 2, -8, 2
    w_int, *stats = q.quantize_synapses(w, np.array([1.0, 2.0]), targets, 0.5, 8, True)
    assert w_int.tolist() == [2, -8, 2] and stats == [0.0, 0.0, 3, 2]
    # one gain for every synapse (targets reach past it): effective 2, -4, 1 -> 4, -8, 2
    w_int, *_ = q.quantize_synapses(w, np.array([2.0]), np.array([0, 1, 2], np.int32), 0.5, 8, True)
    assert w_int.tolist() == [4, -8, 2]
    # the inhibitory grid clips to -255..0
    w_int, *_ = q.quantize_synapses(np.array([0.6, -2.4]), np.array([1.0]), np.zeros(2, np.int32), 1.0, 8,
                                    True, ("inhibitory", 0))
    assert w_int.tolist() == [0, -2]
    w_int, rmse, max_err, nonzero, distinct = q.quantize_synapses(np.zeros(0), np.array([1.0]),
                                                                  np.zeros(0, np.int32), 0.5, 8, True)
    assert w_int.size == 0 and (rmse, max_err, nonzero, distinct) == (0.0, 0.0, 0, 0)


def test_effective_stats_per_target_or_one_gain_for_all():
    w = np.array([1.0, -2.0, 0.5])
    assert q.effective_stats(w, np.array([1.0, 2.0]), np.array([0, 1, 1], np.int32)) == (-4.0, 1.0, True)
    assert q.effective_stats(w, np.array([1.0, 1.0]), np.array([0, 1, 1], np.int32)) == (-2.0, 1.0, False)
    assert q.effective_stats(w, np.array([2.0]), np.array([0, 1, 2], np.int32)) == (-4.0, 2.0, True)
    assert q.effective_stats(np.zeros(0), np.array([1.0]), np.zeros(0, np.int32)) == (0.0, 0.0, True)


@pytest.mark.parametrize(("w", "bits", "expected"), [
    ([0, 5], 8, [0, 5]),  # all >= 0, a zero included: excitatory, 0..255, no bit dropped
    ([-3, 0], 8, [-3, 0]),  # all <= 0: inhibitory, -255..0
    ([-3, 1], 8, [-4, 0]),  # mixed: -256..255, one low bit dropped (floor): -3 -> -4, 1 -> 0
    ([7, 300], 6, [4, 252]),  # 6 bits: 8 - 6 low bits dropped; 300 clips to 255 first
])
def test_loihi_weights_as_lava_stores_them(w, bits, expected):
    assert q.loihi_weights(np.array(w), bits).tolist() == expected
