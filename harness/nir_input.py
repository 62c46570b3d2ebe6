"""The options of every command that reads a NIR file: ``--from``, ``--dt``, ``--reset``, ``--integrator``.

``read(args, profile)`` imports the file through its dialect (chipsim.nir_read), prints which convention
it assumed and every warning (no silent 1 ms) on stdout, so that an error stays the one line on stderr,
and compiles it for the profile.
"""

from __future__ import annotations

import argparse

from chipsim.nir_read import RESETS, SOURCES


def add_arguments(p: argparse.ArgumentParser, *, dt: bool = True) -> None:
    p.add_argument(
        "--from",
        dest="source",
        choices=SOURCES,
        default="auto",
        help="which framework wrote the graph (default auto: detect it and say what was assumed)",
    )
    if dt:
        p.add_argument(
            "--dt",
            type=float,
            help="time step, s (default: the graph's dt, else the framework's, else the profile's)",
        )
    p.add_argument("--reset", choices=RESETS, help="override the graph's reset mode")
    p.add_argument(
        "--integrator",
        choices=("euler", "exact"),
        help="default: the framework's (exact for sinabs' LIF and Rockpool, else euler)",
    )


def read(args: argparse.Namespace, path, profile, *, quiet: bool = False):
    """(ChipNetwork, Convention) for ``path`` read as ``args`` say."""
    from chipsim import nir_read
    from chipsim.compile import compile_graph

    imported = nir_read.load(
        path,
        getattr(args, "source", "auto"),
        dt_s=getattr(args, "dt", None),
        reset=getattr(args, "reset", None),
    )
    if not quiet:
        print(f"{path}: {imported.convention.describe()}")
        for warning in imported.warnings:
            print(f"warning: {warning}")
    integrator = getattr(args, "integrator", None) or imported.convention.integrator
    return compile_graph(imported.graph, profile, integrator=integrator), imported.convention
