"""Canonical NIR (chipfit's own exports, Lava's, or any graph that states its conventions).

chipfit writes ``dt_s`` in the graph metadata and ``reset`` in neuron metadata (compress.nir); NIR's own
defaults hold for the rest: reset to zero, one spike a step, forward Euler. A graph without a ``dt`` gets
the profile's time step, with a warning (nir_read).
"""

from __future__ import annotations

from collections.abc import Mapping

from chipsim.nir_read import NIRReadError, Semantics, fold_avgpool, graph_dt, neuron_nodes

NAME = "nir"


def detect(graph) -> str | None:
    meta = graph.metadata if isinstance(graph.metadata, Mapping) else {}
    if meta.get("dialect") not in (None, "nir", "chipfit"):
        return None
    if graph_dt(graph) is not None:
        return f"the graph's metadata gives dt {graph_dt(graph):g} s"
    return None


def to_canonical(graph):
    resets = {
        str(n.metadata.get("reset"))
        for n in neuron_nodes(graph).values()
        if isinstance(getattr(n, "metadata", None), Mapping) and n.metadata.get("reset")
    }
    if len(resets) > 1:
        raise NIRReadError(
            f"neuron nodes ask for different resets {sorted(resets)}; chipsim takes one per graph"
        )
    graph, notes = fold_avgpool(graph)
    return graph, Semantics(dt_s=None, reset=resets.pop() if resets else "zero", notes=tuple(notes))


def export(graph, dt_s: float):
    return graph
