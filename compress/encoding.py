"""Turn static inputs into input sequences over T time steps.

``rate``: Poisson-like rate coding, one Bernoulli(p = pixel) draw per pixel and step (as snnTorch's
``spikegen.rate``); the input is spikes, so a chip can take it. ``direct``: the analog value repeated every
step as a current into the first layer (Rueckauer et al. 2017; Wu et al. 2019); fewer steps train well,
but the first layer then does multiply-accumulates and a chip must accept analog input. ``events``: the
input already is spike frames [B, T, ...] (an event dataset, :mod:`compress.datasets`); they are only
moved to time-major order and made float.
"""

from __future__ import annotations

import torch

ENCODINGS = ("rate", "direct", "events")


def encode(x: torch.Tensor, steps: int, kind: str = "rate",
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode ``x`` [B, ...] with values in [0, 1] into [T, B, ...] (``steps`` = T)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if kind == "events":
        if x.dim() < 2 or x.shape[1] != steps:
            raise ValueError(f"event frames {tuple(x.shape)} do not hold {steps} steps in dim 1")
        return x.transpose(0, 1).to(torch.float32)
    if kind == "direct":
        return x.unsqueeze(0).expand(steps, *x.shape).contiguous()
    if kind == "rate":
        p = x.clamp(0.0, 1.0).unsqueeze(0).expand(steps, *x.shape)
        draws = torch.rand(p.shape, generator=generator, device=x.device if generator is None
                           else generator.device, dtype=x.dtype)
        return (draws.to(x.device) < p).to(x.dtype)
    raise ValueError(f"unknown encoding '{kind}'; known: {', '.join(ENCODINGS)}")
