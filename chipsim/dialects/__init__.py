"""Dialects: one small module per exporter, translating its NIR conventions to canonical NIR and back.

Each module defines ``NAME``, ``detect(graph) -> str | None`` (the evidence that this exporter wrote the
graph, or None), ``to_canonical(graph) -> (graph, chipsim.nir_read.Semantics)`` and
``export(graph, dt_s) -> graph`` (canonical NIR -> what that framework's importer reads as chipfit's
float reference runs it), and optionally ``after_write(path)`` (fix-ups of the written file for an
older nir that the framework pins). What each exporter does is in its module's docstring, checked against the
framework's source and its run (``tools/interop/make_fixtures.py``, ``docs/interop.md``).
"""

from __future__ import annotations

from importlib import import_module

from chipsim.dialect_names import EXPORT_TARGETS
from chipsim.nir_read import NIRReadError

# detection order: the most specific evidence first (chipfit's own metadata, then parameter patterns)
DETECT_ORDER = ("chipfit", "snntorch", "rockpool", "norse", "spyx", "sinabs")
ALIASES = {"nir": "canonical", "chipfit": "canonical", "lava": "canonical"}


def get(name: str):
    """The dialect module for ``name`` (a --from value)."""
    module = ALIASES.get(name, name)
    try:
        return import_module(f"chipsim.dialects.{module}")
    except ModuleNotFoundError:
        raise NIRReadError(f"no dialect for {name!r}") from None


def detect(graph) -> tuple[str | None, str]:
    """(dialect name, evidence), or (None, what was looked at) where no dialect recognises the graph."""
    for name in DETECT_ORDER:
        evidence = get(name).detect(graph)
        if evidence:
            return name, evidence
    return None, "no dt or dialect in the metadata, no exporter's parameter pattern"


def after_write(path, target: str) -> None:
    """What ``target``'s reader needs changed in the file nir.write made (sinabs: nir 1.0.4's fields)."""
    hook = getattr(get(target), "after_write", None)
    if hook is not None:
        hook(path)


def export(graph, target: str, dt_s: float):
    """Canonical ``graph`` (time step ``dt_s``) in ``target``'s conventions."""
    if target not in EXPORT_TARGETS:
        raise NIRReadError(f"--to must be one of {', '.join(EXPORT_TARGETS)}, got {target!r}")
    return get(target).export(graph, dt_s)
