"""Quantization and clustering baselines: ptq, qat, kmeans, kmeans-ft, magnitude-cluster."""

import numpy as np
import pytest
import torch

from compress import methods
from compress.codebook import as_rows, fake_quantize, nearest, qmax, to_grid
from compress.data import load_dataset
from compress.method import Budget
from compress.methods.ptq import grid_bits
from compress.models import ModelConfig, build_model
from compress.train import TrainConfig, seed_everything

TRAIN = TrainConfig(epochs=1, batch_size=50, steps=4, seed=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0).subset(200, 60)


def small_model(dataset):
    seed_everything(0)
    return build_model(ModelConfig(hidden=(16,)), dataset.input_shape, dataset.n_classes)


def rows_of(result):
    return {name: as_rows(layer.weight.detach()).numpy() for name, layer in result.model.synaptic_layers()}


def test_to_grid_rounds_to_the_nearest_multiple_and_saturates():
    w = torch.tensor([0.26, -0.74, 5.0])
    assert to_grid(w, 3, 0.5).tolist() == [0.5, -0.5, 1.5]  # q = 3 -> largest 1.5


def test_fake_quantize_passes_the_gradient_straight_through():
    w = torch.tensor([0.26, -0.74], requires_grad=True)
    fake_quantize(w, 3, 0.5).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_nearest_picks_the_closest_value_of_the_rows_group_ties_low():
    rows = torch.tensor([[0.0, 0.9], [0.5, -1.0]])
    book = torch.tensor([[-1.0, 1.0], [0.0, 1.0]])
    assert nearest(rows, book, torch.tensor([0, 1])).tolist() == [[0, 1], [0, 0]]


def test_grid_bits_lowers_the_grid_until_it_holds_m_values():
    assert grid_bits(Budget(weight_bits=9, unique_weights=16)) == 4  # 15 values
    assert grid_bits(Budget(weight_bits=9, unique_weights=4, zero_free=True)) == 2  # {-1, +1} + free zero


def test_ptq_values_lie_on_the_b_bit_grid(digits):
    result = methods.get("ptq").compress(small_model(digits), digits, Budget(weight_bits=4), TRAIN)
    for name, rows in rows_of(result).items():
        k = rows / result.extra["layer_scales"][name]
        assert np.allclose(k, np.round(k), atol=1e-5) and np.abs(np.round(k)).max() == qmax(4)


def test_qat_exports_weights_on_the_grid(digits):
    result = methods.get("qat").compress(small_model(digits), digits, Budget(weight_bits=3), TRAIN)
    for name, rows in rows_of(result).items():
        assert len(np.unique(rows)) <= 2 * qmax(3) + 1
        k = rows / result.extra["layer_scales"][name]
        assert np.allclose(k, np.round(k), atol=1e-5)


@pytest.mark.parametrize("m", [2, 4])
def test_kmeans_leaves_at_most_m_values_per_neuron(digits, m):
    budget = Budget(unique_weights=m, unique_scope="neuron")
    result = methods.get("kmeans").compress(small_model(digits), digits, budget, TRAIN)
    assert all(max(len(np.unique(r)) for r in rows) <= m for rows in rows_of(result).values())


def test_kmeans_ft_keeps_the_assignment_and_at_most_m_values_per_layer(digits):
    budget = Budget(unique_weights=4, unique_scope="layer", weight_bits=8)
    start = small_model(digits)
    post = methods.get("kmeans").compress(small_model(digits), digits, budget, TRAIN)
    tuned = methods.get("kmeans-ft").compress(start, digits, budget, TRAIN)
    for name, rows in rows_of(tuned).items():
        assert len(np.unique(rows)) <= 4
        before = rows_of(post)[name]
        # same partition of the weights: equal values before <=> equal values after
        assert len(np.unique(np.stack([before.ravel(), rows.ravel()]), axis=1).T) == len(np.unique(before))


def test_magnitude_cluster_meets_sparsity_and_m_with_zero_counted(digits):
    budget = Budget(unique_weights=4, unique_scope="neuron", sparsity=0.7, zero_free=False)
    result = methods.get("magnitude-cluster").compress(small_model(digits), digits, budget, TRAIN)
    rows = rows_of(result)
    total = sum(r.size for r in rows.values())
    assert sum(int(np.count_nonzero(r)) for r in rows.values()) <= int(0.3 * total)
    assert all(max(len(np.unique(r)) for r in layer) <= 4 for layer in rows.values())


def test_every_baseline_is_discovered():
    assert {"ptq", "qat", "kmeans", "kmeans-ft", "magnitude-cluster", "spikefit"} <= set(methods.available())
