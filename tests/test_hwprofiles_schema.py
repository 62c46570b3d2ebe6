"""hwprofiles.schema: every key's rule at its bounds, written out here as the spec (not read back from the
rules), and the error each kind of mistake gives (file, dotted key, expected, found)."""

import dataclasses
import math

import pytest

from hwprofiles import ProfileError
from hwprofiles import profile as prof
from hwprofiles.schema import SECTIONS, TOP, Rule, check, check_bare, shown

SRC = "test"


def value(x):
    return {"value": x, "source": SRC}


def typed(section, key, x):
    rule = TOP[key] if section is None else SECTIONS[section][key]
    raw = value(x) if rule.numeric or not isinstance(x, str | bool | list) else x
    return check(raw, rule, "f.yaml", key)[0]


def rejected(section, key, x) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        typed(section, key, x)
    return caught.value


# (section, key, smallest allowed, largest allowed or None, nullable)
COUNTS = [("mesh", k, 1, None, False) for k in ("width", "height", "cores_per_tile", "max_chips")]
LIMITS = [("mesh", "link_buffer_packets", 1, None, True)] + [
    ("core", k, 1, None, True) for k in (
        "neurons", "synapse_memory_bits", "unique_weights", "fan_in_axons", "fan_out_axons",
        "fan_in_per_neuron", "fan_out_per_neuron", "destinations_per_layer", "max_kernel_size",
        "max_channels", "max_input_channels", "max_output_neurons")]
BITS = [("core", "weight_bits", 1, 64, True)] + [
    ("neuron", k, 1, 64, True) for k in ("state_bits", "current_bits", "decay_bits", "threshold_bits")]
OTHER_INTS = [("neuron", "weight_shift", 0, 63, False), ("neuron", "refractory_max_steps", 0, None, False)]
ENERGY = [("energy", k, 0.0, 1e-6, True) for k in (
    "synapse_op_j", "neuron_update_active_j", "neuron_update_idle_j", "spike_out_j", "message_out_j",
    "message_in_j", "hop_ew_j", "hop_ns_j", "mac_j")] + [("energy", "static_power_w", 0.0, 1e3, True)]
LATENCY = [("latency", k, 0.0, 1e-2, True) for k in (
    "synapse_op_s", "neuron_update_active_s", "neuron_update_idle_s", "spike_out_s", "message_out_s",
    "message_in_s", "hop_ew_s", "hop_ns_s", "mac_s")]
INTS = COUNTS + LIMITS + BITS + OTHER_INTS
FLOATS = ENERGY + LATENCY


@pytest.mark.parametrize(("section", "key", "low", "high", "nullable"), INTS)
def test_integer_keys_at_their_bounds_and_one_past(section, key, low, high, nullable):
    assert typed(section, key, low) == low
    assert rejected(section, key, low - 1).key == key
    if high is not None:
        assert typed(section, key, high) == high
        assert rejected(section, key, high + 1).got == high + 1
    else:
        assert typed(section, key, 10**9) == 10**9
    assert "an integer" in rejected(section, key, 2.5).expected
    assert "an integer" in rejected(section, key, True).expected
    if nullable:
        assert typed(section, key, None) is None
    else:
        assert "null is not allowed" in rejected(section, key, None).expected


@pytest.mark.parametrize(("section", "key", "low", "high", "nullable"), FLOATS)
def test_float_keys_at_their_bounds_and_past(section, key, low, high, nullable):
    assert typed(section, key, low) == low
    assert typed(section, key, high) == high
    assert isinstance(typed(section, key, 0), float)  # an int is taken as a float
    rejected(section, key, -1e-30)
    assert rejected(section, key, high * 1.001).expected == f"a number >= 0 and <= {high:g}"
    assert rejected(section, key, math.nan).expected == "a finite number"
    assert typed(section, key, None) is None


def test_time_step_is_open_at_zero_and_at_most_ten_seconds():
    assert typed(None, "time_step_s", 1e-9) == 1e-9
    assert typed(None, "time_step_s", 10.0) == 10.0
    assert rejected(None, "time_step_s", 0.0).expected == "a number > 0 and <= 10"
    rejected(None, "time_step_s", 10.5)
    assert "null is not allowed" in rejected(None, "time_step_s", None).expected


def test_link_bandwidth_is_positive_or_null():
    assert typed("mesh", "link_bandwidth_packets_per_s", 1e12) == 1e12
    assert typed("mesh", "link_bandwidth_packets_per_s", None) is None
    assert rejected("mesh", "link_bandwidth_packets_per_s", 0.0).expected == "a number > 0"


@pytest.mark.parametrize(("section", "key", "choices", "nullable"), [
    ("core", "unique_weights_scope", prof.UNIQUE_WEIGHT_SCOPES, True),
    ("neuron", "kind", prof.NEURON_KINDS, False),
    ("neuron", "reset", prof.RESET_MODES, False),
    ("latency", "step_timing", prof.STEP_TIMINGS, False),
])
def test_enum_keys_take_exactly_their_choices(section, key, choices, nullable):
    for choice in choices:
        assert typed(section, key, choice) == choice
    error = rejected(section, key, "bogus")
    assert error.expected == f"one of {', '.join(choices)}" and error.got == "bogus"
    if nullable:
        assert check(None, SECTIONS[section][key], "f", key)[0] is None
    else:
        with pytest.raises(ProfileError):
            check(None, SECTIONS[section][key], "f", key)


def test_the_shipped_choice_lists():
    assert set(prof.UNIQUE_WEIGHT_SCOPES) == {"neuron", "core", "layer"}
    assert set(prof.NEURON_KINDS) == {"loihi_cuba", "truenorth_lif", "xylo_shift", "speck_iaf", "float_lif"}
    assert set(prof.STEP_TIMINGS) == {"barrier", "tick"}


@pytest.mark.parametrize(("section", "key", "choices"), [
    ("core", "layer_kinds", prof.LAYER_KINDS), ("neuron", "resets_supported", prof.RESET_MODES)])
def test_name_lists(section, key, choices):
    assert typed(section, key, list(choices)) == tuple(choices)
    assert rejected(section, key, []).expected.startswith("a non-empty list of")
    assert rejected(section, key, "dense").expected.startswith("a non-empty list of")
    assert rejected(section, key, [choices[0], "bogus"]).key == f"{key}[1]"
    assert rejected(section, key, [choices[0], choices[0]]).expected == "each name once"


def test_synapse_encoding_bits_are_integers_from_1_to_256_per_known_encoding():
    got = typed("core", "synapse_encoding_bits", {"dense": 1, "sparse": 256})
    assert dict(got) == {"dense": 1, "sparse": 256}
    assert rejected("core", "synapse_encoding_bits", {"dense": 0}).key == "synapse_encoding_bits.dense"
    assert rejected("core", "synapse_encoding_bits", {"dense": 257}).got == 257
    assert rejected("core", "synapse_encoding_bits", {"dense": 1.5}).expected == "an integer"
    assert rejected("core", "synapse_encoding_bits", {"csr": 8}).key == "synapse_encoding_bits.csr"
    assert rejected("core", "synapse_encoding_bits", {}).expected.startswith("a non-empty mapping from")
    assert "null is not allowed" in rejected("core", "synapse_encoding_bits", None).expected


@pytest.mark.parametrize(("section", "key", "high"), [
    ("energy", "synapse_op_by_encoding_j", 1e-6), ("latency", "synapse_op_by_encoding_s", 1e-2)])
def test_per_encoding_figures(section, key, high):
    got = typed(section, key, {"dense": 0.0, "conv": high})
    assert dict(got) == {"dense": 0.0, "conv": high} and isinstance(got["dense"], float)
    assert rejected(section, key, {"dense": high * 2}).key == f"{key}.dense"
    rejected(section, key, {"dense": -1e-12})
    assert typed(section, key, None) is None


def test_barrier_table():
    assert typed("latency", "barrier_sync_s", [[1, 0.0], [4, 1.0]]) == ((1, 0.0), (4, 1.0))
    assert typed("latency", "barrier_sync_s", []) == ()
    assert rejected("latency", "barrier_sync_s", [[1, 1.5]]).key == "barrier_sync_s[0][1]"
    assert rejected("latency", "barrier_sync_s", [[0, 1e-6]]).key == "barrier_sync_s[0][0]"
    error = rejected("latency", "barrier_sync_s", [[2, 1e-6], [2, 2e-6]])
    assert (error.key, error.expected) == ("barrier_sync_s[1][0]", "tiles increasing past 2")
    assert rejected("latency", "barrier_sync_s", [[1, 1e-6, 3]]).key == "barrier_sync_s[0]"
    assert rejected("latency", "barrier_sync_s", {"a": 1}).expected == "a list of [tiles, seconds] pairs"
    assert "null is not allowed" in rejected("latency", "barrier_sync_s", None).expected


def test_core_memory():
    got = typed("core", "core_memory", [{"kernel_entries": 16384, "neuron_entries": 65536}])
    assert got == (prof.CoreMemory(16384, 65536),)
    assert typed("core", "core_memory", None) is None
    assert rejected("core", "core_memory", []).expected.startswith("a non-empty list")
    bad = rejected("core", "core_memory", [{"kernel_entries": 0, "neuron_entries": 1}])
    assert bad.key == "core_memory[0].kernel_entries"
    assert rejected("core", "core_memory", [{"kernel_entries": 1}]).key == "core_memory[0]"


def test_bool_and_str_keys_may_be_bare():
    assert check(True, SECTIONS["core"]["weight_signed"], "f", "weight_signed") == (True, None, None)
    assert check(value(False), SECTIONS["core"]["weight_signed"], "f", "k") == (False, SRC, None)
    with pytest.raises(ProfileError, match="true or false"):
        check(1, SECTIONS["core"]["weight_signed"], "f", "weight_signed")
    assert check("loihi", TOP["name"], "f", "name") == ("loihi", None, None)
    for blank in ("", "   ", 3):
        with pytest.raises(ProfileError, match="a non-empty string"):
            check(blank, TOP["description"], "f", "description")


def test_a_number_must_carry_its_source():
    rule = SECTIONS["core"]["neurons"]
    error = _error(lambda: check(1024, rule, "loihi.yaml", "core.neurons"))
    assert (error.file, error.key, error.expected) == ("loihi.yaml", "core.neurons",
                                                      "a mapping {value: ..., source: '...'}")
    assert _error(lambda: check({"value": 1}, rule, "f", "core.neurons")).key == "core.neurons.source"
    assert _error(lambda: check({"value": 1, "source": " "}, rule, "f", "k")).key == "k.source"
    assert _error(lambda: check({"value": 1, "source": "s", "typo": 2}, rule, "f", "k")).key == "k.typo"
    assert _error(lambda: check({"value": 1, "source": "s", "note": 3}, rule, "f", "k")).key == "k.note"
    assert check({"value": 1, "source": "  p. 89  ", "note": "n"}, rule, "f", "k") == (1, "p. 89", "n")


def _error(call) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        call()
    return caught.value


def test_error_message_is_one_line_with_file_key_expected_and_found():
    error = rejected("mesh", "width", 0)
    assert str(error) == "f.yaml: key 'width': expected a number >= 1, got 0"
    assert error.exit_code == 2


def test_shown_keeps_messages_short():
    assert shown({"b": 1, "a": 2}) == "a mapping with keys ['a', 'b']"
    assert shown([1, 2, 3]) == "a list of 3"
    assert shown("x" * 61) == "x" * 57 + "..."
    assert shown("x" * 60) == "x" * 60
    assert shown(5) == 5


def test_range_text():
    assert Rule("int", low=1).range_text() == ">= 1"
    assert Rule("float", low=0.0, high=2.0, low_open=True).range_text() == "> 0 and <= 2"
    assert Rule("float", high=2.0).range_text() == "<= 2"
    assert Rule("float").range_text() == ""


def test_every_dataclass_field_has_exactly_one_rule():
    for section, cls in (("mesh", prof.Mesh), ("core", prof.CoreLimits), ("neuron", prof.NeuronModel),
                         ("energy", prof.Energy), ("latency", prof.Latency)):
        assert set(SECTIONS[section]) == {f.name for f in dataclasses.fields(cls)}, section
    assert check_bare(None, Rule("int", nullable=True), "f", "k") is None
