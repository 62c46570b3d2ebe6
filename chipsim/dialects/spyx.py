"""Spyx 1.0.0 (``spyx.nir.to_nir(model, input_shape, output_shape, dt=1)``; importer ``spyx.nir.from_nir``).

What the exporter writes (spyx/nir.py) and what Spyx runs (spyx/nn.py):
- ``LIF(shape)`` -> ``LIF(tau = dt/(1-beta), r = beta, v_leak 0)``: r is the decay, not the input gain;
  Spyx integrates ``V = beta*V + x``, canonical NIR (Euler) with r = tau/dt. ``beta`` is per neuron by
  default (0.5 + truncated normal, sd 0.25). ``nnx.Linear`` -> ``Affine``; no bias -> ``Linear``.
- Spike and reset: ``spikes = H(V_prev - threshold)``; ``V = beta*V_prev + x - spikes*threshold``. The
  spike of step t is the previous state's, so each LIF layer emits one step later than chipsim's, and the
  threshold comes off after the decay (``reset_after_decay``). That is chipsim's LIF with every
  projection (the input's too) one step late: the output lags by one step per LIF layer. The dialect
  says so (``Semantics.projection_delay_steps = 1``); ``nir_read.for_profile`` makes it a NIR Delay of one
  step on every projection where the profile has programmable delays (the float reference does), so the
  simulation fires as Spyx does, step for step. Elsewhere the lag is reported (``output_delay_steps``).
- Layout: Spyx runs channels-last (NHWC); the exporter transposes conv kernels to OIHW, but ``Flatten``
  flattens (H, W, C), so the weight after it takes its inputs channels-last: read, its columns are
  permuted to (C, H, W) order.
"""

from __future__ import annotations

from collections.abc import Iterator

import nir
import numpy as np

from chipsim.nir_read import (
    NIRReadError,
    Semantics,
    copy_graph,
    euler_factors,
    neuron_nodes,
    replace_fields,
    require_exportable,
    successors,
)

NAME = "spyx"


def _dts(graph) -> list[float] | None:
    out = []
    for n in neuron_nodes(graph).values():
        if not isinstance(n, nir.LIF):
            return None
        tau, r = np.asarray(n.tau, np.float64).ravel(), np.asarray(n.r, np.float64).ravel()
        if not (np.all(r > 0) and np.all(r < 1)):
            return None
        dt = tau * (1 - r)  # tau = dt/(1-beta), r = beta
        if np.ptp(dt) > 1e-6 * np.max(dt):
            return None
        out.append(float(dt[0]))
    return out or None


def detect(graph) -> str | None:
    dts = _dts(graph)
    if dts and np.allclose(dts, dts[0]) and all(k.startswith("layer_") for k in neuron_nodes(graph)):
        return f"LIF with r = 1 - dt/tau for one dt ({dts[0]:g}) and layer_i names (Spyx writes r = beta)"
    return None


def to_canonical(graph):
    dts = _dts(graph)
    if not dts:
        raise NIRReadError(
            "the Spyx dialect needs LIF nodes with r = beta in (0, 1) (what spyx.nir.to_nir writes)"
        )
    dt = dts[0]
    nodes = dict(graph.nodes)
    for name, n in neuron_nodes(graph).items():
        tau = np.asarray(n.tau, np.float64)
        nodes[name] = nir.LIF(
            tau=tau,
            r=tau / dt,
            v_leak=np.asarray(n.v_leak),
            v_threshold=np.asarray(n.v_threshold),
            v_reset=np.zeros_like(np.asarray(n.v_threshold)),
            metadata=dict(n.metadata or {}),
        )
    nodes, notes = _channels_last_flatten(graph, nodes)
    notes.append(
        f"Spyx: dt {dt:g} (to_nir's dt), r = tau/dt, subtract after the decay; it fires from the previous"
        f" step's V: one step of delay on every projection ({len(neuron_nodes(graph))} on the output)"
    )
    return copy_graph(graph, nodes), Semantics(
        dt_s=dt,
        reset="subtract",
        reset_after_decay=True,
        notes=tuple(notes),
        output_delay_steps=len(neuron_nodes(graph)),
        projection_delay_steps=1,
    )


def _channels_last_flatten(graph, nodes: dict) -> tuple[dict, list[str]]:
    notes = []
    missing = "Spyx flattens channels-last; no weight node after it"
    for target, chw in _weights_after_chw_flatten(graph, nodes, missing):
        weight = np.asarray(nodes[target].weight, np.float64)
        # Spyx column j is input (y, x, ch) at y*W*C + x*C + ch; reorder to ch*H*W + y*W + x
        nodes[target] = replace_fields(nodes[target], weight=weight[:, _hwc_of_chw(*chw)])
        notes.append(f"Spyx: '{target}' columns reordered from channels-last (H, W, C) to (C, H, W)")
    return nodes, notes


def _weights_after_chw_flatten(graph, nodes: dict, missing: str) -> Iterator[tuple[str, tuple[int, ...]]]:
    """(the weight node after it, its (C, H, W) input) for each Flatten of a 3-D input; a Flatten without
    one Affine/Linear after it is one line ending in ``missing``."""
    succ = successors(graph)
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.Flatten):
            continue
        shape = np.atleast_1d(np.asarray(node.input_type.get("input") if node.input_type else [])).astype(int)
        if shape.size != 3:
            continue
        nxt = succ.get(name, [])
        if len(nxt) != 1 or not isinstance(nodes[nxt[0]], (nir.Affine, nir.Linear)):
            raise NIRReadError(f"node '{name}' (Flatten): {missing}")
        yield nxt[0], (int(shape[0]), int(shape[1]), int(shape[2]))


def _hwc_of_chw(c: int, h: int, w: int) -> np.ndarray:
    """For each (C, H, W) flat index, the flat index of the same input in Spyx's (H, W, C) order."""
    return np.arange(c * h * w).reshape(h, w, c).transpose(2, 0, 1).ravel()


def export(graph, dt_s: float):
    """For ``spyx.nir.from_nir(graph, x, dt=1)``: every LIF as Spyx's ``LIF`` with beta = chipfit's Euler
    decay (written as Spyx does: tau = 1/(1-beta), r = beta), the input gain folded into the threshold.

    Spyx's LIF subtracts after the decay and fires one spike a step, from the previous step's V: a graph
    that asks for reset 'subtract' after the decay, single-spike, runs there with chipfit's spikes one step
    later per layer (every projection, the input's too, delayed one step; the Spyx import dialect adds
    the same delays). Anything else is refused, naming the node. The weight after a Flatten of (C, H, W)
    gets its columns in Spyx's channels-last (H, W, C) order."""
    nodes = dict(graph.nodes)
    for name, n in neuron_nodes(graph).items():
        require_exportable(name, n, nir.LIF, ("subtract", "single", True), "chipfit exports LIF only to Spyx",
                           "Spyx's LIF subtracts after the decay, one spike a step")
        f = euler_factors(n, dt_s)
        if np.any(f["leak"]):
            raise NIRReadError(f"node '{name}': v_leak must be 0 (Spyx's LIF has no leak term)")
        if np.any(f["decay"] <= 0) or np.any(f["decay"] >= 1):
            raise NIRReadError(f"node '{name}': Spyx needs a decay in (0, 1) a step; dt is not below tau")
        beta = f["decay"].astype(np.float32)
        nodes[name] = nir.LIF(
            tau=1.0 / (1.0 - beta),
            r=beta,
            v_leak=np.zeros_like(beta),
            v_threshold=(np.asarray(n.v_threshold, np.float64) / f["gain"]).astype(np.float32),
            v_reset=np.zeros_like(beta),
        )
    nodes = _channels_first_to_last(graph, nodes)
    out = copy_graph(graph, nodes)
    out.metadata = {}
    return out



def _channels_first_to_last(graph, nodes: dict) -> dict:
    for target, chw in _weights_after_chw_flatten(graph, nodes, "no weight node after it to reorder"):
        weight = np.asarray(nodes[target].weight)
        spyx_w = np.empty_like(weight)
        spyx_w[:, _hwc_of_chw(*chw)] = weight
        nodes[target] = replace_fields(nodes[target], weight=spyx_w)
    return nodes
