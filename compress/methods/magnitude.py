"""Iterative magnitude pruning with fine-tuning: Han, Pool, Tran & Dally, "Learning both Weights and
Connections for Efficient Neural Networks", NeurIPS 2015 (prune the smallest |w|, retrain, repeat).

Rounds r = 1..R prune to density d_f^(r/R) (a constant rate per round, ending exactly at the target),
each followed by fine-tuning with the mask held; weights pruned once stay pruned. ``scope='global'``: one
threshold over all synaptic layers; ``scope='layer'``: every layer keeps the same density.

Deviations: R = min(``rounds``, epochs) and the epochs of ``TrainConfig`` are split over the rounds
(Han et al. retrain to convergence each round); training is BPTT with surrogate gradients on a spiking
network (the paper: ANNs). Prunable = every synaptic layer (compress/pruning.py).
"""

from __future__ import annotations

import time

from compress.method import CompressResult
from compress.pruning import (
    PruningError,
    count_prunable,
    finetune,
    geometric_densities,
    magnitude_masks,
    masks_to_numpy,
    target_sparsity,
    weight_sparsity,
)


class MagnitudePruning:
    """Global (or per-layer) iterative magnitude pruning with fine-tuning to an exact sparsity."""

    name = "magnitude"

    def __init__(self, scope: str = "global", rounds: int = 4, progress: bool | None = None):
        if scope not in ("global", "layer"):
            raise PruningError(f"unknown scope '{scope}'; known: global, layer")
        if int(rounds) < 1:
            raise PruningError(f"rounds must be >= 1, got {rounds}")
        self.scope, self.rounds, self.progress = scope, int(rounds), progress

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        sparsity = target_sparsity(budget, count_prunable(model))
        epochs = int(train.epochs)
        rounds = max(1, min(self.rounds, epochs))
        shares = [epochs // rounds + (r < epochs % rounds) for r in range(rounds)]
        masks, log, scoring_s = None, [], 0.0
        search_steps = search_wall = 0.0
        steps_done = 0
        batches = -(-len(dataset.x_train) // train.batch_size)
        for r, density in enumerate(geometric_densities(1.0 - sparsity, rounds)):
            t0 = time.perf_counter()
            round_sparsity = sparsity if r == rounds - 1 else 1.0 - density
            masks = magnitude_masks(model, round_sparsity, self.scope, restrict=masks)
            scoring_s += time.perf_counter() - t0
            if r == rounds - 1:
                search_steps, search_wall = steps_done, time.perf_counter() - began
            finetune(model, dataset, train, shares[r], masks,
                     f"{self.name} round {r + 1}/{rounds} sparsity {round_sparsity:.4f}", phase=r,
                     progress=self.progress)
            steps_done += shares[r] * batches
            log.append({"round": r + 1, "sparsity": weight_sparsity(model), "epochs": shares[r]})
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model), "scope": self.scope,
                 "rounds": log, "search_steps": int(search_steps), "search_wall_s": search_wall,
                 "scoring_wall_s": scoring_s}
        return CompressResult(self.name, model, epochs, time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)
