"""ChipProfile: what a neuromorphic chip offers and what each operation costs on it.

Plain frozen data, built by :func:`hwprofiles.load` from one YAML file in ``hwprofiles/profiles/``.
``None`` for a limit means "the chip imposes none" (or, for a cost, "not published": the YAML says which,
with its ``source``). Every number's provenance is kept in :attr:`ChipProfile.sources`, keyed by the
dotted YAML path (``"energy.synapse_op_j"``).

The description follows SANA-FE's split (Boyle et al., IEEE TCAD 2025): the profile describes; compile
builds; the engine counts; the cost model prices. Nothing here computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

NEURON_KINDS = ("loihi_cuba", "truenorth_lif", "xylo_shift", "speck_iaf", "float_lif")
"""Neuron models chipsim runs bit-exactly (or, for ``float_lif``, in floating point):

- ``loihi_cuba``: Loihi's current-based LIF. 24-bit saturating current u and voltage v, 12-bit decays
  (``u = u*(4096-du) >> 12 + w<<6``; ``v = v*(4096-dv) >> 12 + u + bias``), spike when ``v > th<<6``,
  refractory (Davies et al., IEEE Micro 2018; Lava ``PyLifModelBitAcc``).
- ``truenorth_lif``: integrate-and-fire with a linear (subtractive) leak, reset to zero or by subtraction
  (Cassidy et al., IJCNN 2013).
- ``xylo_shift``: leaky integrate-and-fire whose decay is a bit shift ``v -= v >> dash``,
  ``dash = log2(tau/dt)``, 16-bit state, subtractive reset (Rockpool, Xylo Audio 2).
- ``speck_iaf``: non-leaky integrate-and-fire with 16-bit state (DYNAP-CNN / Speck, sinabs IAF).
- ``float_lif``: the NIR LIF / CubaLIF equations in float64, forward Euler or exact integration.
"""

RESET_MODES = ("zero", "subtract")
SYNAPSE_ENCODINGS = ("dense", "sparse", "conv")
LAYER_KINDS = ("dense", "conv", "sumpool", "recurrent")
UNIQUE_WEIGHT_SCOPES = ("core", "neuron", "layer")
STEP_TIMINGS = ("barrier", "tick")
WEIGHT_FORMATS = ("mantissa_exponent", "axon_types", "symmetric")  # chipsim.weight_formats
"""How a chip ends a time step: ``barrier`` (the step ends when every core is done and a barrier sync
completes: Loihi) or ``tick`` (the chip advances on a fixed real-time tick of ``time_step_s``: TrueNorth,
SpiNNaker, Xylo; a step lasts the tick, or longer if the work overruns it)."""


@dataclass(frozen=True)
class Mesh:
    """Cores and the network-on-chip that joins them (2-D mesh, dimension-order XY routing)."""

    width: int  # tiles along x
    height: int  # tiles along y
    cores_per_tile: int
    max_chips: int  # chips that may be joined into one system (1: a single chip)
    link_bandwidth_packets_per_s: float | None  # per link and direction; None: unpublished
    link_buffer_packets: int | None  # packets a router port can hold; None: unpublished

    @property
    def tiles(self) -> int:
        return self.width * self.height

    @property
    def cores(self) -> int:
        """Cores on one chip."""
        return self.tiles * self.cores_per_tile


@dataclass(frozen=True)
class CoreMemory:
    """Memory of one core measured in entries, where a chip sizes memory per core (Speck)."""

    kernel_entries: int  # weight (kernel) memory entries
    neuron_entries: int  # neuron state memory entries


@dataclass(frozen=True)
class CoreLimits:
    """What one core holds; ``None`` means no limit of that kind."""

    neurons: int | None  # neurons (compartments) per core
    synapse_memory_bits: int | None  # synapse memory per core, bits
    synapse_encoding_bits: Mapping[str, int]  # encoding -> bits one stored synapse takes, weight included
    weight_bits: int | None  # weight precision; None: float weights
    weight_signed: bool
    unique_weights: int | None  # distinct weight values allowed in one scope
    unique_weights_scope: str | None  # 'core' | 'neuron' | 'layer'
    fan_in_axons: int | None  # distinct input axons (source neurons) per core
    fan_out_axons: int | None  # core-to-core output edges per core
    fan_in_per_neuron: int | None
    fan_out_per_neuron: int | None  # destination neurons one neuron may reach
    destinations_per_layer: int | None  # destination layers one core's layer may send to (Speck: 2)
    layer_kinds: tuple[str, ...]  # subset of LAYER_KINDS the core can run
    core_memory: tuple[CoreMemory, ...] | None = None  # per-core memory in entries (Speck), by core index
    max_kernel_size: int | None = None  # largest conv kernel side
    max_channels: int | None = None  # most channels of a conv layer
    max_input_channels: int | None = None  # input channels the chip takes (Xylo Audio 2: 16)
    max_output_neurons: int | None = None  # output neurons the chip reads out (Xylo Audio 2: 8)
    weight_exponent_max: int | None = None  # weights are mantissa x 2^e, e in 0..this (Loihi); None: none
    # the most negative weight exponent (Loihi: -8); a projection's summed input is then floored by 2^-e
    weight_exponent_min: int | None = None
    # the chip's weight format (chipsim.weight_formats.FORMATS): 'mantissa_exponent' (Loihi), 'axon_types'
    # (TrueNorth), 'symmetric' (one integer per synapse)
    weight_format: str = "symmetric"


@dataclass(frozen=True)
class NeuronModel:
    """The neuron dynamics the chip implements, in its fixed point."""

    kind: str  # one of NEURON_KINDS
    state_bits: int | None  # membrane voltage bits (signed, saturating); None: float
    current_bits: int | None  # synaptic current bits (CUBA models); None: no current state / float
    decay_bits: int | None  # bits of the decay constants (Loihi: 12 -> decay in 0..4096)
    weight_shift: int  # weights and thresholds are shifted left by this many bits (Loihi: 6)
    threshold_bits: int | None  # bits of the threshold mantissa
    reset: str  # 'zero' | 'subtract' (the chip's default; a network may ask for the other if supported)
    resets_supported: tuple[str, ...]
    refractory_max_steps: int  # 0 where the chip has no refractory period


@dataclass(frozen=True)
class Energy:
    """Energy per operation, J. ``None``: not published (the YAML says so)."""

    synapse_op_j: float | None  # one synaptic event (weight read + accumulate)
    neuron_update_active_j: float | None  # one neuron update that had input or state
    neuron_update_idle_j: float | None  # one neuron update with nothing to do
    spike_out_j: float | None  # a neuron generating a spike
    message_out_j: float | None  # one packet sent from a core (per destination core)
    message_in_j: float | None  # one packet received by a core
    hop_ew_j: float | None  # one router hop east or west
    hop_ns_j: float | None  # one router hop north or south
    static_power_w: float | None  # whole-chip static (leakage) power, W
    mac_j: float | None = None  # one multiply-accumulate (non-spiking input layers; generic-45nm)
    synapse_op_by_encoding_j: Mapping[str, float] | None = None  # encoding -> J, where it differs (Loihi)
    energy_per_inference_j: float | None = None  # a BUDGET, not a price: dynamic J allowed per inference


@dataclass(frozen=True)
class Latency:
    """Time per operation, s, and the barrier that ends a time step."""

    synapse_op_s: float | None
    neuron_update_active_s: float | None
    neuron_update_idle_s: float | None
    spike_out_s: float | None
    message_out_s: float | None
    message_in_s: float | None
    hop_ew_s: float | None
    hop_ns_s: float | None
    barrier_sync_s: tuple[tuple[int, float], ...]  # (tiles in use, s): largest key <= tiles applies
    mac_s: float | None = None
    step_timing: str = "barrier"  # one of STEP_TIMINGS
    synapse_op_by_encoding_s: Mapping[str, float] | None = None  # encoding -> s, where it differs (Loihi)
    # time steps from a spike to its delivery at the next layer: a spike fired in step t is integrated in
    # step t + synapse_delay_steps (Loihi, TrueNorth: 1; 0: within the step, as NIR's edges)
    synapse_delay_steps: int = 0
    synapse_delay_max_steps: int | None = None  # longest programmable delay; None: none beyond the minimum


@dataclass(frozen=True)
class ChipProfile:
    """One chip, as published. Loaded and validated by :func:`hwprofiles.load`."""

    name: str
    description: str
    path: str  # the YAML file it came from
    mesh: Mesh
    core: CoreLimits
    neuron: NeuronModel
    energy: Energy
    latency: Latency
    time_step_s: float  # the simulation time step dt, s
    sources: Mapping[str, str] = field(default_factory=dict)  # dotted key -> source
    notes: Mapping[str, str] = field(default_factory=dict)  # dotted key -> caveat / alternative figure

    @property
    def fixed_point(self) -> bool:
        """True where weights and state are integers on the chip."""
        return self.neuron.kind != "float_lif"

    @property
    def cores_total(self) -> int:
        """Cores across every chip the system may join."""
        return self.mesh.cores * self.mesh.max_chips
