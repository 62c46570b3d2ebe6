"""`harness sweep`: every method on every chip profile over seeds; resumable, parallel.

Writes OUT/cells/<profile>-<method>-s<seed>/ (a full run report each), OUT/sweep.json, OUT/sweep.md (results
table, fit matrix) and OUT/pareto.png (accuracy on chip vs energy per inference, Pareto front per profile).
A second call skips the finished cells.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import options as opts
from harness.commands.run import SPEC_OPTIONS, spec_from

OPTIONS = (
    opts.Opt("--profiles", opts.Names(), "profile names or YAML paths", required=True),
    opts.Opt("--methods", opts.Names(), "compression methods", required=True),
    opts.Opt("--seeds", opts.Int(1, 1000), "seeds 0..N-1", default=1),
    opts.Opt("--workers", opts.Int(1, 1024), "parallel processes (default: cores)"),
    opts.OUT_FOLDER.but(required=False, default="runs/sweep"),
    *SPEC_OPTIONS,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep", help="methods x chip profiles x seeds, resumable", description=__doc__.split("\n\n")[0]
    )
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hwprofiles
    from compress import methods
    from harness.sweep import sweep

    profiles, names = list(args.profiles), list(args.methods)
    for profile in profiles:
        hwprofiles.load(profile)  # fail fast: one line naming the bad profile
    for method in names:
        methods.require(method)  # fail fast: one line listing the known methods
    specs = [spec_from(args, p, m, seed) for p in profiles for m in names for seed in range(args.seeds)]
    out = Path(args.out)
    rows = sweep(specs, out, cache=Path(args.cache_dir), workers=args.workers)
    print((out / "sweep.md").read_text())
    failed = [r for r in rows if "error" in r]
    print(
        f"{len(rows)} cells ({len(failed)} with errors); wrote {out / 'sweep.json'}, {out / 'sweep.md'}, "
        f"{out / 'pareto.png'}"
    )
    return 0
