"""Sweep methods x chips x seeds: every cell is one :func:`harness.run.run`, resumable and parallel.

A cell is finished when its ``report.json`` exists (written last and atomically), so a rerun skips it. The
work runs in three phases so parallel workers never train the same model twice: dense models (one per
seed, in this process), compressed models (one per distinct compression input, in parallel: two chips with
the same budget share one), then the on-chip runs (in parallel). A cell that fails on bad input (a layer
the chip cannot take, say) records its one-line error and the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from compress.files import write_json_atomic, write_text_atomic
from harness import plots
from harness.run import RunSpec


def cell_dir(out: Path, spec: RunSpec) -> Path:
    return out / "cells" / f"{Path(spec.profile).stem}-{spec.method}-s{spec.seed}"


def compression_key_of(spec: RunSpec) -> str:
    import hwprofiles
    from harness.run import budget_for, compression_key

    return f"{spec.method}-{compression_key(spec, budget_for(spec, hwprofiles.load(spec.profile)))}"


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _compress(spec: RunSpec, cache: str) -> str:
    import hwprofiles
    from harness.run import budget_for, compressed_model

    budget = budget_for(spec, hwprofiles.load(spec.profile))
    folder, _ = compressed_model(spec, budget, Path(cache), progress=False)
    return str(folder)


def _run_cell(spec: RunSpec, out: str, cache: str) -> dict:
    from harness.run import run

    try:
        report = run(spec, Path(out), cache=Path(cache), progress=False)
    except Exception as error:  # a user error ends this cell only; a bug still surfaces in the table
        if getattr(error, "exit_code", None) != 2:
            raise
        result = {"error": str(error)}
        write_json_atomic(Path(out) / "error.json", result)
        return result
    return report


def summarize(spec: RunSpec, report: dict) -> dict:
    """One row of the results table."""
    row = {"profile": Path(spec.profile).stem, "method": spec.method, "seed": spec.seed}
    if "error" in report:
        return row | {"error": report["error"]}
    return row | {
        "fits": report["fit"]["fits"],
        "cores_used": report["fit"]["cores_used"],
        "violations": len(report["fit"]["violations"]),
        "accuracy_float": report["accuracy"]["float"],
        "accuracy_exported": report["accuracy"]["exported"],
        "accuracy": report["accuracy"]["on_chip"],
        "energy_j": report["energy"]["total_j"],
        "latency_s": report["latency"]["per_inference_s"],
        "spikes": report["spikes"]["per_inference"],
        "nonzero": report["model"]["nonzero"],
    }


def sweep(
    specs: Sequence[RunSpec], out: Path, *, cache: Path, workers: int | None = None, progress: bool = True
) -> list[dict]:
    """Run every spec not yet finished under ``out``; write sweep.json, sweep.md and pareto.png."""
    from rich.progress import Progress

    from compress.pipeline import dense_model
    from harness.run import configs, dataset_of

    out.mkdir(parents=True, exist_ok=True)
    workers = workers or max(1, min(len(specs), os.cpu_count() or 1))
    todo = [s for s in specs if not (cell_dir(out, s) / "report.json").exists()]
    context = multiprocessing.get_context("spawn")  # torch and numba threads do not survive fork
    with Progress(disable=not progress) as bar:
        dense_inputs = {(s.dataset, s.model, s.seed, s.steps, s.dense_epochs, s.data_dir): s for s in todo}
        task = bar.add_task("dense models", total=len(dense_inputs))
        for spec in dense_inputs.values():
            model_cfg, dense_cfg, _ = configs(spec)
            dense_model(dataset_of(spec), model_cfg, dense_cfg, spec.seed, cache / "dense",
                        data_dir=spec.data_dir, progress=False)
            bar.advance(task)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init) as pool:
            distinct = list({compression_key_of(s): s for s in todo}.values())
            task = bar.add_task("compress", total=len(distinct))
            futures = [pool.submit(_compress, s, str(cache)) for s in distinct]
            for future in as_completed(futures):
                try:
                    future.result()
                except Exception as error:  # the cell's run reports it (user error) or re-raises (bug)
                    if getattr(error, "exit_code", None) != 2:
                        raise
                bar.advance(task)
            task = bar.add_task("on chip", total=len(todo))
            futures = {pool.submit(_run_cell, s, str(cell_dir(out, s)), str(cache)): s for s in todo}
            for future in as_completed(futures):
                future.result()
                bar.advance(task)
    rows = []
    for spec in specs:
        folder = cell_dir(out, spec)
        path = folder / "report.json" if (folder / "report.json").exists() else folder / "error.json"
        rows.append(summarize(spec, json.loads(path.read_text())))
    write_json_atomic(out / "sweep.json", {"cells": rows, "specs": [dataclasses.asdict(s) for s in specs]})
    plots.pareto_plot(
        [r for r in rows if "error" not in r], out / "pareto.png", "Accuracy on chip vs energy per inference"
    )
    write_text_atomic(out / "sweep.md", markdown(rows))
    return rows


def _mean(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "unknown"
    import numpy as np

    return f"{np.mean(values):.4g}" + (f" ± {np.std(values):.2g}" if len(values) > 1 else "")


def markdown(rows: list[dict]) -> str:
    """Results table (mean ± std over seeds), the fit matrix and the Pareto plot."""
    profiles = sorted({r["profile"] for r in rows})
    methods = sorted({r["method"] for r in rows})
    lines = [
        "# chipfit sweep",
        "",
        "## Results (mean ± std over seeds)",
        "",
        "| profile | method | fits | accuracy on chip | accuracy exported | energy / inference (J) | "
        "latency / inference (s) | spikes / inference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fit_matrix = {}
    for profile in profiles:
        for method in methods:
            cell = [r for r in rows if r["profile"] == profile and r["method"] == method]
            if not cell:
                continue
            errors = [r["error"] for r in cell if "error" in r]
            ok = [r for r in cell if "error" not in r]
            if errors and not ok:
                lines.append(f"| {profile} | {method} | error | {errors[0]} | | | | |")
                fit_matrix[profile, method] = "error"
                continue
            fits = all(r["fits"] for r in ok)
            fit_matrix[profile, method] = "yes" if fits else "no"
            lines.append(
                f"| {profile} | {method} | {fit_matrix[profile, method]} | "
                f"{_mean([r['accuracy'] for r in ok])} | "
                f"{_mean([r['accuracy_exported'] for r in ok])} | {_mean([r['energy_j'] for r in ok])} | "
                f"{_mean([r['latency_s'] for r in ok])} | {_mean([r['spikes'] for r in ok])} |"
            )
    lines += [
        "",
        "## Fit matrix",
        "",
        "| profile | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for profile in profiles:
        lines.append(
            f"| {profile} | " + " | ".join(fit_matrix.get((profile, m), "-") for m in methods) + " |"
        )
    lines += ["", "## Accuracy on chip vs energy (Pareto front marked)", "", "![pareto](pareto.png)", ""]
    return "\n".join(lines)
