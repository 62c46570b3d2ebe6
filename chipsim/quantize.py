"""Quantization to a chip's fixed point: weight mantissas, thresholds, biases and decay constants.

Pure functions over numpy arrays. The scheme is symmetric per-layer linear quantization (one scale per
post population, so every projection that adds into the same membrane shares it): ``scale = max|w_eff| /
(2^(bits-1) - 1)``, ``w_int = clip(round(w_eff / scale))``, and the post population's threshold and bias are
divided by the same scale, so integer and float voltages differ only by that factor (Jacob et al., CVPR
2018, symmetric variant; Loihi's mantissa/shift layout from Davies et al., IEEE Micro 2018, and Lava's
``weightutils``). Decays follow the chips' own parameterisations: Loihi's 12-bit ``du``/``dv``
(brian2-loihi, Lava ``PyLifModelBitAcc``) and Xylo's bit shift ``dash = log2(tau/dt)`` (Rockpool).

Loihi stores a projection's weights as 8-bit mantissas with one exponent e (Davies et al. 2018; Lava
``Dense(weight_exp)``): e >= 0 shifts every weight left; e < 0 floors the projection's summed input of a
step by 2^-e (Lava's ``PyDenseModelBitAcc``), so small weights keep their mantissa bits.

Deviations: no per-channel scales (the scale is a float, the chip's integer stays within ``weight_bits``);
saturation clips and is counted, it never wraps.
"""

from __future__ import annotations

import math

import numpy as np

from chipsim.kernels import kernel


def weight_range(bits: int, signed: bool) -> tuple[int, int]:
    """Integer weight mantissa range: symmetric ``±(2^(bits-1)-1)`` when signed, ``0..2^bits-1`` otherwise."""
    if signed:
        top = 2 ** (bits - 1) - 1
        return -top, top
    return 0, 2**bits - 1


def weight_scale(max_abs: float, bits: int, signed: bool) -> float:
    """NIR weight units per integer LSB: the largest magnitude lands on the top mantissa (1.0 if all 0)."""
    top = weight_range(bits, signed)[1]
    return float(max_abs) / top if max_abs > 0 and top > 0 else 1.0


def quantize_weights(w: np.ndarray, scale: float, bits: int, signed: bool) -> np.ndarray:
    """``clip(round(w / scale))`` as int32 (round half to even, numpy's rule)."""
    lo, hi = weight_range(bits, signed)
    return np.clip(np.rint(np.asarray(w, dtype=np.float64) / scale), lo, hi).astype(np.int32)


def quantization_error(w: np.ndarray, w_int: np.ndarray, scale: float) -> tuple[float, float]:
    """(rmse, max_abs_error) of ``w_int * scale`` against ``w``, in ``w``'s units (0, 0 when empty)."""
    if np.size(w) == 0:
        return 0.0, 0.0
    err = np.asarray(w_int, dtype=np.float64) * scale - np.asarray(w, dtype=np.float64)
    return float(np.sqrt(np.mean(err**2))), float(np.max(np.abs(err)))


def threshold_mantissa(
    threshold: float, scale: float, *, strict: bool, max_mantissa: int
) -> tuple[int, bool]:
    """Integer threshold so integer spike decisions equal the float model's ``V * scale > threshold``.

    ``m`` is the largest integer with ``m * scale <= threshold`` (evaluated as the float model would); for
    integer V, ``V * scale > threshold`` iff ``V > m`` iff ``V >= m + 1``. So a chip comparing strictly
    (``v > th``, Loihi) gets ``m``; a chip comparing ``v >= th`` (TrueNorth, Xylo, Speck) gets ``m + 1``.
    Returns (mantissa, clipped) with the mantissa clipped to ``0..max_mantissa``.
    """
    x = threshold / scale
    if not math.isfinite(x):
        m = max_mantissa if x > 0 else 0
        return m, True
    m = math.floor(x)
    while (m + 1) * scale <= threshold:
        m += 1
    while m * scale > threshold:
        m -= 1
    th = m if strict else m + 1
    clipped = min(max(th, 0), max_mantissa)
    return int(clipped), clipped != th


def clip_signed(x: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """Round to int64 and saturate to ``[-2^(bits-1), 2^(bits-1)-1]``; returns (values, how many clipped)."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    r = np.rint(np.asarray(x, dtype=np.float64))
    out = np.clip(r, lo, hi).astype(np.int64)
    return out, int(np.count_nonzero(out != r))


def decay_factor(tau_s: float, dt_s: float, integrator: str) -> float:
    """Per-step retention for time constant ``tau_s``: exp(-dt/tau) ('exact') or 1-dt/tau ('euler')."""
    if tau_s == 0:
        return 0.0
    if math.isinf(tau_s):
        return 1.0
    if integrator == "exact":
        return math.exp(-dt_s / tau_s)
    return max(0.0, 1.0 - dt_s / tau_s)


def decay_constant(tau_s: float, dt_s: float, integrator: str, decay_bits: int) -> int:
    """Loihi decay ``round(2^D * (1 - retention))`` in 0..2^D (2^D: forget every step; 0: no leak)."""
    full = 2**decay_bits
    return int(min(max(round(full * (1.0 - decay_factor(tau_s, dt_s, integrator))), 0), full))


def decay_shift(tau_s: float, dt_s: float, max_shift: int) -> int:
    """Xylo bit-shift decay ``dash = round(log2(tau/dt))`` clipped to 0..max_shift (``inf`` -> max_shift)."""
    if math.isinf(tau_s):
        return max_shift
    if tau_s <= 0:
        return 0
    return int(min(max(round(math.log2(tau_s / dt_s)), 0), max_shift))


def loihi_weights(w: np.ndarray, num_weight_bits: int = 8) -> np.ndarray:
    """Integer weights as Loihi stores them (Lava 0.10.0 ``weightutils.clip_weights`` + ``truncate_weights``).

    The sign mode is the matrix's: excitatory (all >= 0) clips to 0..255, inhibitory (all <= 0) to
    -255..0, mixed to -256..255 and then drops one more low bit (the sign takes it), so mixed-sign weights
    are even; ``8 - num_weight_bits`` further low bits are dropped (floor, as Lava's shifts do).
    """
    w = np.asarray(w, dtype=np.int64)
    if w.size and w.min() >= 0:
        mode = "excitatory"
    elif w.size and w.max() <= 0:
        mode = "inhibitory"
    else:
        mode = "mixed"
    x = -w if mode == "inhibitory" else w
    x = np.clip(x, -256 if mode == "mixed" else 0, 255)
    drop = 8 - num_weight_bits + (mode == "mixed")
    x = (x >> drop) << drop
    return (-x if mode == "inhibitory" else x).astype(np.int32)


def sign_mode(w: np.ndarray) -> str:
    """Lava's sign mode of a weight matrix: 'excitatory' (all >= 0), 'inhibitory' (all <= 0) or 'mixed'."""
    w = np.asarray(w)
    if w.size == 0 or w.min() >= 0:
        return "excitatory"
    return "inhibitory" if w.max() <= 0 else "mixed"


def loihi_mantissa_top(mode: str) -> int:
    """Largest mantissa magnitude of an 8-bit Loihi weight: 254 mixed (even values), 255 single-sign."""
    return 254 if mode == "mixed" else 255


def loihi_round(x: np.ndarray, mode: str) -> np.ndarray:
    """Nearest value of Loihi's 8-bit mantissa grid (Lava's clip + truncate, rounding to nearest instead
    of Lava's floor): even values in -256..254 when mixed, 0..255 or -255..0 for one sign."""
    x = np.asarray(x, dtype=np.float64)
    if mode == "mixed":
        return np.clip(2 * np.rint(x / 2), -256, 254).astype(np.int64)
    lo, hi = (0, 255) if mode == "excitatory" else (-255, 0)
    return np.clip(np.rint(x), lo, hi).astype(np.int64)


def loihi_exponent(max_abs: float, scale: float, mode: str, exponent_max: int, exponent_min: int = 0) -> int:
    """Smallest weight exponent e in exponent_min..exponent_max with max_abs / scale <= top * 2^e: the finest
    grid that holds the projection's largest weight, so the least rounding error among the exponents that
    clip no weight (a finer one would saturate the largest weights; chipfit does not trade those for
    rounding error). A negative e is taken only where the largest weight fills at most half the mantissa at
    e + 1."""
    top = loihi_mantissa_top(mode)
    need = max_abs / scale / top if scale > 0 else 0.0
    if need == 0:
        return 0  # no weights: nothing to hold
    e = exponent_min
    while e < exponent_max and need > 2.0**e * (1 + 1e-12):
        e += 1
    return e


def loihi_scale(max_abs: list[float], modes: list[str], exponent_max: int, integer_exact: bool) -> float:
    """NIR weight units per LSB for one post population on Loihi's mantissa x 2^exponent grid.

    ``integer_exact`` (every effective weight already an integer on the grid at some exponent): 1, so the
    compile keeps those integers. Otherwise the projection with the smallest weights uses its whole
    mantissa (exponent 0) and larger ones take exponents, as far as ``exponent_max`` reaches.
    """
    if integer_exact:
        return 1.0
    live = [(m, loihi_mantissa_top(mode)) for m, mode in zip(max_abs, modes, strict=True) if m > 0]
    if not live:
        return 1.0
    finest = min(m / top for m, top in live)
    reach = max(m / (top * 2**exponent_max) for m, top in live)
    return float(max(finest, reach))


def loihi_mantissas(w: np.ndarray, scale: float, mode: str, exponent: int) -> np.ndarray:
    """The integers chipsim stores for weights ``w`` (NIR units, ``scale`` per LSB) at weight exponent e:
    mantissas << e where e >= 0; the mantissas themselves where e < 0 (the projection's sum is then floored
    by 2^-e, :attr:`chipsim.network.Projection.input_shift`)."""
    m = loihi_round(np.asarray(w, dtype=np.float64) / scale / 2.0**exponent, mode)
    return (m << max(exponent, 0)).astype(np.int32)


def on_loihi_grid(w: np.ndarray, exponent_max: int) -> bool:
    """True when ``w`` are integers that Loihi stores exactly: mantissa x 2^e for one e in 0..exponent_max."""
    w = np.asarray(w, dtype=np.float64)
    if w.size == 0:
        return True
    if not np.array_equal(w, np.rint(w)):
        return False
    mode = sign_mode(w)
    for e in range(exponent_max + 1):
        m = w / 2**e
        if np.array_equal(m, np.rint(m)) and np.array_equal(loihi_round(m, mode), m):
            return True
    return False


def quantize_synapses(w: np.ndarray, gain: np.ndarray, targets: np.ndarray, scale: float, bits: int,
                      signed: bool, grid: tuple[str, int] | None = None, lsb: float | None = None) -> tuple:
    """One pass over a projection's synapses: ``(w_int, rmse, max_abs_error, nonzero, distinct nonzero)``.

    ``w_int`` (int32) is what :func:`quantize_weights` (``grid`` None) or :func:`loihi_mantissas`
    (``grid = (sign mode, e)``) make of the effective weights ``w_eff = w * gain[targets]`` (``gain`` of one
    value: every synapse's); the errors are of ``w_int * lsb / gain`` against ``w`` (``lsb``: NIR units of one
    stored integer, default ``scale``; where the gain is 0, the weight counts as kept exactly)."""
    if grid is None:
        lo, hi = weight_range(bits, signed)
        step, e, on_grid = 1.0, 0, False
    else:
        mode, e = grid
        step, on_grid = (2.0 if mode == "mixed" else 1.0), True
        lo, hi = {"mixed": (-256, 254), "excitatory": (0, 255), "inhibitory": (-255, 0)}[mode]
    shift = max(e, 0)
    gain = np.ascontiguousarray(gain, dtype=np.float64).reshape(-1)
    w_int = np.empty(w.size, np.int32)
    first = lo << shift
    seen = np.zeros(((hi - lo) << shift) + 1, np.bool_)
    sse, max_err, nonzero, distinct = _quantize_synapses(
        np.asarray(w, np.float64), gain, gain.size > 1, targets, float(scale), on_grid, 2.0**e, shift, step,
        float(lo), float(hi), float(scale if lsb is None else lsb), w_int, seen, first)
    return w_int, (math.sqrt(sse / w.size) if w.size else 0.0), max_err, nonzero, distinct


@kernel(cache=True)
def _quantize_synapses(w, gain, per_target, targets, scale, on_grid, two_e, shift, step, lo, hi, lsb, w_int,
                       seen, first):
    sse, max_err, nonzero, distinct = 0.0, 0.0, 0, 0
    for i in range(w.size):
        g = gain[targets[i]] if per_target else gain[0]
        x = w[i] * g / scale
        if on_grid:
            x = x / two_e
        m = min(max(np.rint(x / step) * step, lo), hi)
        q = int(m) << shift
        w_int[i] = q
        err = (q * lsb / g - w[i]) if g != 0 else 0.0
        sse += err * err
        max_err = max(max_err, abs(err))
        if q != 0:
            nonzero += 1
            if not seen[q - first]:
                seen[q - first] = True
                distinct += 1
    return sse, max_err, nonzero, distinct


def effective_stats(w: np.ndarray, gain: np.ndarray, targets: np.ndarray) -> tuple[float, float, bool]:
    """(min, max, all integers) of the effective weights ``w * gain[targets]`` (``gain`` of one value: every
    synapse's), in one pass without building them; (0, 0, True) when there are none."""
    gain = np.ascontiguousarray(gain, dtype=np.float64).reshape(-1)
    return _effective_stats(np.asarray(w, np.float64), gain, gain.size > 1, targets)


@kernel(cache=True)
def _effective_stats(w, gain, per_target, targets):
    lo, hi, integral = np.inf, -np.inf, True
    for i in range(w.size):
        x = w[i] * (gain[targets[i]] if per_target else gain[0])
        lo, hi = min(lo, x), max(hi, x)
        if integral and x != np.rint(x):
            integral = False
    return (0.0, 0.0, True) if w.size == 0 else (lo, hi, integral)
