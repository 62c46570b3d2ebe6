"""compress.budget: what a chip profile allows a compressed model."""

import dataclasses

import pytest

import hwprofiles
from compress.budget import BudgetError, budget_from_profile, override
from compress.method import Budget


def test_truenorth_budget_is_four_weights_per_neuron_on_a_9_bit_grid():
    budget = budget_from_profile(hwprofiles.load("truenorth"))
    assert (budget.weight_bits, budget.unique_weights, budget.unique_scope) == (9, 4, "neuron")


def test_truenorth_zero_is_no_synapse_in_the_binary_crossbar():
    assert budget_from_profile(hwprofiles.load("truenorth")).zero_free is True


def test_dense_multibit_encoding_counts_zero_as_a_value():
    profile = hwprofiles.load("truenorth")
    core = dataclasses.replace(profile.core, synapse_encoding_bits={"dense": 8})
    assert budget_from_profile(dataclasses.replace(profile, core=core)).zero_free is False


def test_max_neurons_is_neurons_per_core_times_cores_times_chips():
    profile = hwprofiles.load("truenorth")
    mesh = dataclasses.replace(profile.mesh, width=2, height=3, cores_per_tile=1, max_chips=2)
    core = dataclasses.replace(profile.core, neurons=10)
    budget = budget_from_profile(dataclasses.replace(profile, mesh=mesh, core=core))
    assert budget.max_neurons == 10 * 6 * 2
    assert budget.neurons_per_core == 10


def test_max_synapses_uses_the_sparse_encoding_when_the_core_has_one():
    profile = hwprofiles.load("loihi")
    mesh = dataclasses.replace(profile.mesh, width=1, height=1, cores_per_tile=4, max_chips=1)
    core = dataclasses.replace(profile.core, synapse_memory_bits=1000, synapse_encoding_bits={"dense": 8,
                                                                                              "sparse": 30})
    assert budget_from_profile(dataclasses.replace(profile, mesh=mesh, core=core)).max_synapses == 33 * 4


def test_max_synapses_is_none_without_published_synapse_memory():
    profile = hwprofiles.load("loihi")
    core = dataclasses.replace(profile.core, synapse_memory_bits=None)
    assert budget_from_profile(dataclasses.replace(profile, core=core)).max_synapses is None


def test_sparsity_is_carried_into_the_budget():
    assert budget_from_profile(hwprofiles.load("loihi"), sparsity=0.9).sparsity == 0.9


def test_sparsity_outside_0_1_is_a_user_error():
    with pytest.raises(BudgetError):
        budget_from_profile(hwprofiles.load("loihi"), sparsity=1.0)


def test_flags_override_the_profile_and_none_keeps_it():
    base = budget_from_profile(hwprofiles.load("truenorth"))
    changed = override(base, weight_bits=4, unique_weights=None)
    assert (changed.weight_bits, changed.unique_weights) == (4, 4)


def test_unique_without_scope_defaults_to_layer():
    assert override(Budget(), unique_weights=8).unique_scope == "layer"


def test_zero_unique_weights_is_a_user_error():
    with pytest.raises(BudgetError):
        override(Budget(), unique_weights=0)
