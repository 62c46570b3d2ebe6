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


def run_handmade(tmp_path_factory, figures=None, calls=None, spec=None, graph=None, metrics=None, **kw):
    """harness.run.run on the hand-made model and spikes; ``figures``: a list that collects the plots'
    figures (kept open, not saved); ``calls``: a list that collects the arguments compressed_model and
    chip_inputs were called with; ``kw`` goes to run()."""
    from harness import plots

    calls = [] if calls is None else calls
    metrics = stub_metrics(STEPS) if metrics is None else metrics
    folder = tmp_path_factory.mktemp("model")
    nir.write(str(folder / "model.nir"), tiny_graph() if graph is None else graph)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "compressed_model", lambda spec, budget, cache, progress=True: calls.append(
            ("compressed_model", spec, budget, cache, progress)) or (folder, metrics))
        mp.setattr(runs, "chip_inputs", lambda spec, steps: calls.append(("chip_inputs", spec, steps))
                   or (spikes(), np.array(LABELS)))
        if figures is not None:
            mp.setattr(plots, "_save", lambda fig, path: figures.append(fig) or path)
        out = tmp_path_factory.mktemp("run")
        spec = runs.RunSpec(profile="loihi", method="spikefit") if spec is None else spec
        if "compress_with" in kw:
            kw["compress_with"] = kw["compress_with"](folder, metrics)
        rep = runs.run(spec, out, cache=folder, progress=False, **kw)
    return rep, out


@pytest.fixture  # function scope, so mutmut links harness.run.run to every test that reads the report
def report(tmp_path_factory):
    return run_handmade(tmp_path_factory)


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
    # each of the 20 input spikes on pixels 0-9 drives its neuron over threshold once (weight 1 > 0.5)
    hidden = rep["spikes"]["per_inference_by_layer"]["lif"]
    assert hidden == pytest.approx(20 / 4)
    assert rep["spikes"]["per_inference"] == pytest.approx(hidden)
    energy = rep["energy"]["per_inference_j"]
    # loihi.yaml: 35.5 pJ a synaptic event; 69.3 pJ a spike out (no packet: nothing leaves the core);
    # 10 neurons x 6 steps = 60 updates a sample, 5 of them active (the one driven neuron's input steps):
    # 72.8 pJ active, 51.2 pJ idle
    assert energy["synapse"] == pytest.approx(5 * 35.5e-12)
    assert energy["spike"] == pytest.approx(5 * 69.3e-12)
    assert energy["neuron"] == pytest.approx(5 * 72.8e-12 + 55 * 51.2e-12)
    assert (energy["routing"], energy["mac"]) == (0.0, 0.0)


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
    # a resource without a limit and a *_limit entry come first: neither stops the ones after them
    usage = {"unique_weights": np.array([99, 99, 99]), "kernel_memory_limit": np.array([20, 0, 10]),
             "neurons_per_core": np.array([512, 1024, 0]), "fan_in_axons": np.array([4096, 1024, 0]),
             "kernel_memory": np.array([10, 0, 5])}
    fit = FitReport("x", True, (), 3, 128, 1, usage,
                    {"neurons_per_core": 1024, "fan_in_axons": 4096, "kernel_memory": None,
                     "unique_weights": None})
    # core 0: max(512/1024, 4096/4096, 10/20) = 1; core 1: max(1, 1024/4096, 0 (limit 0)) = 1;
    # core 2: 5/10 = 0.5; unique weights have no limit and count for nothing
    assert runs.core_utilization(fit).tolist() == [1.0, 1.0, 0.5]
    assert runs.core_utilization(FitReport("x", True, (), 0, 128, 0)).tolist() == []  # nothing placed


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


def test_the_plots_draw_the_reports_figures(tmp_path_factory):
    """Each figure read back: the energy bars are the report's components in uJ (and the dynamic total),
    the utilization tile is the busiest resource's share (10 of 1,024 neurons), the raster is sample 0's
    driven neuron (pixel 3) firing in steps 1-5 (Loihi's one-step delay behind input steps 0-4)."""
    import matplotlib.pyplot as plt

    figures = []
    rep, _ = run_handmade(tmp_path_factory, figures)
    energy, util, raster = (fig.axes[0] for fig in figures)
    parts = rep["energy"]["per_inference_j"]
    dynamic = sum(v for k, v in parts.items() if k != "static")
    assert [t.get_text() for t in energy.get_xticklabels()] == [*parts, "dynamic\ntotal"]
    bars = [b.get_height() for b in energy.patches]
    assert bars == pytest.approx([v * 1e6 for v in [*parts.values(), dynamic]])
    grid = np.ma.filled(util.images[0].get_array(), np.nan)
    assert grid.shape == (4, 8)  # loihi.yaml: 8 x 4 tiles
    assert grid[0, 0] == pytest.approx(10 / 1024) and np.isnan(grid).sum() == 31
    assert [c.get_offsets().tolist() for c in raster.collections] == [[[t, 3] for t in range(1, 6)]]
    for fig in figures:
        plt.close(fig)


def test_configs_of_an_event_dataset_feed_the_events_as_they_are():
    from compress.train import TrainConfig

    rate = TrainConfig().encoding  # what a static dataset is coded with
    events = runs.configs(runs.RunSpec("loihi", "spikefit", dataset="nmnist", steps=3, epochs=2))
    static = runs.configs(runs.RunSpec("loihi", "spikefit", dataset="digits", steps=3, epochs=2))
    assert [c.encoding for c in events[1:]] == ["events", "events"]
    assert [c.encoding for c in static[1:]] == [rate, rate] and rate != "events"
    assert [(c.steps, c.epochs) for c in events[1:]] == [(s.steps, s.epochs) for s in static[1:]]


def test_compression_key_does_not_depend_on_the_order_options_are_given_in():
    loihi = hwprofiles.load("loihi")

    def key(options):
        spec = runs.RunSpec("loihi", "spikefit", options=options)
        return runs.compression_key(spec, runs.budget_for(spec, loihi))

    assert key({"a": 1, "b": 2}) == key({"b": 2, "a": 1}) != key({"a": 2, "b": 1})


def test_compression_key_of_an_event_dataset_depends_on_how_its_events_are_binned():
    loihi = hwprofiles.load("loihi")

    def key(**events):
        spec = runs.RunSpec("loihi", "spikefit", dataset="nmnist", events=events)
        return runs.compression_key(spec, runs.budget_for(spec, loihi))

    assert key(downsample=2) == key(downsample=2) != key(downsample=4)


def test_compressed_model_of_an_event_dataset_hands_the_binned_dataset_and_data_dir(tmp_path, monkeypatch):
    import compress.pipeline

    calls = []
    monkeypatch.setattr(compress.pipeline, "run_method", lambda method, **kw: calls.append(kw) or {})
    monkeypatch.setattr(runs, "dataset_of", lambda spec: ("binned", spec.events))
    spec = runs.RunSpec("loihi", "spikefit", dataset="nmnist", data_dir="/data", events={"downsample": 2})
    runs.compressed_model(spec, runs.budget_for(spec, hwprofiles.load("loihi")), tmp_path, progress=False)
    [kw] = calls
    assert kw["dataset"] == ("binned", {"downsample": 2}) and kw["data_dir"] == "/data"


def test_nearest_budget_keeps_the_first_of_equal_needs():
    # two cores need 5 of a memory whose limit differs by core (Speck): the first core's limit is kept
    fit = FitReport("x", False, (Violation("kernel_memory", 0, 5, 4), Violation("kernel_memory", 3, 5, 2)), 4,
                    9, 1)
    assert runs.nearest_budget(fit)["resources"] == {"kernel_memory": {"need": 5, "limit": 4}}


def test_on_chip_budget_says_which_limits_the_mapping_broke():
    fit = FitReport("x", False, (Violation("neurons_per_core", 0, 1100, 1024),), 3, 128, 1)
    assert runs.on_chip_budget(fit, None) == {"map:neurons_per_core": False}
    assert runs.on_chip_budget(fit, 2) == {"map:neurons_per_core": False, "map:cores": False}  # 3 > 2
    assert runs.on_chip_budget(fit, 3) == {"map:neurons_per_core": False, "map:cores": True}
    # more cores than the chips join: a cores violation, whatever the budget of cores
    past = FitReport("x", False, (Violation("cores", None, 200, 128),), 200, 128, 2)
    assert runs.on_chip_budget(past, 500) == {"map:cores": False}
    assert runs.on_chip_budget(FitReport("x", True, (), 1, 128, 1), 1) == {"map:cores": True}


def test_run_hands_the_spec_its_budget_and_cache_to_each_step(tmp_path_factory):
    calls = []
    spec = runs.RunSpec(profile="loihi", method="spikefit", strategy="hops", cores=1)
    rep, _ = run_handmade(tmp_path_factory, calls=calls, spec=spec)
    budget = runs.budget_for(spec, hwprofiles.load("loihi"))
    [(name, got_spec, got_budget, cache, progress), inputs] = calls
    assert (name, got_spec, got_budget, progress) == ("compressed_model", spec, budget, False)
    assert str(cache) == rep["compression"]["cached_in"]  # the folder given as cache holds the model
    assert inputs == ("chip_inputs", spec, STEPS)  # the spikes of the model's own T
    assert rep["fit"]["strategy"] == "hops"
    assert rep["compression"]["budget_met"] == {"map:cores": True}  # one core of the one allowed
    assert 0 <= rep["timing_s"]["compress"] <= rep["timing_s"]["total"] < 600


def test_run_with_a_users_compression_and_extra_report_fields(tmp_path_factory):
    """compress_with replaces the compression and gets the budget; extra merges into the report's dicts
    (and adds new keys); the method's own accuracy is reported."""
    budgets = []

    def compress_with(folder, metrics):
        return lambda budget: budgets.append(budget) or (folder, metrics | {"accuracy_method": 0.125})

    calls = []
    rep, _ = run_handmade(tmp_path_factory, calls=calls, compress_with=compress_with,
                          extra={"accuracy": {"float_check": "same"}, "input": {"encoding": "events"}})
    assert budgets == [runs.budget_for(runs.RunSpec("loihi", "spikefit"), hwprofiles.load("loihi"))]
    assert [c[0] for c in calls] == ["chip_inputs"]  # no compression of chipfit's own model
    assert rep["accuracy"]["float_check"] == "same" and rep["accuracy"]["on_chip"] == pytest.approx(3 / 4)
    assert rep["input"] == {"encoding": "events"}
    assert rep["compression"]["accuracy_method"] == 0.125


def two_layer_graph() -> nir.NIRGraph:
    """The hand-made model with a second layer: lif1 neuron k drives lif2 neuron k (weight 1)."""
    g = tiny_graph()
    nodes = dict(g.nodes)
    nodes["fc2"] = nir.Affine(np.eye(10), np.zeros(10))
    nodes["lif2"] = nir.IF(r=np.ones(10), v_threshold=np.full(10, 0.5e-3))
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def test_packets_hops_and_the_budget_of_a_run_that_does_not_fit(tmp_path_factory, monkeypatch):
    # Loihi with 10 neurons a core and one core a tile: lif on core 0 (tile (0, 0)), lif2 on core 1 (tile
    # (1, 0)). lif fires once per input spike on pixels 0-9 (20 / 4 a sample), each spike one packet to
    # core 1, one east-west hop. At most 5 output neurons: 10 do not fit.
    loihi = hwprofiles.load("loihi")
    small = dataclasses.replace(loihi, mesh=dataclasses.replace(loihi.mesh, cores_per_tile=1),
                                core=dataclasses.replace(loihi.core, neurons=10, max_output_neurons=5))
    monkeypatch.setattr(hwprofiles, "load", lambda name: small)
    rep, _ = run_handmade(tmp_path_factory, graph=two_layer_graph())
    assert rep["accuracy"]["pipeline_steps"] == 2
    assert rep["spikes"]["per_inference_by_layer"]["lif"] == pytest.approx(20 / 4)
    assert rep["synops"]["packets_per_inference"] == pytest.approx(20 / 4)
    assert rep["synops"]["hops_per_inference"] == pytest.approx(20 / 4)
    assert rep["energy"]["per_inference_j"]["routing"] == pytest.approx(20 / 4 * 3.0e-12)  # E-W hops
    assert rep["fit"]["fits"] is False
    assert rep["fit"]["nearest_budget"] == {"resources": {"output_neurons": {"need": 10, "limit": 5}},
                                            "cores_needed": 2, "chips_needed": 1}


def test_chip_inputs_of_an_event_dataset_are_its_frames_step_major(tmp_path):
    """N-MNIST files written in their format (tests/event_files.py): the chip gets the binned frames as
    they are, [T, samples, 2 x 34 x 34 / downsample^2], in the dataset's test order."""
    from event_files import write_nmnist

    from compress.data import load_dataset
    from compress.datasets import EventOptions

    write_nmnist(tmp_path)
    spec = runs.RunSpec("loihi", "spikefit", dataset="nmnist", data_dir=str(tmp_path), steps=3, samples=4,
                        events={"downsample": 2}, seed=1)
    x, y = runs.chip_inputs(spec, 99)  # event frames: their own T, not the steps asked for
    data = load_dataset("nmnist", str(tmp_path), 1, events=EventOptions(steps=3, downsample=2))
    frames = np.asarray(data.x_test[:4])  # [samples, T, 2, 17, 17]
    assert x.shape == (3, 4, 2 * 17 * 17) and x.dtype == np.uint8
    for t in range(3):
        assert np.array_equal(x[t], frames[:, t].reshape(4, -1))
    assert y.tolist() == np.asarray(data.y_test[:4]).tolist()
    assert x.sum() > 0
    with pytest.raises(runs.RunError) as error:
        runs.dataset_of(dataclasses.replace(spec, events={"bin_by": "colour"}))
    assert str(error.value).startswith("event options {'bin_by': 'colour'}: ") and error.value.exit_code == 2


def test_budget_for_keeps_the_cores_the_spec_allows():
    loihi = hwprofiles.load("loihi")
    assert runs.budget_for(runs.RunSpec("loihi", "spikefit", cores=3), loihi).cores == 3
    assert runs.budget_for(runs.RunSpec("loihi", "spikefit"), loihi).cores is None


def test_core_utilization_of_a_limit_of_one_and_of_a_core_without_memory():
    # one layer on a core of Speck's one-layer limit is full; a core past the memory list (limit 0) is not
    fit = FitReport("x", True, (), 2, 9, 1, {"layers_per_core": np.array([1, 0])}, {"layers_per_core": 1})
    assert runs.core_utilization(fit).tolist() == [1.0, 0.0]
    usage = {"kernel_memory": np.array([3, 0]), "kernel_memory_limit": np.array([4, 0])}
    assert runs.core_utilization(FitReport("x", True, (), 2, 9, 1, usage, {})).tolist() == [0.75, 0.0]
