"""compress.train: determinism, exact resume from a checkpoint, hooks, NeuroBench synops, and the digits
accuracy of the default configuration."""

import dataclasses

import pytest
import torch
from torch import nn

from compress.data import load_dataset
from compress.models import ModelConfig, build_model
from compress.train import (
    CheckpointError,
    TrainConfig,
    dense_synops,
    effective_synops,
    evaluate,
    fit,
    load_model,
    seed_everything,
)

SMALL = TrainConfig(epochs=2, batch_size=32, steps=4, seed=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def small_model(seed=0):
    seed_everything(seed)
    return build_model(ModelConfig(hidden=(16,)), (1, 8, 8), 10)


def squared_norm(model):
    return sum((p ** 2).sum() for p in model.parameters())


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


def test_training_is_deterministic_for_a_seed(digits):
    data = digits.subset(96, 32)
    a, b = small_model(), small_model()
    fit(a, data, SMALL, progress=False)
    fit(b, data, SMALL, progress=False)
    assert all(torch.equal(x, y) for x, y in zip(weights(a), weights(b), strict=True))


def test_resumed_run_equals_an_uninterrupted_one(digits, tmp_path):
    data = digits.subset(96, 32)
    whole = small_model()
    fit(whole, data, SMALL, progress=False)
    part = small_model()
    fit(part, data, dataclasses.replace(SMALL, epochs=1), checkpoint_path=tmp_path / "c.pt", progress=False)
    resumed = small_model()
    history = fit(resumed, data, SMALL, checkpoint_path=tmp_path / "c.pt", progress=False)
    assert history.resumed_from_epoch == 1 and len(history.epochs) == 2
    assert all(torch.equal(x, y) for x, y in zip(weights(whole), weights(resumed), strict=True))
    assert all(torch.equal(x, y) for x, y in zip(weights(whole), weights(load_model(tmp_path / "c.pt")),
                                                 strict=True))


def test_checkpoint_from_other_settings_is_refused(digits, tmp_path):
    data = digits.subset(32, 8)
    fit(small_model(), data, dataclasses.replace(SMALL, epochs=1), checkpoint_path=tmp_path / "c.pt",
        progress=False)
    with pytest.raises(CheckpointError, match="other settings"):
        fit(small_model(), data, dataclasses.replace(SMALL, lr=0.1), checkpoint_path=tmp_path / "c.pt",
            progress=False)


def test_checkpoint_with_more_epochs_than_asked_is_refused(digits, tmp_path):
    data = digits.subset(32, 8)
    fit(small_model(), data, SMALL, checkpoint_path=tmp_path / "c.pt", progress=False)
    with pytest.raises(CheckpointError, match="already trained 2 epochs"):
        fit(small_model(), data, dataclasses.replace(SMALL, epochs=1), checkpoint_path=tmp_path / "c.pt",
            progress=False)


def test_on_step_runs_after_every_optimizer_step(digits):
    steps = []
    fit(small_model(), digits.subset(70, 8), SMALL, on_step=lambda m, s: steps.append(s), progress=False)
    assert steps == list(range(1, 7))  # ceil(70 / 32) = 3 batches x 2 epochs


def test_extra_loss_enters_the_gradient(digits):
    cfg = TrainConfig(epochs=2, steps=2, device="cpu", optimizer="sgd", schedule="none", lr=0.01)
    plain, penalized = small_model(), small_model()
    fit(plain, digits.subset(64, 8), cfg, progress=False)
    fit(penalized, digits.subset(64, 8), cfg, extra_loss=lambda m: 10 * squared_norm(m), progress=False)
    assert squared_norm(penalized).item() < 0.5 * squared_norm(plain).item()


def test_params_restricts_what_the_optimizer_trains(digits):
    model = small_model()
    frozen = model.layers["fc2"].weight.detach().clone()
    fit(model, digits.subset(64, 8), SMALL, params=[model.layers["fc1"].weight], progress=False)
    assert torch.equal(model.layers["fc2"].weight, frozen)


def test_effective_synops_count_nonzero_inputs_times_nonzero_fan_out():
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, -3.0]]))
    inputs = torch.tensor([[[1.0, 1.0, 1.0]], [[1.0, 0.0, 0.0]]])  # [T=2, B=1, 3]
    # step 1: input 0 -> 1 synapse, input 1 -> 0, input 2 -> 2; step 2: input 0 -> 1
    assert effective_synops(layer, inputs) == 4.0


def test_dense_synops_of_a_padded_conv_counts_in_bounds_taps():
    layer = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    # per axis the 3 taps land inside 2, 3, 2 times over 3 output positions: 7 x 7 per step
    assert dense_synops(layer, (1, 3, 3), steps=2) == 98.0
    assert dense_synops(nn.Linear(3, 2), (3,), steps=2) == 12.0


def test_evaluate_reports_ac_synops_for_rate_input_and_mac_for_direct(digits):
    model = small_model()
    data = digits.subset(8, 20)
    rate = evaluate(model, data, SMALL)
    direct = evaluate(model, data, dataclasses.replace(SMALL, encoding="direct"))
    assert rate.op_kind_per_layer["fc1"] == "AC" and direct.op_kind_per_layer["fc1"] == "MAC"
    assert rate.dense_synops_per_sample == 4 * (64 * 16 + 16 * 10)
    assert 0 < rate.synops_per_sample < rate.dense_synops_per_sample
    assert rate.synops_per_sample == pytest.approx(sum(rate.synops_per_layer.values()))
    assert rate.n_samples == 20 and set(rate.spikes_per_layer) == {"lif1", "lif2"}


def test_evaluate_is_reproducible(digits):
    model = small_model()
    assert evaluate(model, digits.subset(8, 40), SMALL) == evaluate(model, digits.subset(8, 40), SMALL)


def test_default_config_reaches_95_percent_on_digits(digits):
    seed_everything(0)
    model = build_model(ModelConfig(), digits.input_shape, digits.n_classes)
    cfg = TrainConfig(device="cpu")
    fit(model, digits, cfg, progress=False)
    assert evaluate(model, digits, cfg).accuracy >= 0.95


def test_progress_shown_quiets_every_fit_not_told_otherwise(digits, capsys):
    """run_method wraps a method's compress() in progress_shown(progress): the method's own training loops
    (which pass progress=None) follow it; an explicit progress= still wins."""
    from compress.train import progress_shown

    data = digits.subset(16, 4)
    one = dataclasses.replace(SMALL, epochs=1)
    with progress_shown(False):
        fit(small_model(), data, one, label="quiet-fit")
    assert "quiet-fit" not in capsys.readouterr().out
    with progress_shown(False):
        fit(small_model(), data, one, label="told-to-show", progress=True)
    assert "told-to-show" in capsys.readouterr().out
    fit(small_model(), data, one, label="shown-by-default")
    assert "shown-by-default" in capsys.readouterr().out
