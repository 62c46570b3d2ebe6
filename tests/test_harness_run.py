"""harness.run without training: a hand-made compressed model (tests/handmade.py) and hand-made input
spikes, so every figure of report.json can be counted by hand and the three accuracies told apart.

The stub metrics give the float and the exported accuracy as 0.5 and 0.25, values the chip cannot produce
here, so a report that copies one of them into ``on_chip`` fails.
"""

import dataclasses
import json

import nir
import numpy as np
import pytest
from handmade import metrics as stub_metrics
from handmade import tiny_graph

import hwprofiles
from chipsim.fit import FitReport, Violation
from harness import run as runs

STEPS, SAMPLES = 5, 4
PREDICTED = [3, 1, 4, 1]  # the pixel that spikes in every step of each sample
LABELS = [3, 1, 4, 9]  # sample 3 is wrong: on-chip accuracy 3 / 4


def spikes() -> np.ndarray:
    x = np.zeros((STEPS, SAMPLES, 64), np.uint8)
    for s, pixel in enumerate(PREDICTED):
        x[:, s, pixel] = 1
    x[0, 0, 40] = 1  # a spike on a pixel no neuron reads: an input spike, no synaptic event
    return x


@pytest.fixture  # function scope, so mutmut links harness.run.run to every test that reads the report
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    nir.write(str(folder / "model.nir"), tiny_graph())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "compressed_model",
                   lambda spec, budget, cache, progress=True: (folder, stub_metrics(STEPS)))
        mp.setattr(runs, "chip_inputs", lambda spec, steps: (spikes(), np.array(LABELS)))
        out = tmp_path_factory.mktemp("run")
        rep = runs.run(runs.RunSpec(profile="loihi", method="spikefit"), out, cache=folder, progress=False)
    return rep, out


def test_the_three_accuracies_are_told_apart(report):
    rep, _ = report
    acc = rep["accuracy"]
    assert acc["float"] == 0.5 and acc["exported"] == 0.25  # what the compression step measured
    assert acc["on_chip"] == pytest.approx(3 / 4)  # counted by hand from PREDICTED and LABELS
    assert (acc["samples"], acc["steps"]) == (SAMPLES, STEPS)


def test_report_json_is_the_returned_report(report):
    rep, out = report
    written = json.loads((out / "report.json").read_text())
    assert written["accuracy"] == rep["accuracy"]
    assert written["energy"] == rep["energy"]


def test_counts_in_the_report_by_hand(report):
    rep, _ = report
    # input spikes: 5 per sample on the predicted pixel, plus one stray spike in sample 0: 21 / 4
    assert rep["spikes"]["per_inference_by_layer"]["input"] == pytest.approx(21 / 4)
    # synaptic events: only the 20 spikes on pixels 0-9 reach a synapse; on loihi (synapse_delay_steps 1)
    # the 4 sent in the last step are integrated in step T + 1, which the run simulates (T + pipeline_steps)
    assert rep["accuracy"]["pipeline_steps"] == 1
    assert rep["synops"]["per_inference_on_chip"] == pytest.approx(20 / 4)
    assert rep["synops"]["per_inference_torch"] == 7.0
    # every on-chip neuron sits on one core; IF neurons send nothing on (output layer: no targets)
    assert rep["synops"]["packets_per_inference"] == 0.0
    assert rep["synops"]["hops_per_inference"] == 0.0
    # loihi.yaml: 35.5 pJ a synaptic event
    assert rep["energy"]["per_inference_j"]["synapse"] == pytest.approx(20 * 35.5e-12 / 4)
    hidden = rep["spikes"]["per_inference_by_layer"]["lif"]
    assert rep["spikes"]["per_inference"] == pytest.approx(hidden)
    assert 3 * STEPS / 4 <= hidden <= 20 / 4  # at most one spike per input spike


def test_model_section_is_the_metrics_and_the_budget(report):
    rep, _ = report
    model = rep["model"]
    assert (model["parameters"], model["nonzero"], model["neurons_used"]) == (640, 10, 10)
    assert model["weight_bits"] == 8  # loihi.yaml weight_bits
    assert model["weight_storage_bits"] == 10 * 8
    assert model["distinct_per_layer"] == {"fc": 2}
    assert rep["fit"]["fits"] is True and rep["fit"]["nearest_budget"] is None


def test_model_size_without_weight_bits_counts_32_bit_floats():
    budget = dataclasses.replace(runs.budget_for(runs.RunSpec("loihi", "spikefit"), hwprofiles.load("loihi")),
                                 weight_bits=None)
    assert runs.model_size(stub_metrics(STEPS), budget)["weight_storage_bits"] == 10 * 32


def test_nearest_budget_keeps_the_largest_need_per_resource():
    fit = FitReport("x", False, (Violation("neurons_per_core", 0, 1100, 1024),
                                 Violation("neurons_per_core", 1, 1500, 1024),
                                 Violation("neurons_per_core", 2, 1200, 1024),
                                 Violation("fan_in_axons", 1, 5000, 4096)), 3, 128, 1)
    assert runs.nearest_budget(fit) == {
        "resources": {"neurons_per_core": {"need": 1500, "limit": 1024},
                      "fan_in_axons": {"need": 5000, "limit": 4096}},
        "cores_needed": 3, "chips_needed": 1}


def test_core_utilization_is_the_largest_use_over_limit_per_core():
    usage = {"neurons_per_core": np.array([512, 1024, 0]), "fan_in_axons": np.array([4096, 1024, 0]),
             "kernel_memory": np.array([10, 0, 5]), "kernel_memory_limit": np.array([20, 0, 10]),
             "unique_weights": np.array([99, 99, 99])}
    fit = FitReport("x", True, (), 3, 128, 1, usage,
                    {"neurons_per_core": 1024, "fan_in_axons": 4096, "kernel_memory": None,
                     "unique_weights": None})
    # core 0: max(512/1024, 4096/4096, 10/20) = 1; core 1: max(1, 1024/4096, 0 (limit 0)) = 1;
    # core 2: 5/10 = 0.5; unique weights have no limit and count for nothing
    assert runs.core_utilization(fit).tolist() == [1.0, 1.0, 0.5]


def test_budget_for_puts_the_spec_targets_over_the_profile():
    loihi = hwprofiles.load("loihi")
    plain = runs.budget_for(runs.RunSpec("loihi", "spikefit"), loihi)
    assert (plain.weight_bits, plain.unique_weights, plain.sparsity) == (8, None, None)
    tight = runs.budget_for(runs.RunSpec("loihi", "spikefit", bits=4, unique=3, sparsity=0.5), loihi)
    assert (tight.weight_bits, tight.unique_weights, tight.sparsity) == (4, 3, 0.5)


def test_compression_key_changes_with_every_input_but_not_the_profile():
    loihi = hwprofiles.load("loihi")

    def key(**kw):
        spec = runs.RunSpec(**({"profile": "loihi", "method": "spikefit"} | kw))
        return runs.compression_key(spec, runs.budget_for(spec, loihi))

    base = key()
    assert key() == base and len(base) == 16
    assert key(profile="loihi2") == base  # same budget: a shared compressed model
    others = [key(method="prune"), key(seed=1), key(bits=4), key(epochs=3), key(dense_epochs=2),
              key(steps=9),
              key(options={"a": 1}), key(dataset="mnist"), key(model="cnn")]
    assert len({base, *others}) == 1 + len(others)


def test_compression_key_follows_the_files_of_the_data_folder(tmp_path):
    """A cached compressed model is keyed by the data folder's files, not only the dataset's name."""
    loihi = hwprofiles.load("loihi")
    spec = runs.RunSpec("loihi", "spikefit", dataset="mnist", data_dir=str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"one")
    before = runs.compression_key(spec, runs.budget_for(spec, loihi))
    assert runs.compression_key(spec, runs.budget_for(spec, loihi)) == before
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"other")
    assert runs.compression_key(spec, runs.budget_for(spec, loihi)) != before


def test_chip_inputs_rate_code_the_test_set():
    spec = runs.RunSpec("loihi", "spikefit", samples=6)
    x, y = runs.chip_inputs(spec, 20)
    assert x.shape == (20, 6, 64) and x.dtype == np.uint8
    from compress.data import load_dataset

    data = load_dataset("digits", None, 0)
    assert y.tolist() == np.asarray(data.y_test[:6]).tolist()
    pixels = np.asarray(data.x_test[:6]).reshape(6, -1)
    assert not x[:, pixels == 0].any()  # a black pixel never spikes
    assert x[:, pixels == 1].all()  # a white one spikes every step
    again, _ = runs.chip_inputs(spec, 20)
    assert np.array_equal(x, again)
    other, _ = runs.chip_inputs(dataclasses.replace(spec, seed=1), 20)
    assert not np.array_equal(x, other)


def test_report_has_every_key_docs_report_md_documents(report):
    rep, _ = report
    assert set(rep) == {"schema", "version", "spec", "profile", "budget", "accuracy", "fit", "latency",
                        "spikes", "synops", "energy", "counters", "model", "quantization", "compression",
                        "notes", "timing_s", "artifacts"}
    assert (rep["schema"], rep["version"]) == ("chipfit.run_report", 1)
    assert set(rep["accuracy"]) == {"float", "exported", "on_chip", "samples", "steps", "pipeline_steps",
                                    "steps_on_chip"}
    # one projection with Loihi's one-step synaptic delay: the run goes 1 step past the 5 input steps
    assert (rep["accuracy"]["pipeline_steps"], rep["accuracy"]["steps_on_chip"]) == (1, STEPS + 1)
    assert set(rep["latency"]) == {"per_inference_s", "throughput_per_s", "per_step_s", "compute_step_s",
                                   "network_step_s", "barrier_s", "traced_samples"}
    assert set(rep["spikes"]) == {"per_inference_by_layer", "per_inference"}
    assert set(rep["synops"]) == {"per_inference_on_chip", "per_inference_torch", "packets_per_inference",
                                  "hops_per_inference"}
    assert set(rep["energy"]) == {"per_inference_j", "dynamic_j", "dynamic_known_j", "static_j",
                                  "static_model", "total_j", "total_known_j", "unknown"}
    assert set(rep["model"]) == {"parameters", "nonzero", "sparsity", "neurons_used",
                                 "distinct_per_group_max", "weight_bits", "weight_storage_bits",
                                 "distinct_per_layer"}
    assert rep["compression"] == {"method": "stub", "epochs": 0, "wall_time_s": 0.0, "accuracy_method": None,
                                  "budget_met": {},
                                  "cached_in": rep["compression"]["cached_in"]}
    assert rep["profile"]["name"] == "loihi" and rep["profile"]["fixed_point"] is True
    assert rep["profile"]["path"].endswith("loihi.yaml")
    assert rep["spec"] == runs.RunSpec(profile="loihi", method="spikefit").to_dict()
    assert rep["budget"]["weight_bits"] == 8
    assert [q["projection"] for q in rep["quantization"]] == ["input->lif"]
    assert rep["artifacts"] == {"report_md": "report.md", "figures": ["energy.png", "utilization.png",
                                                                      "raster.png"]}
    assert set(rep["timing_s"]) == {"compress", "total"}
    assert rep["timing_s"]["total"] >= rep["timing_s"]["compress"]


def test_latency_and_energy_are_the_cost_model_on_the_same_run(report):
    """The report's latency and energy sections are cost() of the same network, placement and spikes,
    each field in its place (no field swapped or dropped on the way)."""
    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate

    rep, _ = report
    loihi = hwprofiles.load("loihi")
    net = compile_graph(tiny_graph(), loihi)
    pl = place(net, loihi)
    c = cost(simulate(net, pl, spikes(), steps=STEPS + 1), pl, loihi, net)  # + the one-step delay
    lat = rep["latency"]
    assert lat["per_inference_s"] == pytest.approx(c.latency_s)
    assert lat["throughput_per_s"] == pytest.approx(c.throughput_per_s)
    assert lat["per_step_s"] == pytest.approx(c.latency_step_s.tolist())
    assert lat["compute_step_s"] == pytest.approx(c.compute_step_s.tolist())
    assert lat["network_step_s"] == pytest.approx(c.network_step_s.tolist())
    assert lat["barrier_s"] == pytest.approx(0.6e-6)  # one tile in use: loihi.yaml's [1, 0.6 us] entry
    assert lat["traced_samples"] == SAMPLES
    assert rep["energy"]["per_inference_j"] == pytest.approx(c.energy_j)
    assert rep["energy"]["total_j"] == pytest.approx(c.total_j)
    assert rep["energy"]["total_known_j"] == pytest.approx(c.total_known_j)
    assert rep["energy"]["dynamic_j"] == pytest.approx(c.dynamic_j)
    assert rep["energy"]["static_j"] == pytest.approx(c.static_j)
    # static = 0.104 W (loihi.yaml) x 1 chip x the latency; dynamic = the rest
    assert c.static_j == pytest.approx(0.104 * c.latency_s)
    assert c.dynamic_j == pytest.approx(c.total_j - c.static_j)
    assert rep["energy"]["unknown"] == []
    delay_note = ("the chip's synaptic delays put the output 1 steps behind the input: simulated 5 + 1 steps "
                  "(silence after the input) so the output sees every input step")
    assert rep["notes"] == [*c.notes, delay_note]


def test_compressed_model_uses_the_cache_and_computes_only_when_absent(tmp_path, monkeypatch):
    from handmade import cache_model

    import compress.pipeline

    spec = runs.RunSpec("loihi", "spikefit", steps=3, epochs=2, dense_epochs=1, seed=4, options={"k": 1})
    budget = runs.budget_for(spec, hwprofiles.load("loihi"))
    calls = []

    def fake_run_method(method, **kwargs):
        calls.append((method, kwargs))
        return {"fake": True}

    monkeypatch.setattr(compress.pipeline, "run_method", fake_run_method)
    folder, metrics = runs.compressed_model(spec, budget, tmp_path, progress=False)
    key = runs.compression_key(spec, budget)
    assert folder == tmp_path / "compressed" / f"spikefit-{key}"
    assert metrics == {"fake": True}
    [(method, kwargs)] = calls
    model_cfg, dense_cfg, train_cfg = runs.configs(spec)
    assert method == "spikefit"
    assert kwargs == {"dataset": "digits", "budget": budget, "model_cfg": model_cfg, "train_cfg": train_cfg,
                      "seed": 4, "out_dir": folder, "options": {"k": 1}, "dense_cfg": dense_cfg,
                      "data_dir": None, "cache_dir": tmp_path / "dense", "progress": False}
    assert (train_cfg.epochs, train_cfg.steps, dense_cfg.epochs, dense_cfg.seed) == (2, 3, 1, 4)
    # once metrics.json and model.nir are there, nothing is computed again
    assert cache_model(spec, tmp_path) == folder
    again, cached = runs.compressed_model(spec, budget, tmp_path, progress=False)
    assert again == folder and cached == stub_metrics(3) and len(calls) == 1
    (folder / "model.nir").unlink()  # half a cache entry is no entry
    runs.compressed_model(spec, budget, tmp_path, progress=False)
    assert len(calls) == 2
