"""`harness validate` through the CLI: bad input exits 2 with one line; a good run writes JSON and a plot."""

import json

import pytest

from harness.cli import main


def test_too_small_random_net_is_a_usage_error(capsys):
    assert main(["validate", "--profile", "loihi", "--random-net", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--random-net" in err and "8.." in err and len(err.splitlines()) == 1


def test_unknown_profile_is_a_usage_error(capsys):
    assert main(["validate", "--profile", "no-such-chip", "--random-net", "50"]) == 2
    assert "no-such-chip" in capsys.readouterr().err


def test_zero_steps_is_a_usage_error(capsys):
    assert main(["validate", "--profile", "loihi", "--random-net", "50", "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err


def test_missing_nir_file_is_a_usage_error(tmp_path, capsys):
    assert main(["validate", "--profile", "loihi", "--nir", str(tmp_path / "none.nir")]) == 2
    assert "none.nir" in capsys.readouterr().err


@pytest.mark.brian2
def test_random_net_run_writes_identical_figures_and_a_plot(tmp_path):
    out, png = tmp_path / "v.json", tmp_path / "v.png"
    code = main(["validate", "--profile", "truenorth", "--random-net", "60", "--steps", "40", "--seed", "2",
                 "--target", "numpy", "--json", str(out), "--plot", str(png)])
    figures = json.loads(out.read_text())
    assert code == 0 and figures["passed"]
    assert figures["runs"][0]["identical_fraction"] == 1.0
    assert png.stat().st_size > 0
