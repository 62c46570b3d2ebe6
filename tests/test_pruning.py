"""compress.pruning: exact-k masks, applying masks, schedules, and the sparsity target from a Budget."""

import pytest
import torch
from torch import nn

from compress.method import Budget
from compress.pruning import (
    PruningError,
    apply_masks,
    check_sparsity,
    cubic_density,
    geometric_densities,
    global_topk_masks,
    layer_budgets,
    magnitude_masks,
    masking_step,
    n_keep,
    sparsity_of,
    target_sparsity,
    topk_mask,
    weight_sparsity,
)


class TwoLayers(nn.Module):
    """Two plain Linear layers exposing synaptic_layers() like compress.models.SpikingNet."""

    def __init__(self, w1: torch.Tensor, w2: torch.Tensor):
        super().__init__()
        self.fc1 = nn.Linear(w1.shape[1], w1.shape[0], bias=False)
        self.fc2 = nn.Linear(w2.shape[1], w2.shape[0], bias=False)
        with torch.no_grad():
            self.fc1.weight.copy_(w1)
            self.fc2.weight.copy_(w2)

    def synaptic_layers(self):
        return [("fc1", self.fc1), ("fc2", self.fc2)]


def test_topk_mask_keeps_exactly_k_and_breaks_ties_to_lower_index():
    mask = topk_mask(torch.tensor([1.0, 3.0, 3.0, 3.0, 0.5]), 2)
    assert mask.tolist() == [False, True, True, False, False]


def test_global_topk_spans_layers():
    masks = global_topk_masks({"a": torch.tensor([[0.1, 5.0]]), "b": torch.tensor([4.0, 0.2, 3.0])}, 3)
    assert masks["a"].tolist() == [[False, True]]
    assert masks["b"].tolist() == [True, False, True]


def test_n_keep_rounds_down_so_the_target_is_met():
    assert n_keep(1000, 0.9) == 100
    assert n_keep(9472, 0.98) == 189  # 0.02 * 9472 = 189.44
    assert n_keep(9472, 0.95) == 473  # 473.6


def test_n_keep_never_drops_to_zero():
    assert n_keep(10, 0.99) == 1


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, "x", None])
def test_bad_sparsity_is_a_user_error(bad):
    with pytest.raises(PruningError):
        check_sparsity(bad)


def test_layer_budgets_sum_exactly():
    ks = layer_budgets({"a": 7, "b": 3, "c": 5}, 4)
    assert sum(ks.values()) == 4
    assert ks == {"a": 2, "b": 1, "c": 1}  # raw 1.87, 0.8, 1.33: floors 1,0,1 then largest remainders a, b


def test_global_magnitude_prunes_smallest_across_layers():
    model = TwoLayers(torch.tensor([[0.1, -2.0], [0.3, 0.05]]), torch.tensor([[-1.0, 0.2]]))
    masks = magnitude_masks(model, 0.5)  # 6 weights, keep 3: |-2|, |-1|, |0.3|
    assert masks["fc1"].tolist() == [[False, True], [True, False]]
    assert masks["fc2"].tolist() == [[True, False]]


def test_layer_magnitude_keeps_same_density_per_layer():
    model = TwoLayers(torch.tensor([[0.1, -2.0, 0.3, 0.05]]), torch.tensor([[-1.0, 0.2, 0.3, 0.4]]))
    masks = magnitude_masks(model, 0.5, scope="layer")
    assert masks["fc1"].tolist() == [[False, True, True, False]]
    assert masks["fc2"].tolist() == [[True, False, False, True]]


def test_restrict_keeps_pruned_weights_pruned():
    model = TwoLayers(torch.tensor([[5.0, 4.0]]), torch.tensor([[1.0, 2.0]]))
    restrict = {"fc1": torch.tensor([[False, True]]), "fc2": torch.tensor([[True, True]])}
    masks = magnitude_masks(model, 0.5, restrict=restrict)
    assert masks["fc1"].tolist() == [[False, True]]
    assert masks["fc2"].tolist() == [[False, True]]


def test_unknown_scope_is_a_user_error():
    model = TwoLayers(torch.ones(1, 2), torch.ones(1, 2))
    with pytest.raises(PruningError):
        magnitude_masks(model, 0.5, scope="neuron")


def test_apply_masks_and_weight_sparsity_agree():
    torch.manual_seed(0)
    model = TwoLayers(torch.randn(8, 16), torch.randn(4, 8))
    masks = magnitude_masks(model, 0.9)
    apply_masks(model, masks)
    assert weight_sparsity(model) == pytest.approx(sparsity_of(masks))
    assert sparsity_of(masks) == pytest.approx(1 - 16 / 160)


def test_masking_step_undoes_an_optimizer_step_on_pruned_weights():
    model = TwoLayers(torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]]))
    masks = {"fc1": torch.tensor([[False, True]]), "fc2": torch.tensor([[True, False]])}
    with torch.no_grad():
        model.fc1.weight += 1.0
        model.fc2.weight += 1.0
    masking_step(masks)(model, 1)
    assert model.fc1.weight.tolist() == [[0.0, 3.0]]
    assert model.fc2.weight.tolist() == [[4.0, 0.0]]


def test_cubic_density_endpoints_and_midpoint():
    assert cubic_density(0, 10, 0.1) == pytest.approx(1.0)
    assert cubic_density(10, 10, 0.1) == pytest.approx(0.1)
    assert cubic_density(5, 10, 0.1) == pytest.approx(0.1 + 0.9 * 0.125)


def test_geometric_densities_end_exactly_at_target():
    ds = geometric_densities(0.01, 2)
    assert ds == pytest.approx([0.1, 0.01])


def test_target_from_budget_sparsity_or_max_synapses():
    assert target_sparsity(Budget(sparsity=0.95), 1000) == 0.95
    assert target_sparsity(Budget(max_synapses=50), 1000) == pytest.approx(0.95)


def test_budget_without_a_target_is_a_user_error():
    with pytest.raises(PruningError, match="--sparsity"):
        target_sparsity(Budget(weight_bits=4), 1000)
