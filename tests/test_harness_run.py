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


@pytest.fixture(scope="module")
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
    # synaptic events: only the 20 spikes on pixels 0-9 reach a synapse, and on loihi (synapse_delay_steps
    # 1) the 4 sent in the last step would be integrated in step T + 1, after the run: 16 events
    assert rep["synops"]["per_inference_on_chip"] == pytest.approx((20 - 4) / 4)
    assert rep["synops"]["per_inference_torch"] == 7.0
    # every on-chip neuron sits on one core; IF neurons send nothing on (output layer: no targets)
    assert rep["synops"]["packets_per_inference"] == 0.0
    assert rep["synops"]["hops_per_inference"] == 0.0
    # loihi.yaml: 35.5 pJ a synaptic event
    assert rep["energy"]["per_inference_j"]["synapse"] == pytest.approx(16 * 35.5e-12 / 4)
    hidden = rep["spikes"]["per_inference_by_layer"]["lif"]
    assert rep["spikes"]["per_inference"] == pytest.approx(hidden)
    assert 3 * STEPS / 4 <= hidden <= 20 / 4  # at most one spike per input spike; a synaptic delay may lose
    # the last step's


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
