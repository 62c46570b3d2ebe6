"""Every method's output, projected onto the chip's grid, passes the mapper on the profile it was compressed
for, or the run says which limit it breaks (harness compress exits 3)."""

import dataclasses
import json

import numpy as np
import pytest

import hwprofiles
from compress import methods
from compress.budget import budget_from_profile
from compress.data import load_dataset
from compress.deploy import cap_rows, cluster_group
from compress.models import ModelConfig
from compress.pipeline import run_method
from compress.train import TrainConfig
from harness.cli import main
from harness.commands.compress import check_on_chip

TRAIN = TrainConfig(epochs=1, batch_size=32, steps=2, seed=0, device="cpu")
OPTIONS = {"patch-prune": {"patch_size": 1}}  # 4x4 inputs: one-pixel patches
QUANTIZERS = ("kmeans", "kmeans-ft", "ptq", "qat")  # methods that prune nothing: no sparsity asked of them


def small_digits(pool: bool):
    """192/48 digits; ``pool``: 2x2-summed to 4x4 = 16 inputs and classes 0-7 only (Xylo Audio 2 takes 16
    input channels and reads 8 output neurons)."""
    data = load_dataset("digits", seed=0)
    if not pool:
        return data.subset(192, 48)
    def shrink(x, y):
        keep = y < 8
        x = x[keep].reshape(-1, 1, 4, 2, 4, 2).sum((3, 5)) / 4
        return x.astype(np.float32), y[keep]
    xtr, ytr = shrink(data.x_train, data.y_train)
    xte, yte = shrink(data.x_test, data.y_test)
    return dataclasses.replace(data, name="digits4x4", x_train=xtr[:192], y_train=ytr[:192], x_test=xte[:48],
                               y_test=yte[:48], input_shape=(1, 4, 4), n_classes=8)


@pytest.mark.parametrize("profile, pool", [("truenorth", False), ("xylo-audio2", True)])
def test_every_method_passes_the_mapper_or_names_the_limit(tmp_path, profile, pool):
    data = small_digits(pool)
    chip = budget_from_profile(hwprofiles.load(profile), cores=1)
    for name in sorted(methods.available()):
        budget = chip if name in QUANTIZERS else dataclasses.replace(chip, sparsity=0.5)
        out = tmp_path / name
        options = {**OPTIONS.get(name, {}), **({"progress": False} if "progress" in
                                                methods.require(name).__init__.__code__.co_varnames else {})}
        metrics = run_method(name, dataset=data, budget=budget, model_cfg=ModelConfig(hidden=(16,)),
                             train_cfg=TRAIN, seed=0, out_dir=out, options=options,
                             cache_dir=tmp_path / "cache", progress=False)
        metrics = check_on_chip(metrics, out, profile, 1)
        met = metrics["budget_met"]
        assert metrics["map"]["fits"], (name, metrics["map"]["violations"])  # the mapper takes it
        assert all(met.values()), (name, met)
        assert "weight_bits" in met and met.get("fan_in_per_neuron", True)


def test_a_model_the_chip_cannot_take_exits_3_naming_the_limit(tmp_path, capsys):
    code = main(["compress", "--method", "ptq", "--dataset", "digits", "--profile", "xylo-audio2",
                 "--cores", "1", "--epochs", "0", "--dense-epochs", "1", "--steps", "2",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")])
    assert code == 3
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["budget_met"]["max_input_channels"] is False  # 64 pixels, the chip takes 16
    assert metrics["budget_met"]["map:input_channels"] is False
    assert "budget NOT met" in capsys.readouterr().out


def test_fan_in_cap_keeps_the_largest_magnitudes_of_each_row():
    import torch

    rows = torch.tensor([[0.125, -0.5, 0.25, 0.0], [1.0, 2.0, -3.0, 4.0]])
    assert cap_rows(rows, 2) == 1 + 2
    assert rows.tolist() == [[0.0, -0.5, 0.25, 0.0], [0.0, 0.0, -3.0, 4.0]]


def test_weight_table_clustering_keeps_zeros_and_counts_zero_as_a_value_when_not_free():
    values = np.array([0.0, 0.0, 1.0, 1.1, 5.0, 5.2, -3.0])
    stored = cluster_group(values, 3, zero_free=False, seed=0)  # zero takes one of the 3 entries
    assert (stored[:2] == 0).all() and len(np.unique(stored)) == 3
    free = cluster_group(values, 3, zero_free=True, seed=0)  # zero is 'no synapse'
    assert (free[:2] == 0).all() and len(np.unique(free[free != 0])) == 3


def test_a_group_within_its_table_is_left_as_it_is():
    values = np.array([0.0, 2.0, 2.0, -1.0])
    assert cluster_group(values, 3, zero_free=False, seed=0) is values


def test_a_conv_layers_neurons_are_channels_times_positions():
    from compress.method import Budget
    from compress.models import build_model
    from compress.pipeline import weight_stats

    model = build_model(ModelConfig(kind="cnn", conv_channels=(4,)), (1, 8, 8), 10)
    stats = weight_stats(model, Budget())
    # conv1: 4 channels x 8 x 8 positions (padding 1 keeps 8x8); fc2: 10 outputs
    assert stats["layers"]["conv1"]["neurons"] == 4 * 8 * 8
    assert stats["neurons_used"] == 4 * 64 + 10
