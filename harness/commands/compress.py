"""`harness compress`: compress the dense model of a dataset with one method under a chip's budget.

The budget comes from ``--profile`` (:func:`compress.budget.budget_from_profile`, on ``--cores N`` of
its cores, default all) and/or the flags; flags override the profile. Method-specific settings ride as
``--option key=value`` (values parsed as JSON when they parse: ``--option prune_fraction=0.6``,
``--option zero_free=false``).

Every method's output is projected onto the chip's grid (:mod:`compress.deploy`) and, with ``--profile``,
mapped onto the chip by the same mapper as `harness map` (on at most ``--cores`` cores). Exit status:
0 when every limit is met; **3** when the exported model still breaks one (``budget_met`` in
metrics.json names each, ``map:<constraint>`` for what the mapper found; the table says so in red);
2 for bad input.
"""

from __future__ import annotations

import argparse
import pathlib

from harness import options as opts
from harness.commands.export import TO, check_targets, export_file

DEFAULT_DENSE_EPOCHS = None  # None: TrainConfig's default (the dense config harness train uses)
BUDGET_NOT_MET = 3  # exit status when the exported model breaks a limit of its budget


OPTIONS = (
    opts.METHOD,
    opts.DATASET,
    opts.PROFILE.but(required=False, help="chip profile name or YAML path; gives the budget"),
    opts.BITS.but(help="weight bits (signed grid)"),
    opts.UNIQUE.but(help="distinct weight values allowed per group"),
    opts.Opt("--scope", opts.Choice(("layer", "core", "neuron")),
             "group of --unique (default: the profile's, else layer)"),
    opts.SPARSITY,
    opts.Opt("--max-neurons", opts.Int(1), "spiking neurons allowed in the model"),
    opts.CORES.but(help="fit on at most N cores of --profile (default: all it has)"),
    opts.MODEL,
    opts.EPOCHS,
    opts.DENSE_EPOCHS,
    opts.TRAIN_STEPS,
    opts.SEED,
    opts.DEVICE,
    opts.DATA_DIR,
    opts.CACHE_DIR.but(help="where dense models are cached (default .cache/chipfit/dense)"),
    opts.OPTION,
    opts.OUT_FOLDER.but(help="output folder: model.pt, model.nir, metrics.json"),
    TO,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compress", help="compress an SNN with one method under a chip's budget",
                              description=__doc__.split("\n\n")[0])
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def build_budget(args: argparse.Namespace):
    from compress.budget import budget_from_profile, check, override
    from compress.method import Budget

    if args.profile:
        import hwprofiles

        budget = budget_from_profile(hwprofiles.load(args.profile), cores=args.cores)
    elif args.cores is not None:
        raise opts.OptionError("--cores needs --profile (the cores are the profile's)")
    else:
        budget = Budget()
    budget = override(budget, weight_bits=args.bits, unique_weights=args.unique, unique_scope=args.scope,
                      sparsity=args.sparsity, max_neurons=args.max_neurons)
    check(budget)
    return budget


def run(args: argparse.Namespace) -> int:
    from compress.models import ModelConfig
    from compress.pipeline import run_method, train_configs

    options = opts.method_options([args.method], args.option)
    budget = build_budget(args)
    dense_cfg, train_cfg = train_configs(args.seed, steps=args.steps, epochs=args.epochs,
                                         dense_epochs=args.dense_epochs, device=args.device)
    model_cfg = ModelConfig(kind=args.model)
    check_targets(model_cfg, args.to)  # before training: an export the target cannot run fails now
    metrics = run_method(args.method, dataset=args.dataset, budget=budget, model_cfg=model_cfg,
                         train_cfg=train_cfg, seed=args.seed, out_dir=args.out, options=options,
                         dense_cfg=dense_cfg, data_dir=args.data_dir, cache_dir=args.cache_dir)
    if args.profile:
        metrics = check_on_chip(metrics, pathlib.Path(args.out), args.profile, args.cores)
    _print_table(metrics, pathlib.Path(args.out))
    out = pathlib.Path(args.out)
    for target in args.to:
        export_file(out / "model.nir", target, out / f"model.{target}.nir")
    return 0 if all(metrics["budget_met"].values()) else BUDGET_NOT_MET


def map_violations(nir_path: pathlib.Path, profile_name: str, cores: int | None) -> tuple[dict, list[str]]:
    """Map ``nir_path`` as `harness map` does; (fit summary, one 'constraint: message' per broken limit).
    With ``cores``, using more than that many cores is a 'cores' violation."""
    import hwprofiles
    from chipsim.compile import compile_graph, load_graph
    from chipsim.place import place

    profile = hwprofiles.load(profile_name)
    placement = place(compile_graph(load_graph(nir_path), profile), profile)
    fit = placement.fit
    broken = [f"{v.constraint}: {v}" for v in fit.violations]
    if cores is not None and fit.cores_used > cores:
        broken.append(f"cores: needs {fit.cores_used} cores, --cores {cores}")
    return {"fits": fit.fits and not (cores is not None and fit.cores_used > cores),
            "cores_used": fit.cores_used, "cores_allowed": cores or fit.cores_total}, broken


def check_on_chip(metrics: dict, out: pathlib.Path, profile_name: str, cores: int | None) -> dict:
    """Add the mapper's verdict to metrics.json: ``map`` (fit, cores, violations) and a False
    ``budget_met['map:<constraint>']`` for every limit the placement breaks."""
    from compress.files import write_json_atomic

    summary, broken = map_violations(out / "model.nir", profile_name, cores)
    metrics["map"] = summary | {"violations": broken[:50], "violation_count": len(broken)}
    for line in broken:
        metrics["budget_met"][f"map:{line.split(':', 1)[0]}"] = False
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def _print_table(metrics: dict, out: pathlib.Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{metrics['method']} on {metrics['dataset']} (seed {metrics['seed']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [("accuracy (dense)", f"{metrics['accuracy_dense']:.4f}"),
            ("accuracy (method's model)", f"{metrics['accuracy_method']:.4f}"),
            ("accuracy (on the chip's grid, exported)", f"{metrics['accuracy']:.4f}"),
            ("sparsity", f"{metrics['sparsity']:.4f}"),
            ("nonzero weights", str(metrics["nonzero"])),
            ("neurons used", str(metrics["neurons_used"])),
            ("distinct values per group (max)", str(metrics["distinct_per_group_max"])),
            ("synops per sample", f"{metrics['synops_per_sample']:.1f}"),
            ("epochs", str(metrics["epochs"])),
            ("wall time (s)", f"{metrics['wall_time_s']:.1f}")]
    rows += [(f"budget met: {k}", "yes" if v else "[red]NO[/red]") for k, v in metrics["budget_met"].items()]
    for name, value in rows:
        table.add_row(name, value)
    console = Console()
    console.print(table)
    broken = [k for k, v in metrics["budget_met"].items() if not v]
    if broken:
        console.print(f"[red]budget NOT met: {', '.join(broken)}[/red]")
        for line in metrics.get("map", {}).get("violations", [])[:10]:
            console.print(f"  [red]{line}[/red]")
    console.print(f"wrote {out / 'model.pt'}, {out / 'model.nir'}, {out / 'metrics.json'}")
