"""`harness simulate`: run a NIR graph on a simulated chip and price it (energy per inference, latency).

Compiles the graph for the profile (``chipsim.compile``), places it (``chipsim.place``), runs the engine on
the input spikes (``chipsim.simulate``; a float profile runs the float reference) and prices the counters
(``chipsim.cost``). The input ``.npz`` holds ``spikes`` [steps, batch, inputs] or [steps, inputs]. OUT.npz
gets ``spikes`` (the output population, in the input's layout), ``spike_counts_<i>`` [batch, size] per
population ``i`` and ``population_names``. The table and ``--json`` give the counters per population
(spikes, synaptic events, neuron updates active / idle, packets, hops) with NeuroBench's names (effective
ACs / MACs, membrane updates, activation sparsity, dense synops) and the energy as dynamic + static. A
network that does not fit is still simulated (on as many cores as it needs) with a warning. Bad input
(missing file or key, wrong width or dims) is one line, exit 2.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from harness import nir_input
from harness import options as opts
from harness.paths import describe_file
from hwprofiles.errors import UserError


class SimulateArgumentError(UserError):
    pass


OPTIONS = (
    opts.NIR,
    opts.PROFILE,
    opts.Opt("--input", opts.Text(), ".npz with 'spikes' [steps, batch, inputs] or [steps, inputs]",
             required=True),
    opts.SIM_STEPS.but(help="time steps (default: the input's; more pads with silence)"),
    *nir_input.OPTIONS,
    opts.Opt("--strategy", opts.Text(), "placement strategy (see harness map)", default="greedy"),
    opts.Opt("--out", opts.OutFile(), "write output spikes and spike counts here (.npz)", required=True),
    opts.JSON_OUT.but(help="write the cost here as JSON"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run a NIR graph on a simulated chip: spikes, energy, latency",
        description=__doc__.split("\n\n")[0],
    )
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def load_input(path: str) -> np.ndarray:
    """The ``spikes`` array of an .npz, at least one step and one sample; UserError (one line saying what
    the file is and what was expected) for anything else."""
    expected = "an .npz archive holding 'spikes' (np.savez(path, spikes=...))"
    if not Path(path).is_file():
        raise SimulateArgumentError(f"input file not found: {path}")
    found = describe_file(path)
    if not found.startswith("a zip archive"):
        raise SimulateArgumentError(f"--input {path}: {found}; expected {expected}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "spikes" not in data.files:
                has = ", ".join(data.files) or "none"
                raise SimulateArgumentError(f"{path}: no 'spikes' array (has: {has})")
            spikes = data["spikes"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        if isinstance(error, UserError):
            raise
        raise SimulateArgumentError(f"--input {path}: {found} that numpy cannot read as {expected} "
                                    f"({' '.join(str(error).split())})") from None
    if spikes.ndim in (2, 3) and (spikes.shape[0] == 0 or (spikes.ndim == 3 and spikes.shape[1] == 0)):
        raise SimulateArgumentError(f"--input {path}: 'spikes' has shape {spikes.shape}: no "
                                    f"{'steps' if spikes.shape[0] == 0 else 'samples'} to simulate")
    return spikes


def run(args: argparse.Namespace) -> int:
    from chipsim.activity import neurobench_totals, population_counters
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate
    from hwprofiles import load

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
    rows = population_counters(activity, net)
    report = {"profile": profile.name, "fits": placement.fit.fits, "cores_used": int(activity.n_cores),
              "steps": activity.steps, "samples": activity.batch, "cost": priced.to_dict(),
              "counters": {"per_population": rows, "neurobench": neurobench_totals(rows, activity.steps)},
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
    print_counters(console, report["counters"])

    def j(value):
        return "unknown" if value is None else f"{value:.4g}"

    table = Table("energy per inference", "J")
    for name, value in c["energy_j"].items():
        table.add_row(name, j(value))
    table.add_row("[bold]dynamic[/bold] (all but static)", f"{j(c['dynamic_j'])} (known parts "
                  f"{c['dynamic_known_j']:.4g})")
    table.add_row("[bold]static[/bold]", j(c["static_j"]))
    table.add_row("[bold]total[/bold] (dynamic + static)", f"{j(c['total_j'])} (known parts "
                  f"{c['total_known_j']:.4g})")
    console.print(table)
    model = c["static_model"]
    console.print(f"static: {model['power_w_per_chip']} W x {model['chips_powered']} chip(s) powered x "
                  f"{model['latency_s']:.4g} s ({model['source']})")
    throughput = "-" if c["throughput_per_s"] is None else f"{c['throughput_per_s']:.4g}/s"
    console.print(f"latency {c['latency_s']:.4g} s per inference (barrier {c['barrier_s']:.3g} s/step), "
                  f"throughput {throughput}")
    for note in c["notes"]:
        console.print(f"  note: {note}")


COUNTER_COLUMNS = (("spikes", "spikes"), ("synops", "synaptic events"),
                   ("neuron_updates_active", "updates active"), ("neuron_updates_idle", "updates idle"),
                   ("packets", "packets"), ("hops", "hops"))


def print_counters(console, counters: dict) -> None:
    """Per-population counters per inference, then NeuroBench's figures for the whole network."""
    from rich.table import Table

    table = Table("population", "neurons", *(label for _, label in COUNTER_COLUMNS), "activation sparsity",
                  title="counters per inference")
    for r in counters["per_population"]:
        table.add_row(r["population"], str(r["neurons"]), *(f"{r[k]:.4g}" for k, _ in COUNTER_COLUMNS),
                      f"{r['neurobench']['activation_sparsity']:.4f}")
    console.print(table)
    nb = counters["neurobench"]
    console.print("NeuroBench: " + ", ".join(f"{k} {v:.6g}" for k, v in nb.items()))
