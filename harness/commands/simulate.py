"""`harness simulate`: run a NIR graph on a simulated chip and price it (energy per inference, latency).

Compiles the graph for the profile (``chipsim.compile``), places it (``chipsim.place``), runs the engine on
the input spikes (``chipsim.simulate``; a float profile runs the float reference) and prices the counters
(``chipsim.cost``). The input ``.npz`` holds ``spikes`` [steps, batch, inputs] or [steps, inputs]. OUT.npz
gets ``spikes`` (the output population, in the input's layout), ``spike_counts_<i>`` [batch, size] per
population ``i`` and ``population_names``. A network that does not fit is still simulated (on as many
cores as it needs) with a warning. Bad input (missing file or key, wrong width or dims) is one line, exit 2.
"""

from __future__ import annotations

import argparse
import math
import zipfile
from pathlib import Path

import numpy as np

from harness import nir_input
from hwprofiles.errors import UserError


class SimulateArgumentError(UserError):
    pass


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run a NIR graph on a simulated chip: spikes, energy, latency",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--nir", required=True, help="NIR graph file (HDF5, nir.write)")
    p.add_argument("--profile", required=True, help="chip profile name (harness profiles) or YAML path")
    p.add_argument("--input", required=True,
                   help=".npz with 'spikes' [steps, batch, inputs] or [steps, inputs]")
    p.add_argument("--steps", type=int, help="time steps (default: the input's; more pads with silence)")
    nir_input.add_arguments(p)
    p.add_argument("--strategy", default="greedy", help="placement strategy (see harness map)")
    p.add_argument("--out", required=True, help="write output spikes and spike counts here (.npz)")
    p.add_argument("--json", help="write the cost here as JSON")
    p.set_defaults(func=run)


def load_input(path: str) -> np.ndarray:
    """The ``spikes`` array of an .npz; UserError for a missing/unreadable file or a missing key."""
    if not Path(path).is_file():
        raise SimulateArgumentError(f"input file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "spikes" not in data.files:
                has = ", ".join(data.files) or "none"
                raise SimulateArgumentError(f"{path}: no 'spikes' array (has: {has})")
            return data["spikes"]
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise SimulateArgumentError(f"{path}: not a readable .npz ({error})") from None


def run(args: argparse.Namespace) -> int:
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate
    from hwprofiles import load

    if args.dt is not None and not (math.isfinite(args.dt) and args.dt > 0):
        raise SimulateArgumentError(f"--dt must be a positive number of seconds, got {args.dt}")
    if args.steps is not None and args.steps < 1:
        raise SimulateArgumentError(f"--steps must be >= 1, got {args.steps}")
    spikes = load_input(args.input)
    profile = load(args.profile)
    net, _ = nir_input.read(args, args.nir, profile)
    placement = place(net, profile, args.strategy)
    activity = simulate(net, placement, spikes, steps=args.steps)
    priced = cost(activity, placement, profile, net)
    out_spikes = activity.output_spikes[:, 0] if spikes.ndim == 2 else activity.output_spikes
    arrays = {"spikes": out_spikes, "population_names": np.array([p.name for p in net.populations])}
    arrays |= {f"spike_counts_{i}": c for i, c in enumerate(activity.spike_counts)}

    from compress.files import write_atomic, write_json_atomic

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    write_atomic(args.out, save)
    report = {"profile": profile.name, "fits": placement.fit.fits, "cores_used": int(activity.n_cores),
              "steps": activity.steps, "samples": activity.batch, "cost": priced.to_dict(),
              "network_notes": list(net.notes)}
    print_cost(report, placement.fit.violations)
    if args.json:
        write_json_atomic(args.json, report)
    return 0


def print_cost(report: dict, violations) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c = report["cost"]
    if not report["fits"]:
        console.print(f"[yellow]warning[/yellow]: does not fit {report['profile']} ({len(violations)} "
                      "violations, see harness map); simulated on as many cores as it needs")
    console.print(f"{report['profile']}: {report['samples']} sample(s) x {report['steps']} steps on "
                  f"{report['cores_used']} cores")
    table = Table("energy per inference", "J")
    for name, value in c["energy_j"].items():
        table.add_row(name, "unknown" if value is None else f"{value:.4g}")
    total = "unknown" if c["total_j"] is None else f"{c['total_j']:.4g}"
    table.add_row("[bold]total[/bold]", f"{total} (known parts {c['total_known_j']:.4g})")
    console.print(table)
    throughput = "-" if c["throughput_per_s"] is None else f"{c['throughput_per_s']:.4g}/s"
    console.print(f"latency {c['latency_s']:.4g} s per inference (barrier {c['barrier_s']:.3g} s/step), "
                  f"throughput {throughput}")
    for note in c["notes"]:
        console.print(f"  note: {note}")
