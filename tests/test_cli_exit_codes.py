"""Exit codes and stderr of the installed `harness` executable (a subprocess, as a user runs it).

The executable is the console script of the environment running the tests (``harness`` beside
``sys.executable``), with PYTHONPATH set to this checkout so that its code is what runs. No training: the
run uses the hand-made compressed model of tests/handmade.py, put in the cache where `harness run` looks.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nir
import pytest
from handmade import cache_model, tiny_graph

from harness.run import RunSpec

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(sys.executable).with_name("harness")
pytestmark = pytest.mark.skipif(not HARNESS.exists(), reason="no installed harness executable")


def harness(*args, cwd=None):
    env = os.environ | {"PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run([str(HARNESS), *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def one_line_error(result, *words):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    for word in words:
        assert word in lines[0]


def test_map_that_fits_exits_0_and_writes_the_fit(tmp_path):
    nir.write(str(tmp_path / "m.nir"), tiny_graph())
    result = harness("map", "--nir", tmp_path / "m.nir", "--profile", "loihi",
                     "--json", tmp_path / "fit.json")
    assert result.returncode == 0, result.stderr
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert fit["fits"] is True and fit["cores_used"] == 1  # 10 neurons, 10 axons: one Loihi core


def test_map_of_a_missing_file_exits_2_naming_it(tmp_path):
    one_line_error(harness("map", "--nir", tmp_path / "none.nir", "--profile", "loihi"), "none.nir")


def test_unknown_profile_exits_2_naming_it(tmp_path):
    nir.write(str(tmp_path / "m.nir"), tiny_graph())
    one_line_error(harness("map", "--nir", tmp_path / "m.nir", "--profile", "no-such-chip"), "no-such-chip")


def test_malformed_profile_exits_2_naming_file_and_key(tmp_path):
    text = (ROOT / "hwprofiles" / "profiles" / "loihi.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("neurons: {value: 1024,", "neurons: {value: -5,", 1))
    result = harness("profiles", "check", bad)
    assert result.returncode == 2
    assert "bad.yaml" in result.stdout + result.stderr and "neurons" in result.stdout + result.stderr


def test_shipped_profiles_check_exits_0():
    assert harness("profiles", "check", ROOT / "hwprofiles" / "profiles" / "loihi.yaml").returncode == 0


def test_argparse_errors_exit_2():
    assert harness("no-such-command").returncode == 2
    assert harness("run", "--profile", "loihi").returncode == 2  # --method missing


def test_unknown_method_exits_2_before_any_work(tmp_path):
    result = harness("run", "--profile", "loihi", "--method", "bogus", "--out", tmp_path / "o",
                     "--cache-dir", tmp_path / "c")
    one_line_error(result, "bogus")
    assert not (tmp_path / "c").exists() and not (tmp_path / "o").exists()


def test_run_on_a_cached_model_exits_0_with_its_report(tmp_path):
    spec = RunSpec(profile="loihi", method="spikefit", steps=5, samples=8, epochs=1, dense_epochs=1)
    cache_model(spec, tmp_path / "cache")
    result = harness("run", "--profile", "loihi", "--method", "spikefit", "--steps", 5, "--samples", 8,
                     "--epochs", 1, "--dense-epochs", 1, "--cache-dir", tmp_path / "cache",
                     "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["accuracy"]["exported"] == 0.25  # the cached model's metrics: nothing was trained
    assert report["accuracy"]["samples"] == 8 and report["accuracy"]["steps"] == 5
    assert not (tmp_path / "cache" / "dense").exists()
