"""Load a chip profile: YAML file -> validated, frozen :class:`~hwprofiles.profile.ChipProfile`.

``load`` accepts a bare name (``loihi``), a name with extension (``loihi.yaml``) or a path. It checks every
key against :mod:`hwprofiles.schema`, then the rules that join keys (a weight table needs a scope, Speck's
per-core memory lists every core, the default reset is a supported one...). Every failure, a YAML syntax
error and a missing file included, is one :class:`~hwprofiles.errors.ProfileError` naming the file and the
dotted key. Parsed profiles are cached on (resolved path, modification time).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from hwprofiles.errors import ProfileError
from hwprofiles.frozen import FrozenMap
from hwprofiles.profile import ChipProfile, CoreLimits, Energy, Latency, Mesh, NeuronModel
from hwprofiles.schema import MISSING, SECTIONS, TOP, check, shown

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
SUFFIXES = (".yaml", ".yml")
SECTION_TYPES = {
    "mesh": Mesh, "core": CoreLimits, "neuron": NeuronModel, "energy": Energy, "latency": Latency,
}


def available() -> list[str]:
    """Names of the shipped profiles (``hwprofiles/profiles/*.yaml``), sorted."""
    return sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The file a name or path means: an existing file, else a shipped profile of that name."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.stem if path.suffix in SUFFIXES else path.name
    shipped = PROFILES_DIR / f"{stem}.yaml"
    if len(path.parts) == 1 and shipped.is_file():
        return shipped
    if len(path.parts) > 1 or path.suffix in SUFFIXES:
        raise ProfileError(str(path), "<file>", "an existing profile file", "no such file")
    raise ProfileError(str(name_or_path), "<name>", f"a profile name, one of {', '.join(available())}",
                       str(name_or_path))


def load(name_or_path: str | os.PathLike) -> ChipProfile:
    """The validated profile ``name_or_path`` names (see :func:`resolve`); cached until the file changes."""
    path = resolve(name_or_path).resolve()
    return _load_cached(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int) -> ChipProfile:
    return build(parse(path), path)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-3`` as a float (YAML 1.2) and refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse(path: str) -> Mapping:
    """The YAML mapping in ``path``; a syntax error or unreadable file is a one-line ProfileError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(path, "<file>", "a readable profile file", error.strerror or str(error)) from None
    except UnicodeDecodeError as error:
        found = f"byte 0x{error.object[error.start]:02x} at offset {error.start}, not UTF-8"
        raise ProfileError(path, "<file>", "a UTF-8 text YAML file", found) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ProfileError(path, "<yaml>", "valid YAML", _yaml_problem(error)) from None
    if not isinstance(data, Mapping):
        raise ProfileError(path, "<top>", "a mapping of profile keys", shown(data))
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


def _has_default(cls: type, name: str) -> bool:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _section(raw: object, name: str, file: str, sources: dict, notes: dict) -> dict:
    """The typed keyword arguments of one section's dataclass."""
    if not isinstance(raw, Mapping):
        raise ProfileError(file, name, "a mapping", shown(raw))
    rules = SECTIONS[name]
    for key in raw:
        if key not in rules:
            raise ProfileError(file, f"{name}.{key}", f"one of the keys {', '.join(rules)}", "an unknown key")
    values = {}
    for key, rule in rules.items():
        dotted = f"{name}.{key}"
        if key not in raw:
            if _has_default(SECTION_TYPES[name], key):
                continue
            raise ProfileError(file, dotted, "this key (every required key must be given)", MISSING)
        values[key], source, note = check(raw[key], rule, file, dotted)
        if source is not None:
            sources[dotted] = source
        if note:
            notes[dotted] = note.strip()
    return values


def build(data: Mapping, file: str) -> ChipProfile:
    """A ChipProfile from parsed YAML ``data`` (which came from ``file``), or the first ProfileError."""
    allowed = list(TOP) + list(SECTIONS)
    for key in data:
        if key not in allowed:
            raise ProfileError(file, str(key), f"one of the top-level keys {', '.join(allowed)}",
                               "an unknown key")
    for key in allowed:
        if key not in data:
            raise ProfileError(file, key, "this key (every required key must be given)", MISSING)
    sources: dict[str, str] = {}
    notes: dict[str, str] = {}
    top = {}
    for key, rule in TOP.items():
        top[key], source, note = check(data[key], rule, file, key)
        if source is not None:
            sources[key] = source
        if note:
            notes[key] = note.strip()
    parts = {name: SECTION_TYPES[name](**_section(data[name], name, file, sources, notes))
             for name in SECTIONS}
    profile = ChipProfile(
        name=top["name"], description=" ".join(top["description"].split()), path=file,
        time_step_s=top["time_step_s"], sources=FrozenMap(sources), notes=FrozenMap(notes),
        **parts,
    )
    check_consistency(profile, file)
    return profile


def check_consistency(profile: ChipProfile, file: str) -> None:
    """The rules that join keys; raises the first broken one as a ProfileError."""
    core, neuron = profile.core, profile.neuron
    stem = Path(file).stem
    if profile.name != stem:
        raise ProfileError(file, "name", f"the file's name {stem!r}", profile.name)
    if core.weight_format == "axon_types" and (core.unique_weights is None
                                               or core.unique_weights_scope != "neuron"):
        raise ProfileError(file, "core.unique_weights_scope", "'neuron' with unique_weights set, for "
                           "weight_format axon_types (one weight per type and neuron)",
                           core.unique_weights_scope)
    if core.weight_signed and core.weight_bits == 1:
        raise ProfileError(file, "core.weight_bits", "at least 2 for signed weights (a symmetric signed "
                           "1-bit range +-(2^0 - 1) holds only 0)", 1)
    if (core.unique_weights is None) != (core.unique_weights_scope is None):
        raise ProfileError(file, "core.unique_weights_scope",
                           "a scope exactly when core.unique_weights is set", core.unique_weights_scope)
    if core.unique_weights is not None and core.weight_bits is not None and \
            core.unique_weights > 2 ** core.weight_bits:
        raise ProfileError(file, "core.unique_weights", f"at most 2**weight_bits = {2 ** core.weight_bits}",
                           core.unique_weights)
    if core.core_memory is not None and len(core.core_memory) != profile.mesh.cores:
        raise ProfileError(file, "core.core_memory", f"one entry per core ({profile.mesh.cores})",
                           f"{len(core.core_memory)} entries")
    if neuron.reset not in neuron.resets_supported:
        raise ProfileError(file, "neuron.reset",
                           f"one of neuron.resets_supported {list(neuron.resets_supported)}", neuron.reset)
    if neuron.kind != "float_lif":
        for key in ("state_bits", "threshold_bits"):
            if getattr(neuron, key) is None:
                raise ProfileError(file, f"neuron.{key}", f"bits for the fixed-point kind {neuron.kind}",
                                   None)
        if core.weight_bits is None:
            raise ProfileError(file, "core.weight_bits", f"integer weight bits for the fixed-point kind "
                               f"{neuron.kind}", None)
    if neuron.kind == "loihi_cuba":
        for key in ("current_bits", "decay_bits"):
            if getattr(neuron, key) is None:
                raise ProfileError(file, f"neuron.{key}", "bits for the kind loihi_cuba", None)
    lat = profile.latency
    if lat.synapse_delay_max_steps is not None and lat.synapse_delay_max_steps < lat.synapse_delay_steps:
        raise ProfileError(file, "latency.synapse_delay_max_steps",
                           f"at least latency.synapse_delay_steps ({lat.synapse_delay_steps})",
                           lat.synapse_delay_max_steps)
    for section, key in (("energy", "synapse_op_by_encoding_j"), ("latency", "synapse_op_by_encoding_s")):
        by_encoding = getattr(getattr(profile, section), key)
        for encoding in by_encoding or ():
            if encoding not in core.synapse_encoding_bits:
                raise ProfileError(file, f"{section}.{key}.{encoding}",
                                   f"an encoding of core.synapse_encoding_bits "
                                   f"({', '.join(core.synapse_encoding_bits)})", encoding)
