"""`harness profiles`: list the shipped chip profiles, show one with every source, check YAML files.

- ``harness profiles list``: one row per shipped chip (cores, neurons per core, weight bits, neuron model,
  whether its energy is published).
- ``harness profiles show NAME``: every value with its unit, source and note.
- ``harness profiles check [FILE ...]``: validate files (all shipped profiles when none is given); one
  line per failing file naming the file and the key; exit 2 if any fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import hwprofiles
from hwprofiles.profile import ChipProfile

SECTIONS = ("mesh", "core", "neuron", "energy", "latency")
_PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def register(subparsers) -> None:
    parser = subparsers.add_parser("profiles", help="list, show and check chip profiles",
                                   description=__doc__.split("\n\n")[0])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="one row per shipped chip profile").set_defaults(func=run_list)
    show = actions.add_parser("show", help="every value of one profile with its source")
    show.add_argument("name", help="a profile name (see `harness profiles list`) or a YAML path")
    show.set_defaults(func=run_show)
    check = actions.add_parser("check", help="validate profile files; exit 2 if any is malformed")
    check.add_argument("files", nargs="*", metavar="FILE", help="YAML files or names (default: all shipped)")
    check.set_defaults(func=run_check)


def energy_known(profile: ChipProfile) -> str:
    """'yes' when every per-operation energy is published, 'no' when none is, else 'partial'."""
    optional = {"mac_j", "synapse_op_by_encoding_j"}  # not every chip has these units
    known = [getattr(profile.energy, f.name) is not None for f in dataclasses.fields(profile.energy)
             if f.name not in optional]
    return "yes" if all(known) else "no" if not any(known) else "partial"


def with_unit(key: str, value: object) -> str:
    """``value`` for a reader: J, s and W with an SI prefix (``35.5 pJ``), tables one entry per item."""
    unit = next((u for suffix, u in (("_j", "J"), ("_s", "s"), ("_w", "W")) if key.endswith(suffix)), "")
    if value is None:
        return "null"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # barrier (tiles, s)
        return ", ".join(f"{tiles} tiles: {with_unit(key, s)}" for tiles, s in value)
    if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):  # core memory
        return "; ".join(f"{m.kernel_entries}/{m.neuron_entries}" for m in value) + " (kernel/neuron)"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    if hasattr(value, "items"):
        return ", ".join(f"{k} {with_unit(key, v)}" for k, v in value.items())
    if isinstance(value, float) and unit:
        if value == 0.0:
            return f"0 {unit}"
        scale, prefix = next(((s, p) for s, p in _PREFIXES if abs(value) >= s * 0.999), _PREFIXES[-1])
        return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def rows(profile: ChipProfile) -> list[tuple[str, str, str, str]]:
    """``(dotted key, value, source, note)`` for every field of the profile, in file order."""
    out = [("time_step_s", with_unit("time_step_s", profile.time_step_s),
            profile.sources.get("time_step_s", ""), profile.notes.get("time_step_s", ""))]
    for section in SECTIONS:
        part = getattr(profile, section)
        for field in dataclasses.fields(part):
            key = f"{section}.{field.name}"
            out.append((key, with_unit(field.name, getattr(part, field.name)), profile.sources.get(key, ""),
                        profile.notes.get(key, "")))
    return out


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="chip profiles (hwprofiles/profiles)")
    for column in ("name", "cores x chips", "neurons/core", "weight bits", "neuron model", "energy known"):
        table.add_column(column, no_wrap=column in ("name", "neuron model"), overflow="fold")
    for name in hwprofiles.available():
        profile = hwprofiles.load(name)
        mesh, core = profile.mesh, profile.core
        table.add_row(name, f"{mesh.cores} x {mesh.max_chips}", _or_dash(core.neurons),
                      _or_dash(core.weight_bits, "float"), profile.neuron.kind, energy_known(profile))
    Console().print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    profile = hwprofiles.load(args.name)
    table = Table(title=f"{profile.name}: {profile.description}", caption=profile.path, show_lines=False)
    for column in ("key", "value", "source", "note"):
        table.add_column(column, overflow="fold")
    for row in rows(profile):
        table.add_row(*row)
    Console().print(table)
    return 0


def run_check(args: argparse.Namespace) -> int:
    files = args.files or [str(hwprofiles.PROFILES_DIR / f"{name}.yaml") for name in hwprofiles.available()]
    failed = 0
    for file in files:
        try:
            profile = hwprofiles.load(file)
        except hwprofiles.ProfileError as error:
            failed += 1
            print(f"FAIL {error}", file=sys.stderr)
        else:
            print(f"ok   {file} ({profile.name})")
    if failed:
        print(f"{failed} of {len(files)} profile(s) failed", file=sys.stderr)
    return 2 if failed else 0


def _or_dash(value: int | None, none: str = "-") -> str:
    return none if value is None else str(value)
