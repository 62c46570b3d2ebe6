"""The options of every command that reads a NIR file: ``--from``, ``--dt``, ``--reset``, ``--integrator``.

``read(args, profile)`` imports the file through its dialect (chipsim.nir_read), prints which convention
it assumed and every warning (no silent 1 ms) on stdout, so that an error stays the one line on stderr,
and compiles it for the profile.
"""

from __future__ import annotations

import argparse

from chipsim.dialect_names import RESETS, SOURCES
from harness import options as opts

FROM = opts.Opt("--from", opts.Choice(SOURCES),
                "which framework wrote the graph (auto: detect it and say what was assumed)", default="auto")
RESET = opts.Opt("--reset", opts.Choice(RESETS), "override the graph's reset mode")
INTEGRATOR = opts.INTEGRATOR.but(default=None,
                                 help="how time constants become per-step factors (default: the framework's:"
                                      " exact for sinabs' LIF and Rockpool, else euler)")
DT = opts.DT.but(help="time step, s (default: the graph's dt, else the framework's, else the profile's)")
OPTIONS = (FROM, DT, RESET, INTEGRATOR)
"""The options of every command that reads a NIR file; a command lists them in its own OPTIONS."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    opts.add(p, OPTIONS)


def source_of(args: argparse.Namespace) -> str:
    """The dialect ``--from`` names (argparse keeps it as ``args.from``, a keyword in Python)."""
    return getattr(args, "from", None) or "auto"


def announce(args: argparse.Namespace, path):
    """Read ``path`` as ``args`` say and print the convention assumed and every warning; the Imported."""
    from chipsim import nir_read

    imported = nir_read.load(path, source_of(args), dt_s=getattr(args, "dt", None),
                             reset=getattr(args, "reset", None))
    print(f"{path}: {imported.convention.describe()}")
    for warning in imported.warnings:
        print(f"warning: {warning}")
    return imported


def read(args: argparse.Namespace, path, profile, *, quiet: bool = False):
    """(ChipNetwork, Convention) for ``path`` read as ``args`` say."""
    from chipsim import nir_read
    from chipsim.compile import compile_graph

    imported = nir_read.load(
        path,
        source_of(args),
        dt_s=getattr(args, "dt", None),
        reset=getattr(args, "reset", None),
    )
    imported = nir_read.for_profile(imported, profile)  # a framework's lag (Spyx) as Delay nodes, if it can
    if not quiet:
        print(f"{path}: {imported.convention.describe()}")
        for warning in imported.warnings:
            print(f"warning: {warning}")
    integrator = getattr(args, "integrator", None) or imported.convention.integrator
    return compile_graph(imported.graph, profile, integrator=integrator), imported.convention
