"""`harness run` and `harness sweep` through the CLI: reports, caching, resumption and every error path.

Training budgets are tiny (1 dense epoch, 1 method epoch, 4 steps, 24 test samples) so the suite stays fast;
what is checked is the plumbing and the report, not the accuracy.
"""

import json

import pytest

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
    assert report["energy"]["total_j"] == pytest.approx(sum(report["energy"]["per_inference_j"].values()))
    energy = report["energy"]
    assert energy["total_j"] == pytest.approx(energy["dynamic_j"] + energy["static_j"])
    assert energy["static_model"]["chips_powered"] == report["fit"]["chips_needed"]
    # two projections of Loihi's one-step delay: the run simulates 4 + 2 steps
    assert (report["accuracy"]["pipeline_steps"], report["accuracy"]["steps_on_chip"]) == (2, 6)
    rows = report["counters"]["per_population"]
    assert [r["population"] for r in rows] == list(report["spikes"]["per_inference_by_layer"])
    assert sum(r["synops"] for r in rows) == pytest.approx(report["synops"]["per_inference_on_chip"])


def test_run_writes_markdown_and_png_plots(loihi_run):
    _, out = loihi_run
    text = (out / "report.md").read_text()
    assert "accuracy: float / exported / on chip" in text
    for name in ("energy.png", "utilization.png", "raster.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
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


def test_interrupted_run_is_one_line_exit_2_and_leaves_no_report(monkeypatch, capsys, tmp_path):
    import harness.run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.run, "run", interrupted)
    assert cli.main(["run", "--profile", "loihi", "--method", "spikefit", "--out", str(tmp_path)]) == 2
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "report.json").exists()


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
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    stamps = {c: c.stat().st_mtime_ns for c in cells}
    assert cli.main(argv) == 0
    assert {c: c.stat().st_mtime_ns for c in cells} == stamps


def test_sweep_rejects_an_unknown_method_before_any_work(tmp_path, capsys):
    argv = ["sweep", "--profiles", "loihi", "--methods", "spikefit,bogus", "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "cells").exists()
