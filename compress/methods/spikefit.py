"""SpikeFit: clusterization-aware training (CAT) with Fisher Spike Contribution (FSC) pruning.

Kartashov, Pushkareva & Karandashev, "SpikeFit: Towards Optimal Deployment of Spiking Networks on
Neuromorphic Hardware", arXiv 2510.15542 (2025). Only the abstract is public (no code, no equations): it
says CAT treats the M allowed discrete weight values as learnable parameters co-optimised with the model
(capping unique synaptic values at M), and FSC is a hardware-friendly pruning method for neuron and
synapse limits. This module is OUR REIMPLEMENTATION of that description; the formulation is:

**CAT.** Every group of weights sharing one weight table (layer, core = ``neurons_per_core`` consecutive
output neurons, or neuron = one row, as the budget's scope demands) owns M learnable values c_g. Forward:
each weight takes the value of c_g nearest to its latent float weight, w_ij = Q(c_g)[argmin_m |w~_ij -
Q(c_g)_m|], where Q fake-quantizes the values to the chip's signed ``weight_bits`` grid of a per-layer
scale (straight-through). Backward: the latent weight gets dL/dw_ij straight through (so assignments can
move); each value c_gm gets the sum of dL/dw_ij over the weights assigned to it. Values initialise from
per-group k-means of the dense weights. Hence at most M distinct values per group, each on the grid.

**Zero.** Pruned weights are 0. ``zero_free`` (default: ``Budget.zero_free``, i.e. the chip's) says
whether a zero is "no synapse" and takes no table entry (TrueNorth's binary crossbar: a zero is an absent
synapse, not one of the 4 axon-type weights; sparse encodings likewise). When zero is free and
``free_zero_value`` (default True), every group's codebook is M learned values plus a pinned 0 that CAT
may also assign weights to (it costs no table entry; an assignment to 0 removes the synapse). When zero
is not free and pruning is on, value 0 of every group is pinned and only M-1 values are learned.

**FSC.** A second-order (Fisher) Taylor estimate of the loss increase when a spike train is removed, per
sample n (loss L_n summed over the batch, not averaged):
    FSC_i    = 1/(2N) sum_n ( sum_t s_{n,t,i} dL_n/ds_{n,t,i} )^2                 (neuron i)
    FSC_{ij} = 1/(2N) sum_n ( sum_t x_{n,t,j} dL_n/dI_{n,t,i} w_ij )^2             (synapse j -> i)
with s the neuron's spikes, x the synapse's presynaptic input and I the postsynaptic current
(I_i = sum_j w_ij x_j), i.e. the squared per-sample weight-gradient-times-weight. Scored on a fixed-size
batch of training samples at every pruning event. Conv: a neuron score is per channel (summed over
positions before squaring); neuron pruning is MLP-only.

**Budget.** Neurons (``max_neurons``; output neurons are never pruned) are removed first: lowest FSC_i
hidden neurons lose all incoming and outgoing synapses. Then synapses: the lowest FSC_ij over all layers
(one global ranking, exact k as :mod:`compress.pruning`) until the sparsity (``sparsity``, or
``max_synapses``) is met. Pruning is gradual over the first ``prune_until`` of the CAT steps on the cubic
schedule (Zhu & Gupta 2017), masks only grow, then the mask is kept while CAT continues.

``ranking='magnitude'`` (ablation) ranks synapses by the latent |w| (the clustered values tie) and neurons by
their incoming L1, instead of FSC.
``resource='energy'`` ranks synapses by FSC per unit of energy: FSC_ij / c_ij, c_ij the synapse's share of
the energy per inference at the profile's ``synapse_op_j`` (:func:`synapse_energy_cost`).

Deviations / choices not in the abstract: hard nearest assignment with straight-through gradients (the
paper may use soft assignment); fixed per-layer grid scale (max|w| / qmax of the dense layer); the FSC
formulas above (the abstract names FSC only); k-means initialisation; one global synapse ranking.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from compress.codebook import (
    Clustered,
    as_rows,
    attach,
    bake,
    grid_scale,
    group_codebooks,
    layer_groups,
    to_grid,
)
from compress.encoding import encode
from compress.method import Budget, CompressResult
from compress.pruning import global_topk_masks, n_keep
from compress.train import fit, loss_fn
from hwprofiles.errors import UserError

DEFAULT_UNIQUE = 4


class SpikeFitError(UserError):
    pass


def fsc_scores(model: nn.Module, x_seq: torch.Tensor, y: torch.Tensor) -> tuple[dict, dict]:
    """(neuron FSC per spiking layer [neurons or channels], synapse FSC per weight layer [like weight]).

    ``x_seq`` [T, N, ...] is the already-encoded input; the loss is :func:`compress.train.loss_fn` summed
    over the N samples (so dL_n/ds is each sample's own gradient).
    """
    currents: dict[str, torch.Tensor] = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, name=name: currents.__setitem__(name, o))
             for name, layer in model.synaptic_layers()]
    try:
        with torch.enable_grad():
            out = model(x_seq)
            n = x_seq.shape[1]
            loss = loss_fn(out, y) * n
            spike_names = list(model.last_spikes)
            layer_names = list(currents)
            grads = torch.autograd.grad(loss, [model.last_spikes[k] for k in spike_names]
                                        + [currents[k] for k in layer_names], allow_unused=True)
    finally:
        for hook in hooks:
            hook.remove()
    steps = x_seq.shape[0]
    neurons = {}
    for name, g in zip(spike_names, grads[:len(spike_names)], strict=True):
        s = model.last_spikes[name].detach()
        g = torch.zeros_like(s) if g is None else g
        per = (s * g).sum(0)  # [N, ...]
        if per.dim() > 2:
            per = per.flatten(2).sum(-1)  # conv: per channel
        neurons[name] = per.pow(2).sum(0) / (2 * n)
    synapses = {}
    layers = dict(model.synaptic_layers())
    for name, g in zip(layer_names, grads[len(spike_names):], strict=True):
        layer = layers[name]
        x = model.last_inputs[name].detach()
        g = torch.zeros_like(currents[name]) if g is None else g
        g = g.reshape(steps, n, *g.shape[1:])
        weight = layer.weight.detach()
        if isinstance(layer, nn.Linear):
            per_sample = torch.einsum("tno,tni->noi", g, x)  # dL_n/dW
        else:
            per_sample = torch.stack([
                torch.nn.grad.conv2d_weight(x[:, k], weight.shape, g[:, k], layer.stride, layer.padding,
                                            layer.dilation, layer.groups) for k in range(n)])
        synapses[name] = (per_sample * weight).pow(2).sum(0) / (2 * n)
    return neurons, synapses


def _latent(layer: nn.Module) -> torch.Tensor:
    """The latent float weight under CAT's parametrization (clustered values tie: their |w| cannot rank)."""
    from torch.nn.utils import parametrize

    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original.detach()
    return layer.weight.detach()


def synapse_energy_cost(model: nn.Module, dataset, train, budget: Budget) -> dict[str, torch.Tensor]:
    """Each synapse's share of the energy per inference, mean 1: its synaptic events per sample on the dense
    model (:func:`compress.pruning.synops_per_weight`) x the budget's ``synapse_op_j``, blended with the
    weight count as minimax blends it, (a + mean a) / (2 mean a), so a silent synapse still costs."""
    from compress.pruning import synops_per_weight

    if budget.synapse_op_j is None:
        raise SpikeFitError("resource 'energy' needs the profile's synapse_op_j (this budget has none)")
    activity = synops_per_weight(model, dataset, train)
    mean = torch.cat([a.reshape(-1) for a in activity.values()]).mean().clamp_min(1e-12)
    return {k: (a + mean) / (2 * mean) for k, a in activity.items()}


def _layer_pairs(model: nn.Module) -> list[tuple[str, str, str | None]]:
    """(spiking layer, its weight layer, the next weight layer) for every hidden spiking layer of an MLP."""
    weights = [n for n, _ in model.synaptic_layers()]
    spikes = [n for n, _ in model.neuron_layers()]
    return [(spikes[k], weights[k], weights[k + 1]) for k in range(len(weights) - 1)]


class SpikeFit:
    """CAT with M learnable grid-constrained values per group, plus gradual FSC pruning to the budget."""

    name = "spikefit"

    def __init__(self, unique: int | None = None, zero_free: bool | None = None, prune_until: float = 0.5,
                 prune_events: int = 8, score_samples: int = 256, n_init: int = 4,
                 free_zero_value: bool = True, ranking: str = "fsc", resource: str = "weights"):
        if ranking not in ("fsc", "magnitude"):
            raise SpikeFitError(f"unknown ranking '{ranking}'; known: fsc, magnitude")
        if resource not in ("weights", "energy"):
            raise SpikeFitError(f"unknown resource '{resource}'; known: weights, energy")
        self.ranking, self.resource = ranking, resource
        if not 0.0 < prune_until <= 1.0:
            raise SpikeFitError(f"prune_until must be in (0, 1], got {prune_until}")
        if prune_events < 1 or score_samples < 1:
            raise SpikeFitError("prune_events and score_samples must be >= 1")
        self.unique, self.zero_free, self.prune_until = unique, zero_free, prune_until
        self.prune_events, self.score_samples, self.n_init = prune_events, score_samples, n_init
        self.free_zero_value = bool(free_zero_value)

    def compress(self, model, dataset, budget: Budget, train) -> CompressResult:
        began = time.perf_counter()
        m = self.unique or budget.unique_weights or DEFAULT_UNIQUE
        zero_free = budget.zero_free if self.zero_free is None else bool(self.zero_free)
        layers = model.synaptic_layers()
        total = sum(layer.weight.numel() for _, layer in layers)
        sparsity = budget.sparsity or 0.0
        if budget.max_synapses is not None:
            sparsity = max(sparsity, 1.0 - budget.max_synapses / total)
        neurons_to_prune = self._neurons_to_prune(model, budget)
        prunes = sparsity > 0 or neurons_to_prune > 0
        pin_zero = (prunes and not zero_free) or (zero_free and self.free_zero_value)
        learned = m if zero_free else m - 1 if pin_zero else m  # values trained per group besides a pinned 0
        if learned < 1:
            raise SpikeFitError("with pruning and zero counted as a value, M must be >= 2")
        device = next(model.parameters()).device
        cat: dict[str, Clustered] = {}
        scales: dict[str, float] = {}
        for name, layer in layers:
            rows = as_rows(layer.weight.detach().cpu()).numpy()
            groups = layer_groups(layer, budget.unique_scope, budget.neurons_per_core)
            book = group_codebooks(rows, groups, learned, train.seed)
            if pin_zero:
                book = np.concatenate([np.zeros((book.shape[0], 1)), book], axis=1)
            if budget.weight_bits is not None:
                scales[name] = grid_scale(layer.weight, budget.weight_bits)
            mask = torch.ones_like(layer.weight, dtype=torch.bool)
            cat[name] = Clustered(book, groups, bits=budget.weight_bits, scale=scales.get(name, 1.0),
                                  mask=mask, pin_zero=pin_zero).to(device)
            attach(layer, cat[name])

        batches = math.ceil(len(dataset.x_train) / train.batch_size)
        total_steps = train.epochs * batches
        last = max(1, int(self.prune_until * total_steps))
        events = sorted({max(1, round(last * (k + 1) / self.prune_events)) for k in range(self.prune_events)})
        keep_final = n_keep(total, sparsity) if sparsity > 0 else total
        cost = None
        if self.resource == "energy":
            cost = synapse_energy_cost(model, dataset, train, budget)
        log: list[dict] = []

        def prune(step: int, frac: float) -> None:
            x, y = self._score_batch(dataset, train, step, device)
            neuron_fsc, synapse_fsc = fsc_scores(model, x, y)
            if self.ranking == "magnitude":  # ablation: FSC off, latent |w| and incoming L1 instead
                synapse_fsc = {k: _latent(layer).abs() for k, layer in model.synaptic_layers()}
                incoming = {w: synapse_fsc[w].flatten(1).sum(1) for _, w, _ in _layer_pairs(model)}
                neuron_fsc = {sp: incoming[w] for sp, w, _ in _layer_pairs(model)}
            if cost is not None:  # energy: FSC per joule of the synapse's events
                synapse_fsc = {k: v / cost[k] for k, v in synapse_fsc.items()}
            cubic = 1.0 - (1.0 - frac) ** 3
            if neurons_to_prune:
                self._prune_neurons(model, cat, neuron_fsc, round(neurons_to_prune * cubic))
            keep = total - round((total - keep_final) * cubic)
            kept_now = sum(int(c.mask.sum()) for c in cat.values())
            if keep < kept_now:
                scores = {k: torch.where(cat[k].mask, v, torch.full_like(v, -1.0))
                          for k, v in synapse_fsc.items()}
                for k, mask in global_topk_masks(scores, keep).items():
                    cat[k].mask.copy_(mask & cat[k].mask)
            log.append({"step": step, "kept": sum(int(c.mask.sum()) for c in cat.values())})

        def on_step(net: nn.Module, step: int) -> None:
            if step in events:
                prune(step, (events.index(step) + 1) / len(events))

        if prunes and total_steps == 0:
            prune(0, 1.0)
        fit(model, dataset, train, on_step=on_step if prunes else None, label="spikefit")
        codebooks = {k: c.values().detach().cpu().numpy() for k, c in cat.items()}
        masks = {k: c.mask.cpu().numpy() for k, c in cat.items()}
        bake(model)
        if budget.weight_bits is not None:  # the baked values are grid points: remove float round-off
            with torch.no_grad():
                for name, layer in model.synaptic_layers():
                    layer.weight.copy_(to_grid(layer.weight, budget.weight_bits, scales[name]))
        return CompressResult(self.name, model, train.epochs, time.perf_counter() - began,
                              codebooks=codebooks, masks=masks,
                              extra={"unique": m, "zero_free": zero_free, "pin_zero": pin_zero,
                                     "free_zero_value": zero_free and pin_zero,
                                     "target_sparsity": sparsity, "neurons_pruned": neurons_to_prune,
                                     "layer_scales": scales, "prune_log": log})

    def _neurons_to_prune(self, model: nn.Module, budget: Budget) -> int:
        if budget.max_neurons is None:
            return 0
        from compress.pipeline import positions_per_row

        positions = positions_per_row(model)  # a conv row (channel) is channels x positions neurons
        sizes = [layer.weight.shape[0] * positions[name] for name, layer in model.synaptic_layers()]
        excess = sum(sizes) - budget.max_neurons
        if excess <= 0:
            return 0
        if model.config.kind != "mlp":
            raise SpikeFitError("spikefit prunes neurons of MLPs only; this CNN exceeds max_neurons")
        if excess > sum(sizes[:-1]) - len(sizes[:-1]):
            raise SpikeFitError(f"max_neurons {budget.max_neurons} leaves no hidden neuron in some layer")
        return excess

    def _score_batch(self, dataset, train, step: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng(train.seed * 7_919 + step)
        index = rng.choice(len(dataset.x_train), min(self.score_samples, len(dataset.x_train)), replace=False)
        x = torch.as_tensor(dataset.x_train[index]).to(device)
        y = torch.as_tensor(dataset.y_train[index]).to(device)
        generator = torch.Generator(device=device).manual_seed(int(train.seed * 7_919 + step))
        return encode(x, train.steps, train.encoding, generator), y

    @staticmethod
    def _prune_neurons(model: nn.Module, cat: dict[str, Clustered], neuron_fsc: dict, count: int) -> None:
        """Remove the ``count`` hidden neurons of lowest FSC in total (already pruned ones included)."""
        pairs = _layer_pairs(model)
        scores, owners = [], []
        for spikes, incoming, outgoing in pairs:
            alive = cat[incoming].mask.any(dim=1)
            scores.append(torch.where(alive, neuron_fsc[spikes], torch.full_like(neuron_fsc[spikes], -1.0)))
            owners += [(incoming, outgoing, i) for i in range(len(alive))]
        flat = torch.cat(scores)
        order = torch.argsort(flat, stable=True)
        floor = {incoming: 1 for _, incoming, _ in pairs}  # never empty a layer
        alive_count = {incoming: int(cat[incoming].mask.any(dim=1).sum()) for _, incoming, _ in pairs}
        removed = 0
        for index in order.tolist():
            if removed >= count:
                break
            incoming, outgoing, i = owners[index]
            if flat[index] >= 0 and alive_count[incoming] <= floor[incoming]:
                continue
            if flat[index] >= 0:
                alive_count[incoming] -= 1
            cat[incoming].mask[i] = False
            cat[outgoing].mask[:, i] = False
            removed += 1
