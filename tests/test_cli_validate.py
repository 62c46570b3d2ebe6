"""`harness validate` through the CLI: bad input exits 2 with one line; a good run writes JSON and a plot."""

import json

import numpy as np
import pytest

from harness.cli import main


def test_too_small_random_net_is_a_usage_error(capsys):
    assert main(["validate", "--profile", "loihi", "--random-net", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--random-net" in err and "8..10000" in err and len(err.splitlines()) == 1


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
def test_random_net_run_writes_identical_figures_and_a_plot(tmp_path, monkeypatch):
    """The plot is read back from its figure (kept open): one panel per population, chipsim's spikes and
    Brian2's at the same (step, neuron) points, as many as the JSON counts, and no divergence marks."""
    import matplotlib.pyplot as plt

    closed, close = [], plt.close
    monkeypatch.setattr(plt, "close", closed.append)
    out, png = tmp_path / "v.json", tmp_path / "v.png"
    code = main(["validate", "--profile", "truenorth", "--random-net", "60", "--steps", "40", "--seed", "2",
                 "--target", "numpy", "--json", str(out), "--plot", str(png)])
    figures = json.loads(out.read_text())
    assert code == 0 and figures["passed"]
    [run] = figures["runs"]
    assert run["identical_fraction"] == 1.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    [fig] = closed
    populations = run["populations"]
    assert [ax.get_ylabel() for ax in fig.axes] == [f"{p['name']}\nneuron" for p in populations]
    for ax, pop in zip(fig.axes, populations, strict=True):
        chipsim, brian2 = (np.asarray(c.get_offsets()) for c in ax.collections)  # no third: nothing differs
        assert len(chipsim) == pop["chipsim_spikes"] == pop["brian2_spikes"]
        assert np.array_equal(chipsim, brian2)
        assert chipsim[:, 0].max(initial=0) < 40 and chipsim[:, 1].max(initial=0) < pop["size"]
    assert sum(p["chipsim_spikes"] for p in populations) > 0  # something was drawn
    close(fig)
