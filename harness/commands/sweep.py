"""`harness sweep`: every method on every chip profile over seeds; resumable, parallel.

Writes OUT/cells/<profile>-<method>-s<seed>/ (a full run report each), OUT/sweep.json, OUT/sweep.md (results
table, fit matrix) and OUT/pareto.png (accuracy on chip vs energy per inference, Pareto front per profile).
A second call skips the finished cells.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands.compress import OptionError
from harness.commands.run import add_spec_arguments, spec_from


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep", help="methods x chip profiles x seeds, resumable", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--profiles", required=True, help="comma-separated profile names or YAML paths")
    p.add_argument("--methods", required=True, help="comma-separated compression methods")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    p.add_argument("--workers", type=int, help="parallel processes (default: cores)")
    p.add_argument("--out", default="runs/sweep", help="output folder (default runs/sweep)")
    add_spec_arguments(p)
    p.set_defaults(func=run)


def _names(text: str, what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise OptionError(f"--{what} needs at least one name, got '{text}'")
    return names


def run(args: argparse.Namespace) -> int:
    import hwprofiles
    from compress import methods
    from harness.sweep import sweep

    profiles = _names(args.profiles, "profiles")
    for profile in profiles:
        hwprofiles.load(profile)  # fail fast: one line naming the bad profile
    names = _names(args.methods, "methods")
    for method in names:
        methods.require(method)  # fail fast: one line listing the known methods
    if args.seeds < 1:
        raise OptionError(f"--seeds must be >= 1, got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        raise OptionError(f"--workers must be >= 1, got {args.workers}")
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
