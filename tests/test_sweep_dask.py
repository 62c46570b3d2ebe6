"""`harness sweep --scheduler`: the same sweep on a Dask LocalCluster of 2 worker processes (started here) as
on this machine, a worker killed mid-sweep, a rerun that submits nothing, and a failing cell recorded.

The grid is the issue's 2 profiles x 2 methods x 2 seeds with tiny budgets (1 dense epoch, 1 method epoch,
4 steps, 8 test samples): what is checked is that results, not accuracy, agree.
"""

import json
import os
import signal
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from harness import cli  # noqa: E402

TINY = ["--dense-epochs", "1", "--epochs", "1", "--steps", "4", "--samples", "8"]
GRID = ["--profiles", "loihi,truenorth", "--methods", "spikefit,magnitude", "--seeds", "2", *TINY]
CELL_FILES = {"report.json", "report.md", "energy.png", "utilization.png", "raster.png"}


@pytest.fixture(scope="module")
def cluster():
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL) as local:
        yield local


@pytest.fixture(scope="module")
def one_machine(tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    assert cli.main(["sweep", *GRID, "--out", str(root / "out"), "--cache-dir", str(root / "cache"),
                     "--workers", "2"]) == 0
    return root / "out"


@pytest.fixture(scope="module")
def on_dask(cluster, tmp_path_factory):
    """The same sweep on the cluster, from an empty cache of its own (the workers recompute everything)."""
    root = tmp_path_factory.mktemp("dask")
    assert cli.main(["sweep", *GRID, "--out", str(root / "out"), "--cache-dir", str(root / "cache"),
                     "--scheduler", cluster.scheduler_address]) == 0
    return root


def leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_dask_sweep_gives_the_one_machine_sweep_json(one_machine, on_dask):
    local = json.loads((one_machine / "sweep.json").read_text())
    dask = json.loads((on_dask / "out" / "sweep.json").read_text())
    assert len(dask["cells"]) == 8 and not any("error" in row for row in dask["cells"])
    assert dask == local


def test_dask_cells_match_the_one_machine_reports_but_for_timings(one_machine, on_dask):
    from test_sweep_tasks import comparable as comparable_report

    def comparable(path):
        return comparable_report(json.loads(path.read_text()))

    for cell in sorted((one_machine / "cells").iterdir()):
        twin = on_dask / "out" / "cells" / cell.name / "report.json"
        assert comparable(twin) == comparable(cell / "report.json")


def test_models_made_on_the_workers_come_back_to_the_client_cache(on_dask):
    cache = on_dask / "cache"
    assert len(list((cache / "dense").glob("dense-*.pt"))) == 2  # one per seed
    compressed = sorted((cache / "compressed").iterdir())
    files = [{p.name for p in c.iterdir()} for c in compressed]
    assert compressed and all({"model.nir", "metrics.json"} <= names for names in files)
    for report in (on_dask / "out" / "cells").glob("*/report.json"):
        cached_in = json.loads(report.read_text())["compression"]["cached_in"]
        assert cached_in.startswith(str(cache)) and os.path.isfile(os.path.join(cached_in, "model.nir"))


def test_rerun_against_the_finished_folder_submits_nothing(on_dask, capsys):
    out = on_dask / "out"
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*")}
    # no scheduler listens there: the rerun can succeed only by not connecting at all
    argv = ["sweep", *GRID, "--out", str(out), "--cache-dir", str(on_dask / "cache"),
            "--scheduler", "tcp://127.0.0.1:9"]
    assert cli.main(argv) == 0
    assert "all 8 cells are finished: nothing to run" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("*")} == stamps


def _kill_a_worker_running_a_cell(cluster, killed: dict, deadline_s: float = 300.0) -> None:
    """SIGKILL the worker process that is running a cell task, once (reads the in-process scheduler)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and not killed.get("stop"):
        try:
            for worker in list(cluster.scheduler.workers.values()):
                running = [t.key for t in list(worker.processing) if str(t.key).startswith("cell-")]
                if running:
                    os.kill(worker.pid, signal.SIGKILL)
                    killed.update(pid=worker.pid, key=running[0])
                    return
        except RuntimeError:  # the scheduler changed the set while we read it
            pass
        time.sleep(0.02)


def test_a_worker_killed_mid_sweep_has_its_cell_rerun(cluster, one_machine, on_dask, tmp_path):
    pids = {w.pid for w in cluster.scheduler.workers.values()}
    killed: dict = {}
    killer = threading.Thread(target=_kill_a_worker_running_a_cell, args=(cluster, killed))
    killer.start()
    try:  # the cache holds the models, so only the cells run: the kill lands in one
        code = cli.main(["sweep", *GRID, "--out", str(tmp_path), "--cache-dir", str(on_dask / "cache"),
                         "--scheduler", cluster.scheduler_address])
    finally:
        killed["stop"] = True
        killer.join()
    assert code == 0
    assert killed.get("pid") in pids, "no worker was running a cell to kill"
    summary = json.loads((tmp_path / "sweep.json").read_text())
    names = [(r["profile"], r["method"], r["seed"]) for r in summary["cells"]]
    assert len(names) == len(set(names)) == 8
    assert summary == json.loads((one_machine / "sweep.json").read_text())
    for cell in (tmp_path / "cells").iterdir():
        assert {p.name for p in cell.iterdir()} == CELL_FILES
    assert leftovers(tmp_path) == []


def test_a_cell_that_fails_on_a_worker_is_recorded_and_the_sweep_goes_on(cluster, tmp_path):
    argv = ["sweep", "--profiles", "loihi", "--methods", "spikefit,magnitude", "--dataset", "mnist",
            "--data-dir", str(tmp_path / "no-such-folder"), *TINY, "--out", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), "--scheduler", cluster.scheduler_address]
    assert cli.main(argv) == 0
    rows = json.loads((tmp_path / "out" / "sweep.json").read_text())["cells"]
    assert [r["method"] for r in rows] == ["spikefit", "magnitude"]
    for row in rows:
        cell = tmp_path / "out" / "cells" / f"loihi-{row['method']}-s0"
        error = json.loads((cell / "error.json").read_text())
        assert row["error"] == error["error"] and "no-such-folder" in error["error"]
        assert error["kind"] == "user" and error["traceback"] is None


def test_scheduler_local_n_must_name_a_worker_count(tmp_path, capsys):
    argv = ["sweep", "--profiles", "loihi", "--methods", "spikefit", "--scheduler", "local:0",
            "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "local:0" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    argv = ["sweep", "--profiles", "loihi", "--methods", "spikefit", *TINY, "--scheduler", "tcp://127.0.0.1:9",
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0] and "tcp://127.0.0.1:9" in err[0]


def test_with_shared_cache_the_workers_read_the_models_in_the_client_cache(cluster, one_machine, tmp_path):
    cache = one_machine.parent / "cache"  # the one-machine sweep's: every model is there
    before = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    argv = ["sweep", "--profiles", "truenorth", "--methods", "magnitude", "--seeds", "2", *TINY,
            "--out", str(tmp_path), "--cache-dir", str(cache), "--scheduler", cluster.scheduler_address,
            "--shared-cache"]
    assert cli.main(argv) == 0
    rows = json.loads((tmp_path / "sweep.json").read_text())["cells"]
    local = json.loads((one_machine / "sweep.json").read_text())["cells"]
    assert rows == [r for r in local if (r["profile"], r["method"]) == ("truenorth", "magnitude")]
    report = json.loads((tmp_path / "cells" / "truenorth-magnitude-s1" / "report.json").read_text())
    assert report["compression"]["cached_in"].startswith(str(cache))
    assert sorted(p.relative_to(cache) for p in cache.rglob("*")) == before  # nothing recomputed
