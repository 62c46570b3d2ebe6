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

from chipsim.nir_read import (
    NIRReadError,
    Semantics,
    copy_graph,
    densify,
    euler_factors,
    neuron_nodes,
    nirtorch_names,
    replace_fields,
    require_exportable,
)

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
    """For ``sinabs.from_nir``: every LIF as sinabs' ``LIFSqueeze(tau_mem, norm_input=False)``, which runs
    v = exp(-1/tau)*v + in with tau in steps: tau = -1/ln(1 - dt/tau) gives chipfit's Euler decay, and the
    input gain dt*r/tau is folded into the threshold (v' = v/gain). The importer is multi-spike with
    subtract (MultiSpike, MembraneSubtract, no lower bound for LIF): a graph asking for anything else is
    refused, naming the node. IF is refused too: the importer's IAFSqueeze bounds v at -threshold
    (``min_v_mem``), which chipfit's IF does not. Linear becomes Affine (the importer reads no Linear);
    Conv2d gets a zero bias where it has none. The importer ignores r; it is written as 1/(1 - decay), so
    that the file also reads right as NIR with exact integration (v = decay*v + (1 - decay)*r*in), which
    is how chipfit's sinabs import reads it (sinabs' exporter writes r = 1 for its default
    ``LIF(norm_input=True)``, whose input gain is 1 - decay, but its importer builds ``norm_input=False``).

    A LIF after a conv does not import: sinabs checks ``any(node.v_leak) != 0``, which raises on a 3-D
    array ("The truth value of an array with more than one element is ambiguous"), and nir 1.0.4 wants
    every LIF parameter in one shape. So its LIFs go flat: the run from the input stays (the conv runs as
    sinabs' Conv2d), with a Flatten after it, and each later run of SumPool2d/Flatten/Linear/Conv2d
    between neurons becomes one matrix (nir_read.densify(keep_first=True): the same sums)."""
    if any(np.ndim(n.v_threshold) > 1 for n in neuron_nodes(graph).values()):
        graph, _ = densify(graph, keep_first=True)
    nodes = dict(graph.nodes)
    for name, n in neuron_nodes(graph).items():
        require_exportable(
            name, n, nir.LIF, ("subtract", "multi", False),
            "chipfit exports LIF only to sinabs (its importer makes IF an IAFSqueeze bounded below at"
            " -threshold, CubaLIF a LIF with a synapse decay before the membrane)",
            "sinabs' importer is multi-spike with subtract (MultiSpike, MembraneSubtract)",
        )
        f = euler_factors(n, dt_s)
        if np.any(f["leak"]):
            raise NIRReadError(f"node '{name}': v_leak must be 0 (sinabs' importer refuses a leak)")
        if np.any(f["decay"] <= 0):
            raise NIRReadError(f"node '{name}': dt >= tau, a decay of {float(np.min(f['decay'])):g} a step")
        lif = nir.LIF(
            tau=(-1.0 / np.log(f["decay"])).astype(np.float32),
            r=(1.0 / (1.0 - f["decay"])).astype(np.float32),  # see below
            v_leak=np.zeros_like(f["gain"], np.float32),
            v_threshold=(np.asarray(n.v_threshold, np.float64) / f["gain"]).astype(np.float32),
        )
        nodes[name] = lif
    for name, n in graph.nodes.items():
        if isinstance(n, nir.Linear) and not isinstance(n, nir.Affine):
            w = np.asarray(n.weight, np.float32)
            nodes[name] = nir.Affine(weight=w, bias=np.zeros(w.shape[0], np.float32))
        elif isinstance(n, nir.Conv2d) and n.bias is None:
            nodes[name] = replace_fields(n, bias=np.zeros(np.shape(n.weight)[0], np.float32))
        elif isinstance(n, nir.SumPool2d) and np.any(np.asarray(n.padding)):
            raise NIRReadError(f"node '{name}' (SumPool2d): sinabs' importer ignores padding; the graph pads")
    out = copy_graph(graph, nodes)
    out.metadata = {}
    return out


def after_write(path) -> None:
    """Drop the ``v_reset`` that nir >= 1.0.5 writes on every LIF: sinabs pins nir <= 1.0.4, whose LIF has
    no such field, and its ``nir.read`` fails on it (``LIF.__init__() got an unexpected keyword argument
    'v_reset'``). Subtractive reset makes v_reset meaningless here anyway."""
    import h5py

    with h5py.File(path, "r+") as f:
        for node in f["node"]["nodes"].values():
            if "v_reset" in node and node["type"][()] in (b"LIF", "LIF"):
                del node["v_reset"]
