"""How far a fixed-point chip's spike counts may stray from the float reference's, from what the fit
report states about quantization: a first-order charge budget, layer by layer.

The fit report gives each projection's largest weight error (``LayerQuantization.max_abs_error``, NIR
weight units). In the chip's integer units (times the ratio of the largest integer weight to the largest
NIR weight, which carries the scale and the input gains compile folds in) a presynaptic spike then
carries at most that error ``e`` of wrong charge into each target, and a spike one layer below fired or
missed carries its whole weight ``|w|``. Per post neuron i, over a run of T steps:

    Q_i = m * sum_j ((c_j + D_j) * e + D_j * |w_ij|)        charge the weights get wrong
        + |m_chip - m_float| * sum_j c_j * |w_ij|            the synaptic current's decay, quantized
        + T * (|a_chip - a_float| * theta_i + 2^-shift)      the voltage decay, quantized; v's rounding

with ``c_j`` the float reference's spike counts of the presynaptic neurons, ``D_j`` their budgets (0 for
the input), ``m = 1/(1 - alpha_u)`` the charge one unit of input current delivers to v (1 without a
synaptic current), ``a`` the voltage retention per step and ``theta_i`` the threshold mantissa. The
budget is ``D_i = ceil(Q_i / theta_i) + 1`` where ``Q_i > 0`` (a charge error of one threshold moves a
count by about one; one more for the decision on the boundary), else 0.

This is a first-order estimate, not a proof: a flipped spike of a reset-to-zero neuron changes its
later voltage by up to a threshold, and that is only counted through the layers above, not again in
the neuron itself. It holds only where the chip runs the graph's semantics (no fit violation, no
dropped leak, no reset after the decay): elsewhere the counts differ by design. docs/interop.md gives
the figures on the frameworks' fixtures.
"""

from __future__ import annotations

import numpy as np

from chipsim.network import ChipNetwork
from chipsim.quantize import decay_factor


def _retention(params, dt_s: float) -> tuple[float, float]:
    """(current retention alpha_u, voltage retention a) per step of a population's neurons."""
    model = params.model
    if model == "float_lif":
        return (decay_factor(params.tau_syn_s, dt_s, params.integrator),
                decay_factor(params.tau_mem_s, dt_s, params.integrator))
    if model == "loihi_cuba":
        full = 2.0 ** params.decay_bits
        return 1.0 - (params.decay_u + 1) / full, 1.0 - params.decay_v / full
    if model == "xylo_shift":
        u = 0.0 if params.decay_u == 0 else 1.0 - 2.0 ** -params.decay_u
        return u, 1.0 - 2.0 ** -params.decay_v
    return 0.0, 1.0  # truenorth_lif, speck_iaf: no multiplicative leak


def _abs_dense(proj, n_pre: int, n_post: int) -> np.ndarray:
    """|weights| as a dense [n_pre, n_post] matrix (a kept conv kernel expanded)."""
    w = np.zeros((n_pre, n_post))
    if proj.conv is not None and proj.targets.size == 0:
        k = proj.conv
        (c_in, h_in, w_in), (c_out, h_out, w_out) = k.in_shape, k.out_shape
        kh, kw = k.weight.shape[2:]
        for oy in range(h_out):
            for ox in range(w_out):
                for a in range(kh):
                    for b in range(kw):
                        y, x = oy * k.stride[0] - k.padding[0] + a, ox * k.stride[1] - k.padding[1] + b
                        if 0 <= y < h_in and 0 <= x < w_in:
                            src = np.arange(c_in) * h_in * w_in + y * w_in + x
                            dst = np.arange(c_out) * h_out * w_out + oy * w_out + ox
                            w[np.ix_(src, dst)] += np.abs(k.weight[:, :, a, b].astype(np.float64)).T
        return w
    rows = np.repeat(np.arange(n_pre), np.diff(proj.indptr))
    np.add.at(w, (rows, proj.targets), np.abs(proj.weights.astype(np.float64)))
    return w


def _peak(proj) -> float:
    w = proj.conv.weight if proj.conv is not None and proj.targets.size == 0 else proj.weights
    return float(np.max(np.abs(w), initial=0.0))


def integer_errors(fixed: ChipNetwork, reference: ChipNetwork) -> dict[str, float]:
    """Each projection's stated largest weight error (NIR units, as the fit report gives it) in the chip's
    integer units: times integer per NIR weight, read off the largest weight of each (the scale maps it
    to the top mantissa; the input gains compile folds in are in that ratio too)."""
    ref = {p.name: _peak(p) for p in reference.projections}
    out = {}
    for q in fixed.quantization:
        proj = next(p for p in fixed.projections if p.name == q.projection)
        peak_ref = ref.get(q.projection, 0.0)
        out[q.projection] = q.max_abs_error * _peak(proj) / peak_ref if peak_ref else 0.0
    return out


def count_budget(fixed: ChipNetwork, reference: ChipNetwork, counts, steps: int,
                 upstream=None) -> list[np.ndarray]:
    """Per population of ``fixed`` (the input's all 0), per neuron, the budget of |chip - float| spike
    counts; ``reference`` is the same graph compiled for a float profile, ``counts`` its spike counts per
    population (``Activity.spike_counts``, one sample: [size] or [1, size]) over ``steps`` steps.

    ``upstream``: the measured |chip - float| counts per population; given, each layer's budget takes
    the layer below's measured differences for ``D_j`` (a layer-local budget: what this layer's own
    quantization adds to what it received), else the budgets themselves (compounding, much looser)."""
    counts = [np.asarray(c, np.float64).reshape(-1) for c in counts]
    upstream = None if upstream is None else [np.asarray(u, np.float64).reshape(-1) for u in upstream]
    error = integer_errors(fixed, reference)
    budget = [np.zeros(p.size) for p in fixed.populations]
    for post in range(1, len(fixed.populations)):
        pop, ref = fixed.populations[post], reference.populations[post]
        u_chip, a_chip = _retention(pop.params, fixed.dt_s)
        u_ref, a_ref = _retention(ref.params, reference.dt_s)
        m_chip, m_ref = 1.0 / (1.0 - u_chip), 1.0 / (1.0 - u_ref)
        theta = max(float(pop.params.threshold), 1.0)
        charge = np.full(pop.size, steps * (abs(a_chip - a_ref) * theta + 2.0 ** -pop.params.weight_shift))
        for proj in fixed.projections:
            if proj.post != post:
                continue
            n_pre = fixed.populations[proj.pre].size
            w = _abs_dense(proj, n_pre, pop.size)
            c = counts[proj.pre]
            d = budget[proj.pre] if upstream is None else upstream[proj.pre]
            e = error.get(proj.name, 0.5)
            charge += max(m_chip, m_ref) * (e * ((c + d) @ (w > 0)) + d @ w)
            charge += abs(m_chip - m_ref) * (c @ w)
        budget[post] = np.where(charge > 0, np.ceil(charge / theta) + 1, 0.0)
    return budget


def semantics_kept(fixed: ChipNetwork, violations) -> tuple[bool, str]:
    """Whether ``fixed`` runs its graph's semantics, so that :func:`count_budget` applies; else why not:
    a fit violation, or an approximation the compiler noted (a dropped leak; the chip subtracting at the
    spike where the graph subtracts after the next decay)."""
    if violations:
        return False, "fit violations: " + ", ".join(sorted({v.constraint for v in violations}))
    approximated = [n for n in fixed.notes if "no multiplicative leak" in n or "after the next decay" in n]
    if approximated:
        return False, approximated[0]
    return True, ""


def budget_holds(chip_counts: np.ndarray, ref_counts: np.ndarray, budget: np.ndarray) -> bool:
    """Every neuron's |chip - reference| count within its budget."""
    return bool(np.all(np.abs(np.asarray(chip_counts, float) - np.asarray(ref_counts, float)) <= budget))
