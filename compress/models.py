"""Spiking networks whose layers map one-to-one to NIR nodes: the small MLP and CNN built here, and the
deployed-size VGG, ResNet and recurrent LIF networks of :mod:`compress.architectures`.

MLP: flatten -> [Linear -> LIF]* -> Linear -> LIF. CNN: [Conv2d -> LIF -> SumPool2d]* -> Flatten -> Linear
-> LIF. The output layer spikes; the prediction is the argmax of output spike counts over T, ties to the
lowest index (:func:`predict`), the rule chipsim uses on chip. Layer names are the NIR node names:
``fc<k>``/``conv<k>`` for the k-th weight layer, ``lif<k>`` for its neurons, ``bn<k>`` for its BatchNorm
(folded away at export), ``pool<k>``, ``flat``, ``rec<k>`` for a recurrent weight layer.

A network is a graph: ``sources[name]`` lists the layers whose outputs are summed into ``name`` (absent:
the previous layer; ``"input"``: the network input); that is NIR's rule for a node with several inputs
(residual adds). A feed-forward network runs each layer over all T steps before the next, which equals
stepping the whole network once per step. A source listed in ``recurrent`` is read one step late (its
spikes from t-1, as a chip delivers them); a network with one steps all layers together, step by step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from compress.neurons import LIF, RESETS, SURROGATES, CubaLIF

MODEL_KINDS = ("mlp", "cnn", "vgg", "resnet", "rlif")
NEURON_KINDS = ("lif", "cuba")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and neuron parameters. ``beta``/``alpha``: decays per step; ``dt_s``: step (s)."""

    kind: str = "mlp"
    hidden: tuple[int, ...] = (128,)  # MLP/rlif hidden widths (a CNN has one dense layer: the output)
    conv_channels: tuple[int, ...] = (8, 16)  # cnn/vgg: per conv layer; resnet: per stage
    kernel_size: int = 3
    pool: int = 2  # sum-pool kernel (= stride) after every conv block (cnn), after pool_after (vgg)
    pool_after: tuple[int, ...] = ()  # vgg: 1-based conv layers followed by a sum pool
    blocks: int = 1  # resnet: residual blocks per stage
    batchnorm: bool = False  # BatchNorm after every conv (vgg, resnet); folded into weights at export
    neuron: str = "lif"
    beta: float = 0.9
    alpha: float = 0.8
    threshold: float = 1.0
    reset: str = "zero"
    surrogate: str = "atan"
    dt_s: float = 1e-3
    bias: bool = False

    def __post_init__(self):
        for field_name, value, known in (("kind", self.kind, MODEL_KINDS),
                                         ("neuron", self.neuron, NEURON_KINDS), ("reset", self.reset, RESETS),
                                         ("surrogate", self.surrogate, SURROGATES)):
            if value not in known:
                raise ValueError(f"unknown {field_name} '{value}'; known: {', '.join(known)}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        object.__setattr__(self, "pool_after", tuple(int(c) for c in self.pool_after))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class SumPool2d(nn.Module):
    """Sum over non-overlapping k x k windows (NIR SumPool2d, stride = kernel, no padding)."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.kernel_size = int(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.kernel_size, divisor_override=1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


class SpikingNet(nn.Module):
    """Named layers over [T, B, ...]; records each layer's spikes and each weight layer's input."""

    def __init__(self, config: ModelConfig, input_shape: tuple[int, ...], n_classes: int,
                 layers: list[tuple[str, nn.Module]], sources: dict[str, tuple[str, ...]] | None = None,
                 recurrent: frozenset[tuple[str, str]] = frozenset()):
        super().__init__()
        self.config = config
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_classes = int(n_classes)
        self.layers = nn.ModuleDict(layers)
        names = ["input", *self.layers]
        given = sources or {}
        self.sources = {name: tuple(given.get(name, (names[i],))) for i, name in enumerate(names[1:])}
        self.recurrent = frozenset(recurrent)  # (source, layer) edges read one step late
        self.last_spikes: dict[str, torch.Tensor] = {}
        self.last_inputs: dict[str, torch.Tensor] = {}

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``x_seq`` [T, B, *input_shape] -> output spikes [T, B, n_classes]."""
        if tuple(x_seq.shape[2:]) != self.input_shape:
            raise ValueError(f"input shape {tuple(x_seq.shape[2:])} != model input {self.input_shape}")
        steps, batch = x_seq.shape[:2]
        if self.config.kind in ("mlp", "rlif"):
            x_seq = x_seq.reshape(steps, batch, -1)
        self.last_spikes, self.last_inputs = {}, {}
        if self.recurrent:
            return self._forward_stepped(x_seq)
        out = {"input": x_seq}
        for name, layer in self.layers.items():
            h = _summed(out, self.sources[name])
            if isinstance(layer, LIF):  # float32 membranes, also under bf16 autocast (compress.train)
                out[name] = self.last_spikes[name] = layer(h.float())
                continue
            if isinstance(layer, nn.Linear | nn.Conv2d):
                self.last_inputs[name] = h
            flat = layer(h.flatten(0, 1))  # weight, norm, pool and flatten layers act on every step at once
            out[name] = flat.reshape(steps, batch, *flat.shape[1:])
        return out[name]

    def _forward_stepped(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Every layer one step at a time; a recurrent source gives its output of the step before (zeros
        at t = 0). A layer whose sources are all recurrent must be a Linear (its input width is known)."""
        prev: dict[str, torch.Tensor] = {}
        state: dict[str, tuple[torch.Tensor, ...]] = {}
        trace: dict[str, list[torch.Tensor]] = {name: [] for name in self.layers}
        inputs: dict[str, list[torch.Tensor]] = {}
        for t in range(x_seq.shape[0]):
            now = {"input": x_seq[t]}
            for name, layer in self.layers.items():
                parts = [(prev if (s, name) in self.recurrent else now).get(s) for s in self.sources[name]]
                parts = [p for p in parts if p is not None]
                if parts:
                    h = _summed(dict(enumerate(parts)), tuple(range(len(parts))))
                else:
                    h = x_seq.new_zeros(x_seq.shape[1], layer.in_features)
                if isinstance(layer, LIF):
                    now[name], state[name] = step_neuron(layer, h.float(), state.get(name))
                else:
                    if isinstance(layer, nn.Linear | nn.Conv2d):
                        inputs.setdefault(name, []).append(h)
                    now[name] = layer(h)
                trace[name].append(now[name])
            prev = now
        for name, layer in self.layers.items():
            if isinstance(layer, LIF):
                self.last_spikes[name] = torch.stack(trace[name])
        self.last_inputs = {name: torch.stack(v) for name, v in inputs.items()}
        return torch.stack(trace[name])

    def synaptic_layers(self) -> list[tuple[str, nn.Linear | nn.Conv2d]]:
        """Weight layers in forward order (what methods prune and quantize)."""
        return [(n, m) for n, m in self.layers.items() if isinstance(m, nn.Linear | nn.Conv2d)]

    def neuron_layers(self) -> list[tuple[str, LIF]]:
        return [(n, m) for n, m in self.layers.items() if isinstance(m, LIF)]


def _summed(out: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    h = out[names[0]]
    for other in names[1:]:
        h = h + out[other]
    return h


def step_neuron(layer: LIF, x: torch.Tensor, state: tuple[torch.Tensor, ...] | None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """One step of ``layer``'s update (the same equations as its ``forward`` over T): spikes, new state."""
    if isinstance(layer, CubaLIF):
        i, v = state if state is not None else (torch.zeros_like(x), torch.zeros_like(x))
        i = layer.alpha * i + x
        s, v = layer._fire(layer.beta * v + i)
        return s, (i, v)
    (v,) = state if state is not None else (torch.zeros_like(x),)
    s, v = layer._fire(layer.beta * v + x)
    return s, (v,)


def _neuron(cfg: ModelConfig) -> LIF:
    if cfg.neuron == "cuba":
        return CubaLIF(cfg.alpha, cfg.beta, cfg.threshold, cfg.reset, cfg.surrogate, cfg.dt_s)
    return LIF(cfg.beta, cfg.threshold, cfg.reset, cfg.surrogate, cfg.dt_s)


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
    """Build the network ``cfg`` describes for inputs of ``input_shape`` (C, H, W) and ``n_classes``."""
    if cfg.kind in ("vgg", "resnet", "rlif"):
        from compress import architectures

        return architectures.build(cfg, input_shape, n_classes)
    layers: list[tuple[str, nn.Module]] = []
    k = 0
    if cfg.kind == "mlp":
        width = 1
        for s in input_shape:
            width *= int(s)
    else:
        if len(input_shape) != 3:
            raise ValueError(f"a CNN needs (C, H, W) input, got {input_shape}")
        channels, height, wide = input_shape
        pad = cfg.kernel_size // 2
        for c_out in cfg.conv_channels:
            k += 1
            layers += [(f"conv{k}", nn.Conv2d(channels, c_out, cfg.kernel_size, padding=pad, bias=cfg.bias)),
                       (f"lif{k}", _neuron(cfg))]
            height, wide = height + 2 * pad - cfg.kernel_size + 1, wide + 2 * pad - cfg.kernel_size + 1
            if height >= cfg.pool and wide >= cfg.pool and cfg.pool > 1:
                layers.append((f"pool{k}", SumPool2d(cfg.pool)))
                height, wide = height // cfg.pool, wide // cfg.pool
            channels = c_out
        layers.append(("flat", nn.Flatten()))
        width = channels * height * wide
    widths = (*cfg.hidden, n_classes) if cfg.kind == "mlp" else (n_classes,)  # CNN: one dense output layer
    for h in widths:
        k += 1
        layers += [(f"fc{k}", nn.Linear(width, h, bias=cfg.bias)), (f"lif{k}", _neuron(cfg))]
        width = h
    return SpikingNet(cfg, input_shape, n_classes, layers)


def neuron(cfg: ModelConfig) -> LIF:
    """The neuron layer ``cfg`` names (LIF or CubaLIF with its decays, threshold, reset, surrogate)."""
    return _neuron(cfg)


def spike_counts(output_spikes: torch.Tensor) -> torch.Tensor:
    """Output spikes [T, B, n] -> counts [B, n]."""
    return output_spikes.sum(0)


def predict(counts: torch.Tensor) -> torch.Tensor:
    """Class of the largest count; ties go to the lowest index (torch.argmax returns the first maximum)."""
    return counts.argmax(dim=-1)
