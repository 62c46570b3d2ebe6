"""compress.budget: what a chip profile allows a compressed model."""

import dataclasses
import pathlib

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


def test_cores_budget_on_truenorth_is_the_hand_computation():
    # 3 cores x 256 neurons; 3 x 65536 crossbar bits / 1 bit per dense synapse; per-neuron caps 256.
    budget = budget_from_profile(hwprofiles.load("truenorth"), cores=3)
    assert (budget.cores, budget.max_neurons, budget.max_synapses) == (3, 768, 196608)
    assert (budget.fan_in_per_neuron, budget.fan_out_per_neuron) == (256, 256)
    table = (budget.weight_bits, budget.unique_weights, budget.unique_scope, budget.zero_free)
    assert table == (9, 4, "neuron", True)


def test_cores_budget_on_loihi_is_the_hand_computation():
    # 2 cores x 1024 compartments; sparse synapses of 18 bits: 2 x floor(1048576 / 18) = 2 x 58254.
    budget = budget_from_profile(hwprofiles.load("loihi"), cores=2)
    assert (budget.max_neurons, budget.max_synapses) == (2048, 116508)
    assert (budget.fan_in_per_neuron, budget.fan_out_per_neuron, budget.unique_weights) == (None, None, None)


def test_cores_budget_on_xylo_names_its_input_and_output_sizes():
    budget = budget_from_profile(hwprofiles.load("xylo-audio2"), cores=1)
    assert (budget.max_neurons, budget.max_input_channels, budget.max_output_neurons) == (1000, 16, 8)
    assert budget.fan_in_per_neuron == 63


def test_without_cores_the_budget_spans_every_chip():
    profile = hwprofiles.load("truenorth")
    assert budget_from_profile(profile).max_neurons == 256 * 4096 * 16


def test_more_cores_than_the_system_has_is_a_user_error():
    with pytest.raises(BudgetError, match="65536 cores"):
        budget_from_profile(hwprofiles.load("truenorth"), cores=65537)


def test_zero_cores_is_a_user_error():
    with pytest.raises(BudgetError):
        budget_from_profile(hwprofiles.load("loihi"), cores=0)


def test_energy_prices_are_the_profiles_own_figures():
    budget = budget_from_profile(hwprofiles.load("loihi"))
    assert budget.synapse_op_j == pytest.approx(35.5e-12)
    assert budget.neuron_update_j == pytest.approx(72.8e-12)
    assert budget.spike_out_j == pytest.approx(69.3e-12 + 111.0e-12)  # spike plus its packet


def test_a_profiles_energy_budget_reaches_the_budget(tmp_path):
    source = pathlib.Path(hwprofiles.load("loihi").path).read_text()
    line = '  energy_per_inference_j: {value: 2.0e-7, source: "the application"}\n'
    text = source.replace("energy:\n", "energy:\n" + line, 1)
    path = tmp_path / "loihi.yaml"
    path.write_text(text)
    budget = budget_from_profile(hwprofiles.load(str(path)))
    assert budget.energy_per_inference_j == pytest.approx(2.0e-7)
    assert budget_from_profile(hwprofiles.load("loihi")).energy_per_inference_j is None


def test_run_spec_cores_reach_the_budget_of_harness_run():
    from harness.run import RunSpec, budget_for

    profile = hwprofiles.load("loihi")
    budget = budget_for(RunSpec(profile="loihi", method="ptq", cores=2), profile)
    assert (budget.cores, budget.max_neurons, budget.max_synapses) == (2, 2048, 116508)


def test_on_chip_budget_names_each_broken_limit_and_the_cores():
    from types import SimpleNamespace

    from chipsim.fit import Violation
    from harness.run import on_chip_budget

    fit = SimpleNamespace(violations=(Violation("fan_in_axons", 0, 300, 256),), cores_used=3)
    assert on_chip_budget(fit, 2) == {"map:fan_in_axons": False, "map:cores": False}
    assert on_chip_budget(SimpleNamespace(violations=(), cores_used=2), 2) == {"map:cores": True}
