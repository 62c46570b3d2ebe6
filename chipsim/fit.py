"""Placement and FitReport: where each neuron lives, and whether the chip can hold the network.

Not fitting is a report, never an exception: ``FitReport.violations`` lists every limit exceeded as a
``Violation(constraint, core, need, limit)``. Core indices are global across chips:
``core = chip * cores_per_chip + tile * cores_per_tile + core_in_tile`` with tiles numbered row-major on
the mesh (``tile = y * width + x``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Violation:
    """One limit exceeded: ``need`` of ``constraint`` on ``core`` where the chip allows ``limit``."""

    constraint: str  # e.g. 'neurons_per_core', 'synapse_memory_bits', 'fan_in_axons', 'unique_weights'
    core: int | None  # None for a whole-network or per-layer limit
    need: float
    limit: float
    population: str | None = None  # the layer that breaks it, where one does
    detail: str = ""

    def __str__(self) -> str:
        where = f"core {self.core}" if self.core is not None else "network"
        layer = f" (layer {self.population})" if self.population else ""
        extra = f": {self.detail}" if self.detail else ""
        return f"{self.constraint} on {where}{layer}: needs {self.need:g}, limit {self.limit:g}{extra}"


@dataclass(frozen=True)
class FitReport:
    """Whether a ChipNetwork fits a profile, and how much of each resource every core uses."""

    profile_name: str
    fits: bool
    violations: tuple[Violation, ...]
    cores_used: int
    cores_total: int  # cores across the chips the profile allows
    chips_needed: int  # chips this placement spans (may exceed the profile's max_chips: then a violation)
    usage: Mapping[str, np.ndarray] = field(default_factory=dict)  # resource -> per-core use [cores_used]
    limits: Mapping[str, float | None] = field(default_factory=dict)  # resource -> per-core limit
    strategy: str = ""
    # where it does not fit: per limit broken, the least value under which this placement would hold
    # (its largest need; 'chips' where the cores run past the system's chips); empty where it fits
    smallest_budget: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """Neurons assigned to cores. ``core_of_neuron[p]`` gives the global core of each neuron of population p.

    The input population (index 0) lives off-chip (the host injects its spikes into the cores that need
    them), so ``core_of_neuron[0]`` is all -1.
    """

    core_of_neuron: tuple[np.ndarray, ...]  # int32 per population
    fit: FitReport
    cores_per_chip: int
    mesh_width: int
    mesh_height: int
    cores_per_tile: int

    def core_xy(self, core: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Mesh coordinates (x, y) of global cores; chips are laid side by side along x."""
        core = np.asarray(core)
        chip, local = np.divmod(core, self.cores_per_chip)
        tile = local // self.cores_per_tile
        y, x = np.divmod(tile, self.mesh_width)
        return x + chip * self.mesh_width, y
