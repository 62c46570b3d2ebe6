"""`harness run`: compress with a method, map onto a chip, simulate the test set on it, and report.

Reports accuracy (float, exported weights, on chip), fit (cores, every resource, violations), latency and
throughput, spikes and synaptic ops per inference, energy per inference by component, and model size.
Writes OUT/report.json, OUT/report.md and PNG plots; compressed models are cached under --cache-dir, so a
rerun with the same inputs skips compression (and an interrupted dense training resumes).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import nir_input
from harness import options as opts
from harness.commands.map import STRATEGY

SPEC_OPTIONS = (
    opts.DATASET.but(required=False, default="digits"),
    opts.ARCHITECTURE,
    opts.SPARSITY.but(help="target fraction of zero weights (pruning methods)"),
    opts.BITS.but(help="weight bits (default: the profile's)"),
    opts.UNIQUE.but(help="distinct weights per group (default: the profile's)"),
    opts.EPOCHS,
    opts.DENSE_EPOCHS,
    opts.TRAIN_STEPS.but(help="time steps per sample (default: harness train's)"),
    STRATEGY,
    opts.SAMPLES,
    opts.CORES,
    opts.OPTION,
    opts.DATA_DIR,
    *opts.EVENT_OPTIONS,
    opts.CACHE_DIR.but(default=".cache/chipfit"),
)
"""Options shared by `run` and `sweep` (everything in RunSpec but profile and method)."""


def spec_from(args: argparse.Namespace, profile: str, method: str, seed: int):
    from compress.data import EVENT_DATASETS
    from harness.run import RunSpec

    events = ({"bin_by": args.bin_by, "polarity": int(args.polarity), "downsample": args.downsample}
              if args.dataset in EVENT_DATASETS else {})
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
        options=opts.method_options([method], args.option),
        data_dir=args.data_dir,
        samples=args.samples,
        cores=args.cores,
        events=events,
    )


OPTIONS = (
    opts.PROFILE,
    opts.METHOD,
    opts.SEED,
    opts.OUT_FOLDER.but(required=False, help="output folder (default runs/<profile>-<method>-s<seed>)"),
    *SPEC_OPTIONS,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="compress, map, simulate on chip, and report", description=__doc__.split("\n\n")[0]
    )
    opts.add(p, (*OPTIONS, *USER_MODEL_OPTIONS))
    p.set_defaults(func=run)


USER_MODEL_OPTIONS = (
    opts.NIR.but(required=False,
                 help="compress this NIR model (a user's, any framework) in place of chipfit's"),
    nir_input.FROM.but(help="which framework wrote --nir (auto: detect it and say what was assumed)"),
    opts.Opt("--encoding", opts.Text(), "input encoding with --nir: rate", default="rate"),
    opts.Opt("--input", opts.Text(), "with --dataset none: input spikes .npz ('input' [T, (batch,) inputs])"),
)
"""--nir and its options (harness.user_model): compress a model trained elsewhere."""


def run(args: argparse.Namespace) -> int:
    import hwprofiles
    from harness.paths import output_folder
    from harness.run import run as run_cell

    # harness.report imports the plots and through them torch (1.4 s): only once the command line is known
    # good, so a bad --method or --option is refused at once
    def report():
        from harness import report as module

        return module

    profile = hwprofiles.load(args.profile)  # fail fast on a bad profile, before any training
    out = output_folder(args.out or f"runs/{profile.name}-{args.method}-s{args.seed}", "--out")
    if getattr(args, "nir", None):
        from harness import user_model

        if args.dataset == "none":
            result = user_model.run_no_data(
                args.nir, args.profile, args.method, args.input, out, source=nir_input.source_of(args),
                seed=args.seed,
                bits=args.bits, unique=args.unique, sparsity=args.sparsity,
                options=opts.method_options([args.method], args.option), strategy=args.strategy)
            report().print_table(result)
            print(f"wrote {out / 'report.json'}, {out / 'report.md'} and plots")
            return 0
        spec = spec_from(args, args.profile, args.method, args.seed)
        result = user_model.run(spec, args.nir, out, source=nir_input.source_of(args), encoding=args.encoding,
                                cache=Path(args.cache_dir))
    else:
        spec = spec_from(args, args.profile, args.method, args.seed)
        result = run_cell(spec, out, cache=Path(args.cache_dir))
    report().print_table(result)
    broken = [k for k, v in result["compression"]["budget_met"].items() if not v]
    if broken:
        from rich.console import Console

        Console().print(f"[red]budget NOT met: {', '.join(broken)}[/red]")
    print(f"wrote {out / 'report.json'}, {out / 'report.md'} and plots")
    return 0
