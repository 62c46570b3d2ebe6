"""Canonical NIR (chipfit's own exports, Lava's, or any graph that states its conventions).

chipfit writes ``dt_s`` in the graph metadata and ``reset``, ``spike`` and ``reset_after_decay`` in neuron
metadata (compress.nir_io); NIR's own defaults hold for the rest: reset to zero, one spike a step,
forward Euler. A graph without a ``dt`` gets
the profile's time step, with a warning (nir_read).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from chipsim.nir_read import NIRReadError, Semantics, fold_avgpool, graph_dt, neuron_nodes

NAME = "nir"


def detect(graph) -> str | None:
    meta = graph.metadata if isinstance(graph.metadata, Mapping) else {}
    if meta.get("dialect") not in (None, "nir", "chipfit"):
        return None
    if graph_dt(graph) is not None:
        return f"the graph's metadata gives dt {graph_dt(graph):g} s"
    return None


def _text(value) -> str:
    value = np.asarray(value).item() if isinstance(value, np.ndarray) else value
    return value.decode() if isinstance(value, bytes) else str(value)


def _one(graph, key: str, default: str) -> str:
    """The value every neuron node's metadata gives ``key`` (``default`` where none does)."""
    found = {
        _text(n.metadata[key])
        for n in neuron_nodes(graph).values()
        if isinstance(getattr(n, "metadata", None), Mapping) and n.metadata.get(key) is not None
    }
    if len(found) > 1:
        raise NIRReadError(f"neuron nodes ask for different {key} {sorted(found)}; chipsim takes one")
    return found.pop() if found else default


def to_canonical(graph):
    reset, spike = _one(graph, "reset", "zero"), _one(graph, "spike", "single")
    after = _one(graph, "reset_after_decay", "False") in ("True", "true", "1")
    graph, notes = fold_avgpool(graph)
    return graph, Semantics(dt_s=None, reset=reset, spike=spike, reset_after_decay=after, notes=tuple(notes))


def export(graph, dt_s: float):
    return graph
