"""Ablations under a binding chip budget: each method beside itself without its distinctive part, and SpikeFit
against kmeans / kmeans-ft / qat at M = 2 and 4, every cell measured on chip (accuracy, energy, fit).

One JSON per cell under ``docs/results/<suite>/`` (written atomically, so a rerun skips finished cells and an
interrupted run resumes); ``benchmarks/methods_tables.py`` turns them into docs/methods.md's tables.

Suites (digits, MLP 64-128-10, T = 8, dense 10 epochs, every method 4 epochs, seeds 0 1 2):
- ``pruning``: the budget of one Loihi core (``budget_from_profile(loihi, cores=1)``) with a 95% sparsity
  target on top (one core alone asks 0% of this model: it holds 58,254 sparse synapses, the model 9,472);
  each method full and with its distinctive part off (:data:`PRUNING`).
- ``chip``: one Loihi core and nothing else, on the widened MLP 64-512-256-10 (166,400 weights, 778
  neurons): the core's 58,254 sparse synapses ask 65% sparsity; magnitude, minimax, criticality and
  lottery-conn, each full and without its distinctive part.
- ``spikefit``: one Loihi core with a weight table of M values per layer (``--unique M``), M = 2, 4:
  spikefit (CAT), kmeans, kmeans-ft, qat; and spikefit at 90% sparsity with FSC against |w| ranking.

    nice -n 10 .venv/bin/python benchmarks/exp_ablation.py --suite pruning spikefit
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "docs" / "results"
PROFILE = "loihi"
HIDDEN = (128,)
STEPS, DENSE_EPOCHS, EPOCHS = 8, 10, 4
SEEDS = (0, 1, 2)
CHIP_SAMPLES = 360  # the whole digits test split

# (row name, method, options): the full method, then the same without its distinctive part
PRUNING = (
    ("magnitude", "magnitude", {}),
    ("minimax", "minimax", {}),
    ("minimax without penalty and dual (y0 = lr_y = 0)", "minimax", {"y0": 0.0, "lr_y": 0.0}),
    ("criticality", "criticality", {}),
    ("criticality without regeneration (r = 0)", "criticality", {"regrow_fraction": 0.0}),
    ("criticality-struct", "criticality-struct", {}),
    ("criticality-struct without criticality regrowth (g = 0)", "criticality-struct", {"regrow_share": 0.0}),
    ("lottery-imp", "lottery-imp", {}),
    ("lottery-imp without rewinding", "lottery-imp", {"rewind": False}),
    ("lottery-conn", "lottery-conn", {}),
    ("lottery-conn without learned scores (score lr 0: a random mask)", "lottery-conn", {"score_lr": 0.0}),
    ("patch-prune", "patch-prune", {}),
    ("patch-prune without patch selection", "patch-prune", {"patch_fraction": 0.0}),
)
QUANT = ("spikefit", "kmeans", "kmeans-ft", "qat")
WIDE = (512, 256)  # the chip suite's MLP 64-512-256-10: 166,400 weights, 778 neurons
CHIP_METHODS = ("magnitude", "minimax", "criticality", "lottery-conn")
FSC = (("spikefit, FSC ranking", {}), ("spikefit without FSC (|w| ranking)", {"ranking": "magnitude"}))


def cells(suite: str) -> list[dict]:
    """Every cell of a suite: name, method, options and the budget changes over one Loihi core's."""
    out = []
    for seed in SEEDS:
        if suite == "pruning":
            for row, method, options in PRUNING:
                out.append({"row": row, "method": method, "options": options, "seed": seed,
                            "budget": {"sparsity": 0.95}})
        elif suite == "spikefit":
            for m in (2, 4):
                for method in QUANT:
                    out.append({"row": f"{method}, M = {m}", "method": method, "options": {}, "seed": seed,
                                "budget": {"unique_weights": m, "unique_scope": "layer"}})
            for row, options in FSC:
                out.append({"row": f"{row}, M = 4, 90%", "method": "spikefit", "options": options,
                            "seed": seed,
                            "budget": {"unique_weights": 4, "unique_scope": "layer", "sparsity": 0.9}})
        elif suite == "chip":
            for row, method, options in PRUNING:
                if method in CHIP_METHODS:
                    out.append({"row": row, "method": method, "options": options, "seed": seed,
                                "budget": {}, "hidden": list(WIDE)})
        else:
            raise SystemExit(f"unknown suite '{suite}'; known: pruning, spikefit, chip")
    return out


def cell_name(cell: dict) -> str:
    blob = json.dumps([cell["row"], cell["seed"]])
    import hashlib

    return f"{cell['method']}-s{cell['seed']}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def on_chip(folder: pathlib.Path, seed: int, steps: int) -> dict:
    """Map, simulate the test split and price the exported model on the profile."""
    import hwprofiles
    from chipsim.compile import compile_graph, load_graph
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate
    from harness.run import RunSpec, chip_inputs

    profile = hwprofiles.load(PROFILE)
    net = compile_graph(load_graph(folder / "model.nir"), profile)
    placement = place(net, profile)
    spikes, labels = chip_inputs(RunSpec(profile=PROFILE, method="-", seed=seed, samples=CHIP_SAMPLES), steps)
    activity = simulate(net, placement, spikes, traced_samples=1)
    priced = cost(activity, placement, profile, net)
    counts = activity.output_spikes.sum(axis=0)
    dynamic = {k: v for k, v in priced.energy_j.items() if k != "static"}
    return {"accuracy_on_chip": float((counts.argmax(axis=1) == labels).mean()),
            "fits": placement.fit.fits, "cores_used": placement.fit.cores_used,
            "violations": [str(v) for v in placement.fit.violations][:10],
            "energy_j": priced.energy_j, "dynamic_energy_j": (None if any(v is None for v in dynamic.values())
                                                              else float(sum(dynamic.values()))),
            "synops_on_chip": activity.total("synops") / activity.batch}


def run_cell(cell: dict, scratch: pathlib.Path) -> dict:
    import hwprofiles
    from compress.budget import budget_from_profile
    from compress.models import ModelConfig
    from compress.pipeline import run_method
    from compress.train import TrainConfig

    budget = dataclasses.replace(budget_from_profile(hwprofiles.load(PROFILE), cores=1), **cell["budget"])
    folder = scratch / cell_name(cell)
    began = time.perf_counter()
    metrics = run_method(cell["method"], dataset="digits", budget=budget,
                         model_cfg=ModelConfig(hidden=tuple(cell.get("hidden", HIDDEN))),
                         train_cfg=TrainConfig(epochs=EPOCHS, steps=STEPS, device="cpu"),
                         dense_cfg=TrainConfig(epochs=DENSE_EPOCHS, steps=STEPS, device="cpu"),
                         seed=cell["seed"], out_dir=folder, options={**cell["options"], "progress": False}
                         if "progress" in _init_args(cell["method"]) else cell["options"],
                         cache_dir=scratch / "dense", progress=False)
    chip = on_chip(folder, cell["seed"], STEPS)
    keep = ("accuracy_dense", "accuracy_method", "accuracy", "sparsity", "nonzero", "distinct_per_group_max",
            "budget_met", "synops_per_sample", "energy_per_inference_j_estimate", "epochs", "wall_time_s",
            "deploy")
    return {**cell, "profile": PROFILE, "cores": 1,
            "model": {"hidden": list(cell.get("hidden", HIDDEN)), "steps": STEPS},
            "dense_epochs": DENSE_EPOCHS, **{k: metrics[k] for k in keep},
            "extra": {k: v for k, v in metrics["extra"].items()
                      if k in ("stages", "forced", "channel_sparsity", "regrown_per_event", "rounds")},
            "chip": chip, "cell_wall_s": time.perf_counter() - began}


def _init_args(method: str) -> tuple[str, ...]:
    from compress import methods

    return methods.require(method).__init__.__code__.co_varnames


def main(argv=None) -> int:
    import torch

    from compress.files import write_json_atomic

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", nargs="+", default=["pruning", "spikefit"])
    p.add_argument("--scratch", default="runs/exp_ablation", help="models and dense cache (not committed)")
    p.add_argument("--minutes", type=float, default=60.0, help="stop starting new cells after this")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    began = time.perf_counter()
    for suite in args.suite:
        for cell in cells(suite):
            path = RESULTS / suite / f"{cell_name(cell)}.json"
            if path.exists():
                continue
            if time.perf_counter() - began > args.minutes * 60:
                print("time budget spent; rerun to resume", file=sys.stderr)
                return 0
            result = run_cell(cell, pathlib.Path(args.scratch))
            write_json_atomic(path, result)
            print(f"{suite} {cell['row']} s{cell['seed']}: acc {result['accuracy']:.3f} chip "
                  f"{result['chip']['accuracy_on_chip']:.3f} E {result['chip']['dynamic_energy_j']} "
                  f"{result['cell_wall_s']:.0f}s", file=sys.stderr, flush=True)
    print(f"done in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
