"""Criticality: each code path's metric; the structured variant prunes by channels up to the target."""

import pytest
import torch

from compress import methods
from compress.data import load_dataset
from compress.method import Budget
from compress.methods.criticality import smoothed_spike
from compress.models import ModelConfig, build_model
from compress.pruning import clone_model
from compress.train import TrainConfig, fit, seed_everything

TRAIN = TrainConfig(epochs=2, batch_size=32, steps=4, seed=0, device="cpu")


def test_smoothed_spike_is_zero_at_rest_one_half_at_threshold_and_one_at_twice_it():
    g = smoothed_spike(torch.tensor([0.0, 2.0, 4.0]), threshold=2.0)  # x = u / 2 V_th = 0, 1/2, 1
    assert g.tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_structured_channels_do_the_pruning_not_the_magnitude_fill():
    data = load_dataset("digits", seed=0).subset(192, 48)
    seed_everything(0)
    model = build_model(ModelConfig(hidden=(32,)), data.input_shape, data.n_classes)
    fit(model, data, TRAIN, progress=False)
    result = methods.get("criticality-struct", progress=False).compress(clone_model(model), data,
                                                                        Budget(sparsity=0.8), TRAIN)
    # one hidden channel holds 64 + 10 of the 2368 weights (3.1%): channels reach within one of the target
    assert 0.8 - 74 / 2368 <= result.extra["channel_sparsity"] <= 0.8
    assert result.extra["channels_kept"]["fc1"] == 32 - 25  # 25 channels pruned: 25 * 74 / 2368 = 0.78
