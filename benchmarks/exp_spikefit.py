"""SpikeFit vs quantization/clustering baselines on digits under TrueNorth's weight budget, M = 2, 4, 8, 16.

Budget: ``budget_from_profile(hwprofiles.load('truenorth'))`` (9-bit signed grid, M values per neuron, zero
is 'no synapse') with ``unique_weights`` set to each M. Every cell runs through the shared pipeline
(compress.pipeline.run_method: one cached dense model per seed; the method; accuracy measured with the
exported weights). Results go to a JSON file after every cell; a rerun skips finished cells, and
``--minutes`` stops starting new cells after that much wall time. Prints the markdown tables of
docs/methods.md.

    .venv/bin/python benchmarks/exp_spikefit.py --out runs/exp_spikefit
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("spikefit", "spikefit:free_zero_value=false", "kmeans", "kmeans-ft", "magnitude-cluster", "ptq",
           "qat")


def parse_method(spec: str) -> tuple[str, dict]:
    """'name' or 'name:key=value,key=value' (JSON values) -> (name, options)."""
    name, _, rest = spec.partition(":")
    options = {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        options[key] = json.loads(value)
    return name, options
UNIQUE = (2, 4, 8, 16)


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

    import hwprofiles
    from compress.budget import budget_from_profile
    from compress.models import ModelConfig
    from compress.pipeline import run_method
    from compress.train import TrainConfig

    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    base = budget_from_profile(hwprofiles.load(args.profile))
    model_cfg = ModelConfig(hidden=tuple(args.hidden))
    dense_cfg = TrainConfig(epochs=args.dense_epochs, steps=args.steps, device="cpu")
    train_cfg = TrainConfig(epochs=args.epochs, steps=args.steps, device="cpu")
    began = time.perf_counter()
    for seed in args.seeds:
        for m in args.unique:
            for method in args.methods:
                key = f"{method}|{m}|{seed}"
                if key in results:
                    continue
                if time.perf_counter() - began > args.minutes * 60:
                    print(f"time budget reached; stopped before {key}", file=sys.stderr)
                    return results
                budget = dataclasses.replace(base, unique_weights=m, sparsity=args.sparsity)
                name, options = parse_method(method)
                metrics = run_method(name, dataset="digits", budget=budget, model_cfg=model_cfg,
                                     options=options, train_cfg=train_cfg, seed=seed,
                                     out_dir=out / "cells" / key.replace("|", "_").replace(":", "_"),
                                     dense_cfg=dense_cfg, cache_dir=out / "dense", progress=False)
                results[key] = {k: metrics[k] for k in ("accuracy", "accuracy_dense", "epochs", "wall_time_s",
                                                        "distinct_per_group_max", "sparsity", "budget_met")}
                save(path, results)
                print(f"{key}: accuracy {metrics['accuracy']:.4f} (dense {metrics['accuracy_dense']:.4f}), "
                      f"distinct<= {metrics['distinct_per_group_max']}, {metrics['wall_time_s']:.1f} s",
                      file=sys.stderr)
    return results


def cells(results: dict, method: str, m: int) -> list[dict]:
    return [v for k, v in results.items() if k.startswith(f"{method}|{m}|")]


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * spread:.1f} (n={len(values)})"


def tables(results: dict, methods, unique) -> str:
    lines = ["| method | " + " | ".join(f"M = {m}" for m in unique) + " |",
             "|---|" + "---|" * len(unique)]
    for method in methods:
        lines.append(f"| {method} | " + " | ".join(fmt([c["accuracy"] for c in cells(results, method, m)])
                                                 for m in unique) + " |")
    dense = {k.split("|")[2]: v["accuracy_dense"] for k, v in results.items()}
    lines += ["", f"Dense model (same seeds): {fmt(list(dense.values()))}", "",
              "| method (M = 4) | accuracy % | epochs | wall s | max distinct/neuron | sparsity | met |",
              "|---|---|---|---|---|---|---|"]
    for method in methods:
        c = cells(results, method, 4)
        if not c:
            continue
        met = all(all(x["budget_met"].values()) for x in c)
        lines.append(f"| {method} | {fmt([x['accuracy'] for x in c])} | {c[0]['epochs']} | "
                     f"{statistics.mean(x['wall_time_s'] for x in c):.1f} | "
                     f"{max(x['distinct_per_group_max'] for x in c)} | "
                     f"{statistics.mean(x['sparsity'] for x in c):.3f} | {'yes' if met else 'NO'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/exp_spikefit")
    p.add_argument("--profile", default="truenorth")
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--unique", nargs="+", type=int, default=list(UNIQUE))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--hidden", nargs="+", type=int, default=[128])
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--epochs", type=int, default=5, help="every method's training budget")
    p.add_argument("--dense-epochs", type=int, default=15)
    p.add_argument("--sparsity", type=float, help="also demand this weight sparsity")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--minutes", type=float, default=20.0)
    args = p.parse_args(argv)
    results = run(args)
    print(tables(results, args.methods, args.unique))
    return 0


if __name__ == "__main__":
    sys.exit(main())
