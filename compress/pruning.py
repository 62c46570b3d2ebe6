"""Shared pieces of every pruning method: what is prunable, exact-k masks, applying masks, schedules.

**Prunable** weights are the ``.weight`` tensors of every synaptic layer (``model.synaptic_layers()``:
first, hidden and output layers alike; biases are never pruned). Sparsity is the fraction of those
weights that are exactly zero, over all of them together. Every pruning method in
:mod:`compress.methods` uses this one definition, so its target is met in the same terms the pipeline
and the tests measure. (Several papers spare the first or the last layer; each method's docstring says
where it departs from its paper for this reason.)

**Exact k.** A target sparsity ``s`` over ``N`` prunable weights keeps exactly ``floor((1 - s) * N)``
weights (so the sparsity reached is >= s and within 1/N of it). Masks keep the top-k scores with a stable
sort, so ties go to the lower flat index and the count is never off by a tie.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
from torch import nn

from hwprofiles.errors import UserError

Masks = dict[str, torch.Tensor]  # layer name -> bool tensor shaped like its weight, True = kept


class PruningError(UserError):
    """A pruning target that cannot be met (sparsity outside [0, 1), no target given)."""


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The synaptic layers whose weights are pruned, in forward order."""
    return list(model.synaptic_layers())


def count_prunable(model: nn.Module) -> int:
    return int(sum(layer.weight.numel() for _, layer in prunable_layers(model)))


def check_sparsity(sparsity: float) -> float:
    """``sparsity`` as a float in [0, 1); anything else is the user's error."""
    try:
        value = float(sparsity)
    except (TypeError, ValueError):
        raise PruningError(f"sparsity must be a number in [0, 1), got {sparsity!r}") from None
    if not 0.0 <= value < 1.0:
        raise PruningError(f"sparsity must be in [0, 1), got {value}")
    return value


def target_sparsity(budget, n_prunable: int) -> float:
    """The sparsity a :class:`compress.method.Budget` asks for: ``sparsity``, else ``max_synapses``."""
    if budget.sparsity is not None:
        return check_sparsity(budget.sparsity)
    if budget.max_synapses is not None:
        if budget.max_synapses < 1:
            raise PruningError(f"max_synapses must be >= 1, got {budget.max_synapses}")
        return max(0.0, 1.0 - budget.max_synapses / n_prunable)
    raise PruningError("a pruning method needs a target: give --sparsity (or a budget with max_synapses)")


def n_keep(n_total: int, sparsity: float) -> int:
    """Weights kept for ``sparsity`` over ``n_total``: floor((1 - s) * N), at least 1.

    Floor, so the sparsity reached is never below the target (and exceeds it by less than 1/N)."""
    return max(1, min(n_total, math.floor((1.0 - check_sparsity(sparsity)) * n_total + 1e-6)))


def topk_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Bool mask shaped like ``scores`` with exactly ``k`` True at the largest scores (ties: lower index)."""
    flat = scores.detach().reshape(-1)
    k = max(0, min(int(k), flat.numel()))
    order = torch.argsort(-flat.float(), stable=True)
    mask = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    mask[order[:k]] = True
    return mask.reshape(scores.shape)


def global_topk_masks(scores: Mapping[str, torch.Tensor], k: int) -> Masks:
    """Exactly ``k`` True over all layers together, at the largest scores."""
    names = list(scores)
    flat = torch.cat([scores[n].detach().reshape(-1).float() for n in names])
    mask = topk_mask(flat, k)
    out, start = {}, 0
    for n in names:
        size = scores[n].numel()
        out[n] = mask[start:start + size].reshape(scores[n].shape)
        start += size
    return out


def layer_budgets(sizes: Mapping[str, int], k_total: int) -> dict[str, int]:
    """Split ``k_total`` kept weights over layers in proportion to their sizes, summing exactly to it."""
    n_total = sum(sizes.values())
    raw = {n: k_total * s / n_total for n, s in sizes.items()}
    out = {n: int(v) for n, v in raw.items()}
    for n in sorted(raw, key=lambda m: (out[m] - raw[m], m))[: k_total - sum(out.values())]:
        out[n] += 1  # largest remainders first
    return out


def layer_topk_masks(scores: Mapping[str, torch.Tensor], k_total: int) -> Masks:
    """Every layer keeps the same density; per-layer counts sum exactly to ``k_total``."""
    ks = layer_budgets({n: s.numel() for n, s in scores.items()}, k_total)
    return {n: topk_mask(s, ks[n]) for n, s in scores.items()}


def magnitude_masks(model: nn.Module, sparsity: float, scope: str = "global",
                    restrict: Masks | None = None) -> Masks:
    """Keep the largest |w| to exactly ``sparsity``: one threshold over all layers ('global') or the same
    density in each ('layer'). With ``restrict``, weights already pruned there stay pruned."""
    scores = {}
    for name, layer in prunable_layers(model):
        score = layer.weight.detach().abs().float()
        if restrict is not None:
            score = torch.where(restrict[name], score, torch.full_like(score, -1.0))
        scores[name] = score
    k = n_keep(sum(s.numel() for s in scores.values()), sparsity)
    if scope == "global":
        return global_topk_masks(scores, k)
    if scope == "layer":
        return layer_topk_masks(scores, k)
    raise PruningError(f"unknown scope '{scope}'; known: global, layer")


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero the pruned weights in place."""
    with torch.no_grad():
        for name, layer in prunable_layers(model):
            if name in masks:
                layer.weight.mul_(masks[name].to(layer.weight.device, layer.weight.dtype))


def masking_step(masks: Mapping[str, torch.Tensor]) -> Callable[[nn.Module, int], None]:
    """An ``on_step`` for :func:`compress.train.fit` that re-applies ``masks`` after every optimizer step."""
    def on_step(model: nn.Module, step: int) -> None:
        apply_masks(model, masks)
    return on_step


def current_masks(model: nn.Module) -> Masks:
    """The masks the weights imply: True where a weight is nonzero."""
    return {name: layer.weight.detach() != 0 for name, layer in prunable_layers(model)}


def sparsity_of(masks: Mapping[str, torch.Tensor]) -> float:
    """Fraction of entries that are False over all masks."""
    total = sum(m.numel() for m in masks.values())
    kept = sum(int(m.sum()) for m in masks.values())
    return 1.0 - kept / max(total, 1)


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of prunable weights that are exactly zero."""
    return sparsity_of(current_masks(model))


def cubic_density(step: int, total_steps: int, final_density: float, initial_density: float = 1.0) -> float:
    """Zhu & Gupta (2017) cubic schedule: d_k = d_f + (d_i - d_f)(1 - k/K)^3, k clipped to [0, K]."""
    if total_steps <= 0:
        return final_density
    frac = min(max(step / total_steps, 0.0), 1.0)
    return final_density + (initial_density - final_density) * (1.0 - frac) ** 3


def geometric_densities(final_density: float, rounds: int) -> list[float]:
    """Per-round densities of iterative pruning at a constant rate: d_r = d_f^(r/R), ending exactly at d_f."""
    if rounds < 1:
        raise PruningError(f"rounds must be >= 1, got {rounds}")
    return [final_density ** (r / rounds) for r in range(1, rounds + 1)]


def masks_to_numpy(masks: Mapping[str, torch.Tensor]) -> dict:
    """Masks as bool numpy arrays (what CompressResult.masks holds)."""
    return {n: m.detach().cpu().numpy().astype(bool) for n, m in masks.items()}


def finetune(model: nn.Module, dataset, train, epochs: int, masks: Mapping[str, torch.Tensor], label: str, *,
             phase: int = 0, progress: bool | None = None, **overrides):
    """Train ``epochs`` epochs with ``masks`` held (re-applied after every step); None when epochs <= 0.

    ``phase`` offsets the seed so successive phases draw other shuffles and input spikes."""
    import dataclasses

    from compress.train import fit

    apply_masks(model, masks)
    if epochs <= 0:
        return None
    cfg = dataclasses.replace(train, epochs=int(epochs), seed=train.seed + 7919 * phase, **overrides)
    return fit(model, dataset, cfg, on_step=masking_step(masks), label=label, progress=progress)


def synops_per_weight(model: nn.Module, dataset, train, n_samples: int = 256) -> dict[str, torch.Tensor]:
    """Mean synaptic events per sample each weight would carry if nonzero (NeuroBench effective ACs).

    d(effective synops)/d(binary weight) over a training subset: the presynaptic activity each weight sees.
    """
    import torch.nn.functional as F

    from compress.encoding import encode

    x = torch.as_tensor(dataset.x_train[:n_samples])
    generator = torch.Generator().manual_seed(train.seed + 104729)
    device = next(model.parameters()).device
    with torch.no_grad():
        model(encode(x, train.steps, train.encoding, generator).to(device))
    costs = {}
    for name, layer in prunable_layers(model):
        active = (model.last_inputs[name] != 0).float().sum(0)  # [B, ...]
        ones = torch.ones_like(layer.weight, requires_grad=True)
        if isinstance(layer, nn.Conv2d):
            out = F.conv2d(active, ones, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        else:
            out = F.linear(active, ones)
        (grad,) = torch.autograd.grad(out.sum(), ones)
        costs[name] = grad.detach() / len(x)
    return costs


def clone_model(model: nn.Module) -> nn.Module:
    """A deep copy; the recorded activity (which may hold autograd graphs after training) is dropped first."""
    import copy

    for attr in ("last_spikes", "last_inputs"):
        if hasattr(model, attr):
            setattr(model, attr, {})
    return copy.deepcopy(model)
