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
    output_delay_steps: int = 0  # the framework's outputs lag chipsim's by this many steps (Spyx)

    def describe(self) -> str:
        dt = "the profile's time step" if self.dt_s is None else f"dt {self.dt_s:g} s ({self.dt_from})"
        order = " after the next decay" if self.reset_after_decay else ""
        lag = (
            f", the framework's outputs lag {self.output_delay_steps} step(s)"
            if self.output_delay_steps
            else ""
        )
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
    )
    return Imported(graph, convention, tuple(warnings))


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
    succ = {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
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
