"""`harness run --nir`: a model trained in snnTorch or sinabs, compressed by chipfit to fit a chip (#17)."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest
import torch

from harness import user_model
from harness.cli import main

DIGITS = Path(__file__).parent / "data" / "interop" / "digits"
FIXTURES = [f"{framework}/{model}" for framework in ("snntorch", "sinabs") for model in ("mlp", "cnn")]


@pytest.mark.parametrize("name", FIXTURES)
def test_imported_model_runs_as_the_framework_did(name):
    """The trainable model's output spikes, step by step, are the framework's own run of the fixture."""
    _, model = user_model.load(DIGITS / f"{name}.nir", quiet=True)
    recorded = np.load(DIGITS / f"{name}.npz")
    x = torch.as_tensor(recorded["input"])[:, None]  # [T, batch 1, *shape]
    with torch.no_grad():
        out = model(x)[:, 0].numpy()
    assert recorded["output"].sum() > 0
    np.testing.assert_array_equal(out, recorded["output"])


@pytest.mark.parametrize("name", FIXTURES)
def test_float_accuracy_equals_the_graphs_own_simulation(name):
    """On digits' rate-coded test inputs, the torch model and chipsim's float reference agree per sample."""
    from harness.run import RunSpec, chip_inputs

    imported, model = user_model.load(DIGITS / f"{name}.nir", input_shape=(1, 8, 8), quiet=True)
    spikes, labels = chip_inputs(RunSpec(profile="loihi", method="spikefit", samples=60), 16)
    check = user_model.float_check(imported, model, spikes, labels)
    assert check["output_counts_max_difference"] == 0.0
    assert check["model"] == check["graph_float_reference"]
    assert check["samples"] == 60


def assert_priced_counts(report):
    """The chip spiked, and priced what it counted (loihi.yaml): 24.0 (conv) to 35.5 pJ (dense) a synaptic
    event by its encoding; 69.3 pJ a spike out and 111 pJ a packet out (where the report counts packets:
    --dataset none's does not)."""
    energy, synops = report["energy"]["per_inference_j"], report["synops"]
    assert report["spikes"]["per_inference"] > 0 and synops["per_inference_on_chip"] > 0
    if "packets_per_inference" in synops:
        assert energy["spike"] == pytest.approx(report["spikes"]["per_inference"] * 69.3e-12
                                                + synops["packets_per_inference"] * 111.0e-12)
    else:
        assert energy["spike"] >= report["spikes"]["per_inference"] * 69.3e-12 * (1 - 1e-9)
    assert (24.0e-12 * synops["per_inference_on_chip"] * (1 - 1e-9) <= energy["synapse"]
            <= 35.5e-12 * synops["per_inference_on_chip"] * (1 + 1e-9))


@pytest.mark.parametrize("name", FIXTURES)
def test_run_nir_spikefit_on_loihi_end_to_end(name, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", "--nir", str(DIGITS / f"{name}.nir"), "--dataset", "digits", "--method", "spikefit",
               "--profile", "loihi", "--epochs", "1", "--samples", "20", "--out", str(out),
               "--cache-dir", str(tmp_path / "cache")])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    acc = report["accuracy"]
    assert acc["float"] == acc["float_check"]["graph_float_reference"]
    assert acc["float_check"]["output_counts_max_difference"] == 0.0
    assert report["input"]["encoding"] == "rate" and report["input"]["steps"] == 16
    assert report["compression"]["method"] == "spikefit"
    assert_priced_counts(report)
    assert f"read as {name.split('/')[0]}" in capsys.readouterr().out


def test_dataset_none_post_training_reports_fit_spikes_energy(tmp_path, capsys):
    out = tmp_path / "none"
    rc = main(["run", "--nir", str(DIGITS / "snntorch/mlp.nir"), "--dataset", "none", "--method", "ptq",
               "--profile", "loihi", "--input", str(DIGITS / "snntorch/mlp.npz"), "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"]["on_chip"] is None and "unknown" in report["accuracy"]
    # snntorch's Leaky resets by subtraction; Loihi resets to zero: that, not the cores, is what does not fit
    fit = report["fit"]
    assert fit["fits"] is False and fit["cores_used"] == 1
    assert [(v["constraint"], v["population"]) for v in fit["violations"]] == [("reset_mode", "lif1"),
                                                                                ("reset_mode", "lif2")]
    assert_priced_counts(report)
    assert report["input"]["steps"] == 20
    # loihi's one-step synaptic delay per projection: 2 projections, so 20 + 2 steps simulated (as `run`)
    acc = report["accuracy"]
    assert (acc["pipeline_steps"], acc["steps_on_chip"]) == (2, 22)
    assert any("2 steps behind" in n for n in report["notes"])
    # the same report as a run with data: counters per population, dynamic and static energy, model size
    rows = {r["population"]: r for r in report["counters"]["per_population"]}
    assert list(rows) == ["input", "lif1", "lif2"]
    for row in (rows["lif1"], rows["lif2"]):  # every neuron is updated in each of the 22 steps
        assert row["neuron_updates_active"] + row["neuron_updates_idle"] == row["neurons"] * 22
    assert report["energy"]["static_model"]["chips_powered"] == 1
    assert report["model"]["weight_bits"] == 8 and report["model"]["parameters"] > 0
    assert (out / "report.md").is_file() and "unknown / unknown / unknown" in (out / "report.md").read_text()
    assert "unknown" in capsys.readouterr().out


def test_dataset_none_refuses_a_training_method(tmp_path, capsys):
    rc = main(["run", "--nir", str(DIGITS / "snntorch/mlp.nir"), "--dataset", "none", "--method", "spikefit",
               "--profile", "loihi", "--input", str(DIGITS / "snntorch/mlp.npz"), "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "post-training method" in err[0]


def _graph_with_li(path: Path) -> None:
    """Input 4 -> Affine -> LI (a non-spiking leaky integrator, which compress does not train) -> Output."""
    rng = np.random.default_rng(0)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Affine(weight=rng.normal(size=(3, 4)).astype(np.float32), bias=np.zeros(3, np.float32)),
        "readout": nir.LI(tau=np.full(3, 1e-2), r=np.ones(3), v_leak=np.zeros(3)),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "readout"), ("readout", "output")],
                         metadata={"dt_s": 1e-3})
    nir.write(str(path), graph)


def test_a_node_compress_cannot_train_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "li.nir"
    _graph_with_li(path)
    spikes = tmp_path / "in.npz"
    np.savez(spikes, input=np.ones((5, 4), np.float32))
    rc = main(["run", "--nir", str(path), "--dataset", "none", "--method", "ptq", "--profile", "loihi",
               "--input", str(spikes), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "node 'readout' (LI)" in err[0] and "cannot train" in err[0]
