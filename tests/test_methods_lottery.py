"""Lottery tickets: IMP from one initialisation; ConnS with the gain alpha over binary frozen weights."""


import pytest
import torch

from compress import methods
from compress.data import load_dataset
from compress.method import Budget
from compress.methods.lottery import gain
from compress.models import ModelConfig, build_model
from compress.pruning import clone_model
from compress.train import TrainConfig, fit, seed_everything

TRAIN = TrainConfig(epochs=3, batch_size=32, steps=4, seed=0, device="cpu")


@pytest.fixture(scope="module")
def tiny():
    data = load_dataset("digits", seed=0).subset(192, 48)
    seed_everything(0)
    model = build_model(ModelConfig(hidden=(16,)), data.input_shape, data.n_classes)
    fit(model, data, TRAIN, progress=False)
    return data, model


def test_imp_ticket_comes_from_its_own_run_from_the_dense_init_not_from_the_weights_handed_in(tiny):
    data, dense = tiny
    other = clone_model(dense)
    with torch.no_grad():
        for _, layer in other.synaptic_layers():
            layer.weight.mul_(-3.0)  # weights no run from this init would reach
    results = []
    for start in (dense, other):
        seed_everything(0)
        results.append(methods.get("lottery-imp", progress=False).compress(
            clone_model(start), data, Budget(sparsity=0.8), TRAIN))
    for (_, a), (_, b) in zip(results[0].model.synaptic_layers(), results[1].model.synaptic_layers(),
                              strict=True):
        assert torch.equal(a.weight, b.weight)
    assert [r["epochs"] for r in results[0].extra["rounds"]] == [1, 1]  # 3 epochs: round 0 + 2 rounds


def test_imp_without_rewinding_gives_another_ticket(tiny):
    data, dense = tiny
    seed_everything(0)
    rewound = methods.get("lottery-imp", progress=False).compress(clone_model(dense), data,
                                                                  Budget(sparsity=0.8), TRAIN)
    seed_everything(0)
    kept = methods.get("lottery-imp", rewind=False, progress=False).compress(clone_model(dense), data,
                                                                             Budget(sparsity=0.8), TRAIN)
    assert any(not torch.equal(a.weight, b.weight) for (_, a), (_, b) in
               zip(rewound.model.synaptic_layers(), kept.model.synaptic_layers(), strict=True))


def test_gain_is_the_mean_magnitude_of_the_kept_weights():
    w0 = torch.tensor([0.5, -1.5, 2.0, -4.0])
    mask = torch.tensor([1.0, 1.0, 0.0, 1.0])
    assert float(gain(w0, mask)) == pytest.approx((0.5 + 1.5 + 4.0) / 3)


def test_binary_conns_ticket_holds_plus_and_minus_alpha_per_layer(tiny):
    data, dense = tiny
    seed_everything(0)
    result = methods.get("lottery-conn", progress=False).compress(clone_model(dense), data,
                                                                  Budget(sparsity=0.5), TRAIN)
    for _, layer in result.model.synaptic_layers():
        values = torch.unique(layer.weight.detach())
        assert len(values) == 3 and float(values[1]) == 0.0
        assert float(values[2]) == pytest.approx(-float(values[0]))


def test_conns_trains_scores_with_adam_at_the_papers_lr():
    method = methods.get("lottery-conn")
    assert (method.score_lr, method.weights) == (0.1, "binary")
