"""The compression budget a chip imposes, read from its ChipProfile.

- ``weight_bits``: the core's weight precision (signed integer grid).
- ``unique_weights`` / ``unique_scope``: the weight table (TrueNorth: 4 axon-type weights per neuron).
- ``max_neurons`` = neurons per core x cores per chip x chips the system may join.
- ``max_synapses`` = synapse memory per core / bits one stored synapse takes x cores, where both are
  published. The encoding used is ``sparse`` when the core has one (it stores only nonzero weights, so the
  quotient bounds nonzero weights), else ``dense`` (it bounds all synapses, hence nonzero ones too).
- ``cores`` (``--cores N``): the model must fit on N cores (N may span chips, up to every core the
  system joins). The per-core limits the mapper checks (chipsim.place) then bound the whole model:
  ``max_neurons`` = neurons per core x N, ``max_synapses`` = (synapse memory per core // bits per stored
  synapse) x N. Without ``cores``, N is every core of every chip the profile may join.
- ``fan_in_per_neuron`` / ``fan_out_per_neuron``: the mapper's per-neuron limits on nonzero synapses
  (in and out; an input neuron's fan-out counts). ``max_input_channels`` / ``max_output_neurons``: the
  chip's input and readout sizes (Xylo Audio 2: 16 and 8).
- Energy prices (``synapse_op_j``, ``neuron_update_j``, ``spike_out_j``): the profile's own per-operation
  figures (``spike_out_j`` includes ``message_out_j``, one packet per spike, where published), for
  methods that constrain or rank by energy; ``energy_per_inference_j`` is the energy allowed.
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


def _max_synapses(profile: ChipProfile, cores: int) -> int | None:
    core = profile.core
    bits = core.synapse_encoding_bits
    encoding = "sparse" if "sparse" in bits else "dense" if "dense" in bits else None
    if core.synapse_memory_bits is None or encoding is None or bits[encoding] <= 0:
        return None
    return int(core.synapse_memory_bits // bits[encoding]) * cores


def _cores(profile: ChipProfile, cores: int | None) -> int:
    if cores is None:
        return profile.cores_total
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise BudgetError(f"--cores must be a whole number >= 1, got {cores!r}")
    if cores > profile.cores_total:
        raise BudgetError(f"--cores {cores}: {profile.name} has {profile.cores_total} cores in all "
                          f"({profile.mesh.cores} per chip x {profile.mesh.max_chips} chips)")
    return cores


def energy_prices(profile: ChipProfile) -> dict[str, float | None]:
    """The profile's per-operation energies a model's activity is priced with, J (None: unpublished)."""
    e = profile.energy
    spike = e.spike_out_j
    if spike is not None and e.message_out_j is not None:
        spike += e.message_out_j
    return {"synapse_op_j": e.synapse_op_j, "neuron_update_j": e.neuron_update_active_j,
            "spike_out_j": spike}


def _zero_free(profile: ChipProfile) -> bool:
    bits = profile.core.synapse_encoding_bits
    return "sparse" in bits or bits.get("dense") == 1


def budget_from_profile(profile: ChipProfile, *, sparsity: float | None = None,
                        cores: int | None = None) -> Budget:
    """What a model may use to fit ``profile`` on ``cores`` cores (default: all of them); see the module
    docstring for each limit."""
    if sparsity is not None and not 0.0 <= sparsity < 1.0:
        raise BudgetError(f"sparsity must be in [0, 1), got {sparsity}")
    core = profile.core
    n_cores = _cores(profile, cores)
    neurons = None if core.neurons is None else core.neurons * n_cores
    energy_budget = profile.energy.energy_per_inference_j
    return Budget(
        sparsity=sparsity,
        weight_bits=core.weight_bits,
        unique_weights=core.unique_weights,
        unique_scope=core.unique_weights_scope if core.unique_weights is not None else None,
        max_neurons=neurons,
        max_synapses=_max_synapses(profile, n_cores),
        neurons_per_core=core.neurons,
        zero_free=_zero_free(profile),
        cores=cores,
        fan_in_per_neuron=core.fan_in_per_neuron,
        fan_out_per_neuron=core.fan_out_per_neuron,
        max_input_channels=core.max_input_channels,
        max_output_neurons=core.max_output_neurons,
        energy_per_inference_j=energy_budget,
        **energy_prices(profile),
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
    if budget.energy_per_inference_j is not None and not budget.energy_per_inference_j > 0:
        raise BudgetError(f"energy per inference must be > 0 J, got {budget.energy_per_inference_j}")
    for name in ("max_neurons", "max_synapses", "cores", "fan_in_per_neuron", "fan_out_per_neuron"):
        value = getattr(budget, name)
        if value is not None and value < 1:
            raise BudgetError(f"{name} must be >= 1, got {value}")
