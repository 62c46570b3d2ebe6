"""Spiking neuron layers trained with surrogate gradients, parameterized one-to-one with NIR.

Discrete update per step t (forward Euler of NIR's equations with snnTorch's export convention
tau = dt/(1-beta), r = tau/dt, w_in = tau_syn/dt, which makes the input gains 1):

- ``LIF``:     v[t] = beta*v[t-1] + x[t]
- ``CubaLIF``: i[t] = alpha*i[t-1] + x[t];  v[t] = beta*v[t-1] + i[t]

Spike s[t] = 1 if v[t] > threshold (strict, as NIR), then reset in the same step: 'zero' -> v = 0,
'subtract' -> v -= threshold. This is the order ``chipsim``'s float engine uses (chipsim/network.py).
``beta = 1`` is an integrate-and-fire neuron (NIR IF). Two foreign conventions, for models imported from
other frameworks (chipsim/dialects): ``spike_mode='multi'`` (sinabs, Rockpool) fires n = floor(v/threshold)
spikes when v >= threshold and subtracts n*threshold (the surrogate is that of the single spike); and
``reset_after_decay`` (snnTorch's ``reset_delay``) takes the subtraction off after the next step's decay:
v[t] = beta*v[t-1] + x[t] - threshold*s[t-1].

Surrogate gradients for the Heaviside (Neftci, Mostafa & Zenke 2019): ``atan`` (Fang et al., ICCV 2021:
dS/dx = (a/2) / (1 + (pi/2 * a * x)^2), a = 2) and ``fast_sigmoid`` (Zenke & Ganguli 2018, SuperSpike:
dS/dx = 1 / (1 + k|x|)^2, k = 25), with x = v - threshold.

Deviation (common practice, as snnTorch's default ``reset_delay``/detached reset): the reset term is
detached from the autograd graph, so gradients do not flow through the spike into the reset.
"""

from __future__ import annotations

import math

import torch
from torch import nn

RESETS = ("zero", "subtract")
SPIKE_MODES = ("single", "multi")
SURROGATES = ("atan", "fast_sigmoid")
ATAN_ALPHA = 2.0
FAST_SIGMOID_SLOPE = 25.0


class _Spike(torch.autograd.Function):
    """Heaviside forward (x > 0, strict); surrogate derivative backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kind: str) -> torch.Tensor:  # noqa: D102
        ctx.save_for_backward(x)
        ctx.kind = kind
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        (x,) = ctx.saved_tensors
        if ctx.kind == "atan":
            a = ATAN_ALPHA
            surrogate = (a / 2) / (1 + (math.pi / 2 * a * x) ** 2)
        else:
            surrogate = 1.0 / (1.0 + FAST_SIGMOID_SLOPE * x.abs()) ** 2
        return grad * surrogate, None


def spike(x: torch.Tensor, surrogate: str = "atan") -> torch.Tensor:
    """1 where ``x`` > 0, with the named surrogate gradient."""
    return _Spike.apply(x, surrogate)


def _check(name: str, value: float, low: float, high: float, closed: bool = False) -> float:
    if not (low <= value <= high if closed else low <= value < high):
        raise ValueError(f"{name} must be in [{low}, {high}{']' if closed else ')'}, got {value}")
    return float(value)


class LIF(nn.Module):
    """Leaky integrate-and-fire: v = beta*v + x; spike if v > threshold; reset. Input and output [T, B, ...].

    ``beta``: membrane decay per step (1: IF); ``dt_s``: step in s (only for NIR's time constants);
    ``spike_mode``/``reset_after_decay``: see the module docstring.
    """

    def __init__(self, beta: float = 0.9, threshold: float = 1.0, reset: str = "zero",
                 surrogate: str = "atan", dt_s: float = 1e-3, spike_mode: str = "single",
                 reset_after_decay: bool = False):
        super().__init__()
        if reset not in RESETS:
            raise ValueError(f"unknown reset '{reset}'; known: {', '.join(RESETS)}")
        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate '{surrogate}'; known: {', '.join(SURROGATES)}")
        if spike_mode not in SPIKE_MODES:
            raise ValueError(f"unknown spike mode '{spike_mode}'; known: {', '.join(SPIKE_MODES)}")
        self.beta = _check("beta", beta, 0.0, 1.0, closed=True)
        self.spike_mode = spike_mode
        self.reset_after_decay = bool(reset_after_decay) and reset == "subtract"
        self.threshold = float(threshold)
        if self.threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.reset, self.surrogate, self.dt_s = reset, surrogate, float(dt_s)

    record_membrane = False  # when True, _fire appends v before reset (detached) to self.membrane_trace

    def _fire(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(spikes, v after the reset); with ``reset_after_decay`` v is returned unchanged (see _step)."""
        if self.record_membrane:
            self.membrane_trace.append(v.detach())
        s = spike(v - self.threshold, self.surrogate)
        if self.spike_mode == "multi":
            count = torch.where(v >= self.threshold, torch.floor(v / self.threshold), torch.zeros_like(v))
            s = s + (count - s).detach()
        kept = s.detach()
        if self.reset == "zero":
            return s, v * (kept == 0).to(v.dtype)
        return s, (v if self.reset_after_decay else v - kept * self.threshold)

    def _step(self, v: torch.Tensor, drive: torch.Tensor, owed: torch.Tensor):
        """One step from the decayed-and-driven ``drive``: (spikes, v, threshold still owed)."""
        v = drive - owed
        s, v = self._fire(v)
        return s, v, (s.detach() * self.threshold if self.reset_after_decay else owed)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x_seq[0])
        owed = torch.zeros_like(v)
        out = []
        for x in x_seq:
            s, v, owed = self._step(v, self.beta * v + x, owed)
            out.append(s)
        return torch.stack(out)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}, reset={self.reset}, surrogate={self.surrogate}"


class CubaLIF(LIF):
    """Current-based LIF: i = alpha*i + x; v = beta*v + i; spike if v > threshold; reset v only."""

    def __init__(self, alpha: float = 0.8, beta: float = 0.9, threshold: float = 1.0, reset: str = "zero",
                 surrogate: str = "atan", dt_s: float = 1e-3, spike_mode: str = "single",
                 reset_after_decay: bool = False):
        super().__init__(beta, threshold, reset, surrogate, dt_s, spike_mode, reset_after_decay)
        self.alpha = _check("alpha", alpha, 0.0, 1.0)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        i = torch.zeros_like(x_seq[0])
        v = torch.zeros_like(x_seq[0])
        owed = torch.zeros_like(v)
        out = []
        for x in x_seq:
            i = self.alpha * i + x
            s, v, owed = self._step(v, self.beta * v + i, owed)
            out.append(s)
        return torch.stack(out)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, " + super().extra_repr()
