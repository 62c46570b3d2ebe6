"""hwprofiles.load: resolution, caching, and one ProfileError naming file and key for each kind of mistake."""

import dataclasses
import os
import pathlib
import pickle
import shutil

import pytest
import yaml

import hwprofiles
from hwprofiles import ProfileError
from hwprofiles.loader import SECTION_TYPES
from hwprofiles.schema import SECTIONS

LOIHI = hwprofiles.PROFILES_DIR / "loihi.yaml"


def write_variant(tmp_path: pathlib.Path, edit, name: str = "loihi") -> pathlib.Path:
    """A copy of loihi.yaml, renamed to ``name``, with ``edit(data)`` applied."""
    data = yaml.safe_load(LOIHI.read_text())
    data["name"] = name
    edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_of(path) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        hwprofiles.load(path)
    return caught.value


# --- resolution and caching ---------------------------------------------------------------------------

def test_available_lists_the_nine_shipped_profiles():
    assert hwprofiles.available() == ["akida", "generic-45nm", "loihi", "loihi2", "speck", "spinnaker",
                                      "spinnaker2", "truenorth", "xylo-audio2"]


@pytest.mark.parametrize("name", ["loihi", "loihi.yaml", str(LOIHI), LOIHI])
def test_load_resolves_a_name_a_name_with_extension_and_a_path(name):
    assert hwprofiles.load(name).path == str(LOIHI.resolve())


def test_unknown_name_lists_the_available_ones():
    error = error_of("loihi3")
    assert error.key == "<name>" and "loihi2" in str(error) and "truenorth" in str(error)


def test_missing_file_is_a_profile_error(tmp_path):
    error = error_of(tmp_path / "nothing.yaml")
    assert error.key == "<file>" and str(tmp_path) in str(error)


def test_load_returns_the_cached_object_while_the_file_is_unchanged():
    assert hwprofiles.load("loihi") is hwprofiles.load("loihi.yaml")


def test_load_rereads_a_file_after_it_changes(tmp_path):
    path = write_variant(tmp_path, lambda d: None, name="mine")
    first = hwprofiles.load(path)
    text = path.read_text().replace("value: 1024", "value: 512", 1)
    path.write_text(text)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert first.core.neurons == 1024 and hwprofiles.load(path).core.neurons == 512


def test_sources_are_keyed_by_dotted_path():
    profile = hwprofiles.load("loihi")
    assert "Davies 2018" in profile.sources["energy.hop_ns_j"]
    assert "4.2" in profile.notes["energy.hop_ns_j"]


def test_schema_has_one_rule_per_dataclass_field():
    for section, cls in SECTION_TYPES.items():
        assert set(SECTIONS[section]) == {f.name for f in dataclasses.fields(cls)}, section


def test_profile_is_frozen():
    profile = hwprofiles.load("loihi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.name = "x"
    with pytest.raises(TypeError):
        profile.sources["time_step_s"] = "x"


def test_profile_pickles_and_hashes_for_worker_processes():
    profile = hwprofiles.load("speck")
    again = pickle.loads(pickle.dumps(profile))
    assert again == profile and hash(again) == hash(profile)
    with pytest.raises(TypeError):
        again.core.synapse_encoding_bits["conv"] = 4


def test_a_copied_profile_with_its_own_name_loads(tmp_path):
    path = write_variant(tmp_path, lambda d: None, name="mychip")
    assert hwprofiles.load(path).name == "mychip"


def test_exponent_without_a_dot_reads_as_a_float(tmp_path):
    path = write_variant(tmp_path, lambda d: None, name="mine")
    path.write_text(path.read_text().replace("value: 0.001", "value: 1e-3"))
    assert hwprofiles.load(path).time_step_s == pytest.approx(1e-3)


# --- one ProfileError per kind of mistake ---------------------------------------------------------------

def set_in(keys: str, value):
    def edit(data):
        *path, last = keys.split(".")
        for key in path:
            data = data[key]
        data[last] = value
    return edit


def delete(keys: str):
    def edit(data):
        *path, last = keys.split(".")
        for key in path:
            data = data[key]
        del data[last]
    return edit


MISTAKES = {
    "missing_key": (delete("core.neurons"), "core.neurons"),
    "missing_section": (delete("latency"), "latency"),
    "unknown_key": (set_in("core.neurons_per_core", {"value": 1, "source": "x"}), "core.neurons_per_core"),
    "unknown_top_key": (set_in("chip", "x"), "chip"),
    "wrong_type": (set_in("core.neurons", {"value": "many", "source": "x"}), "core.neurons"),
    "float_for_int": (set_in("mesh.width", {"value": 8.5, "source": "x"}), "mesh.width"),
    "bool_for_int": (set_in("mesh.width", {"value": True, "source": "x"}), "mesh.width"),
    "zero_count": (set_in("mesh.width", {"value": 0, "source": "x"}), "mesh.width"),
    "bits_out_of_range": (set_in("core.weight_bits", {"value": 65, "source": "x"}), "core.weight_bits"),
    "negative_energy": (set_in("energy.spike_out_j", {"value": -1.0e-12, "source": "x"}),
                        "energy.spike_out_j"),
    "picojoules_typed_as_joules": (set_in("energy.spike_out_j", {"value": 69.3, "source": "x"}),
                                   "energy.spike_out_j"),
    "bad_enum": (set_in("neuron.kind", "izhikevich"), "neuron.kind"),
    "bad_enum_in_list": (set_in("core.layer_kinds", ["dense", "attention"]), "core.layer_kinds[1]"),
    "missing_source": (set_in("core.neurons", {"value": 1024}), "core.neurons.source"),
    "empty_source": (set_in("core.neurons", {"value": 1024, "source": " "}), "core.neurons.source"),
    "bare_number": (set_in("core.neurons", 1024), "core.neurons"),
    "null_not_allowed": (set_in("mesh.width", {"value": None, "source": "unknown"}), "mesh.width"),
    "unknown_key_beside_value": (set_in("core.neurons", {"value": 1, "source": "x", "unit": "n"}),
                                 "core.neurons.unit"),
    "scope_without_table": (set_in("core.unique_weights_scope", "core"), "core.unique_weights_scope"),
    "table_larger_than_weight_grid": (
        lambda d: (set_in("core.unique_weights", {"value": 512, "source": "x"})(d),
                   set_in("core.unique_weights_scope", "neuron")(d)), "core.unique_weights"),
    "reset_not_supported": (set_in("neuron.reset", "subtract"), "neuron.reset"),
    "barrier_not_sorted": (set_in("latency.barrier_sync_s", {"value": [[4, 1e-6], [2, 1e-6]], "source": "x"}),
                           "latency.barrier_sync_s[1][0]"),
    "core_memory_not_one_per_core": (
        set_in("core.core_memory", {"value": [{"kernel_entries": 1, "neuron_entries": 1}], "source": "x"}),
        "core.core_memory"),
    "fixed_point_kind_without_state_bits": (set_in("neuron.state_bits", {"value": None, "source": "x"}),
                                            "neuron.state_bits"),
    "bad_encoding_name": (set_in("core.synapse_encoding_bits", {"value": {"csr": 8}, "source": "x"}),
                          "core.synapse_encoding_bits.csr"),
    "name_differs_from_file": (set_in("name", "other"), "name"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_is_one_profile_error_naming_file_and_key(tmp_path, mistake):
    edit, key = MISTAKES[mistake]
    path = write_variant(tmp_path, edit)
    error = error_of(path)
    assert error.key == key
    assert str(path) in str(error) and f"'{key}'" in str(error) and "\n" not in str(error)


def test_per_encoding_cost_must_name_an_encoding_the_core_has(tmp_path):
    only_dense = {"value": {"dense": 8}, "source": "x"}
    path = write_variant(tmp_path, set_in("core.synapse_encoding_bits", only_dense))
    assert error_of(path).key == "energy.synapse_op_by_encoding_j.sparse"


def test_yaml_syntax_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nmesh: {width: [1, 2}\n")
    error = error_of(path)
    assert error.key == "<yaml>" and "line 2" in str(error) and "\n" not in str(error)


def test_duplicate_key_is_an_error(tmp_path):
    path = tmp_path / "twice.yaml"
    shutil.copy(LOIHI, path)
    path.write_text(path.read_text().replace("name: loihi\n", "name: twice\nname: twice\n"))
    error = error_of(path)
    assert error.key == "<yaml>" and "duplicate key 'name'" in str(error)


def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    assert error_of(path).key == "<top>"


def test_profile_error_is_a_user_error_with_exit_code_2(tmp_path):
    assert error_of(tmp_path / "x.yaml").exit_code == 2


def test_axon_types_without_a_per_neuron_weight_table_is_refused(tmp_path):
    text = (hwprofiles.loader.PROFILES_DIR / "truenorth.yaml").read_text()
    bad = text.replace("unique_weights_scope: neuron", "unique_weights_scope: layer")
    assert bad != text
    path = tmp_path / "truenorth.yaml"
    path.write_text(bad)
    with pytest.raises(ProfileError, match="core.unique_weights_scope.*axon_types"):
        hwprofiles.load(path)


def test_signed_one_bit_weights_are_refused(tmp_path):
    text = (hwprofiles.loader.PROFILES_DIR / "akida.yaml").read_text()
    bad = text.replace('''  weight_bits:
    value: 4''', '''  weight_bits:
    value: 1''')
    assert bad != text
    path = tmp_path / "akida.yaml"
    path.write_text(bad)
    with pytest.raises(ProfileError, match="core.weight_bits.*at least 2 for signed"):
        hwprofiles.load(path)
