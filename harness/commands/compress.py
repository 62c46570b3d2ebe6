"""`harness compress`: compress the dense model of a dataset with one method under a chip's budget.

The budget comes from ``--profile`` (:func:`compress.budget.budget_from_profile`) and/or the flags; flags
override the profile. Method-specific settings ride as ``--option key=value`` (values parsed as JSON when
they parse: ``--option prune_fraction=0.6``, ``--option zero_free=false``).
"""

from __future__ import annotations

import argparse
import json
import pathlib

from harness.commands.export import add_to_option, export_file
from hwprofiles.errors import UserError

DEFAULT_DENSE_EPOCHS = None  # None: TrainConfig's default (the dense config harness train uses)


class OptionError(UserError):
    pass


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compress", help="compress an SNN with one method under a chip's budget",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--method", required=True, help="compression method (unknown: lists the known ones)")
    p.add_argument("--dataset", required=True, help="digits | mnist | fashion-mnist | cifar10")
    p.add_argument("--profile", help="chip profile name or YAML path; gives the budget")
    p.add_argument("--bits", type=int, help="weight bits (signed grid)")
    p.add_argument("--unique", type=int, help="distinct weight values allowed per group")
    p.add_argument("--scope", choices=("layer", "core", "neuron"),
                   help="group of --unique (default: the profile's, else layer)")
    p.add_argument("--sparsity", type=float, help="fraction of weights that must be zero, 0..1")
    p.add_argument("--max-neurons", type=int, help="spiking neurons allowed in the model")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--epochs", type=int, help="the method's training budget in epochs (default 10)")
    p.add_argument("--dense-epochs", type=int, help="epochs of the dense model (default: harness train's)")
    p.add_argument("--steps", type=int, help="time steps T (default: harness train's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--data-dir", help="folder holding the dataset files (mnist, fashion-mnist, cifar10)")
    p.add_argument("--cache-dir", help="where dense models are cached (default .cache/chipfit/dense)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="method-specific option (repeatable)")
    p.add_argument("--out", required=True, help="output folder: model.pt, model.nir, metrics.json")
    add_to_option(p)
    p.set_defaults(func=run)


def parse_options(pairs: list[str]) -> dict:
    """['k=v', ...] -> {k: JSON value or the string}."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--option expects KEY=VALUE, got '{pair}'")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


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
    from compress import methods
    from compress.models import ModelConfig
    from compress.pipeline import run_method, train_configs

    options = parse_options(args.option)
    method_class = methods.require(args.method)
    budget = build_budget(args)
    for name in ("epochs", "dense_epochs", "steps"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "epochs" else 1):
            raise OptionError(f"--{name.replace('_', '-')} must be positive, got {value}")
    dense_cfg, train_cfg = train_configs(args.seed, steps=args.steps, epochs=args.epochs,
                                         dense_epochs=args.dense_epochs, device=args.device)
    try:
        method_class(**options)
    except TypeError as error:
        raise OptionError(f"method '{args.method}' rejects options {sorted(options)}: {error}") from None
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
