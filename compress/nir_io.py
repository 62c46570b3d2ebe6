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
    if getattr(layer, "spike_mode", "single") != "single":
        meta["spike"] = layer.spike_mode
    if getattr(layer, "reset_after_decay", False):
        meta["reset_after_decay"] = True
    if layer.beta == 1.0 and not isinstance(layer, CubaLIF):  # no leak: NIR IF, dv/dt = r*in, gain dt*r = 1
        return nir.IF(r=full / dt, v_threshold=full * layer.threshold, v_reset=full * 0.0, metadata=meta)
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


TRAINABLE = "Affine, Linear, Conv2d, SumPool2d, Flatten, LIF, CubaLIF, IF"


def _pair(node_name: str, field: str, value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        raise NIRImportError(f"node '{node_name}': {field} {value!r}; compress takes integer {field}s")
    arr = np.atleast_1d(np.asarray(value)).astype(int)
    return (int(arr[0]), int(arr[-1]))


def _decay_and_gain(tau: float, dt: float, integrator: str) -> tuple[float, float]:
    """(decay per step, input gain) of ``tau dx/dt = -x + in`` at ``dt``: Euler (1-dt/tau, dt/tau) or exact
    (exp(-dt/tau), 1-exp(-dt/tau)), as chipsim's float reference integrates it (chipsim/network.py)."""
    if integrator == "exact":
        decay = float(np.exp(-dt / tau))
        return decay, 1.0 - decay
    return 1.0 - dt / tau, dt / tau


def _foreign_neuron(name: str, node: nir.NIRNode, dt: float, integrator: str, surrogate: str):
    """(compress neuron, gain to fold into the preceding weights) for a canonical LIF/CubaLIF/IF node.

    The node's metadata (chipsim.nir_read) gives reset, spike mode and the order of the reset."""
    meta = node.metadata if isinstance(getattr(node, "metadata", None), Mapping) else {}
    reset, spike_mode = _text(meta.get("reset", "zero")), _text(meta.get("spike", "single"))
    after = bool(np.asarray(meta.get("reset_after_decay", False)))
    threshold = _scalar(name, "v_threshold", node.v_threshold)
    if _scalar(name, "v_reset", node.v_reset if node.v_reset is not None else 0.0) != 0.0:
        raise NIRImportError(f"node '{name}' ({type(node).__name__}): v_reset must be 0")
    r = _scalar(name, "r", node.r)
    common = dict(threshold=threshold, reset=reset, surrogate=surrogate, dt_s=dt, spike_mode=spike_mode,
                  reset_after_decay=after)
    if isinstance(node, nir.IF):
        return LIF(beta=1.0, **common), dt * r
    if _scalar(name, "v_leak", node.v_leak) != 0.0:
        raise NIRImportError(f"node '{name}' ({type(node).__name__}): v_leak must be 0")
    tau = _scalar(name, "tau_mem" if isinstance(node, nir.CubaLIF) else "tau",
                  node.tau_mem if isinstance(node, nir.CubaLIF) else node.tau)
    beta, gain = _decay_and_gain(tau, dt, integrator)
    if isinstance(node, nir.CubaLIF):
        alpha, gain_syn = _decay_and_gain(_scalar(name, "tau_syn", node.tau_syn), dt, integrator)
        w_in = _scalar(name, "w_in", node.w_in)
        return CubaLIF(alpha=alpha, beta=beta, **common), gain * r * gain_syn * w_in
    return LIF(beta=beta, **common), gain * r


def from_foreign_nir(graph: nir.NIRGraph, *, integrator: str = "euler", surrogate: str = "atan",
                     input_shape: tuple[int, ...] | None = None) -> SpikingNet:
    """A trainable :class:`SpikingNet` of a canonical graph written by another framework.

    ``graph`` is what ``chipsim.nir_read.import_graph`` returns (dt in ``metadata['dt_s']``, reset, spike
    mode and reset order on each neuron node); ``integrator`` is its Convention's. Every neuron's input gain
    (Euler: dt*r/tau; exact: (1-exp(-dt/tau))*r; CubaLIF times its synaptic gain and w_in; IF: dt*r) is
    folded into the weights and bias of the weight node before it, so the layers run ``v = beta*v + x``
    as compress trains them and the model's spikes are the graph's float simulation's. Layers keep the
    graph's own stride/padding, per-layer neuron parameters and conventions. ``input_shape``: the dataset's
    shape when it differs from the graph's only by a flatten (an MLP taking [64] for digits' (1, 8, 8)).
    One line naming the node for anything compress cannot train (recurrence, LI, Delay, ...).
    """
    if integrator not in ("euler", "exact"):
        raise NIRImportError(f"integrator must be 'euler' or 'exact', got {integrator!r}")
    order = _chain(graph)
    dt_meta = graph.metadata.get("dt_s") if isinstance(graph.metadata, Mapping) else None
    if dt_meta is None:
        raise NIRImportError("graph has no dt_s in its metadata (read it through chipsim.nir_read)")
    dt = float(np.asarray(dt_meta))
    shape = tuple(int(v) for v in np.atleast_1d(graph.nodes[order[0]].input_type["input"]))
    graph_input = shape
    layers: list[tuple[str, nn.Module]] = []
    k = 0
    has_conv = any(isinstance(graph.nodes[n], nir.Conv2d) for n in order)
    for name in order[1:-1]:
        node = graph.nodes[name]
        kind = type(node).__name__
        if isinstance(node, nir.Affine | nir.Linear):
            w = np.asarray(node.weight, dtype=np.float32)
            width = int(np.prod(shape))
            if w.ndim != 2 or w.shape[1] != width:
                raise NIRImportError(f"node '{name}' ({kind}): weight {w.shape} takes {w.shape[-1]} inputs, "
                                     f"it gets {width}")
            bias = getattr(node, "bias", None)
            k += 1
            layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None)
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(w))
                if bias is not None:
                    layer.bias.copy_(torch.as_tensor(np.asarray(bias, dtype=np.float32).reshape(-1)))
            layers.append((f"fc{k}", layer))
            shape = (w.shape[0],)
        elif isinstance(node, nir.Conv2d):
            w = np.asarray(node.weight, dtype=np.float32)
            if len(shape) != 3:
                raise NIRImportError(f"node '{name}' (Conv2d): needs (C, H, W) input, gets {shape}")
            stride, padding = _pair(name, "stride", node.stride), _pair(name, "padding", node.padding)
            dilation = _pair(name, "dilation", node.dilation)
            k += 1
            layer = nn.Conv2d(shape[0], w.shape[0], tuple(w.shape[2:]), stride=stride, padding=padding,
                              dilation=dilation, groups=int(node.groups), bias=node.bias is not None)
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(w))
                if node.bias is not None:
                    layer.bias.copy_(torch.as_tensor(np.asarray(node.bias, dtype=np.float32).reshape(-1)))
                out = layer(torch.zeros(1, *shape))
            layers.append((f"conv{k}", layer))
            shape = tuple(out.shape[1:])
        elif isinstance(node, nir.SumPool2d):
            kernel, stride = _pair(name, "kernel_size", node.kernel_size), _pair(name, "stride", node.stride)
            padding = _pair(name, "padding", node.padding if node.padding is not None else 0)
            if kernel[0] != kernel[1] or stride != kernel or padding != (0, 0):
                raise NIRImportError(f"node '{name}' (SumPool2d): kernel {kernel} stride {stride} padding "
                                     f"{padding}; compress pools square, stride = kernel, no padding")
            layers.append((f"pool{k}", SumPool2d(kernel[0])))
            shape = (shape[0], shape[1] // kernel[0], shape[2] // kernel[0])
        elif isinstance(node, nir.Flatten):
            layers.append(("flat" if k <= 1 and "flat" not in dict(layers) else f"flat{k}", nn.Flatten()))
            shape = (int(np.prod(shape)),)
        elif isinstance(node, nir.LIF | nir.CubaLIF | nir.IF):
            if not layers or not isinstance(layers[-1][1], nn.Linear | nn.Conv2d):
                raise NIRImportError(f"node '{name}' ({kind}): compress needs a weight node right before"
                                     " each neuron node")
            neuron, gain = _foreign_neuron(name, node, dt, integrator, surrogate)
            with torch.no_grad():
                weight_layer = layers[-1][1]
                weight_layer.weight.mul_(gain)
                if weight_layer.bias is not None:
                    weight_layer.bias.mul_(gain)
            layers.append((f"lif{k}", neuron))
        else:
            raise NIRImportError(f"node '{name}' ({kind}): compress cannot train this node; it takes"
                                 f" {TRAINABLE} in a feed-forward chain")
    neurons = [m for _, m in layers if isinstance(m, LIF)]
    if not neurons or not isinstance(layers[-1][1], LIF):
        raise NIRImportError("graph must end in a spiking layer (LIF, CubaLIF or IF) before its Output")
    first = neurons[0]
    cfg = ModelConfig(kind="cnn" if has_conv else "mlp", hidden=(),
                      neuron="cuba" if isinstance(first, CubaLIF) else "lif",
                      beta=first.beta, alpha=getattr(first, "alpha", ModelConfig.alpha),
                      threshold=first.threshold, reset=first.reset, surrogate=surrogate, dt_s=dt,
                      bias=any(getattr(m, "bias", None) is not None for _, m in layers
                               if isinstance(m, nn.Linear | nn.Conv2d)))
    model_input = graph_input
    if input_shape is not None and tuple(input_shape) != graph_input:
        if has_conv or int(np.prod(input_shape)) != int(np.prod(graph_input)):
            raise NIRImportError(f"graph input {list(graph_input)} does not take the dataset's "
                                 f"{list(input_shape)}")
        model_input = tuple(int(v) for v in input_shape)
    return SpikingNet(cfg, model_input, int(np.prod(shape)), layers)


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
