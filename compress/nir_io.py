"""Export a :class:`~compress.models.SpikingNet` to a NIR graph and import one back (Pedersen et al.,
Nat. Commun. 15:8122, 2024).

Node names: ``input``, then the model's layer names (``flat``, ``fc<k>``/``conv<k>``, ``lif<k>``,
``pool<k>``, ``rec<k>``), then ``output``. A residual add is a node with two incoming edges (NIR sums
them), a recurrent layer a cycle. BatchNorm is folded into the conv before it (:mod:`compress.fold`):
the graph has no BatchNorm node. Linear -> ``nir.Linear`` (``nir.Affine`` with bias), Conv2d -> ``nir.Conv2d``
(with ``input_shape``), SumPool2d -> ``nir.SumPool2d``, Flatten -> ``nir.Flatten`` (``start_dim=0``: NIR
shapes exclude the batch). An MLP's graph flattens its (C, H, W) input in a ``flat`` node before ``fc1``.

Neurons use snnTorch's export convention, time constants in seconds: LIF -> ``nir.LIF(tau = dt/(1-beta),
r = tau/dt, v_leak = 0, v_threshold, v_reset = 0)``; CubaLIF -> ``nir.CubaLIF(tau_syn = dt/(1-alpha),
tau_mem = dt/(1-beta), r = tau_mem/dt, w_in = tau_syn/dt)``. Forward Euler at dt then gives exactly the
model's update (see :mod:`compress.neurons`). NIR has no reset-mode field: node metadata ``reset`` says
'subtract' (absent: 'zero').

Metadata: the graph carries ``chipfit_model_config`` (JSON) and ``dt_s`` so :func:`from_nir` rebuilds the
same model; weight nodes carry ``layer.nir_metadata`` (codebooks, masks) merged with any ``metadata``
mapping given to :func:`to_nir`. NIR's HDF5 reader keeps metadata flat (one level, strings come back as
bytes), so values must be scalars, strings or arrays. A graph without chipfit metadata (from snnTorch,
Norse, ...) is imported when it is a chain this package can build; dt is then tau/r.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from compress.fold import without_batchnorm
from compress.models import ModelConfig, SpikingNet, SumPool2d, build_model
from compress.neurons import LIF, CubaLIF
from hwprofiles.errors import UserError

CONFIG_KEY = "chipfit_model_config"


class NIRImportError(UserError):
    """A NIR graph this package cannot turn into a SpikingNet (one line: which node and why)."""


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _neuron_node(layer: LIF, shape: tuple[int, ...]) -> nir.NIRNode:
    dt = layer.dt_s
    full = np.ones(shape, dtype=np.float32)
    meta = {"reset": "subtract"} if layer.reset == "subtract" else {}
    tau_mem = dt / (1.0 - layer.beta)
    common = dict(r=full * tau_mem / dt, v_leak=full * 0.0, v_threshold=full * layer.threshold,
                  v_reset=full * 0.0, metadata=meta)
    if isinstance(layer, CubaLIF):
        tau_syn = dt / (1.0 - layer.alpha)
        return nir.CubaLIF(tau_syn=full * tau_syn, tau_mem=full * tau_mem, w_in=full * tau_syn / dt, **common)
    return nir.LIF(tau=full * tau_mem, **common)


def to_nir(model: SpikingNet, metadata: Mapping[str, Mapping[str, Any]] | None = None) -> nir.NIRGraph:
    """The NIR graph of ``model``; ``metadata`` maps node names to extra node metadata.

    A layer with several sources becomes a node with several incoming edges (NIR sums them); a recurrent
    source gives a cycle. Every ``bn<k>`` after ``conv<k>`` is folded into it first
    (:func:`compress.fold.without_batchnorm`), so the graph has no BatchNorm.
    """
    model = without_batchnorm(model)
    shape = tuple(model.input_shape)
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type={"input": np.array(shape)})}
    edges: list[tuple[str, str]] = []
    shapes: dict[str, tuple[int, ...]] = {"input": shape}
    alias = {"input": "input"}  # a layer name -> the node that carries its output
    sources = dict(model.sources)
    layers = list(model.layers.items())
    if model.config.kind in ("mlp", "rlif"):
        layers = [("flat", nn.Flatten())] + layers
        sources = {k: tuple("flat" if s == "input" else s for s in v) for k, v in sources.items()}
        sources["flat"] = ("input",)
    for name, layer in layers:
        srcs = sources[name]
        shape = shapes[alias[srcs[0]]] if srcs[0] in alias else None
        if shape is None:  # a recurrent source not exported yet: a Linear's input is its own width
            shape = (layer.in_features,)
        extra = dict(getattr(layer, "nir_metadata", None) or {})
        extra.update((metadata or {}).get(name, {}))
        if isinstance(layer, nn.Linear):
            w = _np(layer.weight)
            has_bias = layer.bias is not None
            node = nir.Affine(weight=w, bias=_np(layer.bias)) if has_bias else nir.Linear(weight=w)
            shape = (w.shape[0],)
        elif isinstance(layer, nn.Conv2d):
            w = _np(layer.weight)
            bias = _np(layer.bias) if layer.bias is not None else np.zeros(w.shape[0], dtype=w.dtype)
            node = nir.Conv2d(input_shape=shape[1:], weight=w, stride=layer.stride, padding=layer.padding,
                              dilation=layer.dilation, groups=layer.groups, bias=bias)
            shape = tuple(int(s) for s in node.output_type["output"])
        elif isinstance(layer, SumPool2d):
            k = layer.kernel_size
            node = nir.SumPool2d(kernel_size=np.array([k, k]), stride=np.array([k, k]),
                                 padding=np.array([0, 0]))
            shape = (shape[0], shape[1] // k, shape[2] // k)
        elif isinstance(layer, nn.Flatten):
            node = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0)
            shape = (int(np.prod(shape)),)
        elif isinstance(layer, LIF):
            node = _neuron_node(layer, shape)
        else:
            raise TypeError(f"layer '{name}' ({type(layer).__name__}) has no NIR counterpart")
        if extra:
            node.metadata = {**node.metadata, **extra}
        nodes[name] = node
        shapes[name] = shape
        alias[name] = name
    for name, _ in layers:
        if name in nodes:
            edges += [(alias.get(src, src), name) for src in sources[name]]
    last = alias[layers[-1][0]]
    nodes["output"] = nir.Output(output_type={"output": np.array(shapes[last])})
    edges.append((last, "output"))
    config = model.config
    graph_meta = {CONFIG_KEY: json.dumps(config.to_dict()), "dt_s": config.dt_s,
                  "input_shape": np.array(model.input_shape)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)


def save_nir(model: SpikingNet, path: str | pathlib.Path,
             metadata: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Export ``model`` and write it with ``nir.write`` (HDF5)."""
    nir.write(str(path), to_nir(model, metadata))


def load_nir(path: str | pathlib.Path) -> SpikingNet:
    """``nir.read`` then :func:`from_nir`."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise NIRImportError(f"no NIR file at '{path}'")
    try:
        graph = nir.read(str(path))
    except Exception as error:  # h5py raises OSError/KeyError/ValueError for foreign files
        raise NIRImportError(f"{path}: not a readable NIR file ({type(error).__name__}: {error})") from None
    return from_nir(graph)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    return str(value)


def _chain(graph: nir.NIRGraph) -> list[str]:
    """Node names from the input to the output; the graph must be a single chain."""
    successors: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        successors.setdefault(src, []).append(dst)
    inputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise NIRImportError(f"expected one Input node, found {len(inputs)}")
    order = [inputs[0]]
    while successors.get(order[-1]):
        nxt = successors[order[-1]]
        if len(nxt) != 1 or nxt[0] in order:
            raise NIRImportError(f"node '{order[-1]}': only feed-forward chains are supported, it has "
                                 f"successors {nxt}")
        order.append(nxt[0])
    if not isinstance(graph.nodes[order[-1]], nir.Output) or len(order) != len(graph.nodes):
        raise NIRImportError("graph is not a single chain from its Input to its Output")
    return order


def _scalar(node_name: str, field: str, values: Any) -> float:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or not np.allclose(arr, arr.flat[0], rtol=1e-6, atol=0.0):
        raise NIRImportError(f"node '{node_name}': {field} differs across neurons; only one value per layer "
                             "is supported")
    return float(arr.flat[0])


def _neuron_params(name: str, node: nir.NIRNode, dt_s: float | None) -> dict[str, Any]:
    """beta/alpha/threshold/reset/dt of a LIF or CubaLIF node (snnTorch's export convention)."""
    cuba = isinstance(node, nir.CubaLIF)
    tau = _scalar(name, "tau_mem" if cuba else "tau", node.tau_mem if cuba else node.tau)
    r = _scalar(name, "r", node.r)
    dt = dt_s if dt_s is not None else tau / r
    if not np.isclose(r, tau / dt, rtol=1e-5):
        raise NIRImportError(f"node '{name}': r = {r} but tau/dt = {tau / dt}; only unit input gain "
                             "(r = tau/dt) is supported")
    if _scalar(name, "v_leak", node.v_leak) != 0.0 or _scalar(name, "v_reset", node.v_reset) != 0.0:
        raise NIRImportError(f"node '{name}': only v_leak = 0 and v_reset = 0 are supported")
    params = {"beta": 1.0 - dt / tau, "threshold": _scalar(name, "v_threshold", node.v_threshold),
              "dt_s": dt, "reset": _text(node.metadata.get("reset", "zero")), "neuron": "lif"}
    if cuba:
        tau_syn = _scalar(name, "tau_syn", node.tau_syn)
        if not np.isclose(_scalar(name, "w_in", node.w_in), tau_syn / dt, rtol=1e-5):
            raise NIRImportError(f"node '{name}': only w_in = tau_syn/dt is supported")
        params.update(alpha=1.0 - dt / tau_syn, neuron="cuba")
    return params


def _infer_config(graph: nir.NIRGraph, order: list[str]) -> tuple[ModelConfig, tuple[int, ...]]:
    nodes = [graph.nodes[n] for n in order]
    input_shape = tuple(int(s) for s in graph.nodes[order[0]].input_type["input"])
    convs = [n for n in nodes if isinstance(n, nir.Conv2d)]
    dense = [n for n in nodes if isinstance(n, nir.Linear | nir.Affine)]
    neurons = [(name, n) for name, n in zip(order, nodes, strict=True)
               if isinstance(n, nir.LIF | nir.CubaLIF)]
    if not neurons or not dense:
        raise NIRImportError("graph has no dense layer or no LIF/CubaLIF neurons")
    dt = graph.metadata.get("dt_s")
    params = [_neuron_params(name, n, float(dt) if dt is not None else None) for name, n in neurons]
    for name, p in zip([n for n, _ in neurons], params, strict=True):
        if p != params[0]:
            raise NIRImportError(f"node '{name}': neuron parameters differ from '{neurons[0][0]}'; only "
                                 "one neuron setting per network is supported")
    pools = [n for n in nodes if isinstance(n, nir.SumPool2d)]
    has_bias = any(isinstance(n, nir.Affine) for n in dense) or any(np.any(c.bias != 0) for c in convs)
    cfg = ModelConfig(
        kind="cnn" if convs else "mlp",
        hidden=tuple(int(n.weight.shape[0]) for n in dense[:-1]) if not convs else (),
        conv_channels=tuple(int(c.weight.shape[0]) for c in convs) or ModelConfig.conv_channels,
        kernel_size=int(convs[0].weight.shape[-1]) if convs else ModelConfig.kernel_size,
        pool=int(np.asarray(pools[0].kernel_size).flat[0]) if pools else ModelConfig.pool,
        bias=bool(has_bias), **params[0])
    return cfg, input_shape


def _from_config(graph: nir.NIRGraph, cfg: ModelConfig) -> SpikingNet:
    """Rebuild a graph-shaped network (vgg, resnet, rlif) from its stored config; weights by node name."""
    input_node = next((n for n in graph.nodes.values() if isinstance(n, nir.Input)), None)
    output_node = next((n for n in graph.nodes.values() if isinstance(n, nir.Output)), None)
    if input_node is None or output_node is None:
        raise NIRImportError("graph needs an Input and an Output node")
    input_shape = tuple(int(s) for s in input_node.input_type["input"])
    try:
        model = build_model(cfg, input_shape, int(np.prod(output_node.output_type["output"])))
    except ValueError as error:
        raise NIRImportError(f"graph does not describe a buildable network: {error}") from None
    with torch.no_grad():
        for name, layer in model.synaptic_layers():
            node = graph.nodes.get(name)
            if node is None or np.shape(node.weight) != tuple(layer.weight.shape):
                found = "absent" if node is None else f"weight {np.shape(node.weight)}"
                raise NIRImportError(f"node '{name}': expected weight {tuple(layer.weight.shape)}, {found}")
            layer.weight.copy_(torch.as_tensor(np.asarray(node.weight), dtype=layer.weight.dtype))
            if layer.bias is not None:
                bias = np.asarray(getattr(node, "bias", 0.0))
                layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype))
            if node.metadata:
                layer.nir_metadata = dict(node.metadata)
    return model


def from_nir(graph: nir.NIRGraph) -> SpikingNet:
    """Rebuild a :class:`SpikingNet` from ``graph`` (one written by :func:`to_nir`, or a compatible chain)."""
    stored = graph.metadata.get(CONFIG_KEY)
    if stored is not None:
        saved = ModelConfig.from_dict(json.loads(_text(stored)))
        if saved.kind not in ("mlp", "cnn"):
            return _from_config(graph, saved)
    order = _chain(graph)
    cfg, input_shape = _infer_config(graph, order)
    if stored is not None:  # keeps what NIR cannot carry (surrogate) and the exact floats
        cfg = replace(saved, bias=cfg.bias) if saved.bias != cfg.bias else saved
    n_classes = int(np.prod(graph.nodes[order[-1]].output_type["output"]))
    try:
        model = build_model(cfg, input_shape, n_classes)
    except ValueError as error:
        raise NIRImportError(f"graph does not describe a buildable network: {error}") from None
    weight_nodes = [(n, graph.nodes[n]) for n in order
                    if isinstance(graph.nodes[n], nir.Linear | nir.Affine | nir.Conv2d)]
    synaptic = model.synaptic_layers()
    if len(weight_nodes) != len(synaptic):
        raise NIRImportError(f"graph has {len(weight_nodes)} weight layers; the rebuilt model has "
                             f"{len(synaptic)}")
    with torch.no_grad():
        for (node_name, node), (_, layer) in zip(weight_nodes, synaptic, strict=True):
            weight = torch.as_tensor(np.asarray(node.weight), dtype=layer.weight.dtype)
            if tuple(weight.shape) != tuple(layer.weight.shape):
                raise NIRImportError(f"node '{node_name}': weight shape {tuple(weight.shape)} does not match "
                                     f"the rebuilt layer {tuple(layer.weight.shape)}")
            if isinstance(node, nir.Conv2d) and (tuple(node.stride) != layer.stride
                                                 or tuple(node.padding) != layer.padding):
                raise NIRImportError(f"node '{node_name}': stride {node.stride} / padding {node.padding} "
                                     f"unsupported (need {layer.stride} / {layer.padding})")
            layer.weight.copy_(weight)
            if layer.bias is not None:
                bias = np.asarray(getattr(node, "bias", 0.0))
                layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype))
            meta = {k: v for k, v in (node.metadata or {}).items()}
            if meta:
                layer.nir_metadata = meta
    return model
