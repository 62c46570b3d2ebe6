"""minimax: s and the duals respond to the weights (the z step is measured in the weights' own saliency);
without its penalty and dual y the method prunes another set of weights."""

import dataclasses

import pytest
import torch

from compress import methods
from compress.data import load_dataset
from compress.method import Budget
from compress.methods.minimax import MinimaxState, minimax_update, saliency_unit
from compress.models import ModelConfig, build_model
from compress.pruning import PruningError, clone_model
from compress.train import TrainConfig, fit, seed_everything

TRAIN = TrainConfig(epochs=10, batch_size=32, steps=4, seed=0, device="cpu")
SPARSITY = 0.9


def digits(offset: int = 0):
    full = load_dataset("digits", seed=0)
    return dataclasses.replace(full, x_train=full.x_train[offset:offset + 384],
                               y_train=full.y_train[offset:offset + 384], x_test=full.x_test[:96],
                               y_test=full.y_test[:96])


def compress(seed: int, data, **options):
    train = dataclasses.replace(TRAIN, seed=seed)
    seed_everything(seed)
    model = build_model(ModelConfig(hidden=(32,)), data.input_shape, data.n_classes)
    fit(model, data, train, progress=False)
    seed_everything(seed)
    return methods.get("minimax", progress=False, **options).compress(clone_model(model), data,
                                                                      Budget(sparsity=SPARSITY), train)


def reached(result) -> list[int]:
    return [stage["reached_at_step"] for stage in result.extra["stages"]]


@pytest.fixture(scope="module")
def runs():
    return {"seed0": compress(0, digits()), "seed1": compress(1, digits()),
            "other_data": compress(0, digits(offset=384)),
            "no_dual": compress(0, digits(), y0=0.0, lr_y=0.0)}


def test_snapshot_steps_differ_across_seeds(runs):
    assert reached(runs["seed0"]) != reached(runs["seed1"])
    assert not runs["seed0"].extra["forced"] and not runs["seed1"].extra["forced"]


def test_snapshot_steps_move_when_the_data_do(runs):
    assert reached(runs["seed0"]) != reached(runs["other_data"])


def test_without_penalty_and_dual_the_snapshots_come_on_the_z_schedule_alone(runs):
    # y = 0: g_s = -z / N whatever the weights; s reaches each stage sooner than with the penalty
    assert all(a <= b for a, b in zip(reached(runs["no_dual"]), reached(runs["seed0"]), strict=True))
    assert reached(runs["no_dual"]) != reached(runs["seed0"])


def test_without_penalty_and_dual_the_mask_is_measurably_different(runs):
    full = torch.cat([torch.as_tensor(m).reshape(-1) for m in runs["seed0"].masks.values()])
    ablated = torch.cat([torch.as_tensor(m).reshape(-1) for m in runs["no_dual"].masks.values()])
    assert int(full.sum()) == int(ablated.sum())  # the same number kept: the exact target
    overlap = int((full & ablated).sum()) / int(full.sum())
    assert overlap < 0.9, overlap


def test_saliency_unit_is_the_threshold_the_target_puts_on_the_weights():
    w = torch.tensor([0.3, -0.1, 0.2, 0.5])  # w^2 sorted: 0.01, 0.04, 0.09, 0.25
    assert saliency_unit(w, 2) == pytest.approx(0.09)


def test_the_s_step_is_divided_by_y_over_y_ref_above_y_ref():
    # w^2 = [0.01, 0.25, 0.04, 1.0]; ceil(1.2) = 2 pruned; tau = 0.25; y after prox stays 20 for the s step
    state = MinimaxState(s=1.2, y=20.0, z=8.0, n=4, s_max=3, s_stage=3, budget_remaining=0.25, lr_s=0.1,
                         lr_y=0.0, lr_z=0.0, s_unit=2.0, y_ref=10.0)
    minimax_update(torch.tensor([0.1, -0.5, 0.2, 1.0]), state, lr_w=0.0)
    assert state.s == pytest.approx(1.2 - 0.1 * (2.0 / 2.0) * (20 * 0.25 - 8 / 4))  # 0.9


LOIHI_PRICES = {"synapse_op_j": 35.5e-12, "neuron_update_j": 72.8e-12, "spike_out_j": 180.3e-12}


@pytest.fixture(scope="module")
def trained():
    data = digits()
    seed_everything(0)
    model = build_model(ModelConfig(hidden=(32,)), data.input_shape, data.n_classes)
    fit(model, data, dataclasses.replace(TRAIN, epochs=3), progress=False)
    return data, model


def test_energy_resource_needs_the_profiles_prices(trained):
    data, model = trained
    with pytest.raises(PruningError, match="synapse_op_j"):
        methods.get("minimax", resource="energy", progress=False).compress(
            clone_model(model), data, Budget(sparsity=0.5), dataclasses.replace(TRAIN, epochs=2))


def test_energy_budget_is_the_constraint_r_of_s_meets(trained):
    data, model = trained
    train = dataclasses.replace(TRAIN, epochs=4)
    probe = methods.get("minimax", resource="energy", progress=False).compress(
        clone_model(model), data, Budget(sparsity=0.0, energy_per_inference_j=1.0, **LOIHI_PRICES), train)
    dense_j = probe.extra["energy_dense_j"]
    assert probe.extra["energy_constrained"] is False  # 1 J is no constraint
    budget = Budget(sparsity=0.0, energy_per_inference_j=0.8 * dense_j, **LOIHI_PRICES)
    seed_everything(0)
    result = methods.get("minimax", resource="energy", progress=False).compress(clone_model(model), data,
                                                                                budget, train)
    assert result.extra["energy_constrained"] is True
    assert result.extra["energy_estimate_j"] <= 0.8 * dense_j * (1 + 1e-9)
    assert result.extra["sparsity"] > 0.0  # weights went to meet the energy, with no sparsity asked


def test_energy_budget_below_what_no_mask_removes_is_a_user_error(trained):
    data, model = trained
    with pytest.raises(PruningError, match="no mask removes"):
        methods.get("minimax", resource="energy", progress=False).compress(
            clone_model(model), data, Budget(sparsity=0.0, energy_per_inference_j=1e-12, **LOIHI_PRICES),
            dataclasses.replace(TRAIN, epochs=2))
