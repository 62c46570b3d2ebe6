"""SpikeFit: Fisher Spike Contribution scores by hand, and CAT + FSC meeting a chip's budget exactly."""

import math

import numpy as np
import pytest
import torch

from compress.codebook import as_rows, qmax
from compress.data import load_dataset
from compress.method import Budget
from compress.methods.spikefit import SpikeFit, SpikeFitError, fsc_scores
from compress.models import ModelConfig, build_model
from compress.train import COUNT_LOGIT_SCALE as C
from compress.train import TrainConfig, seed_everything

TRAIN = TrainConfig(epochs=1, batch_size=50, steps=4, seed=0, device="cpu")
FAST = SpikeFit(score_samples=32, prune_events=3)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0).subset(200, 60)


def small_model(dataset, hidden=(16,)):
    seed_everything(0)
    return build_model(ModelConfig(hidden=hidden), dataset.input_shape, dataset.n_classes)


def toy_model():
    """One input, two output LIF neurons (threshold 1), weights 2 and 0.5."""
    model = build_model(ModelConfig(hidden=()), (1,), 2)
    with torch.no_grad():
        model.layers["fc1"].weight.copy_(torch.tensor([[2.0], [0.5]]))
    return model


def test_fsc_neuron_score_matches_hand_computation():
    # Sample A (x=1): v = (2, 0.5) -> spikes (1, 0); sample B (x=0): no spikes. Label 1, T = 1.
    # L = CE(C * counts); dL/ds_0 = C * p0, p0 = e^C / (e^C + 1). FSC_0 = 1/(2N) (1 * dL/ds_0)^2.
    x = torch.tensor([[[1.0], [0.0]]])
    neurons, _ = fsc_scores(toy_model(), x, torch.tensor([1, 1]))
    p0 = math.exp(C) / (math.exp(C) + 1)
    expected = (C * p0) ** 2 / (2 * 2)
    assert neurons["lif1"].tolist() == pytest.approx([expected, 0.0], rel=1e-5)


def test_fsc_synapse_score_matches_hand_computation():
    # dL/dI_i = dL/ds_i * ATan'(v_i - 1), ATan'(u) = 1 / (1 + (pi u)^2) with alpha 2.
    # Synapse score = 1/(2N) sum_n (x_n * dL_n/dI_i * w_i)^2; only sample A has x != 0.
    x = torch.tensor([[[1.0], [0.0]]])
    _, synapses = fsc_scores(toy_model(), x, torch.tensor([1, 1]))
    p0 = math.exp(C) / (math.exp(C) + 1)
    g0 = C * p0 / (1 + math.pi ** 2)
    g1 = C * (1 - p0 - 1) / (1 + (math.pi * 0.5) ** 2)
    expected = [(g0 * 2.0) ** 2 / 4, (g1 * 0.5) ** 2 / 4]
    assert synapses["fc1"][:, 0].tolist() == pytest.approx(expected, rel=1e-5)


def truenorth_like(**changes):
    values = dict(weight_bits=9, unique_weights=4, unique_scope="neuron", zero_free=True)
    values.update(changes)
    return Budget(**values)


def test_spikefit_m4_leaves_at_most_4_values_per_neuron_all_on_the_grid(digits):
    result = FAST.compress(small_model(digits), digits, truenorth_like(), TRAIN)
    for name, layer in result.model.synaptic_layers():
        rows = as_rows(layer.weight.detach()).numpy()
        assert max(len(np.unique(r[r != 0])) for r in rows) <= 4
        k = rows / result.extra["layer_scales"][name]
        assert np.allclose(k, np.round(k), atol=1e-4) and np.abs(k).max() <= qmax(9)


def test_spikefit_meets_the_sparsity_exactly(digits):
    result = FAST.compress(small_model(digits), digits, truenorth_like(sparsity=0.8), TRAIN)
    weights = [layer.weight.detach() for _, layer in result.model.synaptic_layers()]
    total = sum(w.numel() for w in weights)
    kept = sum(int(m.sum()) for m in result.masks.values())
    assert kept == math.floor(0.2 * total + 1e-6)
    assert sum(int((w != 0).sum()) for w in weights) <= kept


def test_spikefit_with_zero_counted_keeps_4_values_zero_included(digits):
    budget = truenorth_like(sparsity=0.5, zero_free=False)
    result = FAST.compress(small_model(digits), digits, budget, TRAIN)
    assert result.extra["pin_zero"] is True
    for _, layer in result.model.synaptic_layers():
        rows = as_rows(layer.weight.detach()).numpy()
        assert max(len(np.unique(r)) for r in rows) <= 4


def test_spikefit_prunes_hidden_neurons_to_max_neurons_exactly(digits):
    model = small_model(digits)  # 16 hidden + 10 output neurons
    result = FAST.compress(model, digits, truenorth_like(max_neurons=20), TRAIN)
    fc1 = result.model.layers["fc1"].weight.detach()
    fc2 = result.model.layers["fc2"].weight.detach()
    alive = (fc1 != 0).any(dim=1)
    assert int(alive.sum()) + 10 == 20
    assert not (fc2[:, ~alive] != 0).any()  # a pruned neuron also loses its outgoing synapses


def test_spikefit_refuses_a_neuron_budget_below_one_hidden_neuron_per_layer(digits):
    with pytest.raises(SpikeFitError):
        FAST.compress(small_model(digits), digits, truenorth_like(max_neurons=10), TRAIN)


def test_spikefit_with_free_zero_adds_a_pinned_zero_to_m_learned_values_per_neuron(digits):
    result = FAST.compress(small_model(digits), digits, truenorth_like(), TRAIN)
    assert result.codebooks["fc1"].shape == (16, 5) and not result.codebooks["fc1"][:, 0].any()


def test_spikefit_without_the_free_zero_value_learns_exactly_m_values_per_neuron(digits):
    method = SpikeFit(score_samples=32, prune_events=3, free_zero_value=False)
    result = method.compress(small_model(digits), digits, truenorth_like(), TRAIN)
    assert result.codebooks["fc1"].shape == (16, 4)
    rows = as_rows(result.model.layers["fc1"].weight.detach()).numpy()
    assert max(len(np.unique(r)) for r in rows) <= 4


def test_a_cnn_over_max_neurons_counts_positions_not_channels():
    import pytest as _pytest

    from compress.method import Budget
    from compress.methods.spikefit import SpikeFit, SpikeFitError
    from compress.models import ModelConfig, build_model

    model = build_model(ModelConfig(kind="cnn", conv_channels=(4,)), (1, 8, 8), 10)
    # 4 channels x 8 x 8 positions + 10 outputs = 266 neurons; 100 allowed (channels alone: 14 < 100)
    with _pytest.raises(SpikeFitError, match="MLPs only"):
        SpikeFit()._neurons_to_prune(model, Budget(max_neurons=100))


def test_energy_ranking_needs_the_profiles_synapse_price():
    import dataclasses as _dc

    import pytest as _pytest

    from compress.data import load_dataset
    from compress.method import Budget
    from compress.methods.spikefit import SpikeFit, SpikeFitError
    from compress.models import ModelConfig, build_model
    from compress.train import TrainConfig

    data = load_dataset("digits", seed=0).subset(64, 16)
    model = build_model(ModelConfig(hidden=(8,)), data.input_shape, data.n_classes)
    train = TrainConfig(epochs=1, batch_size=32, steps=2, device="cpu")
    with _pytest.raises(SpikeFitError, match="synapse_op_j"):
        SpikeFit(resource="energy").compress(model, data, Budget(sparsity=0.5, unique_weights=4,
                                                                 unique_scope="layer"), train)
    priced = Budget(sparsity=0.5, unique_weights=4, unique_scope="layer", synapse_op_j=35.5e-12)
    result = SpikeFit(resource="energy").compress(model, data, priced, _dc.replace(train))
    kept = sum(int(m.sum()) for m in result.masks.values())
    total = sum(m.size for m in result.masks.values())
    assert kept <= total // 2 + 1
