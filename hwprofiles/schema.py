"""What a chip-profile YAML may say: one rule per key (type, range, whether null is allowed).

The rules mirror the dataclasses of :mod:`hwprofiles.profile` section by section; ``tests/
test_hwprofiles_schema.py`` checks that every dataclass field has exactly one rule. A number, or anything
holding numbers, is written ``{value: X, source: "paper, table/page"}`` with an optional ``note:``;
strings, enums, booleans and lists of names may be bare. :func:`check` turns one YAML value into the typed
value a dataclass takes, or raises :class:`~hwprofiles.errors.ProfileError` naming the dotted key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from hwprofiles.errors import ProfileError
from hwprofiles.frozen import FrozenMap
from hwprofiles.profile import (
    LAYER_KINDS,
    NEURON_KINDS,
    RESET_MODES,
    STEP_TIMINGS,
    SYNAPSE_ENCODINGS,
    UNIQUE_WEIGHT_SCOPES,
    WEIGHT_FORMATS,
    CoreMemory,
)

NUMERIC_KINDS = ("int", "float", "encoding_bits", "encoding_values", "barrier", "core_memory")
"""Kinds that hold numbers: they must be written as ``{value, source}``."""


@dataclass(frozen=True)
class Rule:
    """How one key is checked. ``low``/``high`` bound numbers, inclusive unless ``low_open``."""

    kind: str  # int float bool str enum names encoding_bits encoding_values barrier core_memory
    nullable: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def range_text(self) -> str:
        low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        high = "" if self.high is None else f"<= {self.high:g}"
        return " and ".join(part for part in (low, high) if part)


COUNT = Rule("int", low=1)
LIMIT = Rule("int", nullable=True, low=1)  # None: the chip imposes no such limit
BITS = Rule("int", nullable=True, low=1, high=64)
# What chipsim computes exactly: weights are int32 (ChipNetwork, engine), state is int64 and the Loihi decay
# multiplies it by up to 2^decay_bits, so state (48) + decay (15) bits stay inside int64.
WEIGHT_BITS = Rule("int", nullable=True, low=1, high=32)
STATE_BITS = Rule("int", nullable=True, low=1, high=48)
DECAY_BITS = Rule("int", nullable=True, low=1, high=15)
OP_ENERGY_J = Rule("float", nullable=True, low=0.0, high=1e-6)  # > 1 uJ/op: a pJ figure typed as J
OP_LATENCY_S = Rule("float", nullable=True, low=0.0, high=1e-2)

TOP = {
    "name": Rule("str"),
    "description": Rule("str"),
    "time_step_s": Rule("float", low=0.0, high=10.0, low_open=True),
}

SECTIONS: dict[str, dict[str, Rule]] = {
    "mesh": {
        "width": COUNT,
        "height": COUNT,
        "cores_per_tile": COUNT,
        "max_chips": COUNT,
        "link_bandwidth_packets_per_s": Rule("float", nullable=True, low=0.0, low_open=True),
        "link_buffer_packets": LIMIT,
    },
    "core": {
        "neurons": LIMIT,
        "synapse_memory_bits": LIMIT,
        "synapse_encoding_bits": Rule("encoding_bits", low=1, high=256),
        "weight_bits": WEIGHT_BITS,
        "weight_signed": Rule("bool"),
        "unique_weights": LIMIT,
        "unique_weights_scope": Rule("enum", nullable=True, choices=UNIQUE_WEIGHT_SCOPES),
        "fan_in_axons": LIMIT,
        "fan_out_axons": LIMIT,
        "fan_in_per_neuron": LIMIT,
        "fan_out_per_neuron": LIMIT,
        "destinations_per_layer": LIMIT,
        "layer_kinds": Rule("names", choices=LAYER_KINDS),
        "core_memory": Rule("core_memory", nullable=True, low=1),
        "max_kernel_size": LIMIT,
        "max_channels": LIMIT,
        "max_input_channels": LIMIT,
        "max_output_neurons": LIMIT,
        "weight_exponent_max": Rule("int", nullable=True, low=0, high=15),
        "weight_exponent_min": Rule("int", nullable=True, low=-15, high=0),
        "weight_format": Rule("enum", choices=WEIGHT_FORMATS),
    },
    "neuron": {
        "kind": Rule("enum", choices=NEURON_KINDS),
        "state_bits": STATE_BITS,
        "current_bits": STATE_BITS,
        "decay_bits": DECAY_BITS,
        "weight_shift": Rule("int", low=0, high=47),
        "threshold_bits": STATE_BITS,
        "reset": Rule("enum", choices=RESET_MODES),
        "resets_supported": Rule("names", choices=RESET_MODES),
        "refractory_max_steps": Rule("int", low=0),
    },
    "energy": {
        "synapse_op_j": OP_ENERGY_J,
        "neuron_update_active_j": OP_ENERGY_J,
        "neuron_update_idle_j": OP_ENERGY_J,
        "spike_out_j": OP_ENERGY_J,
        "message_out_j": OP_ENERGY_J,
        "message_in_j": OP_ENERGY_J,
        "hop_ew_j": OP_ENERGY_J,
        "hop_ns_j": OP_ENERGY_J,
        "static_power_w": Rule("float", nullable=True, low=0.0, high=1e3),
        "mac_j": OP_ENERGY_J,
        "synapse_op_by_encoding_j": Rule("encoding_values", nullable=True, low=0.0, high=1e-6),
        "energy_per_inference_j": Rule("float", nullable=True, low=0.0, high=1e3, low_open=True),
    },
    "latency": {
        "synapse_op_s": OP_LATENCY_S,
        "neuron_update_active_s": OP_LATENCY_S,
        "neuron_update_idle_s": OP_LATENCY_S,
        "spike_out_s": OP_LATENCY_S,
        "message_out_s": OP_LATENCY_S,
        "message_in_s": OP_LATENCY_S,
        "hop_ew_s": OP_LATENCY_S,
        "hop_ns_s": OP_LATENCY_S,
        "barrier_sync_s": Rule("barrier", low=0.0, high=1.0),
        "mac_s": OP_LATENCY_S,
        "synapse_op_by_encoding_s": Rule("encoding_values", nullable=True, low=0.0, high=1e-2),
        "step_timing": Rule("enum", choices=STEP_TIMINGS),
        "synapse_delay_steps": Rule("int", low=0, high=1024),
        "synapse_delay_max_steps": Rule("int", nullable=True, low=0, high=1024),
    },
}


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()


def shown(value: object) -> object:
    """A short stand-in for ``value`` in an error message (containers by type, long strings cut)."""
    if isinstance(value, Mapping):
        return f"a mapping with keys {sorted(map(str, value))}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


def _int(value: object, rule: Rule, file: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(file, key, "an integer", shown(value))
    _in_range(value, rule, file, key)
    return value


def _float(value: object, rule: Rule, file: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(file, key, "a number", shown(value))
    if not math.isfinite(value):
        raise ProfileError(file, key, "a finite number", value)
    _in_range(value, rule, file, key)
    return float(value)


def _in_range(value: float, rule: Rule, file: str, key: str) -> None:
    too_low = rule.low is not None and (value <= rule.low if rule.low_open else value < rule.low)
    too_high = rule.high is not None and value > rule.high
    if too_low or too_high:
        raise ProfileError(file, key, f"a number {rule.range_text()}", value)


def _enum(value: object, rule: Rule, file: str, key: str) -> str:
    if value not in rule.choices:
        raise ProfileError(file, key, f"one of {', '.join(rule.choices)}", shown(value))
    return value


def _names(value: object, rule: Rule, file: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProfileError(file, key, f"a non-empty list of {', '.join(rule.choices)}", shown(value))
    names = tuple(_enum(item, rule, file, f"{key}[{i}]") for i, item in enumerate(value))
    if len(set(names)) != len(names):
        raise ProfileError(file, key, "each name once", list(names))
    return names


def _encoding_map(value: object, rule: Rule, file: str, key: str) -> Mapping[str, float | int]:
    if not isinstance(value, Mapping) or not value:
        raise ProfileError(file, key, f"a non-empty mapping from {', '.join(SYNAPSE_ENCODINGS)}",
                           shown(value))
    item_rule = Rule("int" if rule.kind == "encoding_bits" else "float", low=rule.low, high=rule.high)
    out = {}
    for encoding, number in value.items():
        _enum(encoding, Rule("enum", choices=SYNAPSE_ENCODINGS), file, f"{key}.{encoding}")
        out[encoding] = check_bare(number, item_rule, file, f"{key}.{encoding}")
    return FrozenMap(out)


def _barrier(value: object, rule: Rule, file: str, key: str) -> tuple[tuple[int, float], ...]:
    if not isinstance(value, list):
        raise ProfileError(file, key, "a list of [tiles, seconds] pairs", shown(value))
    table = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ProfileError(file, f"{key}[{i}]", "a [tiles, seconds] pair", shown(pair))
        tiles = _int(pair[0], COUNT, file, f"{key}[{i}][0]")
        seconds = _float(pair[1], rule, file, f"{key}[{i}][1]")
        if table and tiles <= table[-1][0]:
            raise ProfileError(file, f"{key}[{i}][0]", f"tiles increasing past {table[-1][0]}", tiles)
        table.append((tiles, seconds))
    return tuple(table)


def _core_memory(value: object, rule: Rule, file: str, key: str) -> tuple[CoreMemory, ...]:
    if not isinstance(value, list) or not value:
        raise ProfileError(file, key, "a non-empty list of {kernel_entries, neuron_entries}", shown(value))
    cores = []
    for i, entry in enumerate(value):
        here = f"{key}[{i}]"
        if not isinstance(entry, Mapping) or set(entry) != {"kernel_entries", "neuron_entries"}:
            raise ProfileError(file, here, "a mapping {kernel_entries, neuron_entries}", shown(entry))
        cores.append(CoreMemory(*(_int(entry[k], COUNT, file, f"{here}.{k}") for k in
                                  ("kernel_entries", "neuron_entries"))))
    return tuple(cores)


_CHECKERS = {
    "int": _int,
    "float": _float,
    "enum": _enum,
    "names": _names,
    "encoding_bits": _encoding_map,
    "encoding_values": _encoding_map,
    "barrier": _barrier,
    "core_memory": _core_memory,
}


def check_bare(value: object, rule: Rule, file: str, key: str) -> object:
    """The typed value of an unwrapped ``value`` under ``rule``."""
    if value is None:
        if not rule.nullable:
            raise ProfileError(file, key, f"a value ({rule.kind}; null is not allowed here)", None)
        return None
    if rule.kind == "bool":
        if not isinstance(value, bool):
            raise ProfileError(file, key, "true or false", shown(value))
        return value
    if rule.kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise ProfileError(file, key, "a non-empty string", shown(value))
        return value
    return _CHECKERS[rule.kind](value, rule, file, key)


def check(raw: object, rule: Rule, file: str, key: str) -> tuple[object, str | None, str | None]:
    """``(typed value, source, note)`` of one YAML entry; a bare entry has no source or note."""
    if isinstance(raw, Mapping) and "value" in raw:
        for extra in sorted(map(str, set(raw) - {"value", "source", "note"})):
            raise ProfileError(file, f"{key}.{extra}", "only value, source, note", "an unknown key")
        source, note = raw.get("source", MISSING), raw.get("note")
        if not isinstance(source, str) or not source.strip():
            raise ProfileError(file, f"{key}.source", "a non-empty string naming where the value comes from",
                               shown(source))
        if note is not None and not isinstance(note, str):
            raise ProfileError(file, f"{key}.note", "a string", shown(note))
        return check_bare(raw["value"], rule, file, key), source.strip(), note
    if rule.numeric:
        raise ProfileError(file, key, "a mapping {value: ..., source: '...'}", shown(raw))
    return check_bare(raw, rule, file, key), None, None
