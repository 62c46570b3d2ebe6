"""Pruning methods on digits: accuracy at 90/95/98/99% sparsity over seeds, epochs, wall time, pruning cost.

Every cell runs through the shared pipeline (compress.pipeline.run_method: one cached dense model per seed,
the method, metrics measured on the exported weights). Results go to a JSON file after every cell; a rerun
skips finished cells (resumable), and ``--minutes`` stops starting new cells after that much wall time.
Prints the markdown tables of docs/methods.md.

    .venv/bin/python benchmarks/exp_pruning.py --out runs/exp_pruning
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("magnitude", "minimax", "minimax-seq", "criticality", "criticality-struct", "lottery-imp",
           "lottery-conn", "patch-prune")
SPARSITIES = (0.9, 0.95, 0.98, 0.99)


def cell_key(method: str, sparsity: float, seed: int) -> str:
    return f"{method}|{sparsity}|{seed}"


def save(path: pathlib.Path, results: dict) -> None:
    """The run's results.json, and one JSON per cell under ``cell-results/`` beside it (the raw results
    to audit: commit ``--out docs/results/<name>`` to keep them)."""
    from compress.files import write_json_atomic

    write_json_atomic(path, results)
    for key, cell in results.items():
        name = key.replace("|", "_").replace(":", "_").replace("=", "-")
        cell_path = path.parent / "cell-results" / f"{name}.json"
        if not cell_path.exists():
            write_json_atomic(cell_path, {"cell": key, **cell})


def run(args) -> dict:
    import torch

    from compress.method import Budget
    from compress.models import ModelConfig
    from compress.pipeline import run_method
    from compress.train import TrainConfig

    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    model_cfg = ModelConfig(hidden=tuple(args.hidden))
    dense_cfg = TrainConfig(epochs=args.dense_epochs, steps=args.steps, device="cpu")
    train_cfg = TrainConfig(epochs=args.epochs, steps=args.steps, device="cpu")
    began = time.perf_counter()
    for seed in args.seeds:
        for sparsity in args.sparsities:
            for method in args.methods:
                key = cell_key(method, sparsity, seed)
                if key in results:
                    continue
                if time.perf_counter() - began > args.minutes * 60:
                    print(f"time budget spent; stopping before {key}", file=sys.stderr)
                    return results
                metrics = run_method(method, dataset="digits", budget=Budget(sparsity=sparsity),
                                     model_cfg=model_cfg, train_cfg=train_cfg, seed=seed,
                                     out_dir=out / "cells" / key.replace("|", "_"),
                                     options={"progress": False},
                                     dense_cfg=dense_cfg, cache_dir=out / "dense", progress=False)
                extra = metrics["extra"]
                results[key] = {"accuracy": metrics["accuracy"], "accuracy_dense": metrics["accuracy_dense"],
                                "sparsity": metrics["sparsity"], "epochs": metrics["epochs"],
                                "wall_time_s": metrics["wall_time_s"],
                                "synops_per_sample": metrics["synops_per_sample"],
                                **{k: extra[k] for k in ("search_steps", "search_wall_s", "scoring_wall_s")
                                   if k in extra}}
                save(path, results)
                print(f"{key}: acc {metrics['accuracy']:.4f} sparsity {metrics['sparsity']:.5f} "
                      f"{metrics['wall_time_s']:.1f}s", file=sys.stderr)
    return results


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "missing"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * sd:.1f} (n={len(values)})"


def tables(results: dict, methods=METHODS, sparsities=SPARSITIES) -> str:
    lines = ["| method | " + " | ".join(f"{100 * s:g}%" for s in sparsities) + " | epochs | wall s/run |",
             "|---|" + "---|" * len(sparsities) + "---|---|"]
    for method in methods:
        cells = [[v for k, v in results.items() if k.startswith(f"{method}|{s}|")] for s in sparsities]
        runs = [r for c in cells for r in c]
        walls = [r["wall_time_s"] for r in runs]
        epochs = sorted({r["epochs"] for r in runs})
        lines.append(f"| {method} | " + " | ".join(_mean_sd([r["accuracy"] for r in c]) for c in cells)
                     + f" | {','.join(map(str, epochs)) or '-'} | "
                     + (f"{statistics.mean(walls):.1f}" if walls else "-") + " |")
    dense = {k.split("|")[2]: v["accuracy_dense"] for k, v in results.items()}
    lines.append("")
    lines.append("Dense accuracy per seed: "
                 + ", ".join(f"seed {s}: {100 * a:.1f}" for s, a in sorted(dense.items())))
    lines.append("")
    lines.append("| pruning cost (mean over cells) | steps until the final mask "
                 "| wall s until the final mask | scoring s | total wall s |")
    lines.append("|---|---|---|---|---|")
    for method in ("magnitude", "criticality"):
        runs = [v for k, v in results.items() if k.startswith(f"{method}|")]
        if not runs:
            continue
        def mean(key, runs=runs):
            values = [r[key] for r in runs if key in r]
            return f"{statistics.mean(values):.2f}" if values else "-"
        lines.append(f"| {method} | {mean('search_steps')} | {mean('search_wall_s')} "
                     f"| {mean('scoring_wall_s')} | {mean('wall_time_s')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/exp_pruning")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--sparsities", type=float, nargs="+", default=list(SPARSITIES))
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--epochs", type=int, default=10, help="each method's training budget")
    p.add_argument("--dense-epochs", type=int, default=20)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--hidden", type=int, nargs="+", default=[128])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--minutes", type=float, default=25.0, help="stop starting new cells after this")
    args = p.parse_args(argv)
    results = run(args)
    print(tables(results, args.methods, args.sparsities))
    return 0


if __name__ == "__main__":
    sys.exit(main())
