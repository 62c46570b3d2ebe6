"""`harness run`: compress with a method, map onto a chip, simulate the test set on it, and report.

Reports accuracy (float, exported weights, on chip), fit (cores, every resource, violations), latency and
throughput, spikes and synaptic ops per inference, energy per inference by component, and model size.
Writes OUT/report.json, OUT/report.md and PNG plots; compressed models are cached under --cache-dir, so a
rerun with the same inputs skips compression (and an interrupted dense training resumes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.compress import OptionError, parse_options


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments shared by `run` and `sweep` (everything in RunSpec but profile and method)."""
    p.add_argument("--dataset", default="digits", help="digits (embedded) | mnist | fashion-mnist | cifar10")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--sparsity", type=float, help="target fraction of zero weights (pruning methods)")
    p.add_argument("--bits", type=int, help="weight bits (default: the profile's)")
    p.add_argument("--unique", type=int, help="distinct weights per group (default: the profile's)")
    p.add_argument("--epochs", type=int, help="the method's training budget in epochs (default 10)")
    p.add_argument("--dense-epochs", type=int, help="epochs of the dense model (default: harness train's)")
    p.add_argument("--steps", type=int, help="time steps per sample (default: harness train's)")
    p.add_argument("--strategy", choices=("greedy", "hops"), default="greedy", help="placement strategy")
    p.add_argument("--samples", type=int, help="test samples simulated on chip (default: all)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method-specific option (repeatable)",
    )
    p.add_argument("--data-dir", help="folder holding the dataset files (mnist, fashion-mnist, cifar10)")
    p.add_argument("--cache-dir", default=".cache/chipfit", help="cache of dense and compressed models")


def spec_from(args: argparse.Namespace, profile: str, method: str, seed: int):
    from harness.run import RunSpec

    for name, low in (("epochs", 0), ("dense_epochs", 0), ("steps", 1), ("samples", 1)):
        value = getattr(args, name)
        if value is not None and value < low:
            raise OptionError(f"--{name.replace('_', '-')} must be >= {low}, got {value}")
    return RunSpec(
        profile=profile,
        method=method,
        dataset=args.dataset,
        model=args.model,
        seed=seed,
        sparsity=args.sparsity,
        bits=args.bits,
        unique=args.unique,
        epochs=args.epochs,
        dense_epochs=args.dense_epochs,
        steps=args.steps,
        strategy=args.strategy,
        options=parse_options(args.option),
        data_dir=args.data_dir,
        samples=args.samples,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="compress, map, simulate on chip, and report", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--profile", required=True, help="chip profile name (harness profiles list) or YAML path")
    p.add_argument("--method", required=True, help="compression method (unknown: lists the known ones)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="output folder (default runs/<profile>-<method>-s<seed>)")
    add_spec_arguments(p)
    add_user_model_arguments(p)
    p.set_defaults(func=run)


def add_user_model_arguments(p: argparse.ArgumentParser) -> None:
    """--nir and its options (harness.user_model): compress a model trained elsewhere."""
    from chipsim.nir_read import SOURCES

    p.add_argument("--nir", help="compress this NIR model (a user's, any framework) in place of chipfit's")
    p.add_argument("--from", dest="source", choices=SOURCES, default="auto",
                   help="which framework wrote --nir (default auto: detect it and say what was assumed)")
    p.add_argument("--encoding", default="rate", help="input encoding with --nir: rate (default)")
    p.add_argument("--input", help="with --dataset none: input spikes .npz ('input' [T, (batch,) inputs])")


def run(args: argparse.Namespace) -> int:
    import hwprofiles
    from harness import report
    from harness.run import run as run_cell

    profile = hwprofiles.load(args.profile)  # fail fast on a bad profile, before any training
    out = Path(args.out or f"runs/{profile.name}-{args.method}-s{args.seed}")
    if getattr(args, "nir", None):
        from harness import user_model

        if args.dataset == "none":
            result = user_model.run_no_data(
                args.nir, args.profile, args.method, args.input, out, source=args.source, seed=args.seed,
                bits=args.bits, unique=args.unique, sparsity=args.sparsity,
                options=parse_options(args.option), strategy=args.strategy)
            user_model.print_no_data(result)
            print(f"wrote {out / 'report.json'}")
            return 0
        spec = spec_from(args, args.profile, args.method, args.seed)
        result = user_model.run(spec, args.nir, out, source=args.source, encoding=args.encoding,
                                cache=Path(args.cache_dir))
    else:
        spec = spec_from(args, args.profile, args.method, args.seed)
        result = run_cell(spec, out, cache=Path(args.cache_dir))
    report.print_table(result)
    print(f"wrote {out / 'report.json'}, {out / 'report.md'} and plots")
    return 0
