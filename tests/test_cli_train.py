"""`harness train` through the CLI: outputs, resume, and one-line errors for bad input."""

import json

from harness.cli import main


def independent_accuracy(checkpoint, steps, seed=0):
    """Test accuracy of a saved model, counted here: the same rate-coded test spikes as evaluate() (its seed
    stream, batches of 256), the forward pass, argmax of the output spike counts against the labels."""
    import torch

    from compress.data import load_dataset
    from compress.encoding import encode
    from compress.train import EVAL_SEED_OFFSET, load_model

    model = load_model(checkpoint).eval()
    data = load_dataset("digits", None, seed)
    x, y = torch.as_tensor(data.x_test), torch.as_tensor(data.y_test)
    generator = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), 256):
            out = model(encode(x[start:start + 256], steps, "rate", generator))  # [T, B, classes]
            correct += int((out.sum(0).argmax(1) == y[start:start + 256]).sum())
    return correct / len(x)


def test_train_writes_checkpoint_nir_and_metrics_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", "digits", "--out", str(out), "--epochs", "1", "--steps", "2",
            "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "model.pt").is_file() and (out / "model.nir").is_file()
    assert metrics["accuracy"] == independent_accuracy(out / "model.pt", steps=2)
    assert metrics["epochs_run_now"] == 1
    assert set(metrics["spikes_per_layer"]) == {"lif1", "lif2"} and metrics["synops_per_sample"] > 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(args) == 0  # the checkpoint is complete: nothing more to train
    again = json.loads((out / "metrics.json").read_text())
    assert again["epochs_run_now"] == 0 and again["accuracy"] == metrics["accuracy"]


def test_unknown_dataset_exits_2_with_one_line(tmp_path, capsys):
    assert main(["train", "--dataset", "imagenet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown dataset 'imagenet'" in err and "digits" in err and "\n" not in err


def test_unknown_model_exits_2(tmp_path):
    assert main(["train", "--dataset", "digits", "--model", "rnn", "--out", str(tmp_path)]) == 2


def test_mnist_with_missing_folder_exits_2_naming_it(tmp_path, capsys):
    folder = tmp_path / "no-such-mnist"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(folder) in err and "train-images-idx3-ubyte" in err and "\n" not in err


def test_negative_epochs_exit_2(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--epochs", "-1", "--out", str(tmp_path)]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_checkpoint_from_other_settings_exits_2(tmp_path, capsys):
    base = ["train", "--dataset", "digits", "--out", str(tmp_path), "--epochs", "1", "--no-progress"]
    assert main([*base, "--steps", "2"]) == 0
    assert main([*base, "--steps", "3"]) == 2
    assert "other settings" in capsys.readouterr().err
