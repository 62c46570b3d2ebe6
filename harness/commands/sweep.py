"""`harness sweep`: every method on every chip profile over seeds; resumable, on this machine or on Dask.

Writes OUT/cells/<profile>-<method>-s<seed>/ (a full run report each), OUT/sweep.json, OUT/sweep.md (results
table, fit matrix) and OUT/pareto.png (accuracy on chip vs energy per inference, Pareto front per profile).
A second call skips the finished cells. With --scheduler the cells run on a Dask cluster (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from harness import options as opts
from harness.commands.run import SPEC_OPTIONS, spec_from

OPTIONS = (
    opts.Opt("--profiles", opts.Names(), "profile names or YAML paths", required=True),
    opts.Opt("--methods", opts.Names(), "compression methods", required=True),
    opts.Opt("--seeds", opts.Int(1, 1000), "seeds 0..N-1", default=1),
    opts.Opt("--workers", opts.Int(1, 1024), "local processes (default: cores; not with --scheduler)"),
    opts.Opt("--scheduler", opts.Text(), "run the cells on Dask: a scheduler address (tcp://host:8786), a "
             "scheduler file (.json), or local:N for a LocalCluster of N processes here", metavar="ADDRESS"),
    opts.Opt("--shared-cache", None, "with --scheduler: the workers see --cache-dir at this path (else the "
             "models travel through Dask)"),
    opts.OUT_FOLDER.but(required=False, default="runs/sweep"),
    *SPEC_OPTIONS,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep", help="methods x chip profiles x seeds, resumable", description=__doc__.split("\n\n")[0]
    )
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a batch system's time limit) ends the sweep the way Ctrl-C does: workers stopped,
    finished cells kept, one line on stderr."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def run(args: argparse.Namespace) -> int:
    import hwprofiles
    from compress import methods
    from harness.sweep import sweep
    from harness.sweep_dask import local_workers

    profiles, names = list(args.profiles), list(args.methods)
    for profile in profiles:
        hwprofiles.load(profile)  # fail fast: one line naming the bad profile
    for method in names:
        methods.require(method)  # fail fast: one line listing the known methods
    if args.scheduler is not None:
        local_workers(args.scheduler)  # a malformed local:N fails here, before any work
        if args.workers is not None:
            raise opts.OptionError("--workers is for local processes; a --scheduler has its own workers")
    elif args.shared_cache:
        raise opts.OptionError("--shared-cache needs --scheduler (local processes always share the cache)")
    specs = [spec_from(args, p, m, seed) for p in profiles for m in names for seed in range(args.seeds)]
    out = Path(args.out)
    with sigterm_as_interrupt():
        rows = sweep(specs, out, cache=Path(args.cache_dir), workers=args.workers, scheduler=args.scheduler,
                     shared_cache=args.shared_cache)
    print((out / "sweep.md").read_text())
    failed = [r for r in rows if "error" in r]
    print(
        f"{len(rows)} cells ({len(failed)} with errors); wrote {out / 'sweep.json'}, {out / 'sweep.md'}, "
        f"{out / 'pareto.png'}"
    )
    return 0
