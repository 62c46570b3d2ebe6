"""`harness compress`: compress the dense model of a dataset with one method under a chip's budget.

The budget comes from ``--profile`` (:func:`compress.budget.budget_from_profile`) and/or the flags; flags
override the profile. Method-specific settings ride as ``--option key=value`` (values parsed as JSON when
they parse: ``--option prune_fraction=0.6``, ``--option zero_free=false``).
"""

from __future__ import annotations

import argparse
import pathlib

from harness import options as opts
from harness.commands.export import TO, export_file
from harness.options import OptionError  # noqa: F401 -- the name other commands import from here

DEFAULT_DENSE_EPOCHS = None  # None: TrainConfig's default (the dense config harness train uses)


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


def parse_options(pairs: list[str]) -> dict:
    """['k=v', ...] -> {k: JSON value or the string} (unchecked; see harness.options.method_options)."""
    return opts.parse_pairs(pairs)


def build_budget(args: argparse.Namespace):
    from compress.budget import budget_from_profile, check, override
    from compress.method import Budget

    if args.profile:
        import hwprofiles

        budget = budget_from_profile(hwprofiles.load(args.profile))
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
    metrics = run_method(args.method, dataset=args.dataset, budget=budget, model_cfg=model_cfg,
                         train_cfg=train_cfg, seed=args.seed, out_dir=args.out, options=options,
                         dense_cfg=dense_cfg, data_dir=args.data_dir, cache_dir=args.cache_dir)
    _print_table(metrics, pathlib.Path(args.out))
    out = pathlib.Path(args.out)
    for target in args.to:
        export_file(out / "model.nir", target, out / f"model.{target}.nir")
    return 0


def _print_table(metrics: dict, out: pathlib.Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{metrics['method']} on {metrics['dataset']} (seed {metrics['seed']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [("accuracy (dense)", f"{metrics['accuracy_dense']:.4f}"),
            ("accuracy (compressed, exported weights)", f"{metrics['accuracy']:.4f}"),
            ("sparsity", f"{metrics['sparsity']:.4f}"),
            ("nonzero weights", str(metrics["nonzero"])),
            ("neurons used", str(metrics["neurons_used"])),
            ("distinct values per group (max)", str(metrics["distinct_per_group_max"])),
            ("synops per sample", f"{metrics['synops_per_sample']:.1f}"),
            ("epochs", str(metrics["epochs"])),
            ("wall time (s)", f"{metrics['wall_time_s']:.1f}")]
    rows += [(f"budget met: {k}", "yes" if v else "NO") for k, v in metrics["budget_met"].items()]
    for name, value in rows:
        table.add_row(name, value)
    console = Console()
    console.print(table)
    console.print(f"wrote {out / 'model.pt'}, {out / 'model.nir'}, {out / 'metrics.json'}")
