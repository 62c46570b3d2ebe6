"""`harness map`: compile a NIR graph for a chip, place it on cores, and say whether it fits.

Prints a table (fits, cores used of total, chips, each resource's largest per-core use against its limit,
every violation); ``--json OUT`` writes the same as JSON (atomically). A missing or unreadable NIR file, an
unknown profile or a node the chip cannot take is one line on stderr and exit 2; not fitting is exit 0
with the violations listed (it is an answer, not an error).
"""

from __future__ import annotations

import argparse
import dataclasses

from harness import nir_input
from harness import options as opts

STRATEGIES = ("auto", "greedy", "hops", "partition")  # chipsim.place.STRATEGIES (not imported at start-up)
STRATEGY = opts.Opt("--strategy", opts.Choice(STRATEGIES),
                    "placement strategy: auto (greedy where it fits, else partition), greedy (first fit in "
                    "neuron order), hops (greedy, cores in snake order), partition (channel groups x spatial "
                    "tiles per layer)", default="auto")
PLACEMENT = opts.Opt("--placement", opts.Text(),
                     "place as this YAML file says (layer -> cores, or runs of neurons per core; see "
                     "chipsim/placement_file.py) instead of by --strategy", metavar="FILE")
NO_CACHE = opts.Opt("--no-cache", None, "compile and place afresh (default: reuse the result for the same "
                    "graph, profile and options from .cache/chipfit/placed, or $CHIPFIT_CACHE_DIR)")
OPTIONS = (
    opts.NIR,
    opts.PROFILE,
    STRATEGY,
    PLACEMENT,
    opts.Opt("--save-placement", opts.OutFile(), "write the placement as YAML (what --placement reads back "
             "exactly)", metavar="FILE"),
    NO_CACHE,
    *nir_input.OPTIONS,
    opts.JSON_OUT.but(help="write the fit report here as JSON"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "map", help="does this NIR graph fit this chip?", description=__doc__.split("\n\n")[0]
    )
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def compiled_and_placed(args, profile):
    """(ChipNetwork, Placement) of ``args.nir`` on ``profile``: ``--placement`` or ``--strategy``, cached."""
    from chipsim.cache import compiled_and_placed as cached

    net, placement, _ = cached(args.nir, profile, dt_s=args.dt, integrator=args.integrator,
                               strategy=args.strategy, placement_file=args.placement,
                               use_cache=not args.no_cache, source=getattr(args, "from"), reset=args.reset)
    return net, placement


def run(args: argparse.Namespace) -> int:
    from hwprofiles import load

    profile = load(args.profile)
    net, placement = compiled_and_placed(args, profile)
    report = map_report(net, placement)
    print_report(report)
    from compress.files import write_json_atomic, write_text_atomic

    if args.save_placement:
        from chipsim.placement_file import placement_yaml

        write_text_atomic(args.save_placement, placement_yaml(net, placement))
    if args.json:
        write_json_atomic(args.json, report)
    return 0


def map_report(net, placement) -> dict:
    """The fit as plain data: summary, per-resource max use vs limit, violations, quantization, notes."""
    fit = placement.fit
    resources = {}
    for name, use in fit.usage.items():
        if name.endswith("_limit"):
            continue
        resources[name] = {
            "max": float(use.max()) if use.size else 0.0,
            "limit": fit.limits.get(name),
            "per_core": use,
        }
    return {
        "profile": fit.profile_name,
        "fits": fit.fits,
        "strategy": fit.strategy,
        "cores_used": fit.cores_used,
        "cores_total": fit.cores_total,
        "chips_needed": fit.chips_needed,
        "neurons": net.n_neurons,
        "synapses": net.n_synapses,
        "dt_s": net.dt_s,
        "resources": resources,
        "violations": [dataclasses.asdict(v) | {"message": str(v)} for v in fit.violations],
        "smallest_budget": dict(fit.smallest_budget),
        "quantization": [dataclasses.asdict(q) for q in net.quantization],
        "notes": list(net.notes),
    }


def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    verdict = "[green]fits[/green]" if report["fits"] else "[red]does not fit[/red]"
    console.print(
        f"{report['profile']}: {verdict} - {report['cores_used']} of {report['cores_total']} cores, "
        f"{report['chips_needed']} chip(s), {report['neurons']} neurons, {report['synapses']} synapses "
        f"(strategy {report['strategy']}, dt {report['dt_s']:g} s)"
    )
    table = Table("resource", "max per core", "limit")
    for name, r in report["resources"].items():
        limit = "-" if r["limit"] is None else f"{r['limit']:g}"
        over = r["limit"] is not None and r["max"] > r["limit"]
        table.add_row(name, f"[red]{r['max']:g}[/red]" if over else f"{r['max']:g}", limit)
    console.print(table)
    shown = report["violations"][:20]
    for v in shown:
        console.print(f"  [red]violation[/red] {v['message']}")
    if len(report["violations"]) > len(shown):
        console.print(f"  ... and {len(report['violations']) - len(shown)} more violations")
    if report.get("smallest_budget"):
        need = ", ".join(f"{k} {v:g}" for k, v in report["smallest_budget"].items())
        console.print(f"  would fit with: {need}")
    fixed = [q for q in report.get("quantization", []) if q["bits"] is not None]
    if fixed:  # the chip's own weight format: bits, Loihi's exponent, the error it cost (NIR weight units)
        quant = Table("projection", "bits", "exponent", "scale", "distinct", "rmse", "max error",
                      title="quantization")
        for q in fixed:
            exponent = "-" if q["exponent"] is None else str(q["exponent"])
            quant.add_row(q["projection"], str(q["bits"]), exponent, f"{q['scale']:.4g}",
                          str(q["distinct_values"]), f"{q['rmse']:.3g}", f"{q['max_abs_error']:.3g}")
        console.print(quant)
    for note in report["notes"][:10]:
        console.print(f"  note: {note}")
