"""Compile and place once: the compiled and placed network of a NIR file, cached on disk by content.

``harness map``, ``simulate`` and ``run`` of the same graph on the same profile with the same options get
the same ChipNetwork and Placement; the first computes them (``compile_graph`` then ``place``) and stores
both (``simulate`` adds the placement's routes to the entry: :func:`compiled_placed_and_routed`), the
next ones load them (a pickle, milliseconds) and so skip compiling, placing, and even importing
Numba and NIR for ``map``. The key is a SHA-256 over the NIR file's bytes, the profile's YAML bytes (its
dataclass where it has no file), the options (dt, integrator, strategy, a placement file's bytes) and the
source of every chipsim module the result depends on, so a code change invalidates every entry. Entries
are written atomically; an unreadable one is a miss (and is replaced). Networks above
``MAX_CACHED_SYNAPSES`` are not stored (writing them would cost more than compiling). The same bytes under
another name or folder are the same entry: its notes name the graph file as ``GRAPH_MARK`` in the entry
and as the file asked for on a hit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

DEFAULT_DIR = Path(".cache/chipfit/placed")
"""Where entries go, relative to the working directory (``CHIPFIT_CACHE_DIR`` overrides)."""

MAX_CACHED_SYNAPSES = 20_000_000
SOURCES = ("compile.py", "expand.py", "representable.py", "network.py", "quantize.py", "constraints.py",
           "insynapses.py", "partition.py", "place.py", "placement_file.py", "fit.py", "routing.py",
           "weight_formats.py", "cache.py")
"""The chipsim modules whose source is part of the key."""

GRAPH_MARK = "\x00graph\x00"
"""Stands for the NIR file's path in a stored entry's notes (the key is of its bytes, not its name)."""


def cache_dir() -> Path:
    return Path(os.environ.get("CHIPFIT_CACHE_DIR", DEFAULT_DIR))


def key(nir_path: str | Path, profile, options: dict, placement_file: str | Path | None = None) -> str:
    """The entry's name: SHA-256 over the graph, the profile, the options and the code (module docstring)."""
    h = hashlib.sha256()
    h.update(Path(nir_path).read_bytes())
    profile_path = getattr(profile, "path", None)
    if profile_path and Path(profile_path).is_file():
        h.update(Path(profile_path).read_bytes())
    else:
        h.update(repr(profile).encode())
    h.update(repr(sorted(options.items())).encode())
    if placement_file is not None:
        h.update(Path(placement_file).read_bytes())
    here = Path(__file__).resolve().parent
    for name in SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def compiled_and_placed(nir_path, profile, *, dt_s=None, integrator=None, strategy="auto",
                        placement_file=None, use_cache: bool = True, source: str = "auto",
                        reset: str | None = None, lap=None):
    """(ChipNetwork, Placement, hit): from the cache where an entry matches, else computed and stored.

    The graph is read through its dialect (chipsim.nir_read: ``source``, ``dt_s``, ``reset``);
    ``integrator`` None is the dialect's. ``lap(stage)``, where given, is called as each stage ends
    ("cache_lookup", "read_graph", "compile", "place", "cache_store"), to time them."""
    lap = lap or (lambda stage: None)
    path, found = _lookup(nir_path, profile, dt_s, integrator, strategy, placement_file, use_cache, source,
                          reset, lap)
    if found is not None:
        return _named(found[0], GRAPH_MARK, nir_path), found[1], True
    net, placement = _compile_and_place(nir_path, profile, dt_s, integrator, strategy, placement_file,
                                        source, reset, lap)
    _store_entry(path, net, (_named(net, nir_path, GRAPH_MARK), placement), lap)
    return net, placement, False


def compiled_placed_and_routed(nir_path, profile, *, dt_s=None, integrator=None, strategy="auto",
                               placement_file=None, use_cache: bool = True, source: str = "auto",
                               reset: str | None = None, lap=None):
    """(ChipNetwork, Placement, Routes, hit): as :func:`compiled_and_placed`, plus the placement's routes
    (:func:`chipsim.routing.route`, which ``simulate`` needs and ``map`` does not), stored in the same
    entry once computed (an entry without them, from ``map``, gets them added). ``lap`` also sees
    "route"."""
    lap = lap or (lambda stage: None)
    path, found = _lookup(nir_path, profile, dt_s, integrator, strategy, placement_file, use_cache, source,
                          reset, lap)
    if found is not None and len(found) > 2:
        return _named(found[0], GRAPH_MARK, nir_path), found[1], found[2], True
    if found is not None:
        net, placement = _named(found[0], GRAPH_MARK, nir_path), found[1]
    else:
        net, placement = _compile_and_place(nir_path, profile, dt_s, integrator, strategy, placement_file,
                                            source, reset, lap)
    from chipsim.routing import route

    routes = route(net, placement)
    lap("route")
    _store_entry(path, net, (_named(net, nir_path, GRAPH_MARK), placement, routes), lap)
    return net, placement, routes, found is not None


def _lookup(nir_path, profile, dt_s, integrator, strategy, placement_file, use_cache, source, reset, lap):
    """(entry path or None where nothing is cached, the entry's tuple or None on a miss)."""
    options = {"dt_s": dt_s, "integrator": integrator, "strategy": None if placement_file else strategy,
               "source": source, "reset": reset}
    if not use_cache or not Path(nir_path).is_file():
        return None, None
    if placement_file is not None and not Path(placement_file).is_file():
        return None, None  # read_placement says what is wrong
    path = cache_dir() / f"{key(nir_path, profile, options, placement_file)}.pkl"
    found = _load(path)
    lap("cache_lookup")
    if not isinstance(found, tuple) or len(found) < 2:
        found = None
    return path, found


def _compile_and_place(nir_path, profile, dt_s, integrator, strategy, placement_file, source, reset, lap):
    from chipsim import nir_read
    from chipsim.compile import compile_graph

    imported = nir_read.for_profile(nir_read.load(nir_path, source, dt_s=dt_s, reset=reset), profile)
    lap("read_graph")
    net = compile_graph(imported.graph, profile, integrator=integrator or imported.convention.integrator)
    net = dataclasses.replace(net, notes=(f"{nir_path}: {imported.convention.describe()}",
                                          *(f"warning: {w}" for w in imported.warnings), *net.notes))
    lap("compile")
    if placement_file is not None:
        from chipsim.place import place_given
        from chipsim.placement_file import read_placement

        placement = place_given(net, profile, read_placement(placement_file, net))
    else:
        from chipsim.place import place

        placement = place(net, profile, strategy)
    lap("place")
    return net, placement


def _named(net, old, new):
    """``net`` with its first note (the graph file's reading, from :func:`_compile_and_place`) naming
    ``new`` where it named ``old``."""
    head = f"{old}: "
    if not net.notes or not net.notes[0].startswith(head):
        return net
    return dataclasses.replace(net, notes=(f"{new}: {net.notes[0][len(head):]}", *net.notes[1:]))


def _store_entry(path, net, entry: tuple, lap) -> None:
    if path is not None and net.n_synapses <= MAX_CACHED_SYNAPSES:
        _store(path, entry)
        lap("cache_store")


def _load(path: Path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:  # missing, truncated or from an incompatible version: a miss
        return None


def _store(path: Path, value) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:  # a read-only place: the result stands, uncached
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:  # a full disk: the same
        Path(tmp).unlink(missing_ok=True)
