"""sinabs 3.1.3 (``sinabs.to_nir``; importer ``sinabs.from_nir``).

What the exporter writes (sinabs/nir.py) and what sinabs runs (layers/functional/lif.py,
activation/spike_generation.py, activation/reset_mechanism.py):
- ``IAF()`` -> ``IF(r = 1, v_threshold)``: "add the input" each step, so dt = 1 (sinabs counts time in
  steps; ``LIF``'s tau_mem is in steps too, decay exp(-1/tau): exact integration).
- Defaults: ``MultiSpike`` (``trunc(v/threshold)`` spikes when v > 0, so several a step, from v >=
  threshold), ``MembraneSubtract`` (v -= spikes*threshold, right after spiking), no lower bound.
- Shapes: the Input keeps the sample's leading dimension ([1, 16]); per-neuron parameters have the
  layer's shape; SumPool2d is sinabs' own pool.
- The importer makes every IF an ``IAFSqueeze(spike_threshold, min_v_mem = -threshold)``: multi-spike,
  subtract, and a lower bound of -threshold the exporter never wrote.
"""

from __future__ import annotations

import nir
import numpy as np

from chipsim.nir_read import NIRReadError, Semantics, copy_graph, neuron_nodes, nirtorch_names

NAME = "sinabs"
DT_S = 1.0  # one step; sinabs has no time unit


def detect(graph) -> str | None:
    cells = neuron_nodes(graph)
    if not nirtorch_names(graph):
        return None
    if cells and all(
        isinstance(n, nir.IF) and np.allclose(np.asarray(n.r, np.float64), 1) for n in cells.values()
    ):
        return "nirtorch's node names and only IF neurons with r = 1 (sinabs' IAF exports so)"
    if (
        cells
        and all(isinstance(n, (nir.IF, nir.LIF)) for n in cells.values())
        and any(isinstance(n, nir.LIF) and float(np.min(n.tau)) >= 1.0 for n in cells.values())
    ):
        return "LIF taus >= 1 (sinabs writes tau in steps)"
    return None


def to_canonical(graph):
    lif = any(isinstance(n, nir.LIF) for n in neuron_nodes(graph).values())
    notes = ["sinabs: dt = 1 step; MultiSpike with MembraneSubtract assumed (sinabs' defaults)"]
    return graph, Semantics(
        dt_s=DT_S, reset="subtract", spike="multi", integrator="exact" if lif else "euler", notes=tuple(notes)
    )


def export(graph, dt_s: float):
    """For ``sinabs.from_nir``: IF with r folded into the threshold (v_thr / (dt*r)), as sinabs adds the
    input each step. Its importer is multi-spike, subtracts, and bounds v below at -threshold: only a
    graph that asks for exactly that runs there as chipfit runs it; others are refused here."""
    nodes = dict(graph.nodes)
    for name, n in neuron_nodes(graph).items():
        meta = n.metadata or {}
        if not isinstance(n, nir.IF):
            raise NIRReadError(
                f"node '{name}' ({type(n).__name__}): sinabs' importer runs LIF without leak"
                " normalisation; chipfit exports IF only to sinabs"
            )
        if meta.get("reset") != "subtract" or meta.get("spike") != "multi":
            raise NIRReadError(
                f"node '{name}': sinabs' importer is multi-spike with subtract; the graph asks"
                f" reset '{meta.get('reset', 'zero')}', spike '{meta.get('spike', 'single')}'"
            )
        gain = dt_s * np.asarray(n.r, np.float64)
        nodes[name] = nir.IF(r=np.ones_like(gain), v_threshold=np.asarray(n.v_threshold) / gain)
    return copy_graph(graph, nodes)
