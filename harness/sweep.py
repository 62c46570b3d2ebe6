"""Sweep methods x chips x seeds: every cell is one :func:`harness.run.run`, resumable, on this machine or on
a Dask cluster.

The sweep folder holds one ``cells/<profile>-<method>-s<seed>/`` per cell. A cell is finished when its
``report.json`` is a run report of exactly that cell's spec (written last and atomically): a rerun skips it,
and recomputes, saying so, a cell whose report.json is truncated or foreign. The work is three kinds of task
(:mod:`harness.sweep_tasks`) so no two workers train the same model: dense models (one per seed), compressed
models (one per distinct compression input: two chips with the same budget share one), then the on-chip
cells. The tasks run in a local process pool (:mod:`harness.sweep_local`) or on a Dask scheduler
(:mod:`harness.sweep_dask`); either way a cell's files come back to this process, which alone writes the
sweep folder, under a lock (a second sweep into the same folder is refused). A cell that fails (bad input,
a bug, workers that keep dying) records its error in error.json and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from compress.files import to_jsonable, write_atomic, write_json_atomic, write_text_atomic
from harness import plots
from harness.run import REPORT_SCHEMA, REPORT_VERSION, RunSpec
from harness.sweep_tasks import CACHE_MARK, TMP_SUFFIX, Bundle, CellResult, reroot, reroot_files, snapshot
from hwprofiles.errors import UserError

LOCK_NAME = ".sweep.lock"


class SweepError(UserError):
    pass


def cell_name(spec: RunSpec) -> str:
    return f"{Path(spec.profile).stem}-{spec.method}-s{spec.seed}"


def cell_dir(out: Path, spec: RunSpec) -> Path:
    return out / "cells" / cell_name(spec)


def compression_key_of(spec: RunSpec) -> str:
    """The compressed model's cache folder name under ``cache/compressed``."""
    import hwprofiles
    from harness.run import budget_for, compression_key

    return f"{spec.method}-{compression_key(spec, budget_for(spec, hwprofiles.load(spec.profile)))}"


def dense_key_of(spec: RunSpec) -> str:
    """One name per distinct dense model (what the dense model depends on, hashed)."""
    inputs = (spec.dataset, spec.model, spec.seed, spec.steps, spec.dense_epochs, spec.data_dir,
              sorted(spec.events.items()))
    return f"{spec.dataset}-{spec.model}-s{spec.seed}-{hashlib.sha256(repr(inputs).encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Plan:
    """The tasks of a sweep: cells to run, the compressions and dense models they need that are not cached,
    and the compressed models already cached (their files, empty when the workers share the cache)."""

    cells: tuple[tuple[RunSpec, str], ...]  # (spec, compression key)
    compress: dict[str, RunSpec]  # compression key -> a spec that makes it
    dense_of: dict[str, str]  # compression key -> dense key
    dense: dict[str, RunSpec]  # dense key -> a spec that trains it
    cached: dict[str, Bundle]  # compression key -> its files


def plan(todo: Sequence[RunSpec], cache: Path, *, ship_cache: bool) -> Plan:
    """What must run for ``todo``; with ``ship_cache`` the cached compressed models' files are read, to be
    sent to workers that cannot see ``cache``."""
    cells, compress, dense_of, dense, cached = [], {}, {}, {}, {}
    for spec in todo:
        key = compression_key_of(spec)
        cells.append((spec, key))
        if key in compress or key in cached:
            continue
        folder = cache / "compressed" / key
        if (folder / "metrics.json").exists() and (folder / "model.nir").exists():
            cached[key] = snapshot(cache, f"compressed/{key}") if ship_cache else {}
            continue
        compress[key] = spec
        dense_of[key] = dense_key_of(spec)
        dense.setdefault(dense_of[key], spec)
    return Plan(tuple(cells), compress, dense_of, dense, cached)


def finished_report(folder: Path, spec: RunSpec) -> tuple[dict | None, str | None]:
    """(report, None) for a finished cell; (None, why) when report.json must be recomputed; (None, None)
    when there is none."""
    path = folder / "report.json"
    if not path.exists():
        return None, None
    try:
        report = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None, "is not JSON (truncated by a killed run?)"
    if not isinstance(report, dict) or (report.get("schema"), report.get("version")) != (
        REPORT_SCHEMA,
        REPORT_VERSION,
    ):
        return None, f"is not a {REPORT_SCHEMA} version {REPORT_VERSION} report"
    ours = to_jsonable(spec.to_dict())
    theirs = report.get("spec")
    if theirs != ours:
        if not isinstance(theirs, dict):
            return None, "has no spec"
        key = next(k for k in ours if theirs.get(k) != ours[k])
        return None, f"was made for {key}={theirs.get(key)!r}, this sweep has {key}={ours[key]!r}"
    try:
        summarize(spec, report)
    except (KeyError, TypeError) as error:
        return None, f"lacks {error}"
    return report, None


@contextlib.contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.sweep.lock`` (an advisory flock, released by the kernel even when the process is killed)
    or refuse: two sweeps writing one folder would run the same cells twice."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise SweepError(
                f"{out}: another sweep ({holder}) is writing into this folder; wait for it to end or give "
                "another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        yield
    finally:
        os.close(fd)


def remove_leftovers(out: Path) -> int:
    """Delete the temporary files of atomic writes that a killed sweep left in ``out`` (under the lock, no
    writer is running); return how many."""
    leftovers = [p for p in out.rglob(f".*{TMP_SUFFIX}") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


def record(out: Path, spec: RunSpec, result: CellResult, cache: Path, *, private_cache: bool) -> dict:
    """Write one cell's result into the sweep folder (each file atomically, report.json last) and return
    its row. A failed cell gets error.json, and loses a stale report.json."""
    folder = cell_dir(out, spec)
    if result.error is not None:
        write_json_atomic(folder / "error.json", result.error_record())
        (folder / "report.json").unlink(missing_ok=True)
        return summarize(spec, {"error": result.error})
    files, report = result.files, dict(result.report)
    if private_cache:  # the worker's cache was a temporary folder: the files are now in ours
        files, report = reroot_files(files, CACHE_MARK, str(cache)), reroot(report, CACHE_MARK, str(cache))
        compression = dict(report["compression"])
        compression["cached_in"] = str(cache / compression["cached_in"])
        report["compression"] = compression
    for name, data in sorted(files.items()):
        write_atomic(folder / name, lambda tmp, data=data: tmp.write_bytes(data))
    write_json_atomic(folder / "report.json", report)
    (folder / "error.json").unlink(missing_ok=True)
    return summarize(spec, report)


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


def _say(text: str) -> None:
    print(f"harness sweep: {text}", file=sys.stderr)


def sweep(
    specs: Sequence[RunSpec],
    out: Path,
    *,
    cache: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    shared_cache: bool = False,
    progress: bool = True,
) -> list[dict]:
    """Run every spec not yet finished under ``out``; write sweep.json, sweep.md and pareto.png.

    Without ``scheduler`` the cells run in ``workers`` local processes sharing ``cache``. With one (an
    address, a scheduler file, or ``local:N`` for a LocalCluster of N processes) they run on Dask workers,
    which receive the models they need through the scheduler and send their results back, unless
    ``shared_cache`` says they see ``cache`` at the same path.
    """
    names = [cell_name(s) for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SweepError(f"two cells would share the folder cells/{twice[0]}: give profiles distinct names")
    out = Path(out)
    with sweep_lock(out):
        removed = remove_leftovers(out)
        if removed:
            _say(f"removed {removed} unfinished temporary file(s) left in {out} by a killed run")
        rows: dict[str, dict] = {}
        todo = []
        for spec in specs:
            report, why = finished_report(cell_dir(out, spec), spec)
            if report is not None:
                rows[cell_name(spec)] = summarize(spec, report)
                continue
            if why is not None:
                _say(f"{cell_dir(out, spec) / 'report.json'} {why}: recomputing that cell")
            todo.append(spec)
        if todo:
            private = scheduler is not None and not shared_cache
            work = plan(todo, cache, ship_cache=private)

            def on_cell(spec: RunSpec, result: CellResult) -> None:
                rows[cell_name(spec)] = record(out, spec, result, cache, private_cache=private)

            def on_cache(bundle: Bundle) -> None:
                from harness.sweep_tasks import materialize

                materialize(bundle, cache)

            if scheduler is None:
                from harness.sweep_local import execute

                execute(work, str(cache), on_cell, workers=workers, progress=progress)
            else:
                from harness.sweep_dask import execute

                shared = None if private else str(cache.resolve())  # a worker's working folder is its own
                execute(work, shared, on_cell, on_cache, scheduler=scheduler, progress=progress)
        else:
            _say(f"all {len(specs)} cells are finished: nothing to run")
        table = [rows[cell_name(s)] for s in specs]
        summary = {"cells": table, "specs": [dataclasses.asdict(s) for s in specs]}
        write_json_atomic(out / "sweep.json", summary)
        ok = [r for r in table if "error" not in r]
        if ok:
            plots.pareto_plot(ok, out / "pareto.png", "Accuracy on chip vs energy per inference")
        else:
            (out / "pareto.png").unlink(missing_ok=True)
        write_text_atomic(out / "sweep.md", markdown(table))
    return table


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
    if any("error" not in r for r in rows):
        lines += ["", "## Accuracy on chip vs energy (Pareto front marked)", "", "![pareto](pareto.png)", ""]
    else:
        lines += ["", "No cell finished: no Pareto plot.", ""]
    return "\n".join(lines)
