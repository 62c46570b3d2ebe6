"""`harness run` and `harness sweep` through the CLI: reports, caching, resumption and every error path.

Training budgets are tiny (1 dense epoch, 1 method epoch, 4 steps, 24 test samples) so the suite stays fast;
what is checked is the plumbing and the report, not the accuracy.
"""

import json

import numpy as np
import pytest
from handmade import cache_model

from compress.files import write_atomic
from harness import cli

TINY = ["--dense-epochs", "1", "--epochs", "1", "--steps", "4", "--samples", "24"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def loihi_run(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "loihi"
    code = cli.main(["run", "--profile", "loihi.yaml", "--method", "spikefit", "--out", str(out),
                     "--cache-dir", str(cache), *TINY])
    return code, out


def test_run_writes_a_versioned_report_with_every_section(loihi_run):
    code, out = loihi_run
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["schema"], report["version"]) == ("chipfit.run_report", 1)
    for section in ("accuracy", "fit", "latency", "spikes", "synops", "energy", "model", "quantization"):
        assert section in report
    assert set(report["accuracy"]) >= {"float", "exported", "on_chip"}
    assert report["accuracy"]["samples"] == 24 and report["accuracy"]["steps"] == 4
    assert report["fit"]["fits"] is True and report["fit"]["nearest_budget"] is None
    assert report["latency"]["per_inference_s"] > 0
    energy = report["energy"]
    assert energy["total_j"] == pytest.approx(energy["dynamic_j"] + energy["static_j"])
    assert energy["static_model"]["chips_powered"] == report["fit"]["chips_needed"]
    # two projections of Loihi's one-step delay: the run simulates 4 + 2 steps
    assert (report["accuracy"]["pipeline_steps"], report["accuracy"]["steps_on_chip"]) == (2, 6)
    rows = report["counters"]["per_population"]
    assert [r["population"] for r in rows] == list(report["spikes"]["per_inference_by_layer"])
    assert sum(r["synops"] for r in rows) == pytest.approx(report["synops"]["per_inference_on_chip"])


def test_run_energy_agrees_with_the_counts_of_the_report(loihi_run):
    """Each energy component against the report's own counts and loihi.yaml's figures (pJ): synapse 35.5,
    spike out 69.3, message out 111, message in 0, hop 3.0 (E-W) to 4.0 (N-S); static 0.104 W a chip."""
    _, out = loihi_run
    report = json.loads((out / "report.json").read_text())
    energy, synops = report["energy"]["per_inference_j"], report["synops"]
    assert synops["per_inference_on_chip"] > 0 and report["spikes"]["per_inference"] > 0
    assert energy["synapse"] == pytest.approx(synops["per_inference_on_chip"] * 35.5e-12)
    assert energy["spike"] == pytest.approx(report["spikes"]["per_inference"] * 69.3e-12
                                            + synops["packets_per_inference"] * 111.0e-12)
    hops = synops["hops_per_inference"]
    assert 3.0e-12 * hops * (1 - 1e-9) <= energy["routing"] <= 4.0e-12 * hops * (1 + 1e-9)
    assert energy["static"] == pytest.approx(0.104 * report["fit"]["chips_needed"]
                                             * report["latency"]["per_inference_s"])


def assert_drawn(path):
    """The file is a PNG that decodes to a picture with something drawn on it (what is drawn: the plot
    functions' own tests, tests/test_harness_plots.py)."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 10


def test_run_writes_markdown_and_png_plots(loihi_run):
    _, out = loihi_run
    text = (out / "report.md").read_text()
    assert "accuracy: float / exported / on chip" in text
    for name in ("energy.png", "utilization.png", "raster.png"):
        assert_drawn(out / name)
        assert f"]({name})" in text


def test_run_on_chip_spikes_match_the_energy_accounting(loihi_run):
    _, out = loihi_run
    report = json.loads((out / "report.json").read_text())
    layers = report["spikes"]["per_inference_by_layer"]
    hidden_and_output = sum(v for k, v in layers.items() if k != "input")
    assert report["spikes"]["per_inference"] == pytest.approx(hidden_and_output)


def test_rerun_reuses_the_cached_compressed_model(loihi_run, cache, tmp_path):
    _, out = loihi_run
    first = json.loads((out / "report.json").read_text())
    metrics = next((cache / "compressed").glob("spikefit-*/metrics.json"))
    before = metrics.stat().st_mtime_ns
    assert cli.main(["run", "--profile", "loihi", "--method", "spikefit", "--out", str(tmp_path),
                     "--cache-dir", str(cache), *TINY]) == 0
    second = json.loads((tmp_path / "report.json").read_text())
    assert metrics.stat().st_mtime_ns == before
    assert second["accuracy"] == first["accuracy"]  # deterministic for the same inputs


def test_a_model_that_does_not_fit_reports_violations_and_the_budget_it_needs(cache, tmp_path):
    # Xylo Audio 2 takes at most 16 input channels; digits has 64.
    assert cli.main(["run", "--profile", "xylo-audio2", "--method", "spikefit", "--out", str(tmp_path),
                     "--cache-dir", str(cache), *TINY]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["fit"]["fits"] is False
    assert report["fit"]["violations"]
    nearest = report["fit"]["nearest_budget"]
    assert nearest["resources"]["input_channels"] == {"need": 64, "limit": 16}  # xylo-audio2.yaml: 16
    assert nearest["resources"]
    for constraint, need in nearest["resources"].items():
        assert need["need"] > need["limit"], constraint


@pytest.mark.parametrize("argv, words", [
    (["--profile", "no-such-chip", "--method", "spikefit"], ["no-such-chip"]),
    (["--profile", "loihi", "--method", "no-such-method"], ["no-such-method", "spikefit", "kmeans"]),
    (["--profile", "loihi", "--method", "spikefit", "--dataset", "mnist", "--data-dir", "/nonexistent"],
     ["/nonexistent"]),
    (["--profile", "loihi", "--method", "spikefit", "--epochs", "-1"], ["--epochs"]),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, capsys, tmp_path):
    assert cli.main(["run", *argv, "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for word in words:
        assert word in err
    assert not (tmp_path / "out" / "report.json").exists()


def test_run_interrupted_mid_cell_is_one_line_exit_2_and_leaves_no_report(monkeypatch, capsys, tmp_path):
    """Interrupted after it simulated and priced, while writing its figures (a cached hand-made model, so
    nothing trains): exit 2, one line, the figures written so far but no report.json; a rerun finishes."""
    from harness import plots
    from harness.run import RunSpec

    cache_model(RunSpec("loihi", "spikefit", steps=4, samples=24, epochs=1, dense_epochs=1), tmp_path / "c")
    argv = ["run", "--profile", "loihi", "--method", "spikefit", "--out", str(tmp_path / "o"),
            "--cache-dir", str(tmp_path / "c"), *TINY]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(plots, "spike_raster", interrupted)
        assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "interrupted" in err and len(err.splitlines()) == 1
    assert (tmp_path / "o" / "energy.png").exists() and not (tmp_path / "o" / "report.json").exists()
    assert cli.main(argv) == 0
    assert json.loads((tmp_path / "o" / "report.json").read_text())["accuracy"]["exported"] == 0.25


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    def broken(path):
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "report.json", broken)
    assert list(tmp_path.iterdir()) == []


def test_sweep_runs_every_cell_then_skips_finished_ones(cache, tmp_path, capsys):
    argv = ["sweep", "--profiles", "loihi,truenorth", "--methods", "spikefit,kmeans,magnitude",
            "--out", str(tmp_path), "--cache-dir", str(cache), "--workers", "2", *TINY]
    assert cli.main(argv) == 0
    cells = sorted((tmp_path / "cells").glob("*/report.json"))
    assert len(cells) == 6
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert {(c["profile"], c["method"]) for c in summary["cells"]} == {
        (p, m) for p in ("loihi", "truenorth") for m in ("spikefit", "kmeans", "magnitude")}
    assert "## Fit matrix" in (tmp_path / "sweep.md").read_text()
    assert_drawn(tmp_path / "pareto.png")
    stamps = {c: c.stat().st_mtime_ns for c in cells}
    assert cli.main(argv) == 0
    assert {c: c.stat().st_mtime_ns for c in cells} == stamps


def test_sweep_rejects_an_unknown_method_before_any_work(tmp_path, capsys):
    argv = ["sweep", "--profiles", "loihi", "--methods", "spikefit,bogus", "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "cells").exists()


def key_paths(report: dict) -> set[str]:
    """Every key of report.json to two levels (``fit.dt_s``), leaving out the free-form maps whose keys
    are names of the run (layers, resources, limits), which the doc describes as a whole."""
    free_form = {"spec", "budget", "per_inference_by_layer", "resources", "budget_met", "static_model",
                 "neurobench", "distinct_per_layer", "options", "per_inference_j"}
    paths = set()
    for key, value in report.items():
        paths.add(key)
        if isinstance(value, dict) and key not in free_form:
            paths |= {f"{key}.{sub}" for sub in value}
    return paths


def test_docs_report_md_names_every_key_the_run_writes(loihi_run):
    """docs/report.md is the report's schema for users: a key the run writes and the doc does not name is a
    doc gone stale. A key counts as named when `key` or, for a section, `section.key` or the key inside a
    list of the section's row appears in backticks."""
    import pathlib
    import re

    _, out = loihi_run
    report = json.loads((out / "report.json").read_text())
    doc = (pathlib.Path(__file__).parents[1] / "docs" / "report.md").read_text()
    named = set(re.findall(r"`([A-Za-z_.:<>\[\]]+)`", doc))
    rows = {line.split("|")[1]: line for line in doc.splitlines() if line.startswith("| `")}
    def is_named(path: str) -> bool:
        if any(n == path or n.startswith((f"{path}.", f"{path}[]")) for n in named):
            return True
        section, _, key = path.partition(".")
        return bool(key) and any(f"`{section}" in head and f"`{key}`" in line for head, line in rows.items())

    assert [path for path in sorted(key_paths(report)) if not is_named(path)] == []
