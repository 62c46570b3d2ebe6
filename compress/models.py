"""Feed-forward spiking networks (MLP and CNN) whose layers map one-to-one to NIR nodes.

MLP: flatten -> [Linear -> LIF]* -> Linear -> LIF. CNN: [Conv2d -> LIF -> SumPool2d]* -> Flatten -> Linear
-> LIF. The output layer spikes; the prediction is the argmax of output spike counts over T, ties to the
lowest index (:func:`predict`), the rule chipsim uses on chip. Layer names are the NIR node names:
``fc<k>``/``conv<k>`` for the k-th weight layer, ``lif<k>`` for its neurons, ``pool<k>``, ``flat``.

Because the network is feed-forward without delays, each layer runs over all T steps before the next;
that equals stepping the whole network once per step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from compress.neurons import LIF, RESETS, SURROGATES, CubaLIF

MODEL_KINDS = ("mlp", "cnn")
NEURON_KINDS = ("lif", "cuba")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and neuron parameters. ``beta``/``alpha``: decays per step; ``dt_s``: step (s)."""

    kind: str = "mlp"
    hidden: tuple[int, ...] = (128,)  # MLP hidden widths (a CNN has one dense layer: the output)
    conv_channels: tuple[int, ...] = (8, 16)
    kernel_size: int = 3
    pool: int = 2  # sum-pool kernel (= stride) after every conv block
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
                 layers: list[tuple[str, nn.Module]]):
        super().__init__()
        self.config = config
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_classes = int(n_classes)
        self.layers = nn.ModuleDict(layers)
        self.last_spikes: dict[str, torch.Tensor] = {}
        self.last_inputs: dict[str, torch.Tensor] = {}

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``x_seq`` [T, B, *input_shape] -> output spikes [T, B, n_classes]."""
        if tuple(x_seq.shape[2:]) != self.input_shape:
            raise ValueError(f"input shape {tuple(x_seq.shape[2:])} != model input {self.input_shape}")
        steps, batch = x_seq.shape[:2]
        h = x_seq
        if self.config.kind == "mlp":
            h = h.reshape(steps, batch, -1)
        self.last_spikes, self.last_inputs = {}, {}
        for name, layer in self.layers.items():
            if isinstance(layer, LIF):
                h = layer(h)
                self.last_spikes[name] = h
                continue
            if isinstance(layer, nn.Linear | nn.Conv2d):
                self.last_inputs[name] = h
            flat = layer(h.flatten(0, 1))  # weight, pool and flatten layers act on every step at once
            h = flat.reshape(steps, batch, *flat.shape[1:])
        return h

    def synaptic_layers(self) -> list[tuple[str, nn.Linear | nn.Conv2d]]:
        """Weight layers in forward order (what methods prune and quantize)."""
        return [(n, m) for n, m in self.layers.items() if isinstance(m, nn.Linear | nn.Conv2d)]

    def neuron_layers(self) -> list[tuple[str, LIF]]:
        return [(n, m) for n, m in self.layers.items() if isinstance(m, LIF)]


def _neuron(cfg: ModelConfig) -> LIF:
    if cfg.neuron == "cuba":
        return CubaLIF(cfg.alpha, cfg.beta, cfg.threshold, cfg.reset, cfg.surrogate, cfg.dt_s)
    return LIF(cfg.beta, cfg.threshold, cfg.reset, cfg.surrogate, cfg.dt_s)


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
    """Build the network ``cfg`` describes for inputs of ``input_shape`` (C, H, W) and ``n_classes``."""
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


def spike_counts(output_spikes: torch.Tensor) -> torch.Tensor:
    """Output spikes [T, B, n] -> counts [B, n]."""
    return output_spikes.sum(0)


def predict(counts: torch.Tensor) -> torch.Tensor:
    """Class of the largest count; ties go to the lowest index (torch.argmax returns the first maximum)."""
    return counts.argmax(dim=-1)
