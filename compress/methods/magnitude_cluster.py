"""Magnitude pruning, fine-tuning, then k-means clustering: the prune-then-share pipeline of Deep
Compression (Han, Mao & Dally, ICLR 2016; pruning as Han et al., NeurIPS 2015).

1. Global magnitude pruning to the larger of the budget's sparsity (``sparsity``, else what
   ``max_synapses`` implies) and the ``sparsity`` option (default 0.5), exact k as :mod:`compress.pruning`.
2. Fine-tune the kept weights with the mask held for ``train.epochs`` epochs.
3. k-means to M values per group on the kept weights (:func:`compress.methods.kmeans.cluster_model`; pruned
   weights stay 0; when zero counts as a value, one of the M is pinned at 0).
Deviations: one-shot pruning (the paper iterates), no centroid fine-tuning after clustering (that is
``kmeans-ft``), no Huffman coding (irrelevant on chip).
"""

from __future__ import annotations

import time

from compress.method import Budget, CompressResult
from compress.methods.kmeans import DEFAULT_UNIQUE, cluster_model
from compress.pruning import (
    apply_masks,
    check_sparsity,
    count_prunable,
    magnitude_masks,
    masking_step,
    masks_to_numpy,
    target_sparsity,
)
from compress.train import fit


class MagnitudeCluster:
    """Magnitude prune -> fine-tune (mask held) -> k-means to M per group."""

    name = "magnitude-cluster"

    def __init__(self, unique: int | None = None, sparsity: float = 0.5):
        self.unique, self.sparsity = unique, check_sparsity(sparsity)

    def compress(self, model, dataset, budget: Budget, train) -> CompressResult:
        began = time.perf_counter()
        m = self.unique or budget.unique_weights or DEFAULT_UNIQUE
        has_target = budget.sparsity is not None or budget.max_synapses is not None
        required = target_sparsity(budget, count_prunable(model)) if has_target else 0.0
        sparsity = max(required, self.sparsity)
        masks = magnitude_masks(model, sparsity, "global")
        apply_masks(model, masks)
        fit(model, dataset, train, on_step=masking_step(masks), label="magnitude-cluster")
        books, _, _, scales = cluster_model(model, budget, m, train.seed, masks=masks)
        return CompressResult(self.name, model, train.epochs, time.perf_counter() - began, codebooks=books,
                              masks=masks_to_numpy(masks),
                              extra={"unique": m, "target_sparsity": sparsity, "layer_scales": scales})
