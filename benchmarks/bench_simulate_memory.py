"""Peak memory of a whole `harness simulate` over test sets of different sizes (issue 19).

Writes one of bench_pipeline's networks as a NIR file and a Bernoulli input .npz (np.savez, uncompressed)
per sample count, warms the compile/place cache with a one-sample run, then runs
``harness simulate`` once per sample count in its own process under ``/usr/bin/time -v`` and reports its
peak resident memory and wall time. Memory that does not grow with the samples is the claim; the inputs
themselves are on disk (their size is printed beside).

    NUMBA_CACHE_DIR=$PWD/.cache/numba nice -n 10 .venv/bin/python benchmarks/bench_simulate_memory.py \\
        --network conv_82k --samples 1000,10000 --steps 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def run_simulate(nir_path: Path, inp: Path, out: Path, profile: str, workers: int) -> dict:
    harness = Path(sys.executable).with_name("harness")
    cmd = ["/usr/bin/time", "-v", str(harness), "simulate", "--nir", str(nir_path), "--profile", profile,
           "--input", str(inp), "--out", str(out), "--json", str(out.with_suffix(".json")), "--no-progress",
           "--workers", str(workers)]
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed chipfit has its bytecode cached
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"harness simulate failed ({done.returncode}): {done.stderr[-2000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr).group(1)
    seconds = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    report = json.loads(out.with_suffix(".json").read_text())
    return {"peak_rss_mb": round(rss_kb / 1024, 1), "wall_s": round(seconds, 2), "samples": report["samples"],
            "steps": report["steps"], "cores": report["cores_used"],
            "stages_s": {"start_up_and_exit": round(seconds - sum(report["timings_s"].values()), 2),
                         **report["timings_s"]}}


def main() -> None:
    import nir
    from bench_pipeline import NETWORKS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--network", default="conv_82k", choices=sorted(NETWORKS))
    ap.add_argument("--profile", default="loihi")
    ap.add_argument("--samples", default="1000,10000")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    graph = NETWORKS[args.network]()
    n_in = int(np.prod(graph.nodes["input"].input_type["input"]))
    with tempfile.TemporaryDirectory(prefix="bench-mem-", dir=HERE.parent / ".cache") as tmp:
        tmp = Path(tmp)
        nir_path = tmp / "net.nir"
        nir.write(nir_path, graph)
        rng = np.random.default_rng(0)
        np.savez(tmp / "warm.npz", spikes=(rng.random((args.steps, 1, n_in)) < args.rate).astype(np.uint8))
        run_simulate(nir_path, tmp / "warm.npz", tmp / "warm_out.npz", args.profile, args.workers)
        for n in (int(v) for v in args.samples.split(",")):
            inp = tmp / f"in_{n}.npz"
            x = np.empty((args.steps, n, n_in), np.uint8)
            for lo in range(0, n, 1000):  # a few MB at a time
                hi = min(n, lo + 1000)
                x[:, lo:hi] = rng.random((args.steps, hi - lo, n_in)) < args.rate
            np.savez(inp, spikes=x)
            del x
            row = run_simulate(nir_path, inp, tmp / f"out_{n}.npz", args.profile, args.workers)
            row |= {"network": args.network, "profile": args.profile,
                    "input_mb": round(inp.stat().st_size / 2**20),
                    "out_mb": round((tmp / f"out_{n}.npz").stat().st_size / 2**20),
                    "load_avg_1min": round(os.getloadavg()[0], 1)}
            print(json.dumps(row), flush=True)
            inp.unlink()


if __name__ == "__main__":
    main()
