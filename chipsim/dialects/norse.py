"""Norse 1.1.0 (``norse.torch.to_nir``; importer ``norse.torch.from_nir``).

What the exporter writes (norse/torch/utils/export_nir.py) and what Norse runs (functional/lif.py):
- ``LIFCell()`` -> ``CubaLIF(tau_mem = dt/tau_mem_inv, tau_syn = dt/tau_syn_inv, r = 1)`` with dt = 1e-3 s
  (``to_nir(dt=0.001)``): the "time constants" are dt^2/tau, not tau; the true ones are tau/dt of what is
  written. ``LIFBoxCell`` -> ``LIF`` likewise. No ``w_in``: Norse adds the input to the current as it is,
  ``i += input``, which canonical NIR writes as ``w_in = tau_syn/dt`` (Euler: I += dt/tau_syn*(w_in*x - I)).
- Step order (lif_feed_forward_step): the input jumps i first, v then integrates that i, i then decays:
  the same as chipsim's forward Euler. Spikes when v > v_th, reset to v_reset (0): reset to zero.
- Pooling and Flatten have no mapping: a CNN exports with None nodes (docs/interop.md).
- The importer reads tau as seconds (``tau_mem_inv = 1/tau``) and CubaLIF as w_in * LI-box synapse.
"""

from __future__ import annotations

import nir
import numpy as np

from chipsim.nir_read import NIRReadError, Semantics, copy_graph, neuron_nodes

NAME = "norse"
DT_S = 1e-3  # to_nir(dt=0.001), LIFCell(dt=0.001)


def detect(graph) -> str | None:
    cells = neuron_nodes(graph)
    if not cells or not all(isinstance(n, (nir.CubaLIF, nir.LIF)) for n in cells.values()):
        return None
    for n in cells.values():
        tau = np.asarray(n.tau_mem if isinstance(n, nir.CubaLIF) else n.tau, np.float64)
        w_in = np.asarray(getattr(n, "w_in", 1.0), np.float64)
        if not (
            np.allclose(np.asarray(n.r, np.float64), 1) and np.allclose(w_in, 1) and np.all(tau < DT_S / 10)
        ):
            return None
    return "CubaLIF/LIF with r = 1, no w_in and tau < 1e-4 s (Norse writes tau = dt/tau_inv)"


def to_canonical(graph):
    nodes = dict(graph.nodes)
    for name, n in neuron_nodes(graph).items():
        if isinstance(n, nir.CubaLIF):
            tau_syn = np.asarray(n.tau_syn, np.float64) / DT_S
            nodes[name] = nir.CubaLIF(
                tau_mem=np.asarray(n.tau_mem, np.float64) / DT_S,
                tau_syn=tau_syn,
                r=np.asarray(n.r),
                w_in=np.asarray(n.w_in) * tau_syn / DT_S,
                v_leak=np.asarray(n.v_leak),
                v_threshold=np.asarray(n.v_threshold),
                v_reset=np.asarray(n.v_reset),
                metadata=dict(n.metadata or {}),
            )
        elif isinstance(n, nir.LIF):
            nodes[name] = nir.LIF(
                tau=np.asarray(n.tau, np.float64) / DT_S,
                r=np.asarray(n.r),
                v_leak=np.asarray(n.v_leak),
                v_threshold=np.asarray(n.v_threshold),
                v_reset=np.asarray(n.v_reset),
                metadata=dict(n.metadata or {}),
            )
    notes = ("Norse: taus read as written/dt (to_nir writes dt/tau_inv), w_in = tau_syn/dt (i += input)",)
    return copy_graph(graph, nodes), Semantics(dt_s=DT_S, reset="zero", notes=notes)


def export(graph, dt_s: float):
    """For ``norse.torch.from_nir`` (dt 1e-3): taus in seconds, rescaled so each step decays as at dt_s.

    Norse's imported CubaLIF integrates its synapse as an LI box (i += dt/tau_syn*(w_in*x - i)), the
    canonical equation, so w_in and r go as they are; its LIF (LIFBoxCell) ignores r, so r is
    folded into the threshold, v_leak and v_reset. Reset to zero only.
    """
    nodes = dict(graph.nodes)
    scale = DT_S / dt_s
    for name, n in neuron_nodes(graph).items():
        reset = (n.metadata or {}).get("reset", "zero")
        if reset != "zero":
            raise NIRReadError(
                f"node '{name}': resets by '{reset}'; Norse's importer resets to zero (v_reset)"
            )
        if isinstance(n, nir.CubaLIF):
            nodes[name] = nir.CubaLIF(
                tau_mem=np.asarray(n.tau_mem) * scale,
                tau_syn=np.asarray(n.tau_syn) * scale,
                r=np.asarray(n.r),
                w_in=np.asarray(n.w_in),
                v_leak=np.asarray(n.v_leak),
                v_threshold=np.asarray(n.v_threshold),
                v_reset=np.asarray(n.v_reset),
            )
        elif isinstance(n, nir.LIF):  # Norse's LIFBoxCell ignores r: fold it into the voltages, v' = v/r
            r = np.asarray(n.r, np.float64)
            nodes[name] = nir.LIF(
                tau=np.asarray(n.tau) * scale,
                r=np.ones_like(r),
                v_leak=np.asarray(n.v_leak) / r,
                v_threshold=np.asarray(n.v_threshold) / r,
                v_reset=np.asarray(n.v_reset) / r,
            )
    return copy_graph(graph, nodes)
