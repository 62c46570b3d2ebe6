"""A placement as a YAML file, so a mapping made by another tool (or by chipfit) can be given back exactly.

The file maps each layer (the NIR node name of a population, as ``harness map`` prints) to its cores, in
one of two forms; neurons are in the population's flat order (C, H, W row-major for a conv layer)::

    if0: {cores: [0, 1, 2], neurons: [1024, 1024, 496]}  # runs: the first 1024 on core 0, ...
    if1: {cores: [3, 4], neurons: 512}                    # equal runs of 512 (the last may be shorter)
    out: [5, 5, 5, 6, 6, 6, 6, 6, 6, 6]                   # one core per neuron

Cores are global (``chip * cores_per_chip + tile * cores_per_tile + core in tile``, as ``chipsim.fit``).
Every layer but the input must be given; the input lives off-chip. Anything else is a
:class:`PlacementFileError` naming the file, the layer and what was expected.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from chipsim.fit import Placement
from chipsim.network import ChipNetwork
from hwprofiles.errors import UserError


class PlacementFileError(UserError):
    """A placement file that cannot be read or does not match the network."""


def read_placement(path: str | Path, net: ChipNetwork) -> tuple[np.ndarray, ...]:
    """Core of every neuron, per population (the input's all -1), from the YAML file at ``path``."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlacementFileError(f"placement file not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlacementFileError(f"{path}: not a readable YAML placement ({reason})") from None
    if not isinstance(data, dict):
        raise PlacementFileError(f"{path}: expected a mapping of layer -> cores, found {type(data).__name__}")
    names = [p.name for p in net.populations[1:]]
    unknown = [str(k) for k in data if k not in names]
    if unknown:
        raise PlacementFileError(f"{path}: unknown layer {unknown[0]!r}; the network's layers: "
                                 f"{', '.join(names)}")
    missing = [n for n in names if n not in data]
    if missing:
        raise PlacementFileError(f"{path}: layer {missing[0]!r} is not placed (every layer needs cores)")
    out = [np.full(net.populations[0].size, -1, np.int32)]
    for pop in net.populations[1:]:
        out.append(_layer_cores(path, pop.name, data[pop.name], pop.size))
    return tuple(out)


def _ints(path, name, key, value) -> np.ndarray:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise PlacementFileError(f"{path}: layer {name!r}: {key} must be non-negative integers, "
                                 f"found {value!r}")
    return np.asarray(values, np.int64)


def _layer_cores(path, name: str, spec, size: int) -> np.ndarray:
    if isinstance(spec, list):
        cores = _ints(path, name, "cores", spec)
        if cores.size != size:
            raise PlacementFileError(f"{path}: layer {name!r}: {cores.size} cores listed, one per neuron "
                                     f"expected ({size})")
        return cores.astype(np.int32)
    if not isinstance(spec, dict) or set(spec) != {"cores", "neurons"}:
        raise PlacementFileError(f"{path}: layer {name!r}: expected a list of cores (one per neuron) or "
                                 f"{{cores: [...], neurons: [...] or N}}, found {spec!r}")
    cores = _ints(path, name, "cores", spec["cores"])
    runs = _ints(path, name, "neurons", spec["neurons"])
    if runs.size == 1 and not isinstance(spec["neurons"], list):
        n = int(runs[0])
        runs = np.minimum(n, size - n * np.arange(cores.size)) if n > 0 else runs
        if n == 0 or -(-size // n) != cores.size:
            raise PlacementFileError(f"{path}: layer {name!r}: runs of {n} over {size} neurons need "
                                     f"{-(-size // max(n, 1))} cores, {cores.size} listed")
    if runs.size != cores.size or int(runs.sum()) != size:
        raise PlacementFileError(f"{path}: layer {name!r}: {cores.size} cores with runs summing to "
                                 f"{int(runs.sum())} ({runs.size} runs); expected runs summing to {size}, "
                                 "one per core")
    return np.repeat(cores, runs).astype(np.int32)


def placement_yaml(net: ChipNetwork, placement: Placement) -> str:
    """The placement in the file's run form (what :func:`read_placement` reads back exactly)."""
    lines = ["# chipfit placement: layer -> cores; runs of consecutive neurons (flat C, H, W order)"]
    for pop, cores in zip(net.populations[1:], placement.core_of_neuron[1:], strict=True):
        cores = np.asarray(cores, np.int64)
        starts = np.flatnonzero(np.concatenate([[True], cores[1:] != cores[:-1]]))
        runs = np.diff(np.concatenate([starts, [cores.size]]))
        lines.append(f"{json.dumps(pop.name)}: {{cores: [{', '.join(map(str, cores[starts]))}], "
                     f"neurons: [{', '.join(map(str, runs))}]}}")
    return "\n".join(lines) + "\n"
