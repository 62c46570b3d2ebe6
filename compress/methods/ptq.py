"""Post-training quantization (PTQ): symmetric uniform per-layer quantization to ``bits`` signed bits.

The classic round-to-nearest baseline (e.g. Jacob et al., CVPR 2018, without zero point): scale =
max|w| / (2**(bits-1) - 1) per layer, w -> scale * round(w / scale). No training (0 epochs).
Bits: the ``bits`` option, else the budget's ``weight_bits``, lowered when the budget also caps distinct
values (``unique_weights`` = M) to the widest grid with at most M values (:func:`grid_bits`); 8 bits
when the budget sets neither.
"""

from __future__ import annotations

import time

import torch

from compress.codebook import grid_scale, qmax, to_grid
from compress.method import Budget, CompressResult

DEFAULT_BITS = 8


def grid_bits(budget: Budget, bits: int | None = None) -> int:
    """Bits of the symmetric grid a uniform quantizer uses under ``budget``.

    The grid of b bits has 2q+1 values (q = qmax(b)), zero included; with ``zero_free`` zero is not
    counted. Lowered until that count is <= unique_weights (never below 2 bits: ternary).
    """
    b = bits if bits is not None else budget.weight_bits if budget.weight_bits is not None else DEFAULT_BITS
    if budget.unique_weights is not None:
        while b > 2 and 2 * qmax(b) + (0 if budget.zero_free else 1) > budget.unique_weights:
            b -= 1
    return b


def quantize_model(model: torch.nn.Module, bits: int) -> dict[str, float]:
    """Round every synaptic layer's weight in place to its per-layer grid; return layer -> scale."""
    scales = {}
    with torch.no_grad():
        for name, layer in model.synaptic_layers():
            scales[name] = grid_scale(layer.weight, bits)
            layer.weight.copy_(to_grid(layer.weight, bits, scales[name]))
    return scales


class PTQ:
    """Post-training symmetric per-layer uniform quantization."""

    name = "ptq"

    def __init__(self, bits: int | None = None):
        self.bits = bits

    def compress(self, model, dataset, budget: Budget, train) -> CompressResult:
        began = time.perf_counter()
        bits = grid_bits(budget, self.bits)
        scales = quantize_model(model, bits)
        return CompressResult(self.name, model, 0, time.perf_counter() - began,
                              extra={"bits": bits, "layer_scales": scales})
