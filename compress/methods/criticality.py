"""Criticality-guided pruning and regeneration: Shuo Chen, Boxiao Liu, Zeshi Liu, Haihang You,
"Brain-Inspired Efficient Pruning: Exploiting Criticality in Spiking Neural Networks" (arXiv 2311.16141;
v1 "Criticality-Guided Efficient Pruning in SNNs Inspired by Critical Brain Hypothesis"); the code at
github.com/MmPple/pruning-criticality (research/methods.md §2).

Criticality of neuron (or channel) k of a spiking layer, u = membrane potential before reset:

    C_k = E_batch[ max_{h,w} (1/T) sum_t sigma'(u_t - V_th) ],  sigma'(x) = (a/2) / (1 + (pi a x/2)^2), a=2

the ATan surrogate derivative: high when the neuron sits near its threshold (:func:`criticality`).

``criticality`` (unstructured): during the pruning phase, every Delta steps the density follows the cubic
schedule d_k = d_f + (1 - d_f)(1 - k/K)^3. Each event keeps the K' largest |w| globally, prunes G = r K'_h
more of the kept weights of the hidden (non-classifier) layers, and regrows G pruned weights of those
layers whose output neuron has the highest criticality (regrown weights restart at 0). Then fine-tuning
with the mask held. ``criticality-struct``: hidden channels (neurons) ranked by importance, a fraction p
pruned, g (1 - p) N_ch more pruned and as many pruned channels with the highest C regrown; then the
remaining weights are pruned by magnitude to the exact target and the net is fine-tuned.

Deviations:
- Starts from the trained dense model (the pipeline's common start), not from initialization.
- The metric is each code path's own: ``criticality`` uses the unstructured code's smoothed spike g(u)
  (``metric='spike'``, core.py HEAD; ``metric='derivative'`` for sigma'), ``criticality-struct`` the
  structured code's sigma'. g is rescaled to our threshold (their neuron fires at u / V_th > 0.5).
- Criticality is measured on a fixed-size training batch (``score_samples``) at each event (the code: the
  current mini-batch); the structured version on the same subset rather than the whole training set.
- Ties in regrowth (all weights into one neuron share its C) go to the largest |dL/dw| of the last step,
  and only weights with a nonzero gradient are regrown, so a regrown weight can leave zero in fine-tuning
  (an input pixel that never spikes would otherwise hold a 'kept' zero). Weights pruned in the same event
  are not regrown.
- No batch norm: channel importance is the L1 norm of a channel's incoming weights (Li et al., ICLR 2017)
  instead of |gamma| of network slimming. The code's p is a fixed 0.66; here p is the largest fraction
  (up to ``channel_fraction`` = 0.99) whose channel pruning stays within the target, so channels chosen
  as the code chooses them (importance, then g(1 - p) N swapped for the most critical) do the pruning and
  magnitude only fills the last partial channel's worth to the exact sparsity (``channel_sparsity`` in
  the result says how much the channels did). At least one channel is swapped by criticality when any is
  pruned and g > 0 (the code's g (1 - p) N_ch, 0.05 x a few channels here, would round to none). Per
  layer, not global: our layers differ in fan-in, so a global L1 ranking would empty the widest layer first.
- Epochs: ``prune_fraction`` of ``TrainConfig.epochs`` prunes, the rest fine-tunes (the code: 200 + 300);
  r = 0.2 (the README; the code's default is 0.5). Prunable = every synaptic layer (compress/pruning.py).
"""

from __future__ import annotations

import dataclasses
import math
import time

import torch
from torch import nn

from compress.method import CompressResult
from compress.neurons import ATAN_ALPHA, LIF
from compress.pruning import (
    PruningError,
    apply_masks,
    count_prunable,
    cubic_density,
    finetune,
    global_topk_masks,
    magnitude_masks,
    masks_to_numpy,
    n_keep,
    prunable_layers,
    target_sparsity,
    topk_mask,
    weight_sparsity,
)


def atan_derivative(x: torch.Tensor, alpha: float = ATAN_ALPHA) -> torch.Tensor:
    """sigma'(x) = (alpha/2) / (1 + (pi/2 alpha x)^2)."""
    return (alpha / 2) / (1 + (math.pi / 2 * alpha * x) ** 2)


def neuron_of_layer(model: nn.Module) -> dict[str, str]:
    """Weight layer name -> the name of the spiking layer it drives (the next LIF in forward order)."""
    out, pending = {}, None
    for name, layer in model.layers.items():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            pending = name
        elif isinstance(layer, LIF) and pending is not None:
            out[pending], pending = name, None
    return out


def smoothed_spike(u: torch.Tensor, threshold: float) -> torch.Tensor:
    """The unstructured code's g: [tanh(3(x - 1/2)) + tanh(3/2)] / (2 tanh(3/2)) with x = u / (2 V_th), its
    neuron firing at x = 1/2 (u / V_th > 0.5 there; at u = V_th here): 0 at rest, 1/2 at threshold."""
    x = u / (2.0 * threshold)
    return (torch.tanh(3.0 * (x - 0.5)) + math.tanh(1.5)) / (2.0 * math.tanh(1.5))


METRICS = ("spike", "derivative")


def criticality(model: nn.Module, x_seq: torch.Tensor, metric: str = "derivative") -> dict[str, torch.Tensor]:
    """C per output neuron (channel) of each synaptic layer, from one forward pass over ``x_seq``.

    ``metric``: 'derivative' sigma'(u - V_th) (the structured code, vggprune.py) or 'spike' g(u) (the
    unstructured code's HEAD, core.py: :func:`smoothed_spike`)."""
    if metric not in METRICS:
        raise PruningError(f"unknown criticality metric '{metric}'; known: {', '.join(METRICS)}")
    neurons = dict(model.neuron_layers())
    for layer in neurons.values():
        layer.record_membrane, layer.membrane_trace = True, []
    try:
        with torch.no_grad():
            model(x_seq)
        scores = {}
        for weight_name, neuron_name in neuron_of_layer(model).items():
            layer = neurons[neuron_name]
            u = torch.stack(layer.membrane_trace)  # [T, B, C, (H, W)]
            value = (atan_derivative(u - layer.threshold) if metric == "derivative"
                     else smoothed_spike(u, float(layer.threshold)))
            per_step = value.mean(0)  # [B, C, ...]
            if per_step.dim() > 2:
                per_step = per_step.flatten(2).amax(2)
            scores[weight_name] = per_step.mean(0)
        return scores
    finally:
        for layer in neurons.values():
            layer.record_membrane, layer.membrane_trace = False, []


def _score_batch(dataset, train, n_samples: int, seed: int) -> torch.Tensor:
    from compress.encoding import encode

    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(dataset.x_train), generator=generator)[:n_samples]
    return encode(torch.as_tensor(dataset.x_train[index.numpy()]), train.steps, train.encoding, generator)


def regrow(masks: dict[str, torch.Tensor], just_pruned: dict[str, torch.Tensor],
           crit: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], layers: list[str],
           count: int) -> int:
    """Turn on up to ``count`` pruned weights of ``layers`` (not ``just_pruned``, gradient nonzero) with the
    highest criticality of their output neuron, ties by |grad|. Edits ``masks``; returns how many."""
    scores, names = {}, []
    for name in layers:
        shape = masks[name].shape
        c = crit[name].reshape(-1, *([1] * (len(shape) - 1))).expand(shape)
        g = grads[name].abs()
        eligible = ~masks[name] & ~just_pruned[name] & (g > 0)
        # lexicographic: criticality first, |grad| (scaled below 1) second; ineligible scores -1
        rank = c + 0.5 * g / (g.max() + 1e-30) * c.abs().clamp_min(1e-12) * 1e-6
        scores[name] = torch.where(eligible, rank, torch.full_like(rank, -1.0))
        names.append(name)
    available = int(sum(int((s >= 0).sum()) for s in scores.values()))
    count = min(count, available)
    if count <= 0:
        return 0
    picked = global_topk_masks(scores, count)
    for name in names:
        masks[name] = masks[name] | picked[name]
    return count


class Criticality:
    """Unstructured pruning-regeneration on the cubic density schedule, regrowth by criticality."""

    name = "criticality"

    def __init__(self, prune_fraction: float = 0.5, events: int = 8, regrow_fraction: float = 0.2,
                 score_samples: int = 256, metric: str = "spike", progress: bool | None = None):
        if metric not in METRICS:
            raise PruningError(f"unknown criticality metric '{metric}'; known: {', '.join(METRICS)}")
        self.metric = metric
        if not 0.0 < float(prune_fraction) < 1.0:
            raise PruningError(f"prune_fraction must be in (0, 1), got {prune_fraction}")
        if not 0.0 <= float(regrow_fraction) < 1.0:
            raise PruningError(f"regrow_fraction must be in [0, 1), got {regrow_fraction}")
        if int(events) < 1:
            raise PruningError(f"events must be >= 1, got {events}")
        self.prune_fraction, self.events = float(prune_fraction), int(events)
        self.regrow_fraction = float(regrow_fraction)
        self.score_samples, self.progress = score_samples, progress

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        n = count_prunable(model)
        sparsity = target_sparsity(budget, n)
        epochs = int(train.epochs)
        batches = math.ceil(len(dataset.x_train) / train.batch_size)
        prune_epochs = min(epochs - 1, max(1, round(self.prune_fraction * epochs))) if epochs > 1 else 0
        prune_steps = prune_epochs * batches
        events = max(1, min(self.events, prune_steps))
        delta = max(1, prune_steps // events)
        names = [name for name, _ in prunable_layers(model)]
        hidden = names[:-1]  # the classifier keeps the plain global threshold
        state = {"event": 0, "masks": {name: torch.ones_like(layer.weight, dtype=torch.bool)
                                       for name, layer in prunable_layers(model)},
                 "scoring_s": 0.0, "search_steps": 0, "search_wall_s": 0.0, "regrown": []}

        def event(m, allow_regrow: bool) -> None:
            t0 = time.perf_counter()
            state["event"] += 1
            k = n_keep(n, 1.0 - cubic_density(state["event"], events, 1.0 - sparsity))
            if state["event"] >= events:
                k = n_keep(n, sparsity)
            weights = {name: layer.weight.detach().abs() for name, layer in prunable_layers(m)}
            masks = global_topk_masks(weights, k)
            grown = 0
            if allow_regrow and self.regrow_fraction > 0 and hidden:
                grads = {name: (layer.weight.grad if layer.weight.grad is not None
                                else torch.zeros_like(layer.weight)) for name, layer in prunable_layers(m)}
                kept_hidden = sum(int(masks[h].sum()) for h in hidden)
                g = int(self.regrow_fraction * kept_hidden)
                x_seq = _score_batch(dataset, train, self.score_samples, train.seed + state["event"])
                crit = criticality(m, x_seq.to(next(m.parameters()).device), self.metric)
                # prune G more of the kept hidden weights (smallest |w|), then regrow as many by criticality
                trial = {h: masks[h].clone() for h in hidden}
                before = {h: trial[h].clone() for h in hidden}
                hidden_scores = {h: torch.where(masks[h], weights[h], torch.full_like(weights[h], -1.0))
                                 for h in hidden}
                kept_after = global_topk_masks(hidden_scores, kept_hidden - g)
                just_pruned = {h: before[h] & ~kept_after[h] for h in hidden}
                trial = dict(kept_after)
                grown = regrow(trial, just_pruned, crit, grads, hidden, g)
                if grown < g:  # fewer regrowable weights than G: prune only as many as were regrown
                    hidden_scores = {h: torch.where(masks[h], weights[h], torch.full_like(weights[h], -1.0))
                                     for h in hidden}
                    kept_after = global_topk_masks(hidden_scores, kept_hidden - grown)
                    just_pruned = {h: before[h] & ~kept_after[h] for h in hidden}
                    trial = dict(kept_after)
                    grown = regrow(trial, just_pruned, crit, grads, hidden, grown)
                for h in hidden:
                    masks[h] = trial[h]
                with torch.no_grad():  # regrown weights restart at 0
                    for name, layer in prunable_layers(m):
                        if name in hidden:
                            layer.weight.mul_((masks[name] & state["masks"][name]).to(layer.weight.dtype))
            state["masks"] = masks
            state["regrown"].append(grown)
            apply_masks(m, masks)
            state["scoring_s"] += time.perf_counter() - t0

        def on_step(m, step):
            if step % delta == 0 and state["event"] < events:
                event(m, allow_regrow=True)
                if state["event"] == events:
                    state["search_steps"], state["search_wall_s"] = step, time.perf_counter() - began
            else:
                apply_masks(m, state["masks"])

        if prune_epochs:
            cfg = dataclasses.replace(train, epochs=prune_epochs)
            from compress.train import fit

            fit(model, dataset, cfg, on_step=on_step, label=f"{self.name} prune-regrow to {sparsity:.4f}",
                progress=self.progress)
        while state["event"] < events:  # too few steps (or no epochs): finish the schedule without regrowth
            event(model, allow_regrow=False)
            state["search_wall_s"] = time.perf_counter() - began
        masks = state["masks"]
        finetune(model, dataset, train, epochs - prune_epochs, masks,
                 f"{self.name} fine-tune at sparsity {sparsity:.4f}", phase=1, progress=self.progress)
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model), "events": events,
                 "delta_steps": delta, "regrown_per_event": state["regrown"], "prune_epochs": prune_epochs,
                 "search_steps": state["search_steps"], "search_wall_s": state["search_wall_s"],
                 "scoring_wall_s": state["scoring_s"]}
        return CompressResult(self.name, model, epochs, time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)


def channel_importance(model: nn.Module) -> dict[str, torch.Tensor]:
    """L1 norm of each output channel's incoming weights, for every hidden synaptic layer."""
    return {name: layer.weight.detach().abs().flatten(1).sum(1)
            for name, layer in prunable_layers(model)[:-1]}


def channel_weight_masks(model: nn.Module, kept: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weight masks removing pruned channels: their incoming weights and the next layer's from them."""
    layers = prunable_layers(model)
    masks = {name: torch.ones_like(layer.weight, dtype=torch.bool) for name, layer in layers}
    for index, (name, layer) in enumerate(layers[:-1]):
        keep = kept[name]
        masks[name] &= keep.reshape(-1, *([1] * (layer.weight.dim() - 1)))
        nxt_name, nxt = layers[index + 1]
        if nxt.weight.dim() == 4 or nxt.weight.shape[1] == keep.numel():  # conv->conv or fc->fc
            masks[nxt_name] &= keep.reshape(1, -1, *([1] * (nxt.weight.dim() - 2)))
        else:  # conv -> flatten -> fc: each channel spans a block of the flat input
            per = nxt.weight.shape[1] // keep.numel()
            masks[nxt_name] &= keep.repeat_interleave(per).reshape(1, -1)
    return masks


class CriticalityStructured:
    """Channel pruning with criticality-guided channel regeneration, then exact magnitude fill."""

    name = "criticality-struct"

    def __init__(self, channel_fraction: float = 0.99, regrow_share: float = 0.05, score_samples: int = 512,
                 progress: bool | None = None):
        if not 0.0 <= float(channel_fraction) < 1.0:
            raise PruningError(f"channel_fraction must be in [0, 1), got {channel_fraction}")
        self.channel_fraction, self.regrow_share = float(channel_fraction), float(regrow_share)
        self.score_samples, self.progress = score_samples, progress

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        n = count_prunable(model)
        sparsity = target_sparsity(budget, n)
        importance = channel_importance(model)
        x_seq = _score_batch(dataset, train, self.score_samples, train.seed + 1)
        crit = criticality(model, x_seq.to(next(model.parameters()).device))
        total_channels = sum(v.numel() for v in importance.values())
        fraction = self._fraction_for(model, importance, crit, sparsity, n)
        kept = self._channels(importance, crit, fraction)
        masks = channel_weight_masks(model, kept)
        channel_sparsity = 1.0 - sum(int(m.sum()) for m in masks.values()) / n
        apply_masks(model, masks)
        masks = magnitude_masks(model, sparsity, "global", restrict=masks)
        search_wall = time.perf_counter() - began
        finetune(model, dataset, train, int(train.epochs), masks,
                 f"{self.name} fine-tune at sparsity {sparsity:.4f}", phase=1, progress=self.progress)
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model),
                 "channel_fraction": fraction, "channels_total": total_channels,
                 "channel_sparsity": channel_sparsity,
                 "channels_kept": {k: int(v.sum()) for k, v in kept.items()},
                 "search_steps": 0, "search_wall_s": search_wall}
        return CompressResult(self.name, model, int(train.epochs), time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)

    def _fraction_for(self, model, importance, crit, sparsity: float, n: int) -> float:
        """The largest channel fraction (``channel_fraction`` at most, steps of 1/100) whose channel pruning
        stays at or below the target: channels, not the magnitude fill, do the pruning."""
        best = 0.0
        for step in range(int(round(self.channel_fraction * 100)) + 1):
            fraction = step / 100
            masks = channel_weight_masks(model, self._channels(importance, crit, fraction))
            if 1.0 - sum(int(m.sum()) for m in masks.values()) / n > sparsity:
                break
            best = fraction
        return best

    def _channels(self, importance, crit, fraction: float) -> dict[str, torch.Tensor]:
        """Per layer: prune fraction + g(1 - fraction) channels by importance; regrow g(1 - fraction) by C."""
        kept = {}
        for name, imp in importance.items():
            count = imp.numel()
            n_prune = min(count - 1, int(round(fraction * count)))
            n_swap = min(n_prune, int(round(self.regrow_share * (count - n_prune))))
            if n_prune and self.regrow_share > 0:  # the code's g(1 - p) N_ch rounds to 0 on small layers
                n_swap = max(n_swap, 1)
            keep = topk_mask(imp, count - n_prune - n_swap)
            c = torch.where(keep, torch.full_like(crit[name], -1.0), crit[name])
            keep = keep | (topk_mask(c, n_swap) if n_swap else torch.zeros_like(keep))
            kept[name] = keep
        return kept
