"""Pruning methods: each meets its sparsity target exactly; their building blocks match hand computations."""

import dataclasses
import math

import pytest
import torch

from compress import methods
from compress.data import load_dataset
from compress.method import Budget
from compress.methods.criticality import atan_derivative, channel_weight_masks, criticality, regrow
from compress.methods.lottery import imp_rounds, normalized_kl, patch_to_pixels
from compress.methods.minimax import MinimaxState, minimax_update, stage_targets
from compress.models import ModelConfig, build_model
from compress.pruning import PruningError, clone_model, n_keep
from compress.train import TrainConfig, fit, seed_everything

PRUNING = ("magnitude", "minimax", "minimax-seq", "criticality", "criticality-struct", "lottery-imp",
           "lottery-conn", "lottery-patch")
TRAIN = TrainConfig(epochs=2, batch_size=32, steps=4, seed=0, device="cpu")


@pytest.fixture(scope="module")
def tiny():
    """A digits subset and a briefly trained 64-16-10 spiking MLP (1184 prunable weights)."""
    full = load_dataset("digits", seed=0)
    data = dataclasses.replace(full, x_train=full.x_train[:192], y_train=full.y_train[:192],
                               x_test=full.x_test[:48], y_test=full.y_test[:48])
    seed_everything(0)
    model = build_model(ModelConfig(hidden=(16,)), data.input_shape, data.n_classes)
    fit(model, data, TRAIN, progress=False)
    return data, model


def nonzero_fraction(model) -> float:
    layers = model.synaptic_layers()
    return sum(int((layer.weight != 0).sum()) for _, layer in layers) / sum(layer.weight.numel()
                                                                          for _, layer in layers)


@pytest.mark.parametrize("sparsity", [0.9, 0.95, 0.98])
@pytest.mark.parametrize("name", PRUNING)
def test_method_hits_sparsity_target_within_a_tenth_of_a_point(tiny, name, sparsity):
    data, dense = tiny
    seed_everything(0)
    result = methods.get(name, progress=False).compress(
        clone_model(dense), data, Budget(sparsity=sparsity), TRAIN)
    assert abs(nonzero_fraction(result.model) - (1 - sparsity)) <= 0.001
    assert nonzero_fraction(result.model) <= 1 - sparsity  # the target is met, not just approached
    assert result.epochs == TRAIN.epochs


def test_magnitude_layer_scope_keeps_each_layer_at_the_same_density(tiny):
    data, dense = tiny
    result = methods.get("magnitude", scope="layer", progress=False).compress(
        clone_model(dense), data, Budget(sparsity=0.9), TRAIN)
    for name, layer in result.model.synaptic_layers():  # n_keep: floor(0.1 x N) weights kept per layer
        assert int((layer.weight != 0).sum()) == n_keep(layer.weight.numel(), 0.9), name


def test_all_pruning_methods_are_discovered():
    assert set(PRUNING) <= set(methods.available())


def test_missing_target_is_a_user_error(tiny):
    data, dense = tiny
    with pytest.raises(PruningError):
        methods.get("magnitude", progress=False).compress(dense, data, Budget(), TRAIN)


@pytest.mark.parametrize("name, options", [("magnitude", {"scope": "neuron"}), ("minimax", {"resource": "x"}),
                                           ("minimax", {"resource": "energy"}),
                                           ("criticality", {"prune_fraction": 1.5}),
                                           ("lottery-imp", {"rate": 1.0}), ("lottery-conn", {"scope": "x"}),
                                           ("lottery-patch", {"patch_size": 0})])
def test_bad_option_is_a_user_error(name, options):
    with pytest.raises(PruningError):
        methods.get(name, **options)


def test_lottery_patch_refuses_a_cnn():
    full = load_dataset("digits", seed=0)
    model = build_model(ModelConfig(kind="cnn", conv_channels=(2,)), full.input_shape, full.n_classes)
    with pytest.raises(PruningError, match="MLP"):
        methods.get("lottery-patch", progress=False).compress(model, full, Budget(sparsity=0.9), TRAIN)


def test_minimax_update_matches_hand_computation():
    # w^2 = [0.01, 0.25, 0.04, 1.0]; s = 1.2 -> ceil 2 pruned; tau = 3rd smallest = 0.25
    state = MinimaxState(s=1.2, y=5.0, z=2.0, n=4, s_max=3, s_stage=3, budget_remaining=0.25,
                         lr_s=0.4, lr_y=100.0, lr_z=10.0)
    w, mask = minimax_update(torch.tensor([0.1, -0.5, 0.2, 1.0]), state, lr_w=0.1)
    assert w.tolist() == pytest.approx([0.05, -0.5, 0.1, 1.0])  # prox: / (1 + 2*0.1*5)
    assert state.s == pytest.approx(1.2 - 0.4 * (5 * 0.25 - 2 / 4))  # 0.9
    assert state.y == pytest.approx(5 + 100 * (0.05 ** 2 + 0.1 ** 2))  # 6.25
    assert state.z == pytest.approx(2 + 10 * ((4 - 1) / 4 - 0.25))  # 7
    assert mask.tolist() == [False, True, True, True]  # ceil(0.9) = 1 pruned: the smallest


def test_minimax_s_is_capped_at_the_stage():
    state = MinimaxState(s=0.0, y=0.0, z=100.0, n=4, s_max=3, s_stage=2, budget_remaining=0.25,
                         lr_s=1.0, lr_y=0.0, lr_z=0.0)
    minimax_update(torch.tensor([1.0, 2.0, 3.0, 4.0]), state, lr_w=0.0)
    assert state.s == 2.0


def test_joint_stages_are_snapshots_above_the_target_then_the_target():
    assert stage_targets(0.02, joint=True) == [0.25, 0.12, 0.05, 0.0235, 0.02]
    assert stage_targets(0.02, joint=False) == [0.02]


def test_atan_derivative_peaks_at_threshold():
    assert float(atan_derivative(torch.tensor(0.0))) == pytest.approx(1.0)  # alpha/2 with alpha = 2
    assert float(atan_derivative(torch.tensor(1.0))) == pytest.approx(1.0 / (1 + math.pi ** 2))


def test_criticality_of_a_neuron_held_at_threshold_is_one():
    model = build_model(ModelConfig(hidden=(1,), beta=0.5), (1, 1, 1), 1)
    with torch.no_grad():
        model.layers["fc1"].weight.fill_(1.0)  # input 1 -> v = 1 = threshold, no spike (strict), v stays...
        model.layers["fc2"].weight.fill_(0.0)
    crit = criticality(model, torch.ones(1, 3, 1, 1, 1))  # one step, three samples
    assert float(crit["fc1"][0]) == pytest.approx(1.0)  # u - V_th = 0 -> sigma' = 1
    assert float(crit["fc2"][0]) == pytest.approx(1.0 / (1 + math.pi ** 2))  # u = 0 -> x = -1


def test_regrow_picks_the_most_critical_neurons_eligible_weights():
    masks = {"a": torch.tensor([[True, False], [False, False]])}
    just = {"a": torch.tensor([[False, False], [True, False]])}
    grads = {"a": torch.tensor([[1.0, 1.0], [1.0, 0.0]])}
    grown = regrow(masks, just, {"a": torch.tensor([0.1, 0.9])}, grads, ["a"], 2)
    # row 1 is more critical, but (1,0) was just pruned and (1,1) has no gradient: only (0,1) is eligible
    assert grown == 1
    assert masks["a"].tolist() == [[True, True], [False, False]]


def test_channel_masks_remove_incoming_and_outgoing_weights():
    model = build_model(ModelConfig(hidden=(3,)), (1, 1, 2), 2)
    masks = channel_weight_masks(model, {"fc1": torch.tensor([True, False, True])})
    assert masks["fc1"].tolist() == [[True, True], [False, False], [True, True]]
    assert masks["fc2"].tolist() == [[True, False, True], [True, False, True]]


def test_imp_rounds_follow_a_quarter_per_round_capped_by_budget():
    assert imp_rounds(0.1, 0.25, 100) == 9  # 0.75^8 = 0.100 > 0.1, 0.75^9 = 0.075
    assert imp_rounds(0.1, 0.25, 4) == 4


def test_normalized_kl_is_one_for_the_worst_candidate_and_zero_for_an_identical_output():
    counts = {1: torch.tensor([[1.0, 0.0]]), 2: torch.tensor([[4.0, 0.0]]), 4: torch.tensor([[8.0, 0.0]])}
    nkl = normalized_kl(counts, 4)
    assert nkl[1] == pytest.approx(1.0)
    assert nkl[2] == pytest.approx(0.0)  # 4/2 = 8/4: same rate


def test_patch_to_pixels_expands_and_crops():
    pixels = patch_to_pixels(torch.tensor([[[True, False], [False, True]]]), (1, 3, 3), 2)
    assert pixels.tolist() == [[[True, True, False], [True, True, False], [False, False, True]]]
