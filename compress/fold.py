"""BatchNorm folding: a trained network with BatchNorm after its convs -> the same network without it.

In eval mode BatchNorm is an affine map per channel, so it folds into the conv before it (Ioffe &
Szegedy 2015; the inference fold of Jacob et al., CVPR 2018): with s = gamma / sqrt(running_var + eps),
``W' = s * W`` (per output channel) and ``b' = s * (b - running_mean) + beta``. Exact for either sign of
gamma, so neuron thresholds stay as they are; the conv then carries a bias (a constant input current,
which NIR's Conv2d and the chips have).

Folding happens once, before compression (:mod:`compress.pipeline`), so a method quantizes or clusters
the weights the chip will get, and again, as a no-op, at export (:mod:`compress.nir_io`): NIR and
chipsim never see a BatchNorm.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from compress.models import SpikingNet, build_model


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` followed by the eval-mode ``bn``, as one conv (detached)."""
    with torch.no_grad():
        gamma = bn.weight if bn.affine else torch.ones_like(bn.running_var)
        beta = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        scale = gamma / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        weight = conv.weight * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
        return weight.detach().clone(), (scale * (bias - bn.running_mean) + beta).detach().clone()


def has_batchnorm(model: SpikingNet) -> bool:
    return any(isinstance(m, nn.BatchNorm2d) for m in model.layers.values())


def without_batchnorm(model: SpikingNet) -> SpikingNet:
    """A copy of ``model`` with every ``bn<k>`` folded into ``conv<k>`` (config: batchnorm off, biases on).

    The copy is in eval mode and spikes as ``model`` does in eval mode, up to float rounding."""
    if not has_batchnorm(model):
        return model
    cfg = replace(model.config, batchnorm=False, bias=True)
    folded = build_model(cfg, model.input_shape, model.n_classes).to(next(model.parameters()).device)
    norms = {model.sources[name][0]: layer for name, layer in model.layers.items()
             if isinstance(layer, nn.BatchNorm2d)}
    with torch.no_grad():
        for name, layer in folded.synaptic_layers():
            source = model.layers[name]
            if name in norms:
                weight, bias = fold_batchnorm(source, norms[name])
            else:
                weight = source.weight.detach()
                bias = source.bias.detach() if source.bias is not None else torch.zeros_like(layer.bias)
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
            if getattr(source, "nir_metadata", None):
                layer.nir_metadata = dict(source.nir_metadata)
    return folded.eval()
