"""Random ChipNetworks in a chip's own number format, for cross-validation and benchmarks.

A network built here exercises what a compiled graph may hold, on purpose: feedforward and recurrent
projections (same-population and backward, so next-step delivery is tested), excitatory and inhibitory
weights, thresholds set near the expected drive (so neurons hover near threshold), a population driven
into saturation, refractory periods, and both reset modes where the chip supports both. Parameters stay
inside the profile's fields (weight bits and sign, state and decay bits, threshold bits, refractory max).

Not a paper's method: a test fixture in the spirit of the random networks SANA-FE and NeMo use for
simulator throughput.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from hwprofiles.profile import ChipProfile, NeuronModel


@dataclass(frozen=True)
class Layer:
    """One population of a random network: its share of the neurons and the reset it asks for."""

    name: str
    share: float
    reset: str
    refractory_steps: int


def csr(pre: np.ndarray, post: np.ndarray, weights: np.ndarray, n_pre: int) -> tuple[np.ndarray, ...]:
    """(indptr int64, targets int32, weights) sorted by presynaptic neuron."""
    order = np.lexsort((post, pre))
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.add.at(indptr, pre + 1, 1)
    return np.cumsum(indptr), post[order].astype(np.int32), weights[order]


def weight_range(profile: ChipProfile) -> tuple[int, int]:
    """Integer weight mantissas the chip stores: signed two's complement or unsigned."""
    bits = profile.core.weight_bits or 8
    if profile.core.weight_signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def random_synapses(rng: np.random.Generator, n_pre: int, n_post: int, p: float, low: float, high: float,
                    fixed_point: bool, exclude_self: bool = False) -> tuple[np.ndarray, ...]:
    """Bernoulli(p) connectivity, weights uniform in [low, high] (integers in fixed point), zeros dropped."""
    mask = rng.random((n_pre, n_post)) < p
    if exclude_self:
        np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    if fixed_point:
        w = rng.integers(int(low), int(high) + 1, size=pre.size).astype(np.int32)
    else:
        w = rng.uniform(low, high, size=pre.size)
    keep = w != 0
    return pre[keep].astype(np.int64), post[keep].astype(np.int64), w[keep]


def _fixed_params(model: NeuronModel, rng: np.random.Generator, layer: Layer, drive: float,
                  saturate: bool) -> NeuronParams:
    """Scalar parameters in the chip's units, with the threshold set near ``drive`` (typical v per step)."""
    kind = model.kind
    shift = 2**model.weight_shift if kind == "loihi_cuba" else 1
    v_max = 2 ** ((model.state_bits or 16) - 1) - 1
    decay_u = decay_v = 0
    if kind == "loihi_cuba":
        full = 2 ** (model.decay_bits or 12)
        decay_u = int(full if rng.random() < 0.3 else rng.integers(full // 4, full))
        decay_v = int(rng.integers(full // 64, full // 4))
        if saturate:  # no leak: u and v integrate until they clip
            decay_u = decay_v = 0
        gain = full / max(decay_v, 1)  # steady state of v per unit of drive
    elif kind == "truenorth_lif":
        decay_v = int(rng.integers(0, 4))
        gain = 3.0
    elif kind == "xylo_shift":
        top = min(2 ** (model.decay_bits or 4) - 1, (model.state_bits or 16) - 2)
        decay_u = top if saturate else int(rng.integers(0, 4))
        decay_v = top if saturate else int(rng.integers(1, 5))
        gain = float(2**decay_v)
    else:  # speck_iaf: no leak
        gain = 4.0
    threshold = max(1.0, drive * gain * 0.8)
    if saturate:
        threshold = v_max  # v must reach the top of its range
    threshold_max = (2**model.threshold_bits - 1) if model.threshold_bits else v_max
    threshold = int(min(threshold / shift, threshold_max, v_max // shift))
    return NeuronParams(model=kind, threshold=max(threshold, 1), reset=layer.reset, decay_u=decay_u,
                        decay_v=decay_v, refractory_steps=layer.refractory_steps, state_bits=model.state_bits,
                        current_bits=model.current_bits, decay_bits=model.decay_bits,
                        weight_shift=model.weight_shift)


def _float_params(rng: np.random.Generator, layer: Layer, index: int, dt_s: float) -> NeuronParams:
    """NIR-style float parameters: a CubaLIF, a LIF and an IF layer in turn."""
    kinds = ("cuba", "lif", "if", "cuba")
    kind = kinds[index % len(kinds)]
    tau_mem = float(rng.uniform(5, 20)) * dt_s if kind != "if" else np.inf
    tau_syn = float(rng.uniform(2, 8)) * dt_s if kind == "cuba" else 0.0
    r = 1.0 / dt_s if kind == "if" else tau_mem / dt_s  # IF: v += dt * r * I = I per step
    return NeuronParams(model="float_lif", threshold=1.0, reset=layer.reset,
                        refractory_steps=layer.refractory_steps, tau_syn_s=tau_syn, tau_mem_s=tau_mem, r=r,
                        v_leak=0.0, w_in=1.0)


def random_network(profile: ChipProfile, n_neurons: int, seed: int = 0, *, float_mode: bool | None = None,
                   input_rate: float = 0.1) -> ChipNetwork:
    """A recurrent network of ``n_neurons`` computing neurons in ``profile``'s format (float if asked).

    Layers: ``a`` (input -> a, recurrent a -> a), ``b`` (a -> b, backward b -> a inhibitory, other reset),
    ``sat`` (strong excitatory input, threshold at the top of the state range: drives u and v into
    saturation), ``out`` (b, sat -> out, self-inhibition). Every projection has the chip's synaptic delay;
input -> sat two steps more where the chip has programmable delays. ``input_rate`` is the expected input spike
    probability per step that the thresholds are tuned for.
    """
    if n_neurons < 8:
        raise ValueError(f"a random network needs at least 8 neurons, got {n_neurons}")
    rng = np.random.default_rng(seed)
    model = profile.neuron
    fixed = profile.fixed_point if float_mode is None else not float_mode
    other = [r for r in model.resets_supported if r != model.reset]
    refractory = min(2, model.refractory_max_steps)
    layers = (Layer("a", 0.4, model.reset, refractory),
              Layer("b", 0.3, other[0] if other else model.reset, 0),
              Layer("sat", 0.1, model.reset, min(1, refractory)),
              Layer("out", 0.2, model.reset, refractory))
    sizes = [max(1, int(round(layer.share * n_neurons))) for layer in layers]
    sizes[0] += n_neurons - sum(sizes)
    n_in = max(8, n_neurons // 4)
    w_lo, w_hi = weight_range(profile) if fixed else (-1.0, 1.0)
    w_lo = w_lo if w_lo < 0 else 0

    # (pre, post, p, low, high): inhibitory where high <= 0
    wiring = [(0, 1, 0.2, w_lo // 4, w_hi), (1, 1, 0.05, w_lo, w_hi), (1, 2, 0.1, w_lo // 2, w_hi),
              (2, 1, 0.05, w_lo, 0), (0, 3, 0.5, w_hi // 2, w_hi), (2, 4, 0.1, w_lo // 2, w_hi),
              (3, 4, 0.2, w_lo // 2, w_hi), (4, 4, 0.1, w_lo, 0)]
    if not fixed:
        wiring = [(a, b, p, lo / 2, hi / 2 if hi > 0 else 0.0) for a, b, p, lo, hi in wiring]
    all_sizes = [n_in, *sizes]
    # the chip's synaptic delay on every projection; input -> sat gets a longer one where the chip has them
    base, top = profile.latency.synapse_delay_steps, profile.latency.synapse_delay_max_steps
    delays = (base, base if top is None else min(top, base + 2))
    rates = [input_rate] + [0.05] * len(sizes)
    projections = []
    drive = np.zeros(len(all_sizes))
    for j, (pre, post, p, low, high) in enumerate(wiring):
        if low >= high:
            low, high = (w_lo, 0) if high <= 0 else (0, high)
        s_pre, s_post, w = random_synapses(rng, all_sizes[pre], all_sizes[post], p, low, high, fixed,
                                           exclude_self=False)
        indptr, targets, weights = csr(s_pre, s_post, w, all_sizes[pre])
        kind = "recurrent" if pre >= post else "sparse"
        delay = delays[1] if (pre, post) == (0, 3) else delays[0]
        projections.append(Projection(name=f"w{j}_{pre}_{post}", pre=pre, post=post, kind=kind, indptr=indptr,
                                      targets=targets, weights=weights, delay_steps=delay))
        if pre < post or pre == post:
            drive[post] += all_sizes[pre] * p * rates[pre] * max(abs(high), abs(low)) / 2
    zeros = np.zeros(n_in, dtype=np.int64 if fixed else float)
    populations = [Population("input", n_in, (n_in,), None, zeros)]
    shift = 2**model.weight_shift if (fixed and model.kind == "loihi_cuba") else 1
    for k, (layer, size) in enumerate(zip(layers, sizes, strict=True), start=1):
        if fixed:
            params = _fixed_params(model, rng, layer, drive[k] * shift, saturate=layer.name == "sat")
            bias_span = max(1, int(params.threshold * shift) // 16)
            bias = rng.integers(-bias_span, bias_span + 1, size=size).astype(np.int64)
        else:
            params = _float_params(rng, layer, k - 1, profile.time_step_s)
            bias = rng.uniform(-0.02, 0.05, size=size)
        populations.append(Population(layer.name, size, (size,), params, bias))
    return ChipNetwork(profile_name=profile.name, populations=tuple(populations),
                       projections=tuple(projections), output=len(populations) - 1,
                       dt_s=profile.time_step_s, fixed_point=fixed)


def poisson_input(steps: int, n_in: int, rate: float, seed: int = 0, batch: int = 1) -> np.ndarray:
    """Bernoulli(rate) input spikes, bool [steps, batch, n_in]."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"input rate must be a probability per step in [0, 1], got {rate}")
    return np.random.default_rng(seed).random((steps, batch, n_in)) < rate
