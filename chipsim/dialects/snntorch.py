"""snnTorch 1.0.0 (``snntorch.export_nir.export_to_nir``; importer ``snntorch.import_nir.import_from_nir``).

What the exporter writes (snntorch/export_nir.py) and what snnTorch runs (snntorch/_neurons/leaky.py):
- ``Leaky(beta)`` -> ``LIF(tau = dt/(1-beta), r = tau/dt, v_leak 0, v_reset 0)`` with a hard-coded
  dt = 1e-4 s that the graph does not carry; ``Synaptic`` -> ``CubaLIF`` with ``w_in = tau_syn/dt``. At
  dt = 1e-4, forward Euler gives snnTorch's ``mem = beta*mem + input``.
- Reset: ``reset_mechanism='subtract'`` by default, with ``reset_delay=True``: the reset decided at step t
  is applied in step t+1 *after* the decay, ``mem = beta*mem + input - spk*threshold`` (chipsim's
  ``reset_after_decay``). Spikes when mem > threshold, one a step. The graph does not say which reset the
  user chose: the default is assumed (``--reset zero`` overrides).
- ``AvgPool2d`` (snnTorch pools only so) -> SumPool2d with 1/k^2 folded into the next weights; the Input
  keeps the sample's batch dimension ([1, 16]).
- The importer (import_nir.py) builds ``Leaky(beta = 1 - 1e-4/tau, reset_mechanism='zero',
  reset_delay=False)`` and refuses ``r*dt/tau != 1``; it reads Affine, Linear, Conv2d, AvgPool2d, Flatten.
"""

from __future__ import annotations

import nir
import numpy as np

from chipsim.nir_read import (
    NIRReadError,
    Semantics,
    copy_graph,
    fold_avgpool,
    neuron_nodes,
    nirtorch_names,
    replace_fields,
    successors,
)

NAME = "snntorch"
DT_S = 1e-4  # export_nir.py / import_nir.py: dt = 1e-4


def detect(graph) -> str | None:
    lifs = [n for n in neuron_nodes(graph).values() if isinstance(n, (nir.LIF, nir.CubaLIF))]
    if not lifs or not nirtorch_names(graph):
        return None
    for n in lifs:
        tau = np.asarray(n.tau if isinstance(n, nir.LIF) else n.tau_mem, dtype=np.float64)
        if not np.allclose(np.asarray(n.r, dtype=np.float64), tau / DT_S, rtol=1e-4):
            return None
    return ("nirtorch's node names and r = tau/1e-4 s on every LIF (snnTorch writes tau = 1e-4/(1-beta),"
            " r = tau/1e-4)")


def to_canonical(graph):
    graph, notes = fold_avgpool(graph)
    notes.append(
        "snnTorch: assumed reset_mechanism='subtract' with reset_delay (its defaults); the graph"
        " does not record them (--reset zero for reset_mechanism='zero')"
    )
    return graph, Semantics(dt_s=DT_S, reset="subtract", reset_after_decay=True, notes=tuple(notes))


def export(graph, dt_s: float):
    """For ``import_from_nir``: taus rescaled to its dt = 1e-4 (same per-step decay), r = tau/1e-4, the
    input gain dt*r/tau folded into the threshold; SumPool2d as AvgPool2d with k^2 into the next weights.

    snnTorch's importer always resets to zero: a graph that resets by subtraction cannot be exported.
    """
    nodes = dict(graph.nodes)
    for name, node in neuron_nodes(graph).items():
        reset = (node.metadata or {}).get("reset", "zero")
        if reset != "zero":
            raise NIRReadError(f"node '{name}': resets by '{reset}'; snnTorch's importer resets to zero only")
        if isinstance(node, nir.LIF):
            tau = np.asarray(node.tau, np.float64)
            gain = dt_s * np.asarray(node.r, np.float64) / tau
            tau_new = tau * DT_S / dt_s
            nodes[name] = nir.LIF(
                tau=tau_new,
                r=tau_new / DT_S,
                v_leak=np.asarray(node.v_leak) / gain,
                v_threshold=np.asarray(node.v_threshold) / gain,
                v_reset=np.asarray(node.v_reset) / gain,
            )
        elif isinstance(node, nir.CubaLIF):
            tau_m, tau_s = np.asarray(node.tau_mem, np.float64), np.asarray(node.tau_syn, np.float64)
            gain = (dt_s * np.asarray(node.r) / tau_m) * (dt_s * np.asarray(node.w_in) / tau_s)
            tm, ts = tau_m * DT_S / dt_s, tau_s * DT_S / dt_s
            nodes[name] = nir.CubaLIF(
                tau_mem=tm,
                tau_syn=ts,
                r=tm / DT_S,
                w_in=ts / DT_S,
                v_leak=np.asarray(node.v_leak) / gain,
                v_threshold=np.asarray(node.v_threshold) / gain,
                v_reset=np.asarray(node.v_reset) / gain,
            )
        else:
            raise NIRReadError(
                f"node '{name}' ({type(node).__name__}): snnTorch's importer takes LIF and CubaLIF"
            )
    return copy_graph(graph, _sum_to_avg(graph, nodes))


def _sum_to_avg(graph, nodes: dict) -> dict:
    """SumPool2d -> AvgPool2d (snnTorch has no sum pool), the k^2 it loses folded into the next weights."""
    succ = successors(graph)
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.SumPool2d):
            continue
        k = np.atleast_1d(np.asarray(node.kernel_size)).astype(int)
        nodes[name] = nir.AvgPool2d(kernel_size=node.kernel_size, stride=node.stride, padding=node.padding)
        nxt = succ.get(name, [])
        while len(nxt) == 1 and isinstance(nodes[nxt[0]], nir.Flatten):
            nxt = succ.get(nxt[0], [])
        if len(nxt) != 1 or not isinstance(nodes[nxt[0]], (nir.Affine, nir.Linear, nir.Conv2d)):
            raise NIRReadError(f"node '{name}' (SumPool2d): no weight node after it to take its k^2")
        target = nodes[nxt[0]]
        nodes[nxt[0]] = replace_fields(
            target, weight=np.asarray(target.weight, np.float64) * int(k[0]) * int(k[-1])
        )
    return nodes
