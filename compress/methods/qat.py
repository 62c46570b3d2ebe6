"""Quantization-aware training (QAT): train through a fake-quantized weight, straight-through.

Forward: each synaptic layer's weight rounded to its symmetric per-layer ``bits`` grid; backward: the
identity to the latent float weight (straight-through estimator, Bengio et al. 2013; as in Jacob et al.,
CVPR 2018 and Courbariaux et al.'s BinaryConnect). The per-layer scale is fixed from the dense weights
(max|w| / qmax) -- deviation from learned-scale variants (LSQ).
Bits as :func:`compress.methods.ptq.grid_bits`.
The exported model holds the rounded weights (the parametrization is baked).
"""

from __future__ import annotations

import time

from compress.codebook import FakeQuantized, attach, bake, grid_scale
from compress.method import Budget, CompressResult
from compress.methods.ptq import grid_bits
from compress.train import fit


class QAT:
    """Straight-through quantization-aware fine-tuning for ``train.epochs`` epochs."""

    name = "qat"

    def __init__(self, bits: int | None = None):
        self.bits = bits

    def compress(self, model, dataset, budget: Budget, train) -> CompressResult:
        began = time.perf_counter()
        bits = grid_bits(budget, self.bits)
        scales = {}
        for name, layer in model.synaptic_layers():
            scales[name] = grid_scale(layer.weight, bits)
            attach(layer, FakeQuantized(bits, scales[name]))
        fit(model, dataset, train, label="qat")
        bake(model)
        return CompressResult(self.name, model, train.epochs, time.perf_counter() - began,
                              extra={"bits": bits, "layer_scales": scales})
