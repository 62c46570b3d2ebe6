"""Run a sweep's tasks in a pool of local processes sharing the cache folder, in three phases (dense models,
compressed models, cells) so no model is trained twice.

Processes are spawned, not forked (torch and Numba threads do not survive a fork). A worker that dies
(killed, out of memory) breaks the pool: its phase's unfinished tasks are resubmitted to a new pool, up to
:data:`ALLOWED_FAILURES` times, as Dask does for a dead worker. On Ctrl-C or SIGTERM (which the command
turns into KeyboardInterrupt) the workers are terminated before the interrupt goes on, so nothing runs on
and no semaphore is left behind.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from harness.sweep import Plan
from harness.sweep_progress import cell_bar, collect
from harness.sweep_tasks import CellResult, cell_task, compress_task, dense_task, failure

ALLOWED_FAILURES = 3  # pools a phase may break before its unfinished tasks are recorded as failed


class _Pool:
    """A spawn-context ProcessPoolExecutor that can be replaced when broken and terminated on interrupt."""

    def __init__(self, workers: int):
        self.workers = workers
        self.before = set(multiprocessing.active_children())
        self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def renew(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def terminate(self) -> None:
        """Kill the workers, then join the pool's manager thread (which sees them die and fails the pending
        futures): left running, it races interpreter exit on a closed pipe (Python 3.11)."""
        for child in set(multiprocessing.active_children()) - self.before:
            child.terminate()
        self.executor.shutdown(wait=True, cancel_futures=True)


def _phase(pool: _Pool, jobs: dict, handle: Callable[[object, Future], None],
           tick: Callable[[dict], None]) -> None:
    """Run ``jobs`` (tag -> (function, args)); ``handle(tag, future)`` for each finished one; resubmit the
    ones a broken pool lost."""
    for attempt in range(ALLOWED_FAILURES + 1):
        pending = {pool.executor.submit(fn, *args): tag for tag, (fn, args) in jobs.items()}
        lost: dict = {}

        def settle(tag, future: Future, lost=lost, jobs=jobs, last=attempt == ALLOWED_FAILURES) -> None:
            if isinstance(future.exception(), BrokenProcessPool) and not last:
                lost[tag] = jobs[tag]
            else:
                handle(tag, future)

        collect(pending, settle, lambda pending=pending: tick(pending))
        if not lost:
            return
        pool.renew()
        jobs = lost


def _error(future: Future) -> Exception | None:
    """The task's exception; a Ctrl-C that reached the worker too interrupts the sweep, it is no result."""
    error = future.exception()
    if error is not None and not isinstance(error, Exception):
        raise KeyboardInterrupt
    return error


def execute(
    work: Plan,
    cache: str,
    on_cell: Callable[[object, CellResult], None],
    *,
    workers: int | None = None,
    progress: bool = True,
) -> None:
    """Run ``work`` on ``workers`` processes (default: one per core, at most one per cell)."""
    workers = workers or max(1, min(len(work.cells), os.cpu_count() or 1))
    failed: dict[str, BaseException] = {}  # dense or compression key -> the error its task raised
    counts = {"failed": 0}
    with cell_bar(progress) as bar:
        task = bar.add_task("dense models", total=len(work.cells), running=0, failed=0)

        def tick(pending: dict) -> None:
            running = min(workers, sum(future.running() for future in pending))
            bar.update(task, running=running, failed=counts["failed"])

        def settle_model(key: str, future: Future) -> None:
            if _error(future) is not None:
                failed[key] = future.exception()

        def settle_cell(index: int, future: Future) -> None:
            error = _error(future)
            done(work.cells[index][0], failure(error) if error is not None else future.result())

        def done(spec, result: CellResult) -> None:
            on_cell(spec, result)
            counts["failed"] += result.error is not None
            bar.update(task, advance=1, failed=counts["failed"])

        pool = _Pool(workers)
        try:
            _phase(pool, {key: (dense_task, (spec, cache)) for key, spec in work.dense.items()}, settle_model,
                   tick)
            bar.update(task, description="compressed models")
            jobs = {}
            for key, spec in work.compress.items():
                if work.dense_of[key] in failed:
                    failed[key] = failed[work.dense_of[key]]
                else:
                    jobs[key] = (compress_task, (spec, cache, {}))
            _phase(pool, jobs, settle_model, tick)
            bar.update(task, description="cells on chip")
            jobs = {}
            for index, (spec, key) in enumerate(work.cells):
                if key in failed:
                    done(spec, failure(failed[key]))
                else:
                    jobs[index] = (cell_task, (spec, cache, {}))
            _phase(pool, jobs, settle_cell, tick)
        except BaseException:
            pool.terminate()
            raise
        pool.executor.shutdown(wait=True)
