"""Read a NIR file leniently and turn a framework's export into canonical NIR, every convention explicit.

NIR (Pedersen et al., Nat. Commun. 15:8122, 2024) leaves open what each exporter fills in its own way: the
time step (no exporter writes one), the reset (zero or subtract, and whether the subtraction comes before
or after the next decay), how many spikes a neuron may fire in a step, whether a batch dimension rides on
the shapes, the flatten order, Linear vs Affine, AvgPool2d. A *dialect* (:mod:`chipsim.dialects`) knows one
exporter's habits; :func:`import_graph` applies it and returns the canonical graph and the
:class:`Convention` it assumed, so a caller can print it.

Canonical NIR, as :mod:`chipsim.compile` reads it:
- ``graph.metadata['dt_s']``: the time step in s; ``graph.metadata['dialect']``: where it came from;
- on each neuron node, ``metadata['reset']`` ('zero' | 'subtract'), ``metadata['spike']`` ('single' |
  'multi') and ``metadata['reset_after_decay']`` (snnTorch's subtraction after the next decay);
- shapes without batch dimensions; SumPool2d, not AvgPool2d (its 1/k^2 folded into the next weights).

Reading is lenient: ``nir.read(type_check=False)`` (nir's check rejects Norse's, Rockpool's and sinabs'
default exports for a batch dimension or a scalar tau), and shapes are then inferred by compile, which
names the node and both shapes where they truly disagree.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nir
import numpy as np

from chipsim.dialect_names import RESETS, SOURCES  # noqa: E402,F401 - re-exported
from hwprofiles.errors import UserError


class NIRReadError(UserError):
    """A NIR file that cannot be read, or a graph a dialect cannot translate: one line, exit 2."""


@dataclass(frozen=True)
class Convention:
    """What an import assumed about the graph's exporter, for the user to see."""

    dialect: str  # the dialect applied
    detected: str  # why: 'given' (--from), the evidence auto found, or 'could not tell'
    dt_s: (
        float | None
    )  # None: none given, none in the graph, none the dialect knows (compile uses the profile)
    dt_from: str  # 'option' | 'graph' | 'dialect default' | 'none'
    reset: str | None  # 'zero' | 'subtract' on every neuron node (None: no neuron nodes)
    reset_after_decay: bool
    spike: str  # 'single' | 'multi'
    integrator: str  # 'euler' | 'exact'
    output_delay_steps: int = 0  # the framework's outputs lag chipsim's by so many steps (not simulated)
    projection_delay_steps: int = 0  # the framework delays every projection so (Spyx: 1); see for_profile
    lag_simulated: bool = False  # for_profile made that delay NIR Delay nodes the simulation runs

    def describe(self) -> str:
        dt = "the profile's time step" if self.dt_s is None else f"dt {self.dt_s:g} s ({self.dt_from})"
        order = " after the next decay" if self.reset_after_decay else ""
        if self.lag_simulated:
            lag = f", its lag simulated: a Delay of {self.projection_delay_steps} step(s) on every projection"
        elif self.output_delay_steps:
            lag = f", the framework's outputs lag {self.output_delay_steps} step(s)"
        else:
            lag = ""
        return (
            f"read as {self.dialect} ({self.detected}): {dt}, reset {self.reset}{order}, {self.spike}-spike,"
            f" {self.integrator} integration{lag}"
        )


@dataclass(frozen=True)
class Imported:
    """A canonical graph, the convention that made it, and the warnings a user should read."""

    graph: nir.NIRGraph
    convention: Convention
    warnings: tuple[str, ...]


def read_file(path: str | Path) -> nir.NIRGraph:
    """``nir.read`` with the type check off; a missing or unreadable file is one line, not a traceback."""
    path = Path(path)
    if not path.is_file():
        raise NIRReadError(f"NIR file not found: {path}")
    try:
        return nir.read(str(path), type_check=False)
    except TypeError:  # nir < 1.0.5 has no type_check argument
        try:
            return nir.read(str(path))
        except Exception as error:
            raise NIRReadError(
                f"{path}: not a readable NIR graph ({type(error).__name__}: {error})"
            ) from None
    except Exception as error:  # h5py/nir raise many kinds for a file that is not a NIR graph
        raise NIRReadError(f"{path}: not a readable NIR graph ({type(error).__name__}: {error})") from None


def load(
    path: str | Path, source: str = "auto", dt_s: float | None = None, reset: str | None = None
) -> Imported:
    """Read ``path`` and translate it from ``source`` (see :func:`import_graph`)."""
    return import_graph(read_file(path), source, dt_s=dt_s, reset=reset)


def import_graph(
    graph: nir.NIRGraph, source: str = "auto", *, dt_s: float | None = None, reset: str | None = None
) -> Imported:
    """Canonical NIR from ``graph`` written by ``source`` ('auto': detect it); ``dt_s``/``reset`` override."""
    from chipsim import dialects

    if source not in SOURCES:
        raise NIRReadError(f"--from must be one of {', '.join(SOURCES)}, got {source!r}")
    if reset is not None and reset not in RESETS:
        raise NIRReadError(f"--reset must be one of {', '.join(RESETS)}, got {reset!r}")
    if dt_s is not None and not (math.isfinite(dt_s) and dt_s > 0):
        raise NIRReadError(f"--dt must be a positive number of seconds, got {dt_s}")
    warnings = []
    if source == "auto":
        name, evidence = dialects.detect(graph)
        if name is None:
            name = "nir"
            warnings.append(
                f"could not tell which framework wrote the graph ({evidence}); assumed canonical NIR"
            )
            evidence = "could not tell"
    else:
        name, evidence = source, "given"
    dialect = dialects.get(name)
    graph = drop_batch_dims(graph)
    graph, semantics = dialect.to_canonical(graph)
    dt_graph = graph_dt(graph)
    if dt_s is not None:
        dt, dt_from = dt_s, "option"
    elif dt_graph is not None:
        dt, dt_from = dt_graph, "graph"
    elif semantics.dt_s is not None:
        dt, dt_from = semantics.dt_s, "dialect default"
    else:
        dt, dt_from = None, "none"
        warnings.append("the graph has no dt and no --dt was given: assumed the profile's time step")
    reset_used = reset or semantics.reset
    graph = with_semantics(graph, dt, name, reset_used, semantics.spike, semantics.reset_after_decay)
    warnings += dialect_notes(semantics.notes) + tau_warnings(graph, dt)
    neurons = [n for n in graph.nodes.values() if isinstance(n, NEURONS)]
    convention = Convention(
        name,
        evidence,
        dt,
        dt_from,
        reset_used if neurons else None,
        semantics.reset_after_decay and reset_used == "subtract",
        semantics.spike,
        semantics.integrator,
        semantics.output_delay_steps,
        semantics.projection_delay_steps,
    )
    return Imported(graph, convention, tuple(warnings))


def for_profile(imported: Imported, profile) -> Imported:
    """``imported`` as ``profile`` can run it: a framework's delay on every projection (Spyx fires from the
    previous step's V, one step late a layer) becomes a NIR ``Delay`` of that many steps on every
    projection, which chipsim simulates on top of the chip's own synaptic delay, where the chip has
    programmable delays that long (``latency.synapse_delay_max_steps``; the float reference has them).
    Elsewhere the graph runs without it and a warning says by how many steps the framework's outputs lag.
    """
    conv = imported.convention
    k = conv.projection_delay_steps
    if not k or conv.lag_simulated:
        return imported
    base, top = profile.latency.synapse_delay_steps, profile.latency.synapse_delay_max_steps
    if top is None or base + k > top or conv.dt_s is None:
        why = (f"{profile.name} has no programmable delay of {base + k} steps (synapse_delay_max_steps): the"
               f" framework's lag is not simulated; its outputs lag chipsim's by {conv.output_delay_steps}"
               " step(s)")
        return dataclasses.replace(imported, warnings=(*imported.warnings, why))
    graph = delay_projections(imported.graph, k * conv.dt_s)
    return dataclasses.replace(
        imported, graph=graph, convention=dataclasses.replace(conv, output_delay_steps=0, lag_simulated=True)
    )


def delay_projections(graph: nir.NIRGraph, delay_s: float) -> nir.NIRGraph:
    """A ``Delay`` of ``delay_s`` after the Input and after every neuron node, on each edge that does not
    go to an Output: every projection between populations (the input's too) is that much later."""
    nodes, edges = dict(graph.nodes), []
    for src, dst in graph.edges:
        node = graph.nodes[src]
        if isinstance(node, (nir.Input, *NEURONS)) and not isinstance(graph.nodes[dst], nir.Output):
            lag = f"{src}_lag"
            if lag not in nodes:
                if isinstance(node, nir.Input):
                    shape = tuple(int(v) for v in np.atleast_1d(np.asarray(node.input_type["input"])))
                else:
                    shape = _neuron_shape(node)
                nodes[lag] = nir.Delay(delay=np.full(shape, float(delay_s)))
                edges.append((src, lag))
            edges.append((lag, dst))
        else:
            edges.append((src, dst))
    return copy_graph(graph, nodes, edges)


# ---------------------------------------------------------------- helpers the dialects share

NEURONS = (nir.LIF, nir.CubaLIF, nir.IF, nir.LI)


@dataclass(frozen=True)
class Semantics:
    """What a dialect knows of its exporter beyond the graph: a dialect's ``to_canonical`` returns it."""

    dt_s: float | None  # the framework's time step where the graph's numbers assume one
    reset: str = "zero"
    spike: str = "single"
    reset_after_decay: bool = False
    integrator: str = "euler"
    notes: tuple[str, ...] = ()
    output_delay_steps: int = 0  # the framework's outputs lag chipsim's by this many steps (Spyx)
    projection_delay_steps: int = 0  # ... because it delays every projection by this many steps (Spyx: 1)


def dialect_notes(notes) -> list[str]:
    return [str(n) for n in notes]


def graph_dt(graph: nir.NIRGraph) -> float | None:
    meta = graph.metadata if isinstance(graph.metadata, Mapping) else {}
    for key in ("dt_s", "dt"):
        if meta.get(key) is not None:
            return float(np.asarray(meta[key]))
    return None


def copy_graph(graph: nir.NIRGraph, nodes: dict | None = None, edges=None) -> nir.NIRGraph:
    """A shallow copy with new node and edge containers (the nodes themselves are not copied)."""
    new = copy.copy(graph)
    new.nodes = dict(graph.nodes if nodes is None else nodes)
    new.edges = list(graph.edges if edges is None else edges)
    new.metadata = dict(graph.metadata) if isinstance(graph.metadata, Mapping) else {}
    return new


def successors(graph: nir.NIRGraph) -> dict[str, list[str]]:
    """Each node's successors along the graph's edges, in edge order."""
    succ: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
    return succ


def replace_fields(node, **fields):
    """A copy of a NIR node with ``fields`` set (nir nodes recompute types in __post_init__; skip that)."""
    new = copy.copy(node)
    for key, value in fields.items():
        setattr(new, key, value)
    return new


def drop_batch_dims(graph: nir.NIRGraph) -> nir.NIRGraph:
    """Input shapes without a leading batch dim of 1 ([1, 64] -> [64]; [1, 1, 28, 28] -> [1, 28, 28])."""
    nodes = {}
    for name, node in graph.nodes.items():
        if isinstance(node, nir.Input):
            shape = np.atleast_1d(np.asarray(node.input_type["input"])).astype(int)
            if (shape.size == 2 or shape.size == 4) and shape[0] == 1:
                node = nir.Input(input_type={"input": shape[1:]})
        nodes[name] = node
    return copy_graph(graph, nodes)


def with_semantics(graph, dt_s, dialect: str, reset: str, spike: str, after_decay: bool) -> nir.NIRGraph:
    """Write dt and the dialect into graph metadata, reset/spike/order into every neuron node's metadata."""
    nodes = {}
    for name, node in graph.nodes.items():
        if isinstance(node, NEURONS):
            meta = dict(node.metadata) if isinstance(getattr(node, "metadata", None), Mapping) else {}
            meta.update(reset=reset, spike=spike, reset_after_decay=bool(after_decay and reset == "subtract"))
            node = replace_fields(node, metadata=meta)
        elif isinstance(node, nir.NIRGraph):
            node = with_semantics(node, dt_s, dialect, reset, spike, after_decay)
        nodes[name] = node
    out = copy_graph(graph, nodes)
    out.metadata["dialect"] = dialect
    if dt_s is not None:
        out.metadata["dt_s"] = float(dt_s)
    return out


def tau_warnings(graph: nir.NIRGraph, dt_s: float | None) -> list[str]:
    """A warning per neuron node whose time constant is shorter than the step (Euler then overshoots)."""
    if dt_s is None:
        return []
    out = []
    for name, node in graph.nodes.items():
        for field in ("tau", "tau_mem", "tau_syn"):
            tau = getattr(node, field, None) if isinstance(node, NEURONS) else None
            if tau is not None and np.size(tau) and float(np.min(tau)) < dt_s:
                out.append(f"node '{name}': {field} {float(np.min(tau)):g} s < dt {dt_s:g} s")
    return out


def nirtorch_names(graph: nir.NIRGraph) -> bool:
    """Whether the nodes carry nirtorch's names for a torch.nn.Sequential: 'input', 'output' and indices."""
    names = [k for k in graph.nodes if k not in ("input", "output")]
    return bool(names) and all(k.replace(".", "").isdigit() for k in names)


def neuron_nodes(graph: nir.NIRGraph) -> dict:
    return {k: v for k, v in graph.nodes.items() if isinstance(v, NEURONS)}


def fold_avgpool(graph: nir.NIRGraph) -> tuple[nir.NIRGraph, list[str]]:
    """AvgPool2d -> SumPool2d, its 1/(kh*kw) folded into the next weight node's weights (through Flatten)."""
    succ = successors(graph)
    nodes, notes = dict(graph.nodes), []
    for name, node in graph.nodes.items():
        if type(node).__name__ != "AvgPool2d":
            continue
        k = np.atleast_1d(np.asarray(node.kernel_size)).astype(int)
        area = int(k[0]) * int(k[-1])
        stride = node.stride if node.stride is not None else node.kernel_size
        nodes[name] = nir.SumPool2d(
            kernel_size=np.asarray(node.kernel_size),
            stride=np.asarray(stride),
            padding=np.asarray(node.padding if node.padding is not None else (0, 0)),
        )
        nxt = succ.get(name, [])
        while len(nxt) == 1 and isinstance(nodes[nxt[0]], nir.Flatten):
            nxt = succ.get(nxt[0], [])
        if len(nxt) != 1 or not isinstance(nodes[nxt[0]], (nir.Affine, nir.Linear, nir.Conv2d)):
            raise NIRReadError(
                f"node '{name}' (AvgPool2d): its 1/{area} scale folds into the next weight node, but it feeds"
                f" {nxt or 'nothing'}"
            )
        target = nodes[nxt[0]]
        nodes[nxt[0]] = replace_fields(target, weight=np.asarray(target.weight, dtype=np.float64) / area)
        notes.append(f"AvgPool2d '{name}' read as SumPool2d with 1/{area} folded into '{nxt[0]}'")
    return copy_graph(graph, nodes), notes


# ---------------------------------------------------------------- helpers the export dialects share


def euler_factors(node, dt_s: float) -> dict:
    """Per-step factors of a canonical neuron node under forward Euler at ``dt_s`` (chipsim's float_lif).

    LIF: v = decay*v + gain*in (+ leak); IF: decay 1; CubaLIF: i = syn_decay*i + syn_gain*in, then
    v = decay*v + gain*i. ``leak`` is what v_leak adds a step. Arrays as the node's parameters.
    """
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    if isinstance(node, nir.IF):
        return {"decay": np.ones_like(f64(node.r)), "gain": dt_s * f64(node.r), "leak": 0.0 * f64(node.r)}
    if isinstance(node, nir.LIF):
        tau = f64(node.tau)
        return {"decay": 1 - dt_s / tau, "gain": dt_s * f64(node.r) / tau,
                "leak": dt_s * f64(node.v_leak) / tau}
    if isinstance(node, nir.CubaLIF):
        tm, ts = f64(node.tau_mem), f64(node.tau_syn)
        return {"decay": 1 - dt_s / tm, "gain": dt_s * f64(node.r) / tm, "leak": dt_s * f64(node.v_leak) / tm,
                "syn_decay": 1 - dt_s / ts, "syn_gain": dt_s * f64(node.w_in) / ts}
    raise NIRReadError(f"{type(node).__name__} has no per-step factors here")


def neuron_semantics(name: str, node) -> tuple[str, str, bool]:
    """(reset, spike, reset_after_decay) a canonical neuron node's metadata asks for."""
    meta = node.metadata if isinstance(getattr(node, "metadata", None), Mapping) else {}
    return (str(meta.get("reset", "zero")), str(meta.get("spike", "single")),
            bool(np.asarray(meta.get("reset_after_decay", False))))


def require_exportable(name: str, node, kind: type, semantics: tuple[str, str, bool], kind_refusal: str,
                       runs: str) -> None:
    """Refuse, naming the node, a neuron that an export target's importer would not run as chipfit does:
    one not of type ``kind`` (``kind_refusal``: what the importer makes of it), or one whose (reset, spike,
    reset-after-decay) metadata (:func:`neuron_semantics`) is not ``semantics`` (``runs``: what the
    importer runs)."""
    reset, spike, after = neuron_semantics(name, node)
    if not isinstance(node, kind):
        raise NIRReadError(f"node '{name}' ({type(node).__name__}): {kind_refusal}")
    if (reset, spike, after) != semantics:
        raise NIRReadError(f"node '{name}': {runs}; the graph asks reset '{reset}'"
                           f"{' after the decay' if after else ''}, spike '{spike}'")


def chain_order(graph: nir.NIRGraph) -> list[str]:
    """The node names of a feed-forward chain from 'input' to 'output'; anything else is one line."""
    succ = successors(graph)
    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise NIRReadError(f"export needs one Input node, found {len(inputs)}")
    order = [inputs[0]]
    while not isinstance(graph.nodes[order[-1]], nir.Output):
        nxt = succ.get(order[-1], [])
        if len(nxt) != 1 or nxt[0] in order:
            raise NIRReadError(
                f"node '{order[-1]}' feeds {nxt or 'nothing'}: this export takes a feed-forward chain only"
            )
        order.append(nxt[0])
    return order


def _apply(node, x: np.ndarray, name: str) -> np.ndarray:
    """One linear NIR node on a batch ``x`` [B, *shape] (numpy, float64)."""
    if isinstance(node, (nir.Affine, nir.Linear)):
        y = x.reshape(x.shape[0], -1) @ np.asarray(node.weight, np.float64).T
        return y + np.asarray(node.bias, np.float64) if isinstance(node, nir.Affine) else y
    if isinstance(node, nir.Flatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(node, (nir.Conv2d, nir.SumPool2d)):
        def pair(value, default):
            value = np.atleast_1d(np.asarray(default if value is None else value))
            return tuple(int(s) for s in np.broadcast_to(value, 2))

        conv = isinstance(node, nir.Conv2d)
        if conv and (int(np.asarray(node.groups)) != 1 or pair(node.dilation, 1) != (1, 1)):
            raise NIRReadError(f"node '{name}' (Conv2d): groups/dilation other than 1 are not densified")
        if conv and isinstance(node.padding, str):
            raise NIRReadError(f"node '{name}' (Conv2d): padding '{node.padding}' is not densified")
        w = np.asarray(node.weight, np.float64) if conv else None
        kh, kw = w.shape[2:] if conv else pair(node.kernel_size, 1)
        (sy, sx), (py, px) = pair(node.stride, 1), pair(node.padding, 0)
        xp = np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))
        ho, wo = (xp.shape[2] - kh) // sy + 1, (xp.shape[3] - kw) // sx + 1
        c_out = w.shape[0] if conv else x.shape[1]
        y = np.zeros((x.shape[0], c_out, ho, wo))
        for a in range(kh):
            for b in range(kw):
                patch = xp[:, :, a : a + sy * (ho - 1) + 1 : sy, b : b + sx * (wo - 1) + 1 : sx]
                y += np.einsum("oc,bchw->bohw", w[:, :, a, b], patch) if conv else patch
        if conv and node.bias is not None:
            y += np.asarray(node.bias, np.float64)[None, :, None, None]
        return y
    raise NIRReadError(f"node '{name}' ({type(node).__name__}): not a linear node this export can densify")


def _neuron_shape(node) -> tuple[int, ...]:
    for field in ("v_threshold", "tau", "tau_mem", "r"):
        value = getattr(node, field, None)
        if value is not None and np.ndim(value):
            return tuple(np.shape(value))
    raise NIRReadError(f"{type(node).__name__}: its shape is not given by its parameters")


def flat_neuron(node):
    """The neuron node with every parameter raveled to 1-D (what a dense layer feeds)."""
    skip = ("input_type", "output_type", "metadata")
    fields = {f.name: getattr(node, f.name) for f in dataclasses.fields(node)
              if f.name not in skip and getattr(node, f.name) is not None}
    new = type(node)(**{k: np.ravel(v) for k, v in fields.items()})
    new.metadata = dict(node.metadata) if isinstance(getattr(node, "metadata", None), Mapping) else {}
    return new


def densify(graph: nir.NIRGraph, keep_first: bool = False) -> tuple[nir.NIRGraph, list[str]]:
    """Every run of linear nodes (Conv2d, SumPool2d, Flatten, Affine, Linear) between two neuron nodes as
    one dense ``Linear`` (``Affine`` where it has a bias), and every neuron node flat: for an importer
    with no conv or pooling (Rockpool). The matrix is the run applied to the unit vectors (exact: the
    same sums of the same weights). ``keep_first``: the run from the Input stays as it is (a conv stays a
    conv), with a Flatten after it where it ends in more than one dimension (sinabs). A feed-forward
    chain only."""
    order = chain_order(graph)
    shape = tuple(int(s) for s in np.atleast_1d(np.asarray(graph.nodes[order[0]].input_type["input"])))
    n_in = int(np.prod(shape))
    flat_input = nir.Input(input_type={"input": np.array([n_in])})
    nodes = {order[0]: graph.nodes[order[0]] if keep_first else flat_input}
    edges, last, run, notes = [], order[0], [], []
    for name in order[1:]:
        node = graph.nodes[name]
        if not isinstance(node, (*NEURONS, nir.Output)):
            run.append(name)
            continue
        if run and keep_first and last == order[0]:
            for op in run:
                nodes[op] = graph.nodes[op]
                edges.append((last, op))
                last = op
            zero = np.zeros((1, *shape))
            for op in run:
                zero = _apply(graph.nodes[op], zero, op)
            shape, run = tuple(zero.shape[1:]), []
            if len(shape) > 1:
                flat = f"{last}_flat"
                nodes[flat] = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
                notes.append(f"'{last}' kept, a Flatten of its {shape} after it")
                edges.append((last, flat))
                last = flat
        elif run:
            basis = np.eye(int(np.prod(shape))).reshape(-1, *shape)
            zero = np.zeros((1, *shape))
            y0 = zero
            for op in run:
                basis, y0 = _apply(graph.nodes[op], basis, op), _apply(graph.nodes[op], y0, op)
            matrix, bias = (basis - y0).reshape(basis.shape[0], -1).T, y0.reshape(-1)
            key = run[-1] if len(run) == 1 else "_".join(run)
            nodes[key] = nir.Affine(matrix, bias) if np.any(bias) else nir.Linear(matrix)
            if len(run) > 1 or not isinstance(graph.nodes[run[0]], (nir.Affine, nir.Linear)):
                notes.append(f"{' -> '.join(run)} as one dense {matrix.shape[0]}x{matrix.shape[1]} matrix")
            edges.append((last, key))
            last, shape, run = key, tuple(basis.shape[1:]), []
        if isinstance(node, nir.Output):
            nodes[name] = nir.Output(output_type={"output": np.array([int(np.prod(shape))])})
        else:
            if _neuron_shape(node) != shape and int(np.prod(_neuron_shape(node))) != int(np.prod(shape)):
                raise NIRReadError(f"node '{name}': shape {_neuron_shape(node)}, its input has {shape}")
            nodes[name] = flat_neuron(node)
        edges.append((last, name))
        last = name
    return copy_graph(graph, nodes, edges), notes
