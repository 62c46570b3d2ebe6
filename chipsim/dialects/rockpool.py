"""Rockpool 3.1.0 (``rockpool.nn.modules.torch.nir.to_nir``; importer ``...nir.from_nir``).

What the exporter writes (rockpool/nn/modules/torch/nir.py) and what ``LIFTorch`` runs (lif_torch.py):
- ``LinearTorch`` -> ``Linear`` (no bias by default); ``LIFTorch`` -> ``CubaLIF(tau_mem, tau_syn, r =
  tau_mem*exp(-dt/tau_mem)/dt, v_leak 0)``, no w_in, dt = 1e-3 by default and not written, but r gives
  it back: r*dt/tau = exp(-dt/tau).
- LIFTorch's step: isyn += input; v *= alpha; isyn *= beta; v += isyn + bias; n = floor(v/threshold)
  spikes where v >= threshold (``StepPWL``, up to 2^16 a step); v -= n*threshold. With alpha =
  exp(-dt/tau_mem), beta = exp(-dt/tau_syn), canonical NIR with exact integration needs w_in =
  beta/(1-beta) and r = 1/(1-alpha): multi-spike, subtract.
- No Conv2d, pooling or Flatten mapping: a CNN does not export.
- The importer builds LIFTorch(tau_mem, tau_syn, dt = min(tau_mem/(1+r))).
"""

from __future__ import annotations

import math

import nir
import numpy as np

from chipsim.nir_read import NIRReadError, Semantics, copy_graph, neuron_nodes

NAME = "rockpool"


def _dt_from_r(tau: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve r = tau*exp(-dt/tau)/dt for dt (Newton on f(dt) = dt*r - tau*exp(-dt/tau))."""
    dt = tau / (1.0 + r)  # Rockpool's own importer's guess, a good start
    for _ in range(50):
        f = dt * r - tau * np.exp(-dt / tau)
        dt = dt - f / (r + np.exp(-dt / tau))
    return dt


def detect(graph) -> str | None:
    cells = neuron_nodes(graph)
    if not cells or not all(isinstance(n, nir.CubaLIF) for n in cells.values()):
        return None
    has_linear = any(
        isinstance(n, nir.Linear) and not isinstance(n, nir.Affine) for n in graph.nodes.values()
    )
    dts = [_dt_from_r(np.asarray(n.tau_mem, np.float64), np.asarray(n.r, np.float64)) for n in cells.values()]
    spread = np.ptp(np.concatenate([d.ravel() for d in dts]))
    if has_linear and spread < 1e-9 and all(np.allclose(np.asarray(n.w_in), 1) for n in cells.values()):
        return f"Linear + CubaLIF with r = tau*exp(-dt/tau)/dt for one dt ({float(dts[0].ravel()[0]):g} s)"
    return None


def to_canonical(graph):
    nodes, dts = dict(graph.nodes), []
    for name, n in neuron_nodes(graph).items():
        if not isinstance(n, nir.CubaLIF):
            raise NIRReadError(f"node '{name}' ({type(n).__name__}): the Rockpool dialect reads CubaLIF only")
        tau_m, tau_s = np.asarray(n.tau_mem, np.float64), np.asarray(n.tau_syn, np.float64)
        dt = _dt_from_r(tau_m, np.asarray(n.r, np.float64))
        dts.append(float(np.median(dt)))
        alpha, beta = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
        nodes[name] = nir.CubaLIF(
            tau_mem=tau_m,
            tau_syn=tau_s,
            r=1 / (1 - alpha),
            w_in=beta / (1 - beta),
            v_leak=np.asarray(n.v_leak),
            v_threshold=np.asarray(n.v_threshold),
            v_reset=np.zeros_like(np.asarray(n.v_threshold)),
            metadata=dict(n.metadata or {}),
        )
    dt_s = dts[0] if dts else 1e-3
    if dts and not all(math.isclose(d, dt_s, rel_tol=1e-6) for d in dts):
        raise NIRReadError(f"Rockpool CubaLIF nodes imply different time steps {dts}")
    notes = (
        f"Rockpool: dt {dt_s:g} s from r = tau*exp(-dt/tau)/dt; multi-spike, subtract (LIFTorch defaults)",
    )
    return copy_graph(graph, nodes), Semantics(
        dt_s=dt_s, reset="subtract", spike="multi", integrator="exact", notes=notes
    )


def export(graph, dt_s: float):
    raise NIRReadError(
        "export to Rockpool is not implemented: its importer's LIFTorch is multi-spike with"
        " subtract and takes no w_in (see docs/interop.md)"
    )
