"""A whole `harness simulate` of a test set on 1 and on 2 worker threads (issue 19's 1.8x target).

Writes bench_pipeline's network as NIR and a Bernoulli input (np.savez) of ``--samples`` samples, warms the
compile/place cache and Numba's with one run, then runs ``harness simulate --workers 1`` and ``--workers 2``
alternately, ``--pairs`` times, each a whole process (``NUMBA_NUM_THREADS`` set to the worker count), and
prints each pair's wall times, their ratio and the load average before it, and each run's stages (the
command's own ``timings_s``, wall s; "start_up_and_exit" is the rest of its wall time): everything but
"simulate" is serial. The ratio is only meaningful when the machine has two idle cores: the load average
is printed so a reader can tell. Each run writes a new OUT (the previous run's is removed first, untimed):
renaming the finished OUT over an existing 335 MB one cost ext4 0.18-0.2 s (freeing the old file's blocks
and allocating the new one's at once), the same with 1 or 2 threads and nothing the command does.

    NUMBA_CACHE_DIR=$PWD/.cache/numba .venv/bin/python benchmarks/bench_simulate_threads.py \\
        --network conv_82k --samples 1024 --steps 4 --pairs 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> None:
    import nir
    from bench_pipeline import NETWORKS
    from bench_simulate_memory import run_simulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--network", default="conv_82k", choices=sorted(NETWORKS))
    ap.add_argument("--profile", default="loihi")
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    graph = NETWORKS[args.network]()
    n_in = int(np.prod(graph.nodes["input"].input_type["input"]))
    with tempfile.TemporaryDirectory(prefix="bench-threads-", dir=HERE.parent / ".cache") as tmp:
        tmp = Path(tmp)
        nir.write(tmp / "net.nir", graph)
        rng = np.random.default_rng(0)
        x = (rng.random((args.steps, args.samples, n_in)) < args.rate).astype(np.uint8)
        np.savez(tmp / "in.npz", spikes=x)

        def whole(workers: int) -> dict:
            os.environ["NUMBA_NUM_THREADS"] = str(workers)
            out = tmp / f"out{workers}.npz"
            out.unlink(missing_ok=True)  # each run writes a new OUT, as a first run does (see the docstring)
            return run_simulate(tmp / "net.nir", tmp / "in.npz", out, args.profile, workers)

        whole(1), whole(2)  # warm: the compile/place cache and Numba's
        for _ in range(args.pairs):
            load = os.getloadavg()[0]
            one, two = whole(1), whole(2)
            print(json.dumps({"network": args.network, "samples": args.samples, "steps": args.steps,
                              "load_avg_1min": round(load, 2), "wall_1_thread_s": one["wall_s"],
                              "wall_2_threads_s": two["wall_s"],
                              "speedup": round(one["wall_s"] / two["wall_s"], 3),
                              "stages_1_thread_s": one["stages_s"], "stages_2_threads_s": two["stages_s"]}),
                  flush=True)


if __name__ == "__main__":
    main()
