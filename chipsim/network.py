"""ChipNetwork: a NIR graph compiled to one chip's number format, as plain arrays.

Built by :func:`chipsim.compile.compile_graph`; read by ``place``, ``simulate`` and ``validate``.

Layout. Population 0 is always the input (spike sources, no dynamics). Every other population is a group
of neurons of one model with per-population scalar parameters and a per-neuron ``bias``. Populations are
in topological order. Within one time step the engine updates them in that order. Timing: a projection of
``delay_steps = d >= 1`` adds the spikes of step t in step t + d (the chip's synaptic delay: on Loihi and
TrueNorth every projection has d >= 1, so layer k of a feed-forward chain lags the input by k steps; a NIR
``Delay`` node adds to it). With ``d = 0`` (NIR's own instantaneous edges, as in snnTorch and Norse; chips
that deliver within the step) a projection whose ``pre`` comes before its ``post`` delivers in the same
step, and one with ``pre >= post`` (recurrent) delivers the spikes of step t in step t+1.

Synapses are CSR over presynaptic neurons: the targets of presynaptic neuron ``i`` are
``targets[indptr[i]:indptr[i+1]]`` with weights ``weights[...]``. In fixed point, ``weights`` are the
chip's integer weight mantissas (before the model's ``weight_shift``), with every input gain of the NIR
equations folded in; in float they are the NIR weights as they are (the gains stay in NeuronParams).
Where the chip limits distinct weights per group (TrueNorth: 4 per neuron via axon types), weights are
also stored as ``weight_index`` into ``weight_table`` (one row per group); ``weights`` holds the
looked-up values, so the engine need not care. A conv projection keeps its kernel (``conv``) and leaves
the CSR arrays empty where the chip has a conv encoding; the engine then runs the convolution from the
kernel.

Neuron updates, per model (``hwprofiles.profile.NEURON_KINDS``); ``sat`` clips to the signed range of the
state's bits, [-2^(b-1), 2^(b-1)-1], never wraps; ``x >>0 D`` is a shift of |x| with the sign restored
(rounds toward zero, as Loihi and brian2-loihi do); ``>>`` is an arithmetic shift (floor); ``in`` is the
sum of the weights of the synapses that received a spike this step, each projection's own sum first
floored by ``2^input_shift`` where it has one (Loihi's negative weight exponents: Lava's Dense shifts its
accumulated input, ``a >> -weight_exp``).

- ``loihi_cuba`` (Davies et al. 2018; Lava 0.10.0 PyLifModelBitAcc, bit for bit):
  u = wrap_u((u * (2^D - (decay_u + 1))) >>0 D + (in << weight_shift));
  v = clip((v * (2^D - decay_v)) >>0 D + u + bias, -(2^(b-1) - 1), 2^(b-1) - 1);
  spike if v > threshold << weight_shift. ``decay_u`` and ``decay_v`` are Lava's 12-bit registers du, dv
  (0..2^D - 1): the current decays by du + 1 (Lava's ``ds_offset``), so ``decay_u = 2^D - 1`` makes u the
  plain input (a LIF) and u always decays a little; ``wrap_u`` wraps once into (-2^(b-1), 2^(b-1)], as
  Lava does (not a saturation).
- ``truenorth_lif`` (Cassidy et al., IJCNN 2013): v = sat_v(v + in + bias - decay_v) (``decay_v`` is the
  linear leak per step); spike if v >= threshold.
- ``xylo_shift`` (Rockpool Xylo Audio 2): u = sat_u(u - (u >> decay_u) + in); v = sat_v(v - (v >> decay_v)
  + u + bias) (``decay_u``/``decay_v`` are bit-shift amounts, dash = log2(tau/dt); a shift of 0 means no
  current state: u = in); spike if v >= threshold.
- ``speck_iaf`` (sinabs IAF on DYNAP-CNN): v = sat_v(v + in + bias); spike if v >= threshold.
- ``float_lif``: the NIR equations in float64. CubaLIF: tau_syn dI/dt = -I + w_in*in; tau_mem dv/dt =
  (v_leak - v) + r*I. LIF: the same with I = in. IF: dv/dt = r*in (tau_mem = inf). Integrated at dt by
  forward Euler (x += dt/tau * (...), what snnTorch and most exporters assume; with snnTorch's export,
  tau = dt/(1-beta) and r = tau/dt, this is v = beta*v + in) or exactly (zero-order hold: decay
  exp(-dt/tau), input gain 1 - exp(-dt/tau) in place of dt/tau). Spike if v > threshold.

After a spike: ``reset == 'zero'``: v = v_reset (0 in fixed point); ``'subtract'``: v -= threshold (times
2^weight_shift where there is a shift). Then for ``refractory_steps`` steps v is held at its reset value
and ignores input (u keeps integrating). At most one spike per neuron per step, except ``float_lif`` with
``spike == 'multi'`` (sinabs, Rockpool): n = floor(v / threshold) spikes when v >= threshold, v -= n *
threshold, and each of its synapses delivers n times its weight. ``reset_after_decay`` (snnTorch's default
``reset_delay``): the threshold is subtracted in the next step after the decay, v' = B v + in - threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class NeuronParams:
    """Scalar dynamics of one population, in the chip's units (integers in fixed point, floats otherwise).

    Fixed point: ``decay_u`` and ``decay_v`` are the chip's decay registers (Loihi: Lava's du, dv in
    0..2**decay_bits - 1, the current decaying by du + 1; Xylo: bit shifts);
    ``threshold`` is the threshold mantissa (compared as ``threshold << weight_shift``); ``bias`` is per
    neuron in state units. Float (``float_lif``): ``tau_syn_s``/``tau_mem_s`` are time constants in s
    (``tau_syn_s = 0`` for a plain LIF, ``inf`` for IF), ``r`` the NIR resistance, ``v_leak``,
    ``threshold`` and ``v_reset`` in NIR voltage units, ``integrator`` 'euler' or 'exact'.
    """

    model: str  # one of hwprofiles.profile.NEURON_KINDS
    threshold: float
    reset: str = "zero"  # 'zero' | 'subtract'
    decay_u: float = 0.0  # fixed point: current decay constant (0 = no decay); float: unused
    decay_v: float = 0.0  # fixed point: voltage decay constant; float: unused
    refractory_steps: int = 0
    v_reset: float = 0.0
    # float reference only
    tau_syn_s: float = 0.0
    tau_mem_s: float = np.inf
    r: float = 1.0
    v_leak: float = 0.0
    w_in: float = 1.0
    integrator: str = "euler"
    spike: str = "single"  # 'single' | 'multi' (float only: floor(v / threshold) spikes a step)
    reset_after_decay: bool = False  # float subtract only: the threshold comes off after the next decay
    # float only: per-neuron time constants (s) where a node's differ (Spyx's default LIF); None: the scalars
    tau_syn_per_neuron_s: np.ndarray | None = None
    tau_mem_per_neuron_s: np.ndarray | None = None
    # fixed-point formats (copied from the profile so a network is self-describing)
    state_bits: int | None = None
    current_bits: int | None = None
    decay_bits: int | None = None
    weight_shift: int = 0


@dataclass(frozen=True)
class Population:
    """A group of neurons sharing one model. ``shape`` is (C, H, W) for conv layers, (n,) otherwise."""

    name: str  # the NIR node it came from
    size: int
    shape: tuple[int, ...]
    params: NeuronParams | None  # None for the input population
    bias: np.ndarray  # per-neuron bias, state units (int64 in fixed point, float64 in float)


@dataclass(frozen=True)
class ConvKernel:
    """A convolution kept as its kernel. ``weight`` is [C_out, C_in, kh, kw] in the chip's units."""

    weight: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int]
    in_shape: tuple[int, int, int]  # (C_in, H_in, W_in)
    out_shape: tuple[int, int, int]  # (C_out, H_out, W_out)


@dataclass(frozen=True)
class Projection:
    """Synapses from population ``pre`` to ``post`` (indices into ChipNetwork.populations)."""

    name: str
    pre: int
    post: int
    kind: str  # 'dense' | 'sparse' | 'conv' | 'sumpool' | 'recurrent' (what the NIR node was)
    indptr: np.ndarray  # int64 [pre.size + 1]
    targets: np.ndarray  # int32 [n_synapses], post-neuron indices
    weights: np.ndarray  # int32 (fixed point) or float64, [n_synapses]
    weight_index: np.ndarray | None = None  # uint8/uint16 [n_synapses] into weight_table rows
    weight_table: np.ndarray | None = None  # [groups, M] distinct values per group (same units as weights)
    weight_table_scope: str | None = None  # 'neuron' (rows are post neurons) | 'core' | 'layer'
    conv: ConvKernel | None = None  # kept kernel where the chip has a conv encoding
    # (C_out, C_in, kh, kw) of the conv (or dense: (n_post, n_pre, 1, 1)) this projection came from, kept or
    # expanded, for per-core kernel-memory formulas (Speck); None where unknown
    kernel_shape: tuple[int, int, int, int] | None = None
    delay_steps: int = 0  # a spike of step t is added in step t + delay_steps (0: see the module docstring)
    # Loihi's negative weight exponent -input_shift: this projection's own summed input of a step is floored
    # by 2^input_shift (arithmetic shift) before it joins the other projections' (Lava PyDenseModelBitAcc)
    input_shift: int = 0

    def __post_init__(self):
        if int(self.delay_steps) < 0:
            raise ValueError(f"projection {self.name}: delay_steps must be >= 0, got {self.delay_steps}")
        if not 0 <= int(self.input_shift) <= 31:
            raise ValueError(f"projection {self.name}: input_shift must be in 0..31, got {self.input_shift}")

    @property
    def n_synapses(self) -> int:
        """Stored synapses: nonzero CSR entries, or the expanded count of a kept conv kernel."""
        if self.conv is not None and self.targets.size == 0:
            return conv_synapse_count(self.conv)
        return int(self.targets.size)


@dataclass(frozen=True)
class LayerQuantization:
    """What quantizing one projection to the chip's weights cost (float NIR weight units)."""

    projection: str
    bits: int | None  # None: float, nothing lost
    scale: float  # NIR weight per integer LSB (also applied to thresholds and bias)
    distinct_values: int
    rmse: float
    max_abs_error: float
    exponent: int | None = None  # Loihi's weight exponent: weights = mantissa x 2^exponent; None: none


@dataclass(frozen=True)
class ChipNetwork:
    """A NIR graph compiled for one chip: populations, projections, and what quantization cost."""

    profile_name: str
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    output: int  # index of the output population
    dt_s: float
    fixed_point: bool
    quantization: tuple[LayerQuantization, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)  # approximations and saturations compile made
    # what the chip cannot do that the graph asks (a reset mode, multi-spike): chipsim.fit.Violation, which
    # place() puts first in the FitReport; the network is still simulated, with the chip's own behaviour
    violations: tuple = field(default_factory=tuple)

    @property
    def n_neurons(self) -> int:
        """Neurons that compute (the input population excluded)."""
        return sum(p.size for p in self.populations[1:])

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def offsets(self) -> np.ndarray:
        """Global index of each population's first neuron (input included), int64 [n_pops + 1]."""
        return np.concatenate([[0], np.cumsum([p.size for p in self.populations])]).astype(np.int64)


def conv_synapse_count(conv: ConvKernel) -> int:
    """Synapses a kernel stands for once expanded: one per (output neuron, in-bounds nonzero kernel tap)."""
    _, _, kh, kw = conv.weight.shape
    _, h_in, w_in = conv.in_shape
    _, h_out, w_out = conv.out_shape
    (sy, sx), (py, px) = conv.stride, conv.padding
    rows = np.arange(h_out)[:, None] * sy - py + np.arange(kh)[None, :]  # [h_out, kh] input row of each tap
    cols = np.arange(w_out)[:, None] * sx - px + np.arange(kw)[None, :]
    in_bounds_y = ((rows >= 0) & (rows < h_in)).sum(axis=0)  # [kh] output rows where tap ky lands inside
    in_bounds_x = ((cols >= 0) & (cols < w_in)).sum(axis=0)  # [kw]
    nonzero_taps = np.count_nonzero(conv.weight, axis=(0, 1))  # [kh, kw] (c_out, c_in) pairs per tap
    return int((nonzero_taps * in_bounds_y[:, None] * in_bounds_x[None, :]).sum())


def pipeline_steps(net: ChipNetwork) -> int:
    """Steps from an input spike to the earliest effect on the output population: the longest chain of
    forward projections' delays from the input to the output (recurrent projections excluded). A run of T
    input steps needs T + pipeline_steps steps on the chip for the output to see all of its input."""
    reach = [None] * len(net.populations)
    reach[0] = 0
    for post in range(1, len(net.populations)):  # populations are in topological order
        into = [reach[pr.pre] + int(pr.delay_steps) for pr in net.projections
                if pr.post == post and pr.pre < post and reach[pr.pre] is not None]
        reach[post] = max(into) if into else None
    return int(reach[net.output] or 0)
