"""Per-core resource formulas: what one projection or population costs the core that holds it.

Speck / DYNAP-CNN memory is sized as sinabs computes it (``DynapcnnLayer.memory_summary``, sinabs
``chips/dynapcnn.py``): kernel entries ``K = c * 2^(ceil(log2(kx*ky)) + ceil(log2 f))`` for a conv with c
input and f output channels, neuron entries ``N = f * 2^(ceil(log2 fx) + ceil(log2 fy))`` for an
f x fx x fy output. A dense layer counts as a 1x1 conv over its flat input (c inputs, f outputs, 1 x 1).

Synapse memory (bits) of a core, for every other chip: the sum over the projections into its neurons of
- a kept conv kernel (encoding 'conv'): ``C_in * kh * kw * bits_conv`` per output channel present on the core
  (the kernel slice those neurons read, zeros included, as a kernel memory stores it);
- otherwise the cheaper of the encodings the chip has, chosen once per projection: 'sparse' stores each
  nonzero synapse (``bits_sparse`` each, index included), 'dense' stores a full row of the projection's
  presynaptic population per post neuron (``n_pre * bits_dense``, zeros included).
"""

from __future__ import annotations

import math

from chipsim.network import Projection
from hwprofiles.profile import ChipProfile


def ceil_log2(x: int) -> int:
    """Smallest e with 2^e >= x (0 for x <= 1)."""
    return max(int(x) - 1, 0).bit_length()


def speck_kernel_memory(c_in: int, c_out: int, kh: int, kw: int) -> int:
    """Kernel memory entries of one conv layer on Speck: ``c * 2^(ceil(log2(kh*kw)) + ceil(log2 f))``."""
    return int(c_in) * 2 ** (ceil_log2(kh * kw) + ceil_log2(c_out))


def speck_neuron_memory(c_out: int, h_out: int, w_out: int) -> int:
    """Neuron memory entries of one layer on Speck: ``f * 2^(ceil(log2 fx) + ceil(log2 fy))``."""
    return int(c_out) * 2 ** (ceil_log2(h_out) + ceil_log2(w_out))


def population_chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """A population's shape as (C, H, W); a flat (n,) population is n channels of 1 x 1."""
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    return math.prod(shape), 1, 1


def synapse_encoding(proj: Projection, n_pre: int, n_post: int, profile: ChipProfile) -> tuple[str, int]:
    """(encoding, bits per stored synapse) the projection uses on this chip (see the module docstring)."""
    bits = dict(profile.core.synapse_encoding_bits)
    if proj.conv is not None and proj.targets.size == 0:
        return "conv", bits.get("conv", 0)
    options = {enc: b for enc, b in bits.items() if enc in ("sparse", "dense")}
    if not options:  # only a conv encoding: each expanded synapse stored at its width
        enc, b = min(bits.items(), key=lambda kv: kv[1], default=("sparse", 0))
        return enc, b
    cost = {
        "sparse": proj.targets.size * options.get("sparse", 0),
        "dense": n_pre * n_post * options.get("dense", 0),
    }
    enc = min(options, key=lambda e: (cost[e], e))
    return enc, options[enc]


def conv_channel_bits(proj: Projection, profile: ChipProfile) -> int:
    """Kernel storage of one output channel of a kept conv, bits."""
    _, c_in, kh, kw = proj.conv.weight.shape
    return int(c_in * kh * kw * profile.core.synapse_encoding_bits.get("conv", 0))


def core_limits(profile: ChipProfile) -> dict[str, int | None]:
    """Resource name -> per-core (or per-neuron, per-layer) limit; None where the chip states none."""
    c = profile.core
    return {
        "neurons_per_core": c.neurons,
        "synapse_memory_bits": c.synapse_memory_bits,
        "fan_in_axons": c.fan_in_axons,
        "fan_out_axons": c.fan_out_axons,
        "fan_in_per_neuron": c.fan_in_per_neuron,
        "fan_out_per_neuron": c.fan_out_per_neuron,
        "unique_weights": c.unique_weights,
        "destinations_per_layer": c.destinations_per_layer,
        "layers_per_core": 1 if one_layer_per_core(profile) else None,
        "kernel_memory": None,  # per core: usage['kernel_memory_limit']
        "neuron_memory": None,  # per core: usage['neuron_memory_limit']
    }


def one_layer_per_core(profile: ChipProfile) -> bool:
    """Chips that size memory per core for one layer (Speck) hold one whole population per core."""
    return profile.core.core_memory is not None
