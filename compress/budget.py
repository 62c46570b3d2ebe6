"""The compression budget a chip imposes, read from its ChipProfile.

- ``weight_bits``: the core's weight precision (signed integer grid).
- ``unique_weights`` / ``unique_scope``: the weight table (TrueNorth: 4 axon-type weights per neuron).
- ``max_neurons`` = neurons per core x cores per chip x chips the system may join.
- ``max_synapses`` = synapse memory per core / bits one stored synapse takes x cores, where both are
  published. The encoding used is ``sparse`` when the core has one (it stores only nonzero weights, so the
  quotient bounds nonzero weights), else ``dense`` (it bounds all synapses, hence nonzero ones too).
- ``zero_free``: a zero weight is "no synapse" rather than a stored value, so it takes no weight-table
  entry. True where connectivity is stored apart from the value: a 1-bit dense crossbar (TrueNorth) or a
  sparse encoding (only nonzero synapses are stored). False otherwise (a dense table of indices must
  hold zero as one of its values).
"""

from __future__ import annotations

import dataclasses

from compress.method import Budget
from hwprofiles.errors import UserError
from hwprofiles.profile import ChipProfile


class BudgetError(UserError):
    pass


def _max_synapses(profile: ChipProfile) -> int | None:
    core = profile.core
    bits = core.synapse_encoding_bits
    encoding = "sparse" if "sparse" in bits else "dense" if "dense" in bits else None
    if core.synapse_memory_bits is None or encoding is None or bits[encoding] <= 0:
        return None
    return int(core.synapse_memory_bits // bits[encoding]) * profile.cores_total


def _zero_free(profile: ChipProfile) -> bool:
    bits = profile.core.synapse_encoding_bits
    return "sparse" in bits or bits.get("dense") == 1


def budget_from_profile(profile: ChipProfile, *, sparsity: float | None = None) -> Budget:
    """What a model may use to fit ``profile`` (see the module docstring for each limit)."""
    if sparsity is not None and not 0.0 <= sparsity < 1.0:
        raise BudgetError(f"sparsity must be in [0, 1), got {sparsity}")
    core = profile.core
    neurons = None if core.neurons is None else core.neurons * profile.cores_total
    return Budget(
        sparsity=sparsity,
        weight_bits=core.weight_bits,
        unique_weights=core.unique_weights,
        unique_scope=core.unique_weights_scope if core.unique_weights is not None else None,
        max_neurons=neurons,
        max_synapses=_max_synapses(profile),
        neurons_per_core=core.neurons,
        zero_free=_zero_free(profile),
    )


def override(budget: Budget, **changes) -> Budget:
    """``budget`` with the given fields replaced where the value is not None (CLI flags over a profile).

    Checks the result: bits 1..32, unique >= 1 with a known scope, sparsity in [0, 1).
    """
    budget = dataclasses.replace(budget, **{k: v for k, v in changes.items() if v is not None})
    if budget.unique_weights is not None and budget.unique_scope is None:
        budget = dataclasses.replace(budget, unique_scope="layer")
    check(budget)
    return budget


def check(budget: Budget) -> None:
    """Raise BudgetError (one line) for a budget no method can meet or that makes no sense."""
    if budget.sparsity is not None and not 0.0 <= budget.sparsity < 1.0:
        raise BudgetError(f"sparsity must be in [0, 1), got {budget.sparsity}")
    if budget.weight_bits is not None and not 1 <= budget.weight_bits <= 32:
        raise BudgetError(f"weight bits must be in 1..32, got {budget.weight_bits}")
    if budget.unique_weights is not None and budget.unique_weights < 1:
        raise BudgetError(f"unique weights must be >= 1, got {budget.unique_weights}")
    if budget.unique_scope not in (None, "layer", "core", "neuron"):
        raise BudgetError(f"unknown unique-weight scope '{budget.unique_scope}'; known: layer, core, neuron")
    if budget.unique_scope == "core" and not budget.neurons_per_core:
        raise BudgetError("unique-weight scope 'core' needs neurons_per_core")
    for name in ("max_neurons", "max_synapses"):
        value = getattr(budget, name)
        if value is not None and value < 1:
            raise BudgetError(f"{name} must be >= 1, got {value}")
