"""Run a sweep's tasks on a Dask cluster: one task graph (dense models -> compressed models -> cells),
submitted at once, so the scheduler orders and places the work.

The scheduler is an address (``tcp://host:8786``), a scheduler file (``--scheduler-file`` of ``dask
scheduler``, a ``.json`` path) or ``local:N``, a ``distributed.LocalCluster`` of N one-thread worker
processes started here and closed at the end. Unless the workers share the cache folder, the models travel
as task results through the cluster (worker to worker) and come back to this process, which keeps them in
its own cache for the next sweep. A worker that dies has its tasks rerun elsewhere by the scheduler (up to
``distributed.scheduler.allowed-failures``, 3 by default, then the cell is recorded as failed); an
exception is not retried (the tasks are deterministic: it would fail again).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.sweep import Plan, SweepError, cell_name
from harness.sweep_progress import cell_bar, collect
from harness.sweep_tasks import Bundle, CellResult, cell_task, compress_task, dense_task, failure

CONNECT_TIMEOUT_S = 10
RUNNING_EVERY_S = 1.0  # how often the bar asks the scheduler what is running


def local_workers(scheduler: str) -> int | None:
    """N of ``local:N``; None for any other scheduler."""
    if not scheduler.startswith("local:"):
        return None
    count = scheduler.removeprefix("local:")
    if not count.isdigit() or int(count) < 1:
        raise SweepError(f"--scheduler local:N needs a number of workers N >= 1, got '{scheduler}'")
    return int(count)


@contextlib.contextmanager
def connect(scheduler: str) -> Iterator:
    """A ``distributed.Client`` of ``scheduler`` (and its LocalCluster for ``local:N``), closed after."""
    n = local_workers(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("--scheduler needs Dask: pip install 'dask[distributed]==2026.8.0'") from None
    cluster = None
    try:
        if n is not None:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   silence_logs=logging.CRITICAL)
            client = Client(cluster)
        elif scheduler.endswith(".json"):
            if not Path(scheduler).is_file():
                raise SweepError(f"--scheduler {scheduler}: no such scheduler file")
            client = Client(scheduler_file=scheduler, timeout=CONNECT_TIMEOUT_S)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        if cluster is not None:
            cluster.close()
        raise SweepError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def describe(client, *, here: bool) -> str:
    """One line: the scheduler, its workers, and its dashboard's address (``here``: a LocalCluster, whose
    dashboard is only a page asking for bokeh when this environment lacks it)."""
    import importlib.util

    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    where = (f"dashboard {client.dashboard_link}" if "dashboard" in info.get("services", {})
             else "no dashboard")
    if here and importlib.util.find_spec("bokeh") is None:
        where += " (its plots need bokeh>=3.1: pip install 'chipfit[cluster]')"
    return f"Dask scheduler {client.scheduler.address}: {len(workers)} workers, {threads} threads; {where}"


def given(bundle: Bundle) -> Bundle:
    """A cached model's files as a task's result (the scheduler can rerun it, unlike scattered data)."""
    return bundle


def execute(
    work: Plan,
    cache: str | None,
    on_cell: Callable[[object, CellResult], None],
    on_cache: Callable[[Bundle], None],
    *,
    scheduler: str,
    progress: bool = True,
) -> None:
    """Submit ``work`` to ``scheduler`` and record each cell as it lands; ``cache`` None means the workers
    cannot see the cache folder."""
    with connect(scheduler) as client:
        print(describe(client, here=local_workers(scheduler) is not None), file=sys.stderr)
        token = uuid.uuid4().hex[:8]  # this sweep's tasks, told apart from others on a shared scheduler
        dense = {
            key: client.submit(dense_task, spec, cache, key=f"dense-{key}-{token}")
            for key, spec in work.dense.items()
        }
        compressed = {
            key: client.submit(compress_task, spec, cache, dense[work.dense_of[key]],
                               key=f"compress-{key}-{token}")
            for key, spec in work.compress.items()
        }
        models: dict = dict(compressed)
        for key, bundle in work.cached.items():  # a task, not scattered data: a dead worker loses none
            models[key] = client.submit(given, bundle, key=f"cached-{key}-{token}") if bundle else {}
        cells = {
            client.submit(cell_task, spec, cache, models[key], key=f"cell-{cell_name(spec)}-{token}"): index
            for index, (spec, key) in enumerate(work.cells)
        }
        pending: dict = {future: None for future in [*dense.values(), *compressed.values()]}
        pending.update(cells)
        counts = {"failed": 0, "asked": 0.0}
        with cell_bar(progress) as bar:
            task = bar.add_task("cells on Dask", total=len(cells), running=0, failed=0)

            def settle(index: int | None, future) -> None:
                try:
                    result = future.result()
                except Exception as error:  # the cell's, or that of a task it needs (cancelled included)
                    result = failure(error)
                if index is None:  # a model: keep its files in our cache (nothing when the cache is shared)
                    if not isinstance(result, CellResult):
                        on_cache(result)
                    return
                on_cell(work.cells[index][0], result)
                counts["failed"] += result.error is not None
                bar.update(task, advance=1, failed=counts["failed"])

            def tick() -> None:
                if time.monotonic() - counts["asked"] < RUNNING_EVERY_S:
                    return
                counts["asked"] = time.monotonic()
                running = sum(token in str(key) for keys in client.processing().values() for key in keys)
                bar.update(task, running=running)

            try:
                collect(pending, settle, tick)
            except BaseException:
                client.cancel([*dense.values(), *compressed.values(), *cells])
                raise
