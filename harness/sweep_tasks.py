"""The three kinds of sweep task, as pure functions a worker process runs: dense model, compressed model,
on-chip cell.

Each task's inputs and outputs are plain picklable data, so the same functions run in a local process pool
and on a Dask worker that shares no filesystem with the client:

- With ``cache`` (a folder the worker sees, shared with the client), a task reads and writes the caches
  there and returns no files.
- With ``cache=None``, a task works in a private temporary folder: the files it depends on arrive as a
  :data:`Bundle` (cache-relative path -> bytes), and the files it made go back as one, for the next task
  and for the client's own cache.

A cell never writes into the sweep folder: its files come back in a :class:`CellResult` and the client
writes them (atomically, report.json last). Every task runs with one torch thread and from its own seeds,
so its result does not depend on the process that ran it or on what that process ran before.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import traceback
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path

from compress.files import write_atomic
from harness.run import RunSpec

Bundle = dict[str, bytes]  # cache-relative path -> file content
TMP_SUFFIX = ".tmp"  # compress.files.write_atomic's temporary files: never part of a result
CACHE_MARK = "<cache>"
"""Stands for the cache folder in a private-cache cell's report and text files (its notes name the model
file the cell compiled, which was in the worker's temporary folder); :func:`reroot` puts the client's
cache in its place."""
TEXT_FILES = (".md", ".json")


def reroot(obj, old: str, new: str):
    """``obj`` (JSON-like data, or a text file's bytes) with every ``old`` in its strings replaced by
    ``new``."""
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, bytes):
        return obj.replace(old.encode(), new.encode())
    if isinstance(obj, dict):
        return {k: reroot(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(reroot(v, old, new) for v in obj)
    return obj


def reroot_files(files: Bundle, old: str, new: str) -> Bundle:
    """The text files of ``files`` rerooted (:func:`reroot`); the others (plots) as they are."""
    return {name: reroot(data, old, new) if name.endswith(TEXT_FILES) else data
            for name, data in files.items()}


@dataclass(frozen=True)
class CellResult:
    """What one on-chip cell sends back: its report and files, or its error.

    ``kind`` is ``"user"`` for bad input (the cell's one-line error, exit code 2 from the CLI), ``"bug"``
    for any other exception (with its traceback) and ``"worker"`` when the workers running it kept dying.
    """

    report: dict | None = None
    files: Bundle = field(default_factory=dict)  # the run's files but report.json (the report is above)
    error: str | None = None
    kind: str | None = None
    traceback: str | None = None

    def error_record(self) -> dict:
        return {"error": self.error, "kind": self.kind, "traceback": self.traceback}


class TaskError(Exception):
    """An exception of a task, reduced to what pickles everywhere (message, kind, traceback): a user
    error's own class may take other constructor arguments than its message, and cannot be rebuilt."""

    def __init__(self, message: str, kind: str, trace: str | None):
        super().__init__(message, kind, trace)
        self.message, self.kind, self.trace = message, kind, trace

    def __str__(self) -> str:
        return self.message


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        result = failure(error)
        raise TaskError(result.error, result.kind, result.traceback) from None


def failure(error: BaseException) -> CellResult:
    """The CellResult of a cell whose task (or a task it needs) raised ``error``."""
    if isinstance(error, TaskError):
        return CellResult(error=error.message, kind=error.kind, traceback=error.trace)
    if getattr(error, "exit_code", None) == 2:
        return CellResult(error=str(error), kind="user")
    if type(error).__name__ in ("KilledWorker", "BrokenProcessPool"):  # the workers running it kept dying
        return CellResult(error=f"the workers running this cell died repeatedly ({error})", kind="worker")
    if isinstance(error, CancelledError):  # the cluster dropped it (scheduler restarted, data lost)
        return CellResult(error=f"the cluster cancelled this cell ({error})", kind="worker")
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return CellResult(error=f"{type(error).__name__}: {error}", kind="bug", traceback=trace)


def snapshot(root: Path, under: str = "") -> Bundle:
    """Every finished file below ``root / under`` (temporary files of an interrupted write left out)."""
    base = root / under
    if not base.is_dir():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file() and not path.name.endswith(TMP_SUFFIX)
    }


def materialize(bundle: Bundle, root: Path) -> None:
    """Write the bundle's files under ``root`` (each atomically; files already there are kept)."""
    for name, data in bundle.items():
        target = root / name
        if not target.exists():
            write_atomic(target, lambda tmp, data=data: tmp.write_bytes(data))


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Torch's intra-op threads pinned to one (restored after): a float reduction's order, and so the
    trained weights, must not depend on how many cores the worker's machine has."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _workspace(cache: str | None, inputs: Bundle) -> Iterator[tuple[Path, set[str]]]:
    """The cache folder a task works in and the names it was given; a private one when ``cache`` is None."""
    quiet = contextlib.redirect_stdout(io.StringIO())  # methods draw their own progress bars: not here
    if cache is not None:
        with _one_torch_thread(), quiet:
            yield Path(cache), set()
        return
    with tempfile.TemporaryDirectory(prefix="chipfit-task-") as tmp, _one_torch_thread(), quiet:
        root = Path(tmp)
        materialize(inputs, root)
        yield root, set(inputs)


def _made(root: Path, given: set[str], shared: bool) -> Bundle:
    if shared:
        return {}
    return {name: data for name, data in snapshot(root).items() if name not in given}


def dense_task(spec: RunSpec, cache: str | None) -> Bundle:
    """Train (or find) the dense model ``spec`` starts from; the files made when the cache is private."""
    from compress.pipeline import dense_model
    from harness.run import configs, dataset_of

    with _reported(), _workspace(cache, {}) as (root, given):
        model_cfg, dense_cfg, _ = configs(spec)
        dense_model(dataset_of(spec), model_cfg, dense_cfg, spec.seed, root / "dense", data_dir=spec.data_dir,
                    progress=False)
        return _made(root, given, cache is not None)


def compress_task(spec: RunSpec, cache: str | None, dense: Bundle) -> Bundle:
    """Compress the dense model with the spec's method under the spec's chip budget (or find it)."""
    import hwprofiles
    from harness.run import budget_for, compressed_model

    with _reported(), _workspace(cache, dense) as (root, given):
        compressed_model(spec, budget_for(spec, hwprofiles.load(spec.profile)), root, progress=False)
        return _made(root, given, cache is not None)


def cell_task(spec: RunSpec, cache: str | None, compressed: Bundle) -> CellResult:
    """Run one cell (map, simulate, price) in a temporary folder; return its report and files, or its
    error. When the cache is private, ``report["compression"]["cached_in"]`` is made relative to it and every
    other mention of it (the notes' model path, in the report and report.md) becomes :data:`CACHE_MARK`:
    the client roots both in its own cache (``harness.sweep.record``)."""
    from harness.run import run

    with _workspace(cache, compressed) as (root, _), tempfile.TemporaryDirectory(prefix="chipfit-") as out:
        try:
            run(spec, Path(out), cache=root, progress=False)
        except Exception as error:  # recorded as the cell's result; the sweep goes on
            return failure(error)
        files = snapshot(Path(out))
        report = json.loads(files.pop("report.json"))
        if cache is None:
            cached_in = Path(report["compression"]["cached_in"])
            report["compression"]["cached_in"] = str(cached_in.relative_to(root))
            report, files = reroot(report, str(root), CACHE_MARK), reroot_files(files, str(root), CACHE_MARK)
        return CellResult(report=report, files=files)
