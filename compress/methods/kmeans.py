"""k-means weight clustering (weight sharing): post-training (``kmeans``) and with fine-tuned centroids
(``kmeans-ft``).

Han, Mao & Dally, "Deep Compression", ICLR 2016 (weight sharing by k-means, then training the shared
values with the assignments fixed: each centroid's gradient is the sum of its weights' gradients).
Per group of the budget's scope (layer / core / neuron), scikit-learn KMeans with fixed ``n_init`` and
seed. Deviations: linear-in-range initialisation of the paper replaced by k-means++ (scikit-learn's
default); when the budget has ``weight_bits`` the centroids are projected to the per-layer signed grid
(scale max|w| / qmax) so the exported model fits the chip; when a zero counts as a value
(``zero_free`` False) and weights are pruned, one centroid is pinned at 0.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from compress.codebook import (
    Clustered,
    as_rows,
    attach,
    bake,
    grid_scale,
    group_codebooks,
    layer_groups,
    nearest,
    to_grid,
)
from compress.method import Budget, CompressResult
from compress.train import fit

DEFAULT_UNIQUE = 4


def cluster_model(model, budget: Budget, m: int, seed: int, masks: dict | None = None,
                  zero_free: bool | None = None) -> tuple[dict, dict, dict, dict]:
    """Replace each synaptic layer's weights by their group's nearest k-means value (masked weights: 0).

    Returns (codebooks [groups, M], assignments [rows, fan_in], groups, layer scales). Where weights are
    pruned and zero is not free, value 0 is pinned and M-1 values are fitted to the kept weights.
    """
    zero_free = budget.zero_free if zero_free is None else zero_free
    books, assigns, all_groups, scales = {}, {}, {}, {}
    with torch.no_grad():
        for name, layer in model.synaptic_layers():
            rows = as_rows(layer.weight.detach().cpu()).numpy()
            groups = layer_groups(layer, budget.unique_scope, budget.neurons_per_core)
            mask = None if masks is None else as_rows(torch.as_tensor(masks[name])).numpy().astype(bool)
            pin = mask is not None and not zero_free and not mask.all()
            book = group_codebooks(rows, groups, m - 1 if pin else m, seed, mask=mask)
            if pin:
                book = np.concatenate([np.zeros((book.shape[0], 1)), book], axis=1)
            book_t = torch.as_tensor(book, dtype=torch.float32)
            if budget.weight_bits is not None:
                scales[name] = grid_scale(layer.weight, budget.weight_bits)
                book_t = to_grid(book_t, budget.weight_bits, scales[name])
            groups_t = torch.as_tensor(groups)
            idx = nearest(torch.as_tensor(rows), book_t, groups_t)
            values = book_t[groups_t].gather(1, idx)
            if mask is not None:
                values = values * torch.as_tensor(mask)
            layer.weight.copy_(values.reshape(layer.weight.shape).to(layer.weight))
            books[name], assigns[name], all_groups[name] = book_t.numpy(), idx, groups
    return books, assigns, all_groups, scales


class KMeans:
    """Post-training k-means to M values per group (0 epochs)."""

    name = "kmeans"

    def __init__(self, unique: int | None = None):
        self.unique = unique

    def compress(self, model, dataset, budget: Budget, train) -> CompressResult:
        began = time.perf_counter()
        m = self.unique or budget.unique_weights or DEFAULT_UNIQUE
        books, _, _, scales = cluster_model(model, budget, m, train.seed)
        return CompressResult(self.name, model, 0, time.perf_counter() - began, codebooks=books,
                              extra={"unique": m, "layer_scales": scales})


def finetune_codebooks(model, dataset, train, budget: Budget, books: dict, assigns: dict, groups: dict,
                       scales: dict, masks: dict | None = None, label: str = "kmeans-ft") -> dict:
    """Train only the shared values (assignments fixed, grid-projected with straight-through); bake them.

    Returns the final codebooks. Deep Compression's centroid fine-tuning.
    """
    device = next(model.parameters()).device
    tables = {}
    for name, layer in model.synaptic_layers():
        mask = None if masks is None else torch.as_tensor(masks[name]).to(device)
        tables[name] = Clustered(books[name], groups[name], bits=budget.weight_bits,
                                 scale=scales.get(name, 1.0), mask=mask, assign=assigns[name],
                                 ste_latent=False).to(device)
        attach(layer, tables[name])
    fit(model, dataset, train, params=[t.codebook for t in tables.values()], label=label)
    final = {k: t.values().detach().cpu().numpy() for k, t in tables.items()}
    bake(model)
    if budget.weight_bits is not None:
        with torch.no_grad():
            for name, layer in model.synaptic_layers():
                layer.weight.copy_(to_grid(layer.weight, budget.weight_bits, scales[name]))
    return final


class KMeansFT:
    """k-means to M values per group, then ``train.epochs`` epochs training the values (ties fixed)."""

    name = "kmeans-ft"

    def __init__(self, unique: int | None = None):
        self.unique = unique

    def compress(self, model, dataset, budget: Budget, train) -> CompressResult:
        began = time.perf_counter()
        m = self.unique or budget.unique_weights or DEFAULT_UNIQUE
        books, assigns, groups, scales = cluster_model(model, budget, m, train.seed)
        books = finetune_codebooks(model, dataset, train, budget, books, assigns, groups, scales)
        return CompressResult(self.name, model, train.epochs, time.perf_counter() - began, codebooks=books,
                              extra={"unique": m, "layer_scales": scales})
