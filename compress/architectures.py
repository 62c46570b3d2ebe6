"""Spiking networks of the sizes people deploy, built from a :class:`~compress.models.ModelConfig`.

- ``vgg``: VGG-style CNN (Simonyan & Zisserman, ICLR 2015) as spiking CNNs use it (Sengupta et al.,
  Front. Neurosci. 2019; the tdBN VGG-11 of Zheng et al., AAAI 2021): [Conv3x3 -> BatchNorm -> LIF]
  with a sum pool after the layers in ``pool_after``, then the dense classifier (``hidden`` widths, then
  the output). Sum pooling instead of max pooling, because NIR and the chips have sum pools; the
  BatchNorm after it rescales.
- ``resnet``: a small spiking ResNet (He et al., CVPR 2016; the SEW/spiking ResNets of Fang et al.,
  NeurIPS 2021 use the same block): a stem Conv -> BN -> LIF, then per stage a transition
  Conv -> BN -> LIF (after a 2x2 sum pool from the second stage on) and ``blocks`` basic blocks
  Conv -> BN -> LIF -> Conv -> BN, whose output is added to the block's input spikes before the block's
  last LIF (the residual add: in NIR, two edges into that LIF node). Ends with a sum pool, flatten and the
  dense output layer.
- ``rlif``: a recurrent LIF network, as used on SHD (Cramer et al., IEEE TNNLS 2022): per hidden layer
  an input Linear and a recurrent Linear (``rec<k>``, from the layer's own spikes one step late) into one
  LIF population, then a Linear -> LIF output. In NIR the recurrent weights are a cycle.

BatchNorm is ``nn.BatchNorm2d`` over the T*B frames of a batch, trained as usual; the export
(:mod:`compress.nir_io`) folds it into the conv weights and biases, so NIR and the chip never see it.
``PRESETS`` names ready configurations; :func:`model_config` also reads a JSON file of ModelConfig fields.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import fields, replace

from torch import nn

from compress.models import ModelConfig, SpikingNet, SumPool2d, neuron
from hwprofiles.errors import UserError

VGG11_CHANNELS = (64, 128, 256, 256, 512, 512, 512, 512)
VGG11_POOL_AFTER = (1, 2, 4, 6, 8)  # "64 M 128 M 256 256 M 512 512 M 512 512 M" (Simonyan & Zisserman)

PRESETS: dict[str, ModelConfig] = {
    "mlp": ModelConfig(),
    "cnn": ModelConfig(kind="cnn"),
    "vgg11": ModelConfig(kind="vgg", conv_channels=VGG11_CHANNELS, pool_after=VGG11_POOL_AFTER, hidden=(),
                         batchnorm=True),
    "resnet": ModelConfig(kind="resnet", conv_channels=(32, 64, 128), blocks=1, hidden=(), batchnorm=True),
    "rlif": ModelConfig(kind="rlif", hidden=(256,)),
}


class ModelConfigError(UserError):
    """A model name that is no preset, or a config file that is unreadable or names unknown fields."""


def model_config(name_or_path: str, **overrides) -> ModelConfig:
    """The preset ``name_or_path`` names, or the ModelConfig in that JSON file; ``overrides`` on top."""
    if name_or_path in PRESETS:
        base = PRESETS[name_or_path]
    else:
        path = pathlib.Path(name_or_path)
        if not path.is_file():
            raise ModelConfigError(f"unknown model '{name_or_path}': neither a preset ({', '.join(PRESETS)}) "
                                   "nor a JSON file of ModelConfig fields")
        try:
            values = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ModelConfigError(f"{path}: not a JSON model config ({error})") from None
        known = {f.name for f in fields(ModelConfig)}
        if not isinstance(values, dict) or set(values) - known:
            extra = sorted(set(values) - known) if isinstance(values, dict) else type(values).__name__
            raise ModelConfigError(f"{path}: expected an object of ModelConfig fields "
                                   f"({', '.join(sorted(known))}), found {extra}")
        try:
            base = ModelConfig.from_dict(values)
        except (TypeError, ValueError) as error:
            raise ModelConfigError(f"{path}: {error}") from None
    try:
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as error:
        raise ModelConfigError(str(error)) from None


def build(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
    """The ``vgg``, ``resnet`` or ``rlif`` network of ``cfg``."""
    builders = {"vgg": _vgg, "resnet": _resnet, "rlif": _rlif}
    if cfg.kind not in builders:
        raise ValueError(f"compress.architectures builds {', '.join(builders)}, not '{cfg.kind}'")
    return builders[cfg.kind](cfg, tuple(int(s) for s in input_shape), int(n_classes))


def _chw(cfg: ModelConfig, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"a {cfg.kind} network needs (C, H, W) input, got {input_shape}")
    return input_shape  # type: ignore[return-value]


class _Builder:
    """Appends named layers and their sources; counts weight layers as the NIR names do."""

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.layers: list[tuple[str, nn.Module]] = []
        self.sources: dict[str, tuple[str, ...]] = {}
        self.recurrent: set[tuple[str, str]] = set()
        self.k = 0
        self.last = "input"

    def add(self, name: str, layer: nn.Module, sources: tuple[str, ...] | None = None) -> str:
        self.layers.append((name, layer))
        self.sources[name] = sources or (self.last,)
        self.last = name
        return name

    def conv_block(self, c_in: int, c_out: int) -> str:
        """conv<k> [-> bn<k>] -> lif<k>; returns the name of the last layer before the LIF."""
        self.k += 1
        pad = self.cfg.kernel_size // 2
        self.add(f"conv{self.k}", nn.Conv2d(c_in, c_out, self.cfg.kernel_size, padding=pad,
                                            bias=self.cfg.bias and not self.cfg.batchnorm))
        if self.cfg.batchnorm:
            self.add(f"bn{self.k}", nn.BatchNorm2d(c_out))
        return self.last

    def lif(self, sources: tuple[str, ...] | None = None) -> str:
        return self.add(f"lif{self.k}", neuron(self.cfg), sources)

    def dense(self, width: int, widths: tuple[int, ...]) -> None:
        """Linear -> LIF for every width in ``widths``, starting from ``width`` inputs."""
        for h in widths:
            self.k += 1
            self.add(f"fc{self.k}", nn.Linear(width, h, bias=self.cfg.bias))
            self.lif()
            width = h

    def net(self, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
        return SpikingNet(self.cfg, input_shape, n_classes, self.layers, self.sources,
                          frozenset(self.recurrent))


def _pool(b: _Builder, h: int, w: int, k: int | None = None) -> tuple[int, int]:
    k = k or b.cfg.pool
    if k > 1 and h >= k and w >= k:
        b.add(f"pool{b.k}", SumPool2d(k))
        return h // k, w // k
    return h, w


def _vgg(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
    channels, h, w = _chw(cfg, input_shape)
    b = _Builder(cfg)
    for index, c_out in enumerate(cfg.conv_channels, start=1):
        b.conv_block(channels, c_out)
        b.lif()
        if index in cfg.pool_after:
            h, w = _pool(b, h, w)
        channels = c_out
    b.add("flat", nn.Flatten())
    b.dense(channels * h * w, (*cfg.hidden, n_classes))
    return b.net(input_shape, n_classes)


def _resnet(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
    channels, h, w = _chw(cfg, input_shape)
    b = _Builder(cfg)
    for stage, c_out in enumerate(cfg.conv_channels):
        if stage > 0:
            h, w = _pool(b, h, w)
        b.conv_block(channels, c_out)  # stem (stage 0) or transition
        block_in = b.lif()
        channels = c_out
        for _ in range(cfg.blocks):
            b.conv_block(channels, channels)
            b.lif()
            last = b.conv_block(channels, channels)
            block_in = b.lif(sources=(last, block_in))  # the residual add
    h, w = _pool(b, h, w)
    b.add("flat", nn.Flatten())
    b.dense(channels * h * w, (*cfg.hidden, n_classes))
    return b.net(input_shape, n_classes)


def _rlif(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> SpikingNet:
    width = 1
    for s in input_shape:
        width *= int(s)
    b = _Builder(cfg)
    for hidden in cfg.hidden:
        b.k += 1
        feed = b.add(f"fc{b.k}", nn.Linear(width, hidden, bias=cfg.bias))
        name = f"lif{b.k}"
        rec = b.add(f"rec{b.k}", nn.Linear(hidden, hidden, bias=False), sources=(name,))
        b.recurrent.add((name, rec))
        b.add(name, neuron(cfg), sources=(feed, rec))
        width = hidden
    b.dense(width, (n_classes,))
    return b.net(input_shape, n_classes)
