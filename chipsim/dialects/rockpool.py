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
- The importer builds LIFTorch(tau_mem, tau_syn, dt = min(tau_mem/(1+r))); it has no Conv2d either.
"""

from __future__ import annotations

import math

import nir
import numpy as np

from chipsim.nir_read import (
    NIRReadError,
    Semantics,
    copy_graph,
    densify,
    euler_factors,
    neuron_nodes,
    require_exportable,
)

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
    """For Rockpool's ``from_nir``: every CubaLIF as its ``LIFTorch``, the whole chain dense.

    LIFTorch runs isyn = beta*(isyn + in); v = alpha*v + isyn (+ bias); floor(v/threshold) spikes, v -=
    spikes*threshold (multi-spike, subtract). chipfit's Euler CubaLIF, i = a*i + g_i*in; v = b*v + g_v*i,
    is that with alpha = b, beta = a and v scaled by c = a/(g_i*g_v) (isyn = (a/g_i)*i, V = c*v): so
    tau_mem = -dt/ln(b), tau_syn = -dt/ln(a), threshold and leak times c, and r = tau_mem/dt - 1, from
    which the importer takes dt = tau_mem/(1+r). A LIF is refused: LIFTorch always has that synapse
    (with beta = 0 it would drop its input), and the importer's nir.LIF branch reads ``node.tau_mem``,
    which nir.LIF has not. Rockpool's importer has no Conv2d, pooling or Flatten: the chain's linear runs
    become dense Linear layers (nir_read.densify), the same sums."""
    for name, n in neuron_nodes(graph).items():
        require_exportable(
            name, n, nir.CubaLIF, ("subtract", "multi", False),
            "chipfit exports CubaLIF only to Rockpool (its LIFTorch decays a synaptic current before the"
            " membrane; its nir.LIF import reads a tau_mem that nir.LIF has not)",
            "Rockpool's LIFTorch is multi-spike with subtract",
        )
    dense, _ = densify(graph)
    nodes = dict(dense.nodes)
    for name, n in neuron_nodes(dense).items():
        f = euler_factors(n, dt_s)
        a, b = f["syn_decay"], f["decay"]
        if np.any(a <= 0) or np.any(a >= 1) or np.any(b <= 0) or np.any(b >= 1):
            raise NIRReadError(f"node '{name}': Rockpool needs decays in (0, 1) a step (dt < tau)")
        c = a / (f["syn_gain"] * f["gain"])
        tau_mem = -dt_s / np.log(b)
        nodes[name] = nir.CubaLIF(
            tau_mem=tau_mem,
            tau_syn=-dt_s / np.log(a),
            r=tau_mem / dt_s - 1.0,
            w_in=np.ones_like(a),
            v_leak=c * f["leak"],
            v_threshold=c * np.asarray(n.v_threshold, np.float64),
            v_reset=np.zeros_like(a),
        )
    out = copy_graph(dense, nodes)
    out.metadata = {}
    return out
