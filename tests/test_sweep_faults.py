"""A sweep folder under faults (issue 16): SIGTERM ends a sweep like Ctrl-C, leftovers of a killed run are
removed, a truncated or foreign report.json is recomputed and said so, and a second sweep into a folder
that one is writing is refused. Budgets are tiny; each test works on its own copy of one finished sweep."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import cli
from harness.sweep import finished_report, sweep_lock

TINY = ["--dense-epochs", "1", "--epochs", "1", "--steps", "4", "--samples", "8"]
GRID = ["--profiles", "loihi", "--methods", "spikefit", "--seeds", "2", *TINY]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("finished")
    out, cache = root / "out", root / "cache"
    assert cli.main(["sweep", *GRID, "--out", str(out), "--cache-dir", str(cache), "--workers", "2"]) == 0
    return out, cache


@pytest.fixture
def copy(finished, tmp_path):
    out, cache = finished
    shutil.copytree(out, tmp_path / "out")
    return tmp_path / "out", cache


def rerun(out, cache, *extra):
    return cli.main(["sweep", *GRID, *extra, "--out", str(out), "--cache-dir", str(cache), "--workers", "1"])


def report_stamps(out):
    return {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*/report.json")}


def test_leftover_tmp_files_of_a_killed_run_are_removed_on_the_next(copy, capsys):
    out, cache = copy
    before = (out / "sweep.json").read_text()
    stamps = report_stamps(out)
    planted = [out / ".sweep.json.k3j2.tmp", out / "cells" / "loihi-spikefit-s0" / ".report.json.x9.tmp",
               out / "cells" / "loihi-spikefit-s1" / ".raster.png.a1.tmp"]
    for path in planted:
        path.write_text("half")
    assert rerun(out, cache) == 0
    err = capsys.readouterr().err
    assert "removed 3 unfinished temporary file(s)" in err
    assert not any(p.exists() for p in planted)
    assert report_stamps(out) == stamps  # nothing recomputed
    assert (out / "sweep.json").read_text() == before


def test_a_truncated_or_foreign_report_is_recomputed_and_the_run_says_so(copy, capsys):
    out, cache = copy
    before = json.loads((out / "sweep.json").read_text())
    s0, s1 = out / "cells" / "loihi-spikefit-s0", out / "cells" / "loihi-spikefit-s1"
    text = (s0 / "report.json").read_text()
    (s0 / "report.json").write_text(text[: len(text) // 2])
    (s1 / "report.json").write_text(json.dumps({"schema": "someone.else", "accuracy": 1.0}))
    assert rerun(out, cache) == 0
    err = capsys.readouterr().err
    assert f"{s0 / 'report.json'} is not JSON" in err and "recomputing that cell" in err
    assert f"{s1 / 'report.json'} is not a chipfit.run_report" in err
    assert json.loads((out / "sweep.json").read_text()) == before
    for cell, seed in ((s0, 0), (s1, 1)):
        report = json.loads((cell / "report.json").read_text())
        assert report["spec"]["seed"] == seed and report["schema"] == "chipfit.run_report"


def test_a_report_made_for_another_spec_is_recomputed(copy, capsys):
    out, cache = copy
    argv = ["sweep", *GRID[:-2], "--samples", "6", "--out", str(out), "--cache-dir", str(cache)]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert err.count("was made for samples=8, this sweep has samples=6: recomputing that cell") == 2
    for report in (out / "cells").glob("*/report.json"):
        assert json.loads(report.read_text())["accuracy"]["samples"] == 6


def test_a_second_sweep_into_a_folder_being_written_is_refused(copy, capsys):
    out, cache = copy
    with sweep_lock(out):  # as a running sweep holds it
        stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
        assert rerun(out, cache) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"another sweep (pid {os.getpid()} on" in err[0] and "--out" in err[0]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps
    assert rerun(out, cache) == 0  # the lock goes with its holder


def test_two_profiles_with_one_cell_folder_are_refused(tmp_path, capsys):
    profiles = f"loihi,{ROOT / 'hwprofiles/profiles/loihi.yaml'}"
    argv = ["sweep", "--profiles", profiles, "--methods", "spikefit", "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cells/loihi-spikefit-s0" in err[0]
    assert not (tmp_path / "out").exists()


def test_a_finished_report_is_one_of_this_spec(finished):
    out, _ = finished
    from harness.cli import build_parser
    from harness.commands.run import spec_from

    args = build_parser().parse_args(["sweep", *GRID])
    spec = spec_from(args, "loihi", "spikefit", 0)
    report, why = finished_report(out / "cells" / "loihi-spikefit-s0", spec)
    assert why is None and report["spec"]["seed"] == 0
    other = spec_from(args, "loihi", "spikefit", 1)
    assert finished_report(out / "cells" / "loihi-spikefit-s0", other) == (
        None, "was made for seed=0, this sweep has seed=1")


def test_sigterm_ends_a_sweep_like_ctrl_c(tmp_path):
    psutil = pytest.importorskip("psutil")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "harness.cli", "sweep", *GRID, "--out", str(tmp_path / "out"),
            "--cache-dir", str(tmp_path / "cache"), "--workers", "2"]
    sweep = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(sweep.pid)
    deadline = time.monotonic() + 120
    workers = []
    while time.monotonic() < deadline and len(workers) < 2 and sweep.poll() is None:
        workers = [c for c in parent.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        time.sleep(0.1)
    assert len(workers) == 2, "the sweep started no worker processes"
    time.sleep(1.0)  # the workers are busy training
    children = parent.children(recursive=True)
    sweep.send_signal(signal.SIGTERM)
    _, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness sweep: interrupted") and "rerun" in lines[0], err
    psutil.wait_procs(children, timeout=10)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
