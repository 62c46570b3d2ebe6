"""The one surface every compression method shares (scikit-learn style), so a sweep treats them alike.

A method is a class in its own module under :mod:`compress.methods`, configured by constructor keywords,
with a ``name`` and ``compress(model, dataset, budget, train)``. It starts from a trained dense model
(the caller trains it once and hands each method a copy) and returns the compressed model holding exactly
the weights that will be exported, plus what it measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import torch

    from compress.data import Dataset
    from compress.train import TrainConfig


@dataclass(frozen=True)
class Budget:
    """What the compressed model may use. ``None``: no limit of that kind.

    Built by hand (``--sparsity``, ``--bits``, ``--unique``) or from a ChipProfile by
    :func:`compress.budget.budget_from_profile`.
    """

    sparsity: float | None = None  # fraction of prunable weights that must be zero, 0..1
    weight_bits: int | None = None  # signed integer grid the weights must lie on
    unique_weights: int | None = None  # distinct values allowed per group
    unique_scope: str | None = None  # group: 'layer' | 'core' | 'neuron'
    max_neurons: int | None = None  # spiking neurons in the whole model
    max_synapses: int | None = None  # nonzero weights in the whole model
    neurons_per_core: int | None = None  # for 'core' scope: how neurons group into cores
    zero_free: bool = False  # a zero weight is 'no synapse' and takes no entry of unique_weights
    cores: int | None = None  # cores the model may occupy (``--cores N``); max_neurons/synapses scale with it
    fan_in_per_neuron: int | None = None  # nonzero incoming weights one neuron may have
    fan_out_per_neuron: int | None = None  # nonzero outgoing weights one neuron (input included) may have
    max_input_channels: int | None = None  # input neurons (flattened input size) the chip takes
    max_output_neurons: int | None = None  # output neurons the chip reads out
    energy_per_inference_j: float | None = None  # dynamic energy allowed per inference, J
    synapse_op_j: float | None = None  # the profile's price of one synaptic event, J (energy budget)
    neuron_update_j: float | None = None  # price of one active neuron update, J
    spike_out_j: float | None = None  # price of one spike (plus its packet, where the profile has one), J


@dataclass
class CompressResult:
    """A compressed model and what the method measured while making it."""

    method: str
    model: torch.nn.Module  # weights are exactly the ones to export (masks and codebooks applied)
    epochs: int  # training epochs the method spent (compression and fine-tuning)
    wall_time_s: float
    codebooks: dict[str, Any] = field(default_factory=dict)  # layer -> np.ndarray [groups, M]
    masks: dict[str, Any] = field(default_factory=dict)  # layer -> bool np.ndarray, True = kept
    extra: dict[str, Any] = field(default_factory=dict)  # method-specific figures (JSON-serializable)


class Method(Protocol):
    """A compression method: constructor keywords configure it; ``compress`` runs it."""

    name: ClassVar[str]

    def compress(
        self, model: torch.nn.Module, dataset: Dataset, budget: Budget, train: TrainConfig
    ) -> CompressResult: ...
