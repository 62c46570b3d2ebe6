"""`harness train` and `harness run` end to end on tiny event datasets written in their published formats
(N-MNIST .bin, DVS128 Gesture AEDAT 3.1, SHD HDF5): few epochs, few steps; what is checked is that the
frames reach the model and the chip unchanged, not accuracy."""

import json

import pytest
from event_files import write_dvs_gesture, write_nmnist, write_shd

from compress.data import load_dataset
from compress.datasets import EventOptions
from harness.cli import main

CASES = {  # dataset: (writer, model, extra flags, steps)
    "nmnist": (write_nmnist, "mlp", [], 4),
    "dvs-gesture": (write_dvs_gesture, "mlp", ["--downsample", "8", "--bin-by", "count"], 3),
    "shd": (write_shd, "rlif", ["--downsample", "7"], 4),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory):
    name = request.param
    writer, model, flags, steps = CASES[name]
    root = tmp_path_factory.mktemp(name)
    data_dir = root / "data"
    data_dir.mkdir()
    writer(data_dir)
    common = ["--dataset", name, "--data-dir", str(data_dir), "--model", model, "--steps", str(steps), *flags]
    return name, root, data_dir, common, steps


def test_train_on_event_files_writes_model_and_metrics(case, capsys):
    name, root, _, common, steps = case
    out = root / "train"
    args = ["train", *common, "--epochs", "1", "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == name and metrics["train"]["encoding"] == "events"
    assert metrics["train"]["steps"] == steps and metrics["dataset_variant"].startswith(f"T{steps}-")
    assert metrics["op_kind_per_layer"]["fc1"] == "AC"  # event frames are spikes
    assert (out / "model.nir").is_file() and "test accuracy" in capsys.readouterr().out


def test_run_on_event_files_feeds_the_frames_to_the_chip(case):
    name, root, data_dir, common, steps = case
    out = root / "run"
    code = main(["run", "--profile", "loihi", "--method", "ptq", *common, "--dense-epochs", "1",
                 "--epochs", "0",
                 "--samples", "6", "--out", str(out), "--cache-dir", str(root / "cache")])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"]["samples"] == 6 and report["accuracy"]["steps"] == steps
    assert report["spec"]["dataset"] == name and report["spec"]["events"]["downsample"] >= 1
    flags = dict(zip(common[::2], common[1::2], strict=False))
    options = EventOptions(steps=steps, bin_by=flags.get("--bin-by", "time"),
                           downsample=int(flags.get("--downsample", 1)))
    frames = load_dataset(name, data_dir, events=options).x_test[:6]
    input_layer = next(iter(report["spikes"]["per_inference_by_layer"]))
    assert report["spikes"]["per_inference_by_layer"][input_layer] == pytest.approx(frames.sum() / 6)
    # the chip priced what it counted (loihi.yaml): 69.3 pJ a spike out, 111 pJ a packet out; a synaptic
    # event 24.0 (conv) to 35.5 pJ (dense) by its encoding
    energy, synops = report["energy"]["per_inference_j"], report["synops"]
    assert synops["per_inference_on_chip"] > 0
    assert energy["spike"] == pytest.approx(report["spikes"]["per_inference"] * 69.3e-12
                                            + synops["packets_per_inference"] * 111.0e-12)
    assert (24.0e-12 * synops["per_inference_on_chip"] * (1 - 1e-9) <= energy["synapse"]
            <= 35.5e-12 * synops["per_inference_on_chip"] * (1 + 1e-9))


def test_malformed_event_file_is_one_line_and_exit_2(tmp_path, capsys):
    write_nmnist(tmp_path)
    bad = tmp_path / "Test" / "7" / "00000.bin"
    bad.write_bytes(b"\x01\x02\x03")
    code = main(["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and str(bad) in err and "multiple of 5" in err


def test_event_dataset_refuses_an_encoding_flag(tmp_path, capsys):
    write_shd(tmp_path)
    code = main(["train", "--dataset", "shd", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--encoding", "rate"])
    assert code == 2 and "--encoding does not apply" in capsys.readouterr().err
