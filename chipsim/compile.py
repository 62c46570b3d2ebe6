"""Compile a NIR graph into a ChipNetwork in one chip's number format.

NIR (Pedersen et al., Nat. Commun. 15:8122, 2024) gives a graph of neuron nodes (LIF, CubaLIF, IF, LI)
joined by weight nodes (Affine, Linear, Conv2d, SumPool2d, Flatten). Each chain of weight nodes between two
populations (or from the Input) is composed into ONE projection; cycles become recurrent projections
(``pre >= post``, delivered next step). Every input gain of the post neuron's NIR equation is folded into
the weights (forward Euler: ``dt*r/tau``; exact: ``(1-exp(-dt/tau))*r``; CubaLIF adds ``w_in*dt/tau_syn``),
so with snnTorch's export (``tau = dt/(1-beta)``, ``r = tau/dt``, ``w_in = tau_syn/dt``) the gain is 1.
Fixed point then follows :mod:`chipsim.quantize`: one scale per post population, integer weights,
threshold and bias divided by that scale; decays in the chip's own form (Loihi ``du``/``dv``: Davies et
al., IEEE Micro 2018 and brian2-loihi; Xylo shifts: Rockpool). The per-model semantics are those in
:mod:`chipsim.network`.

Choices and deviations (recorded per network in ``ChipNetwork.notes`` where they bite):
- LI (no spikes) compiles only for float profiles (threshold ``inf``); fixed-point chips reject it.
- IF integrates ``dv/dt = r*in`` at dt, gain ``dt*r``, as NIR's equation says. Sinabs writes IF with
  ``r = 1`` meaning "add the input": compile such graphs with ``dt_s=1``.
- Per-neuron ``r``, ``w_in`` and thresholds are folded into the weights (scaling a neuron's voltage by
  ``thr_ref/thr_j`` is exact for these linear models); time constants must be equal within a node on
  fixed-point chips (the float reference takes them per neuron), and ``v_leak``/``v_reset`` must be equal
  after that scaling.
- A bias reaches the voltage directly (``v += u + bias`` on the chips); for CubaLIF the bias is the
  steady-state current's effect on v (``w_in*r*dt/tau_mem * b``), exact after the synaptic transient.
- Chips without a multiplicative leak (TrueNorth, Speck) or without a current state drop them (a note).
- From node metadata: ``reset`` ('zero' | 'subtract', default 'zero' as NIR specifies), ``spike``
  ('single' | 'multi') and ``reset_after_decay``, as :mod:`chipsim.nir_read` writes them from a
  framework's conventions. A reset or multi-spike the chip lacks is a fit ``Violation`` (in
  ``ChipNetwork.violations``), not an error. Reading files and dialects live in :mod:`chipsim.nir_read`
  and :mod:`chipsim.dialects`.
- Timing: every projection gets the chip's synaptic delay (``latency.synapse_delay_steps``: Loihi and
  TrueNorth deliver a spike of step t in step t+1); a NIR ``Delay`` node on the way adds its whole steps on
  top, so relative timing in the graph is kept, up to ``latency.synapse_delay_max_steps``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nir
import numpy as np

from chipsim import expand, representable
from chipsim import quantize as q
from chipsim import weight_formats as wf
from chipsim.expand import ConvGeometry
from chipsim.fit import Violation
from chipsim.network import ChipNetwork, ConvKernel, LayerQuantization, NeuronParams, Population, Projection
from chipsim.nir_read import NIRReadError, read_file
from hwprofiles.errors import UserError
from hwprofiles.profile import ChipProfile

NEURON_TYPES = (nir.LIF, nir.CubaLIF, nir.IF, nir.LI)
WEIGHT_TYPES = (nir.Affine, nir.Linear, nir.Conv2d, nir.SumPool2d, nir.Flatten)
LAYER_KIND_OF = {"Affine": "dense", "Linear": "dense", "Conv2d": "conv", "SumPool2d": "sumpool"}
INTEGRATORS = ("euler", "exact")
STRICT_THRESHOLD = {"loihi_cuba": True, "truenorth_lif": False, "xylo_shift": False, "speck_iaf": False}
HAS_CURRENT = ("loihi_cuba", "xylo_shift")
HAS_LEAK = ("loihi_cuba", "xylo_shift")
_PASS = "pass"  # a subgraph's own Input/Output, or nir.Identity: passes its input on unchanged


class CompileError(UserError):
    """A NIR graph this chip (or chipsim) cannot take: names the node and why."""


def load_graph(path: str | Path) -> nir.NIRGraph:
    """Read a NIR file as it is (no dialect; see :mod:`chipsim.nir_read` for reading a framework's export)."""
    try:
        return read_file(path)
    except NIRReadError as error:
        raise CompileError(str(error)) from None


def compile_graph(
    graph: nir.NIRGraph, profile: ChipProfile, *, dt_s: float | None = None, integrator: str = "euler"
) -> ChipNetwork:
    """Compile ``graph`` for ``profile``; dt: ``dt_s``, else ``graph.metadata['dt_s']``, else the profile"""
    if integrator not in INTEGRATORS:
        raise CompileError(f"integrator must be one of {INTEGRATORS}, got {integrator!r}")
    dt_s = _resolve_dt(graph, profile, dt_s)
    nodes, edges = _flatten(graph)
    representable.check_graph(nodes)
    _check_kinds(nodes, profile)
    preds = defaultdict(list)
    for src, dst in edges:
        preds[dst].append(src)
    input_name, output_name = _endpoints(nodes)
    shapes = _infer_shapes(nodes, preds, input_name)
    sources = {input_name} | {n for n, node in nodes.items() if isinstance(node, NEURON_TYPES)}
    chains = {tgt: _chains_into(tgt, preds, nodes, sources) for tgt in sorted(sources - {input_name})}
    order = _population_order(input_name, chains)
    output_pop = order.index(_output_source(output_name, preds, nodes))
    return representable.check_network(
        _build(nodes, shapes, preds, chains, order, output_pop, profile, dt_s, integrator))


# ---------------------------------------------------------------- graph structure


def _resolve_dt(graph: nir.NIRGraph, profile: ChipProfile, dt_s: float | None) -> float:
    meta = graph.metadata if isinstance(graph.metadata, Mapping) else {}
    for value in (dt_s, meta.get("dt_s"), meta.get("dt"), profile.time_step_s):
        if value is None:
            continue
        value = float(np.asarray(value))
        if not (math.isfinite(value) and value > 0):
            raise CompileError(f"time step dt must be a positive number of seconds, got {value!r}")
        return value
    raise CompileError("no time step: give dt_s")


def _flatten(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict, list]:
    """Inline nested NIRGraphs as ``outer.inner`` nodes; their Input/Output become pass-through nodes."""
    nodes, edges, entry, exit_ = {}, [], {}, {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = _flatten(node, full + ".")
            ins = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            if len(ins) != 1 or len(outs) != 1:
                raise CompileError(
                    f"subgraph '{full}' needs one Input and one Output, has {len(ins)}/{len(outs)}"
                )
            for k in (ins[0], outs[0]):
                inner_nodes[f"{full}.{k}"] = _PASS
            nodes.update(inner_nodes)
            edges += inner_edges
            entry[full], exit_[full] = f"{full}.{ins[0]}", f"{full}.{outs[0]}"
        elif type(node).__name__ == "Identity":  # nir.ir.graph.Identity, not re-exported by nir
            nodes[full] = _PASS
        else:
            nodes[full] = node
    for src, dst in graph.edges:
        src, dst = prefix + str(src), prefix + str(dst)
        src, dst = exit_.get(src, src), entry.get(dst, dst)
        for end in (src, dst):
            if end not in nodes:
                raise CompileError(f"edge ({src!r}, {dst!r}) names a node the graph does not have: {end!r}")
        edges.append((src, dst))
    return nodes, edges


def _kind(node) -> str:
    return "Identity" if node is _PASS else type(node).__name__


def _check_kinds(nodes: dict, profile: ChipProfile) -> None:
    for name, node in nodes.items():
        known = (nir.Input, nir.Output, nir.Delay, *NEURON_TYPES, *WEIGHT_TYPES)
        if node is _PASS or isinstance(node, known):
            layer_kind = LAYER_KIND_OF.get(_kind(node))
            if layer_kind and layer_kind not in profile.core.layer_kinds:
                raise CompileError(
                    f"node '{name}' ({_kind(node)}) needs layer kind '{layer_kind}', which"
                    f" {profile.name} does not run (layer_kinds: {', '.join(profile.core.layer_kinds)})"
                )
            if isinstance(node, nir.LI) and profile.fixed_point:
                raise CompileError(
                    f"node '{name}' (LI) is a non-spiking leaky integrator; {profile.name} has no such "
                    "neuron: end the graph with a spiking layer (LIF, CubaLIF, IF)"
                )
            continue
        raise CompileError(f"node '{name}' has kind {_kind(node)}, which chipsim does not compile")


def _endpoints(nodes: dict) -> tuple[str, str]:
    ins = [n for n, v in nodes.items() if isinstance(v, nir.Input)]
    outs = [n for n, v in nodes.items() if isinstance(v, nir.Output)]
    if len(ins) != 1 or len(outs) != 1:
        raise CompileError(
            f"the graph needs exactly one Input and one Output, has {len(ins)} and {len(outs)}"
        )
    return ins[0], outs[0]


def _pair(value) -> tuple[int, int]:
    a = np.atleast_1d(np.asarray(value)).astype(int).ravel()
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _as_chw(name: str, node, shape: tuple[int, ...], channels: int | None) -> tuple[int, int, int]:
    if len(shape) == 3:
        return shape
    hint = getattr(node, "input_shape", None)
    if hint is not None and channels is not None:
        h, w = _pair(hint)
        if channels * h * w == math.prod(shape):
            return channels, h, w
    raise CompileError(f"node '{name}' ({_kind(node)}) needs a (C, H, W) input, got shape {shape}")


def _conv_geometry(name: str, node, in_shape: tuple[int, ...]) -> ConvGeometry:
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 4:
        raise CompileError(
            f"node '{name}' (Conv2d): weight must be [C_out, C_in, kh, kw], got {weight.shape}"
        )
    c_out, c_in, kh, kw = weight.shape
    if _pair(node.dilation) != (1, 1) or int(np.asarray(node.groups)) != 1:
        raise CompileError(f"node '{name}' (Conv2d): dilation and groups other than 1 are not supported")
    c, h, w = _as_chw(name, node, in_shape, c_in)
    if c != c_in:
        raise CompileError(f"node '{name}' (Conv2d): weight takes {c_in} channels, input has {c}")
    stride = _pair(node.stride)
    if isinstance(node.padding, str):
        if node.padding == "same" and stride != (1, 1):
            raise CompileError(f"node '{name}' (Conv2d): padding 'same' needs stride 1")
        padding = ((kh - 1) // 2, (kw - 1) // 2) if node.padding == "same" else (0, 0)
    else:
        padding = _pair(node.padding)
    ho, wo = (h + 2 * padding[0] - kh) // stride[0] + 1, (w + 2 * padding[1] - kw) // stride[1] + 1
    if ho < 1 or wo < 1:
        raise CompileError(f"node '{name}' (Conv2d): kernel {kh}x{kw} does not fit input {h}x{w}")
    return ConvGeometry(weight, stride, padding, (c, h, w), (c_out, ho, wo))


def _pool_geometry(name: str, node, in_shape: tuple[int, ...]) -> ConvGeometry:
    c, h, w = _as_chw(name, node, in_shape, None)
    (kh, kw), stride, padding = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    ho, wo = (h + 2 * padding[0] - kh) // stride[0] + 1, (w + 2 * padding[1] - kw) // stride[1] + 1
    if ho < 1 or wo < 1:
        raise CompileError(f"node '{name}' (SumPool2d): window {kh}x{kw} does not fit input {h}x{w}")
    return ConvGeometry(np.ones((1, 1, kh, kw)), stride, padding, (c, h, w), (c, ho, wo), depthwise=True)


def _out_shape(name: str, node, shape: tuple[int, ...]) -> tuple[int, ...]:
    n_in = math.prod(shape)
    if isinstance(node, (nir.Affine, nir.Linear)):
        weight = np.asarray(node.weight)
        if weight.ndim != 2 or weight.shape[1] != n_in:
            raise CompileError(
                f"node '{name}' ({_kind(node)}): weight {weight.shape} does not take {n_in} inputs"
            )
        return (weight.shape[0],)
    if isinstance(node, nir.Flatten):
        return (n_in,)
    if isinstance(node, nir.Conv2d):
        return _conv_geometry(name, node, shape).out_shape
    if isinstance(node, nir.SumPool2d):
        return _pool_geometry(name, node, shape).out_shape
    if isinstance(node, NEURON_TYPES):
        size = _param_size(node)
        if n_in == 0:  # e.g. a conv of 0 output channels before it: a layer of no neurons
            raise CompileError(f"node '{name}' ({_kind(node)}) receives 0 inputs; expected at least one "
                               "neuron")
        if size not in (1, n_in):
            raise CompileError(f"node '{name}' ({_kind(node)}) has {size} neurons but receives {n_in} inputs")
    return shape


def _param_size(node) -> int:
    fields = ("v_threshold", "tau", "tau_mem", "r")
    return max(np.asarray(getattr(node, f)).size for f in fields if getattr(node, f, None) is not None)


def _infer_shapes(nodes: dict, preds: dict, input_name: str) -> dict[str, tuple[int, ...]]:
    shape_in = nodes[input_name].input_type["input"]
    if shape_in is None:
        raise CompileError(f"Input node '{input_name}' has no shape")
    shapes = {input_name: tuple(int(x) for x in np.atleast_1d(shape_in))}
    changed = True
    while changed:
        changed = False
        for name, node in nodes.items():
            known = [p for p in preds[name] if p in shapes]
            if name in shapes or not known:
                continue
            sizes = {math.prod(shapes[p]) for p in known}
            if len(sizes) > 1:
                raise CompileError(
                    f"node '{name}' ({_kind(node)}) receives inputs of different sizes {sizes}"
                )
            shapes[name] = _out_shape(name, node, shapes[known[0]])
            changed = True
    for name, node in nodes.items():
        if name not in shapes and not isinstance(node, nir.Output) and node is not _PASS:
            raise CompileError(f"node '{name}' ({_kind(node)}) is not reachable from the Input")
    return shapes


def _chains_into(target: str, preds: dict, nodes: dict, sources: set) -> list[tuple[str, tuple[str, ...]]]:
    """Every (source population, weight nodes in forward order) path that ends in ``target``."""
    found = []

    def walk(name: str, suffix: tuple[str, ...], seen: frozenset) -> None:
        for p in preds[name]:
            if p in sources:
                found.append((p, suffix))
            elif isinstance(nodes[p], nir.Output):
                raise CompileError(f"node '{p}' (Output) feeds '{name}'; an Output ends the graph")
            elif p in seen:
                raise CompileError(f"node '{p}' ({_kind(nodes[p])}) is on a cycle with no neuron node in it")
            else:
                walk(p, (p, *suffix), seen | {p})

    # never empty: _infer_shapes has refused every node the Input does not reach, and walking back from a
    # reached node along the inputs its shape came from ends at a source
    walk(target, (), frozenset({target}))
    return found


def _population_order(input_name: str, chains: dict) -> list[str]:
    """Reverse DFS post-order from the Input: forward edges go up the order, back edges (cycles) down."""
    succ = defaultdict(list)
    for tgt, paths in chains.items():
        for src, _ in paths:
            if tgt not in succ[src]:
                succ[src].append(tgt)
    post, seen = [], set()
    stack = [(input_name, iter(succ[input_name]))]
    seen.add(input_name)
    while stack:
        name, it = stack[-1]
        nxt = next((s for s in it if s not in seen), None)
        if nxt is None:
            post.append(name)
            stack.pop()
        else:
            seen.add(nxt)
            stack.append((nxt, iter(succ[nxt])))
    return post[::-1]  # every neuron is in it: each has a chain from a source shaped before it (_chains_into)


def _output_source(output_name: str, preds: dict, nodes: dict) -> str:
    name = output_name
    while True:
        if len(preds[name]) != 1:
            raise CompileError(f"node '{name}' must have exactly one input on the way to the Output")
        name = preds[name][0]
        if isinstance(nodes[name], NEURON_TYPES):
            return name
        if nodes[name] is not _PASS:
            raise CompileError(
                f"the Output is fed by node '{name}' ({_kind(nodes[name])}); it must be fed by a neuron node"
            )


# ---------------------------------------------------------------- sparse composition of weight chains


def _chain_matrix(ops: tuple[str, ...], nodes: dict, shapes: dict, shape, mats: dict) -> expand.Csr | None:
    """The weight nodes ``ops`` (inputs over ``shape``) as one synapse matrix; None where they are all
    pass-through (Flatten, Delay, Identity: the identity). ``mats`` caches each node's own matrix."""
    m = None
    for name in ops:
        node = nodes[name]
        if name not in mats:
            if isinstance(node, (nir.Affine, nir.Linear)):
                mats[name] = expand.dense(node.weight)
            elif isinstance(node, nir.Conv2d):
                mats[name] = expand.conv(_conv_geometry(name, node, shape))
            elif isinstance(node, nir.SumPool2d):
                mats[name] = expand.conv(_pool_geometry(name, node, shape))
            else:
                mats[name] = None
        op = mats[name]
        if op is not None:
            m = op if m is None else expand.product(m, op)
        shape = shapes[name]
    return m


def _node_bias(name: str, node, out_shape: tuple[int, ...]) -> np.ndarray | None:
    bias = getattr(node, "bias", None) if isinstance(node, (nir.Affine, nir.Conv2d)) else None
    if bias is None:
        return None
    bias = np.asarray(bias, dtype=np.float64).ravel()
    if not np.any(bias):
        return None
    n = math.prod(out_shape)
    if bias.size == 1:
        return np.full(n, bias[0])
    if isinstance(node, nir.Conv2d) and bias.size == out_shape[0]:
        return np.repeat(bias, n // out_shape[0])
    if bias.size != n:
        raise CompileError(f"node '{name}' ({_kind(node)}): bias has {bias.size} values for {n} outputs")
    return bias


# ---------------------------------------------------------------- neuron parameters


@dataclass(frozen=True)
class _Neuron:
    kind: str  # NIR node type name
    tau_syn_s: float  # 0: no current state
    tau_mem_s: float  # inf: no leak (IF)
    r_ref: float
    w_in_ref: float
    threshold: float  # inf: never spikes (LI)
    v_leak: float  # after threshold normalisation
    v_reset: float
    k: np.ndarray  # per-neuron factor folded into weights and bias (r, w_in, threshold variation)
    tau_syn_n: np.ndarray | None = None  # float only: per-neuron taus where they differ within the node
    tau_mem_n: np.ndarray | None = None


def _per_neuron(name: str, node, field: str, default: float, n: int) -> np.ndarray:
    value = getattr(node, field, None)
    a = np.asarray(default if value is None else value, dtype=np.float64).ravel()
    if a.size == 1:
        return np.full(n, a[0])
    if a.size != n:
        raise CompileError(f"node '{name}' ({_kind(node)}): {field} has {a.size} values for {n} neurons")
    return a


def _uniform(name: str, node, field: str, a: np.ndarray) -> float:
    if not np.allclose(a, a[0], rtol=1e-9, atol=0):  # equal infinities count as close
        raise CompileError(
            f"node '{name}' ({_kind(node)}): {field} differs between neurons ({a.min():g}..{a.max():g}); "
            "chipsim needs one value per node"
        )
    return float(a[0])


def _tau(name: str, node, field: str | None, n: int, default: float, per_neuron: bool):
    """(reference tau, per-neuron taus or None): a node's taus must agree unless ``per_neuron`` (float)."""
    if field is None:
        return default, None
    a = _per_neuron(name, node, field, default, n)
    if per_neuron and not np.allclose(a, a[0], rtol=1e-9, atol=0):
        if np.any(a <= 0):
            raise CompileError(f"node '{name}' ({_kind(node)}): time constants must be > 0 s")
        return float(a[0]), a
    return _uniform(name, node, field, a), None


def _neuron(name: str, node, n: int, per_neuron_taus: bool = False) -> _Neuron:
    kind = _kind(node)
    tau_syn, tau_syn_n = _tau(name, node, "tau_syn", n, 0.0, per_neuron_taus)
    tau_mem_field = {"LIF": "tau", "LI": "tau", "CubaLIF": "tau_mem", "IF": None}[kind]
    tau_mem, tau_mem_n = _tau(name, node, tau_mem_field, n, np.inf if tau_mem_field is None else 0.0,
                              per_neuron_taus)
    if tau_mem <= 0 or (kind == "CubaLIF" and tau_syn <= 0):
        raise CompileError(f"node '{name}' ({kind}): time constants must be > 0 s")
    r = _per_neuron(name, node, "r", 1.0, n)
    w_in = _per_neuron(name, node, "w_in", 1.0, n)
    thr = _per_neuron(name, node, "v_threshold", np.inf, n)
    thr_ref = float(thr.max())
    if not np.allclose(thr, thr_ref, rtol=1e-9, atol=0):
        if np.any(thr <= 0):
            raise CompileError(f"node '{name}' ({kind}): thresholds differ and some are <= 0")
        norm = thr_ref / thr
    else:
        norm = np.ones(n)
    v_leak = _uniform(
        name, node, "v_leak * threshold scaling", _per_neuron(name, node, "v_leak", 0.0, n) * norm
    )
    v_reset = _uniform(
        name, node, "v_reset * threshold scaling", _per_neuron(name, node, "v_reset", 0.0, n) * norm
    )
    r_ref, w_in_ref = float(r[0]), float(w_in[0])
    k = norm * np.divide(r, r_ref, out=np.ones(n), where=r_ref != 0)
    k *= np.divide(w_in, w_in_ref, out=np.ones(n), where=w_in_ref != 0)
    return _Neuron(
        kind, tau_syn if kind == "CubaLIF" else 0.0, tau_mem, r_ref, w_in_ref, thr_ref, v_leak, v_reset, k,
        tau_syn_n if kind == "CubaLIF" else None, tau_mem_n,
    )


def _input_gain(tau_s: float, dt_s: float, integrator: str) -> float:
    """Share of a held input a state with time constant tau takes in one step (dt for tau = inf)."""
    if math.isinf(tau_s):
        return dt_s
    return dt_s / tau_s if integrator == "euler" else 1.0 - math.exp(-dt_s / tau_s)


def _fixed_gains(nrn: _Neuron, profile: ChipProfile, dt_s: float, integrator: str) -> tuple[float, float]:
    """(weight gain, bias gain into v) for the chip, before the per-neuron factor ``k``."""
    g_v = _input_gain(nrn.tau_mem_s, dt_s, integrator) * nrn.r_ref
    if nrn.kind != "CubaLIF":
        return g_v, g_v
    dc = g_v * nrn.w_in_ref  # a held input's steady effect on v
    if profile.neuron.kind in HAS_CURRENT:
        return _input_gain(nrn.tau_syn_s, dt_s, integrator) * dc, dc
    return dc, dc


def _fixed_params(
    name: str,
    nrn: _Neuron,
    profile: ChipProfile,
    scale: float,
    dt_s: float,
    integrator: str,
    reset: str,
    notes: list[str],
) -> NeuronParams:
    model = profile.neuron
    state_bits = model.state_bits or 16
    decay_bits = model.decay_bits or 12
    if model.kind == "loihi_cuba":
        # Lava PyLifModelBitAcc: the current decays by du + 1, the voltage by dv, both 12-bit registers
        top = 2**decay_bits - 1
        cuba = nrn.kind == "CubaLIF"
        du = q.decay_constant(nrn.tau_syn_s, dt_s, integrator, decay_bits) - 1 if cuba else top
        du = min(max(du, 0), top)
        dv = q.decay_constant(nrn.tau_mem_s, dt_s, integrator, decay_bits)
        if dv > top:
            notes.append(f"{name}: voltage decay {dv} (forget every step) clipped to the register's {top}")
            dv = top
    elif model.kind == "xylo_shift":
        max_shift = min(2**decay_bits - 1, state_bits)
        du = q.decay_shift(nrn.tau_syn_s, dt_s, max_shift) if nrn.kind == "CubaLIF" else 0
        dv = q.decay_shift(nrn.tau_mem_s, dt_s, max_shift)
    else:
        du = dv = 0
    if model.kind not in HAS_LEAK and math.isfinite(nrn.tau_mem_s):
        retention = q.decay_factor(nrn.tau_mem_s, dt_s, integrator)
        notes.append(
            f"{name}: {model.kind} has no multiplicative leak; dropped retention {retention:.6g}/step"
        )
    if model.kind not in HAS_CURRENT and nrn.kind == "CubaLIF":
        notes.append(f"{name}: {model.kind} has no synaptic current; CubaLIF input taken at its DC gain")
    if nrn.v_reset != 0:
        raise CompileError(
            f"node '{name}' ({nrn.kind}): v_reset {nrn.v_reset:g} != 0; {profile.name} resets to 0"
        )
    max_mantissa = (
        2**model.threshold_bits - 1
        if model.threshold_bits
        else (2 ** (state_bits - 1) - 1) >> model.weight_shift
    )
    threshold, clipped = q.threshold_mantissa(
        nrn.threshold, scale, strict=STRICT_THRESHOLD[model.kind], max_mantissa=max_mantissa
    )
    representable.check_threshold(name, nrn.threshold, scale, threshold, clipped, max_mantissa,
                                  strict=STRICT_THRESHOLD[model.kind], state_bits=state_bits,
                                  weight_shift=model.weight_shift, chip=profile.name)
    return NeuronParams(
        model=model.kind,
        threshold=threshold,
        reset=reset,
        decay_u=du,
        decay_v=dv,
        state_bits=state_bits,
        current_bits=model.current_bits,
        decay_bits=decay_bits,
        weight_shift=model.weight_shift,
    )


def _meta(node) -> Mapping:
    return node.metadata if isinstance(getattr(node, "metadata", None), Mapping) else {}


def _reset_mode(name: str, node, profile: ChipProfile, notes: list[str], violations: list[Violation]) -> str:
    """The node's reset (metadata 'reset', NIR's default 'zero'); one the chip lacks is a fit violation."""
    asked = _meta(node).get("reset")
    if asked is not None and str(asked) not in ("zero", "subtract"):
        raise CompileError(f"node '{name}': metadata reset must be 'zero' or 'subtract', got {asked!r}")
    supported = profile.neuron.resets_supported
    if asked is not None and str(asked) not in supported:
        violations.append(Violation(
            "reset_mode", None, 1, 0, name,
            f"the graph resets by '{asked}'; {profile.name} resets only by {', '.join(supported)}"
            f" (simulated with '{profile.neuron.reset}')",
        ))
        return profile.neuron.reset
    if asked is None and "zero" not in supported:  # NIR's default is reset to zero; the chip cannot
        notes.append(f"{name}: NIR resets to zero; {profile.name} only resets by '{profile.neuron.reset}'")
        return profile.neuron.reset
    return str(asked or "zero")


def _spike_mode(name: str, node, profile: ChipProfile, reset: str, notes: list[str],
                violations: list[Violation]) -> tuple[str, bool]:
    """(spike mode, reset after decay) from node metadata ('spike': 'single' | 'multi'; 'reset_after_decay').

    Only the float reference runs multi-spike neurons and snnTorch's subtract-after-decay order; a chip
    gets a fit violation for the first and, for the second, an approximation (subtract at the spike) that
    a fit note names. ``reset``: the reset the chip runs (:func:`_reset_mode`).
    """
    meta = _meta(node)
    spike = str(meta.get("spike", "single"))
    if spike not in ("single", "multi"):
        raise CompileError(f"node '{name}': metadata spike must be 'single' or 'multi', got {spike!r}")
    if spike == "multi" and profile.fixed_point:
        violations.append(Violation(
            "spike_mode", None, 1, 0, name,
            f"the graph's neurons fire several spikes a step (multi-spike); {profile.name} fires one"
            " (simulated single-spike)",
        ))
        spike = "single"
    after_decay = bool(meta.get("reset_after_decay", False))
    if after_decay and profile.fixed_point and reset == "subtract":
        notes.append(f"node '{name}': the graph subtracts the threshold after the next decay (snnTorch's and "
                     f"Spyx's order); {profile.name} subtracts it at the spike (approximated)")
    return spike, after_decay


# ---------------------------------------------------------------- assembling the network


@dataclass
class _Raw:
    """One projection before quantization: composed float weights (NIR units) as CSR over the pre neurons,
    or a kept kernel whose CSR is expanded only if asked for (``synapses``)."""

    name: str
    pre: int
    post: int
    kind: str
    csr: expand.Csr | None
    conv: ConvGeometry | None
    kernel_shape: tuple[int, int, int, int] | None
    delay_steps: int = 0
    eff: tuple | None = None  # (gain, its effective weights): _eff_values' last answer
    stats: tuple | None = None  # (gain, (min, max, all integers)): _eff_stats' last answer

    def synapses(self) -> expand.Csr:
        if self.csr is None:
            self.csr = expand.conv(self.conv)
        return self.csr

    @property
    def rows(self) -> np.ndarray:  # COO views of the synapses, for the formats that work on triplets
        return self.synapses().rows()

    @property
    def cols(self) -> np.ndarray:
        return self.synapses().targets

    @property
    def vals(self) -> np.ndarray:
        return self.synapses().weights


def _delay_steps(src: str, tgt: str, paths, nodes, dt_s: float, profile: ChipProfile) -> int:
    """The chip's synaptic delay plus the steps of the NIR ``Delay`` nodes on the way (the same on every
    path, uniform within a node, whole steps), within the chip's programmable range."""
    base, top = profile.latency.synapse_delay_steps, profile.latency.synapse_delay_max_steps
    extra = set()
    for _, ops in paths:
        steps = 0
        for op in ops:
            if isinstance(nodes[op], nir.Delay):
                d = np.asarray(nodes[op].delay, dtype=np.float64).ravel() / dt_s  # any shape: (C, H, W) too
                k = np.rint(d)
                if d.size == 0 or np.ptp(d) != 0 or abs(d[0] - k[0]) > 1e-6 or k[0] < 0:
                    raise CompileError(f"node '{op}' (Delay): needs one delay, a whole number of steps of "
                                       f"{dt_s:g} s, for every neuron; got {nodes[op].delay!r}")
                steps += int(k[0])
        extra.add(steps)
    if len(extra) > 1:
        raise CompileError(f"projection '{src}' -> '{tgt}': its paths carry different delays "
                           f"{sorted(extra)} steps; chipsim needs one delay per projection")
    delay = base + extra.pop()
    if delay > base and (top is None or delay > top):
        allowed = f"at most {top}" if top is not None else f"only {base} (no programmable delay)"
        raise CompileError(f"projection '{src}' -> '{tgt}': a delay of {delay} steps; {profile.name} "
                           f"allows {allowed} (latency.synapse_delay_max_steps)")
    return delay


def _raw_projection(src, tgt, paths, nodes, shapes, preds, order, profile) -> tuple[_Raw, np.ndarray]:
    """Compose every path src -> tgt into one projection; returns it and the bias it brings to tgt."""
    pre, post = order.index(src), order.index(tgt)
    n_pre, n_post = math.prod(shapes[src]), math.prod(shapes[tgt])
    weight_ops = [op for _, ops in paths for op in ops if _kind(nodes[op]) in LAYER_KIND_OF]
    kinds = {LAYER_KIND_OF[_kind(nodes[op])] for op in weight_ops}
    kind = (
        "recurrent"
        if pre >= post
        else (
            "conv" if "conv" in kinds else "dense" if "dense" in kinds else "sumpool" if kinds else "sparse"
        )
    )
    if kind == "recurrent" and "recurrent" not in profile.core.layer_kinds:
        raise CompileError(f"projection '{src}' -> '{tgt}' is recurrent, which {profile.name} does not run")
    conv = None
    if (
        len(paths) == 1
        and [_kind(nodes[o]) for o in weight_ops] == ["Conv2d"]
        and "conv" in profile.core.synapse_encoding_bits
        and kind == "conv"
    ):
        op = weight_ops[0]
        in_name = preds[op][0]
        conv = _conv_geometry(op, nodes[op], shapes[in_name])  # its input is src's, through pass nodes
    csr, bias, seen, mats = None, np.zeros(n_post), set(), {}
    for _, ops in paths:
        if conv is None:
            m = _chain_matrix(ops, nodes, shapes, shapes[src], mats) or expand.identity(n_pre)
            csr = m if csr is None else expand.add(csr, m)
        for i, op in enumerate(ops):
            b = _node_bias(op, nodes[op], shapes[op])
            if b is not None and ops[i:] not in seen:
                seen.add(ops[i:])
                rest = _chain_matrix(ops[i + 1:], nodes, shapes, shapes[op], mats)
                bias += b if rest is None else expand.apply_to_vector(rest, b)
    if conv is not None:
        kernel_shape = tuple(conv.weight.shape)
    elif "conv" in kinds:
        convs = [o for o in weight_ops if _kind(nodes[o]) == "Conv2d"]
        kernel_shape = tuple(np.asarray(nodes[convs[-1]].weight).shape) if len(convs) == 1 else None
    elif "dense" in kinds:
        kernel_shape = (n_post, n_pre, 1, 1)
    else:
        kernel_shape = None
    return _Raw(f"{src}->{tgt}", pre, post, kind, csr, conv, kernel_shape), bias


def _build(nodes, shapes, preds, chains, order, output_pop, profile, dt_s, integrator) -> ChipNetwork:
    fixed = profile.fixed_point
    notes: list[str] = []
    violations: list[Violation] = []
    raws: list[_Raw] = []
    biases = {}
    for tgt in order[1:]:
        by_src = defaultdict(list)
        for src, ops in chains[tgt]:
            by_src[src].append((src, ops))
        biases[tgt] = np.zeros(math.prod(shapes[tgt]))
        for src in sorted(by_src, key=order.index):
            raw, bias = _raw_projection(src, tgt, by_src[src], nodes, shapes, preds, order, profile)
            raw.delay_steps = _delay_steps(src, tgt, by_src[src], nodes, dt_s, profile)
            raws.append(raw)
            biases[tgt] += bias
    populations = [
        Population(
            order[0],
            math.prod(shapes[order[0]]),
            shapes[order[0]],
            None,
            np.zeros(math.prod(shapes[order[0]]), dtype=np.int64 if fixed else np.float64),
        )
    ]
    projections, quant = [None] * len(raws), [None] * len(raws)
    for post, tgt in enumerate(order[1:], start=1):
        n = math.prod(shapes[tgt])
        nrn = _neuron(tgt, nodes[tgt], n, per_neuron_taus=not fixed)
        reset = _reset_mode(tgt, nodes[tgt], profile, notes, violations)
        spike, reset_after_decay = _spike_mode(tgt, nodes[tgt], profile, reset, notes, violations)
        incoming = [i for i, raw in enumerate(raws) if raw.post == post]
        if not fixed:
            params = NeuronParams(
                model="float_lif",
                threshold=nrn.threshold,
                reset=reset,
                v_reset=nrn.v_reset,
                tau_syn_s=nrn.tau_syn_s,
                tau_mem_s=nrn.tau_mem_s,
                r=nrn.r_ref,
                v_leak=nrn.v_leak,
                w_in=nrn.w_in_ref,
                integrator=integrator,
                spike=spike,
                reset_after_decay=reset_after_decay and reset == "subtract",
                tau_syn_per_neuron_s=nrn.tau_syn_n,
                tau_mem_per_neuron_s=nrn.tau_mem_n,
            )
            for i in incoming:
                projections[i], quant[i] = _float_projection(
                    raws[i], nrn.k, math.prod(shapes[order[raws[i].pre]])
                )
            populations.append(Population(tgt, n, shapes[tgt], params, biases[tgt] * nrn.k))
            continue
        g_w, g_b = _fixed_gains(nrn, profile, dt_s, integrator)
        gain = g_w * nrn.k  # per post neuron
        max_abs = max((_max_eff(raws[i], gain) for i in incoming), default=0.0)
        bits, signed = profile.core.weight_bits or 8, profile.core.weight_signed
        scale = q.weight_scale(max_abs, bits, signed)
        grids = {}
        exp_max = profile.core.weight_exponent_max
        fmt = profile.core.weight_format
        stated = _integer_weights(raws, incoming, gain)  # a graph already quantized for some chip
        if fmt == "axon_types" and profile.core.unique_weights:
            grids = _axon_type_grids(raws, incoming, gain, scale, bits, profile.core.unique_weights)
        elif fmt == "mantissa_exponent" and exp_max is not None and profile.neuron.kind == "loihi_cuba":
            top = 2**profile.neuron.threshold_bits - 1 if profile.neuron.threshold_bits else None
            floor = nrn.threshold / top if top and math.isfinite(nrn.threshold) and nrn.threshold > 0 else 0.0
            exp_min = min(profile.core.weight_exponent_min or 0, 0)
            scale, grids = _loihi_grids(raws, incoming, gain, exp_max, floor, exp_min)
        params = _fixed_params(tgt, nrn, profile, scale, dt_s, integrator, reset, notes)
        bias_v = (g_b * biases[tgt] + _input_gain(nrn.tau_mem_s, dt_s, integrator) * nrn.v_leak) * nrn.k
        bias, n_clipped = q.clip_signed(bias_v / scale * 2**profile.neuron.weight_shift, params.state_bits)
        if n_clipped:
            notes.append(f"{tgt}: {n_clipped} bias values clipped to {params.state_bits}-bit state")
        populations.append(Population(tgt, n, shapes[tgt], params, bias))
        for i in incoming:
            projections[i], quant[i] = _fixed_projection(
                raws[i], gain, scale, bits, signed, profile, math.prod(shapes[order[raws[i].pre]]),
                grids.get(i), keep_raw=stated,
            )
        if stated:
            broken, said = wf.unheld_integers(tgt, [raws[i] for i in incoming], [quant[i] for i in incoming],
                                              gain, profile)
            violations.extend(broken)
            notes.extend(said)
    projections = [dataclasses.replace(pr, delay_steps=raw.delay_steps) for pr, raw in zip(projections, raws,
                                                                                             strict=True)]
    return ChipNetwork(
        profile_name=profile.name,
        populations=tuple(populations),
        projections=tuple(projections),
        output=output_pop,
        dt_s=dt_s,
        fixed_point=fixed,
        quantization=tuple(quant),
        notes=tuple(notes),
        violations=tuple(violations),
    )


def _eff_values(raw: _Raw, gain: np.ndarray) -> np.ndarray:
    """The projection's weights with the post neurons' input gains folded in (NIR units)."""
    if raw.conv is not None and np.ptp(gain) == 0:
        return np.asarray(raw.conv.weight) * gain[0]
    if raw.eff is None or raw.eff[0] is not gain:
        m = raw.synapses()
        raw.eff = gain, m.weights * _at_targets(gain, m.targets)
    return raw.eff[1]


def _at_targets(gain: np.ndarray, targets: np.ndarray):
    """``gain[targets]``, or the one value where every post neuron has the same gain (no gather)."""
    return gain[0] if gain.size and np.ptp(gain) == 0 else gain[targets]


def _loihi_grids(raws, incoming, gain, exp_max, min_scale: float = 0.0,
                 exp_min: int = 0) -> tuple[float, dict]:
    """Loihi's weight format for the projections into one population: (scale, {projection: (sign mode,
    weight exponent)}). Weights that already are integers on the chip's grid keep scale 1 (and exponents
    >= 0). ``min_scale``: the finest scale at which the threshold still fits its mantissa; where it is
    coarser than the weights need, their projections take negative exponents down to ``exp_min``."""
    stats = {i: _eff_stats(raws[i], gain) for i in incoming}
    modes = {i: "excitatory" if lo >= 0 else "inhibitory" if hi <= 0 else "mixed"
             for i, (lo, hi, _) in stats.items()}  # q.sign_mode of the effective weights
    peaks = {i: max(abs(lo), abs(hi)) for i, (lo, hi, _) in stats.items()}
    exact = all(stats[i][2] and q.on_loihi_grid(_eff_values(raws[i], gain), exp_max) for i in incoming)
    scale = q.loihi_scale([peaks[i] for i in incoming], [modes[i] for i in incoming], exp_max, exact)
    scale = max(scale, min_scale)
    low = 0 if exact and scale == 1.0 else exp_min  # integers kept as they are: exponents >= 0
    return scale, {i: (modes[i], q.loihi_exponent(peaks[i], scale, modes[i], exp_max, low)) for i in incoming}


def _integer_weights(raws, incoming, gain) -> bool:
    """True when every effective weight into the population is an integer (and there is one)."""
    sizes = [raws[i].conv.weight.size if raws[i].conv is not None and np.ptp(gain) == 0
             else raws[i].synapses().targets.size for i in incoming]
    return any(sizes) and all(_eff_stats(raws[i], gain)[2] for i in incoming)


def _axon_type_grids(raws, incoming, gain, scale: float, bits: int, types: int) -> dict:
    """TrueNorth's format for the projections into one population: {projection: wf.AxonTyped}, the axon
    types chosen jointly over every incoming axon (:func:`chipsim.weight_formats.axon_types`)."""
    dense = [i for i in incoming if raws[i].conv is None]
    if not dense:
        return {}
    offsets = np.cumsum([0] + [int(raws[i].rows.max(initial=-1)) + 1 for i in dense])
    axon = np.concatenate([raws[i].rows + off for i, off in zip(dense, offsets, strict=False)])
    post = np.concatenate([raws[i].cols for i in dense])
    w = np.concatenate([_eff_values(raws[i], gain) for i in dense])
    live = w != 0  # a zero weight is a crossbar 0
    kind, table = wf.axon_types(axon[live], post[live], w[live], int(offsets[-1]), gain.size, types, scale,
                                bits)
    grids = {}
    for i, off in zip(dense, offsets, strict=False):
        idx = kind[raws[i].rows + off]
        looked_up = np.where(raws[i].vals != 0, table[raws[i].cols, idx], 0).astype(np.int32)
        grids[i] = wf.AxonTyped(looked_up, idx.astype(np.uint16), table)
    return grids


def _eff_stats(raw: _Raw, gain: np.ndarray) -> tuple[float, float, bool]:
    """(min, max, all integers) of the projection's effective weights (:func:`_eff_values`)."""
    if raw.conv is not None and np.ptp(gain) == 0:
        e = _eff_values(raw, gain)
        if e.size == 0:
            return 0.0, 0.0, True
        return float(e.min()), float(e.max()), bool(np.array_equal(e, np.rint(e)))
    if raw.stats is None or raw.stats[0] is not gain:
        m = raw.synapses()
        raw.stats = gain, q.effective_stats(m.weights, gain[:1] if np.ptp(gain) == 0 else gain, m.targets)
    return raw.stats[1]


def _quantize(w: np.ndarray, scale: float, bits: int, signed: bool, grid) -> np.ndarray:
    """Integer weights: the chip's mantissa x 2^exponent grid where it has one (``grid``), else symmetric."""
    if grid is None:
        return q.quantize_weights(w, scale, bits, signed)
    return q.loihi_mantissas(w, scale, *grid)


def _max_eff(raw: _Raw, gain: np.ndarray) -> float:
    if raw.conv is not None and np.ptp(gain) == 0:
        return float(np.max(np.abs(raw.conv.weight), initial=0.0) * abs(gain[0]))
    lo, hi, _ = _eff_stats(raw, gain)
    return max(abs(lo), abs(hi))


def _float_projection(raw: _Raw, k: np.ndarray, n_pre: int) -> tuple[Projection, LayerQuantization]:
    conv = None
    if raw.conv is not None and np.ptp(k) == 0:
        g = raw.conv
        conv = ConvKernel(g.weight * k[0], g.stride, g.padding, g.in_shape, g.out_shape)
        indptr, targets, weights = np.zeros(n_pre + 1, np.int64), np.zeros(0, np.int32), np.zeros(0)
        distinct = np.unique(conv.weight[conv.weight != 0]).size
    else:
        m = raw.synapses()
        indptr, targets, weights = m.indptr, m.targets, m.weights * k[m.targets]
        distinct = np.unique(weights).size
    proj = Projection(
        raw.name,
        raw.pre,
        raw.post,
        raw.kind,
        indptr,
        targets,
        weights,
        conv=conv,
        kernel_shape=raw.kernel_shape,
    )
    return proj, LayerQuantization(raw.name, None, 1.0, int(distinct), 0.0, 0.0)


def _fixed_projection(
    raw: _Raw, gain: np.ndarray, scale: float, bits: int, signed: bool, profile: ChipProfile, n_pre: int,
    grid=None, keep_raw: bool = False,
) -> tuple[Projection, LayerQuantization]:
    """The chip's projection of ``raw`` and its quantization. Weights that round to 0 are dropped by
    compacting ``raw``'s own synapse arrays (no copy of 10^8 synapses) unless ``keep_raw``: the graph's
    synapses are read again after (chipsim.weight_formats.unheld_integers pairs targets with values)."""
    typed = grid if isinstance(grid, wf.AxonTyped) else None
    grid = None if typed is not None else grid
    exponent = None if grid is None else grid[1]
    shift = max(-exponent, 0) if exponent is not None else 0  # a negative exponent floors the summed input
    lsb = scale / 2**shift  # NIR weight units of one stored integer
    if raw.conv is not None and np.ptp(gain) == 0:
        g = raw.conv
        kernel = _quantize(g.weight * gain[0], scale, bits, signed, grid)
        nz = g.weight != 0
        err_w, err_hat = g.weight[nz], kernel[nz] * lsb / gain[0] if gain[0] else g.weight[nz]
        conv = ConvKernel(kernel, g.stride, g.padding, g.in_shape, g.out_shape)
        rmse, max_err = _errors(err_w, err_hat)
        proj = Projection(
            raw.name,
            raw.pre,
            raw.post,
            raw.kind,
            np.zeros(n_pre + 1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            conv=conv,
            kernel_shape=raw.kernel_shape,
            input_shift=shift,
        )
        return proj, LayerQuantization(
            raw.name, bits, scale, int(np.unique(kernel[kernel != 0]).size), rmse, max_err, exponent
        )
    m = raw.synapses()
    raw.eff = None
    if typed is None:
        g = gain[:1] if np.ptp(gain) == 0 else gain
        w_int, rmse, max_err, nonzero, distinct = q.quantize_synapses(m.weights, g, m.targets, scale, bits,
                                                                      signed, grid, lsb)
    else:  # TrueNorth's axon types chose the integers
        w_int = typed.weights
        g = gain[m.targets]
        rmse, max_err = _errors(m.weights, np.divide(w_int * lsb, g, out=m.weights.copy(), where=g != 0))
        nonzero, distinct = int(np.count_nonzero(w_int)), int(np.unique(w_int[w_int != 0]).size)
    keep = None if nonzero == w_int.size else w_int != 0  # a weight that rounds to 0 is not a stored synapse
    if keep is None:
        indptr, targets, weights = m.indptr, m.targets, w_int
    else:
        indptr, targets, weights = expand.keep_nonzero(m.indptr, m.targets, w_int, nonzero,
                                                       in_place=typed is None and not keep_raw)
    index = table = scope = None
    if typed is not None:  # TrueNorth: each synapse's axon type into its neuron's row of type weights
        index = typed.index.astype(np.uint16) if keep is None else typed.index[keep].astype(np.uint16)
        table, scope = typed.table, "neuron"
    elif profile.core.unique_weights is not None and profile.core.unique_weights_scope in ("neuron", "layer"):
        scope = profile.core.unique_weights_scope
        index, table = weight_table(targets, weights, per_target=scope == "neuron")
    proj = Projection(
        raw.name,
        raw.pre,
        raw.post,
        raw.kind,
        indptr,
        targets,
        weights,
        weight_index=index,
        weight_table=table,
        weight_table_scope=scope,
        kernel_shape=raw.kernel_shape,
        input_shift=shift,
    )
    return proj, LayerQuantization(raw.name, bits, scale, distinct, rmse, max_err,
                                   exponent)


def _errors(w: np.ndarray, w_hat: np.ndarray) -> tuple[float, float]:
    if w.size == 0:
        return 0.0, 0.0
    err = np.asarray(w_hat, dtype=np.float64) - w
    return float(np.sqrt(np.mean(err**2))), float(np.max(np.abs(err)))


def weight_table(
    targets: np.ndarray, weights: np.ndarray, *, per_target: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(weight_index, weight_table): the distinct values of each group (a post neuron, or one row for the
    layer), sorted, padded with 0; no clustering, so a row is as wide as its group's distinct count."""
    group = targets.astype(np.int64) if per_target else np.zeros(targets.size, dtype=np.int64)
    n_groups = int(group.max()) + 1 if group.size else 0
    if weights.size == 0:
        return np.zeros(0, np.uint16), np.zeros((n_groups, 0), dtype=weights.dtype)
    pairs, inverse = np.unique(np.stack([group, weights.astype(np.int64)]), axis=1, return_inverse=True)
    first = np.concatenate([[0], np.flatnonzero(np.diff(pairs[0])) + 1])
    rank = np.arange(pairs.shape[1]) - np.repeat(first, np.diff(np.concatenate([first, [pairs.shape[1]]])))
    table = np.zeros((n_groups, int(rank.max()) + 1), dtype=weights.dtype)
    table[pairs[0], rank] = pairs[1]
    return rank[inverse.ravel()].astype(np.uint16), table
