"""The shipped chip profiles: each loads, and the figures fixed by the papers hold (hand-checked)."""

import pytest

import hwprofiles


@pytest.mark.parametrize("name", hwprofiles.available())
def test_every_shipped_profile_loads_and_every_number_has_a_source(name):
    profile = hwprofiles.load(name)
    assert profile.name == name
    assert all(source.strip() for source in profile.sources.values())
    assert "time_step_s" in profile.sources and "energy.synapse_op_j" in profile.sources


def test_loihi_has_128_cores_of_1024_neurons():
    profile = hwprofiles.load("loihi")
    assert (profile.mesh.width, profile.mesh.height, profile.mesh.cores_per_tile) == (8, 4, 4)
    assert profile.mesh.cores == 128 and profile.core.neurons == 1024


def test_loihi_synapse_memory_is_128_kilobytes():
    assert hwprofiles.load("loihi").core.synapse_memory_bits == 128 * 1024 * 8


def test_loihi_active_update_is_sanafe_access_plus_update():
    energy = hwprofiles.load("loihi").energy
    assert energy.neuron_update_idle_j == pytest.approx(51.2e-12)
    assert energy.neuron_update_active_j == pytest.approx(51.2e-12 + 21.6e-12)


def test_loihi_hops_follow_davies_table_2():
    profile = hwprofiles.load("loihi")
    energy, latency = profile.energy, profile.latency
    assert (energy.hop_ew_j, energy.hop_ns_j) == (pytest.approx(3.0e-12), pytest.approx(4.0e-12))
    assert (latency.hop_ew_s, latency.hop_ns_s) == (pytest.approx(4.1e-9), pytest.approx(6.5e-9))


def test_loihi_neuron_is_the_bit_accurate_cuba_lif():
    neuron = hwprofiles.load("loihi").neuron
    assert (neuron.kind, neuron.state_bits, neuron.current_bits, neuron.decay_bits, neuron.weight_shift) == \
        ("loihi_cuba", 24, 24, 12, 6)


def test_loihi_default_synapse_price_is_the_dense_one():
    energy = hwprofiles.load("loihi").energy
    assert energy.synapse_op_j == energy.synapse_op_by_encoding_j["dense"]


def test_loihi2_publishes_no_per_operation_energy():
    energy = hwprofiles.load("loihi2").energy
    assert energy.synapse_op_j is None and energy.neuron_update_active_j is None


def test_truenorth_has_4_weights_per_neuron_on_a_binary_crossbar():
    core = hwprofiles.load("truenorth").core
    assert (core.unique_weights, core.unique_weights_scope) == (4, "neuron")
    assert core.synapse_encoding_bits == {"dense": 1}
    assert core.synapse_memory_bits == 256 * 256


def test_speck_core_memory_totals_272ki_kernel_and_320ki_neuron_entries():
    memory = hwprofiles.load("speck").core.core_memory
    assert sum(m.kernel_entries for m in memory) == 272 * 1024
    assert sum(m.neuron_entries for m in memory) == 320 * 1024


def test_xylo_audio2_takes_16_inputs_and_reads_8_outputs():
    core = hwprofiles.load("xylo-audio2").core
    assert (core.neurons, core.max_input_channels, core.max_output_neurons) == (1000, 16, 8)
    assert (core.fan_in_per_neuron, core.fan_out_per_neuron) == (63, 64)


def test_generic_45nm_mac_is_a_float_multiply_plus_add():
    energy = hwprofiles.load("generic-45nm").energy
    assert energy.mac_j == pytest.approx(3.7e-12 + 0.9e-12) and energy.synapse_op_j == pytest.approx(0.9e-12)
    assert hwprofiles.load("generic-45nm").core.weight_bits is None


@pytest.mark.parametrize("name", ["spinnaker", "spinnaker2", "generic-45nm"])
def test_float_neuron_profiles_are_not_fixed_point(name):
    assert not hwprofiles.load(name).fixed_point


def test_the_example_in_the_adding_a_profile_guide_is_valid(tmp_path):
    guide = (hwprofiles.PROFILES_DIR.parents[1] / "docs" / "adding-a-profile.md").read_text()
    example = guide.split("## 3.")[1].split("```yaml\n")[1].split("```")[0]
    path = tmp_path / "tinychip.yaml"
    path.write_text(example)
    profile = hwprofiles.load(path)
    assert (profile.mesh.cores, profile.core.neurons, profile.core.core_memory) == (4, 64, None)


def test_truenorth_prices_synaptic_events_at_its_measured_whole_chip_figure():
    p = hwprofiles.load("truenorth")
    assert p.energy.synapse_op_j == pytest.approx(2.5e-12)
    assert "Akopyan" in p.sources["energy.synapse_op_j"] and "silicon" in p.sources["energy.synapse_op_j"]
    others = ("neuron_update_active_j", "neuron_update_idle_j", "spike_out_j", "message_out_j",
              "message_in_j", "hop_ew_j", "hop_ns_j")
    assert all(getattr(p.energy, k) == 0.0 for k in others)  # left out on purpose: inside the per-event one
    assert all("left out on purpose" in p.sources[f"energy.{k}"] for k in others)
    assert p.energy.static_power_w == pytest.approx(0.063) and "Merolla" in p.sources["energy.static_power_w"]


def test_speck_resting_power_is_measured_and_its_dynamic_terms_stay_unknown():
    p = hwprofiles.load("speck")
    assert p.energy.static_power_w == pytest.approx(0.42e-3)
    assert "Yao" in p.sources["energy.static_power_w"] and "0.70 mW" in p.notes["energy.static_power_w"]
    assert p.energy.synapse_op_j is None and p.energy.neuron_update_active_j is None
