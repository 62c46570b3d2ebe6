"""Spiking lottery tickets.

``lottery-imp``: Kim, Li, Park, Venkatesha, Panda, "Exploring Lottery Ticket Hypothesis in Spiking Neural
Networks", ECCV 2022: iterative magnitude pruning (global, ~25% of the remaining weights per round) with
late rewinding (each round restarts from the weights of an early epoch with the mask applied) and the
Early-Time ticket (at epoch 1 pick the smallest T' whose normalized KL(out_T || out_T') < 0.6, search the
masks at T', train the final ticket at the full T).

``lottery-conn`` and ``patch-prune``: Cheng, Cao, Xiao, Sun, Yang, Zhang, Lin, Kailkhura, Xu, Xu,
"Pursing the Sparse Limitation of Spiking Deep Learning Structures", arXiv 2311.12060 (research/methods.md
§4). ConnS: weights stay at their random initialization; a score per weight is trained (edge-popup, Ramanujan
et al. CVPR 2020: forward with the top-k scores' weights, straight-through gradient dL/ds = dL/dw_eff * w0)
and the ticket is the top-k by score. PatchS: keep the (1 - pr_p) most informative input patches and train
the network on them.

Deviations (scale: digits and a small MLP instead of CIFAR VGG-16/ResNet-19/Spikeformer):
- IMP: one initialisation gives the mask, the rewind point and every round: the dense model's own init
  (rebuilt from the seed, as the pipeline built it) is trained for round 0, the rewind point saved after
  ``rewind_epochs`` of it (Kim et al.: epoch 20 of 300); each round prunes the last round's trained
  weights and retrains from the rewind point with the mask held. Every round, round 0 included, gets the
  same share of ``TrainConfig.epochs`` (Kim et al.: 300 epochs each) and the training core's optimizer
  (Adam, cosine) instead of SGD 0.3. The per-round rate is ``rate`` (0.25) unless the epoch budget allows
  fewer rounds (at most epochs - 1): then the constant rate that ends exactly at the target.
  ``rewind=False`` (ablation) continues from the trained weights instead of rewinding.
- Early-Time: "normalized KL" read as KL divided by its largest value over the candidates T' = 1..T-1,
  on up to ``et_samples`` training samples (the paper's normalization is not in our notes).
- ConnS: frozen weights are N(0, 1) scaled per layer to the dense layer's std / sqrt(density) (edge-popup's
  scaled init; a spiking layer with a threshold needs the dense weights' scale to fire at all); scores are
  trained by Adam at lr 0.1 (the paper's optimiser and base lr) for all ``TrainConfig.epochs``; per-layer
  top-k (edge-popup) by default, ``scope='global'`` for one ranking. ``weights='binary'`` (default) is
  BinWSNN-ConnS with Algorithm 1's gain alpha = ||M w||_1 / ||M||_1 (the norm is not named in our notes;
  L1, XNOR-Net's gain, keeps alpha in the weights' units); ``weights='real'`` is SNN-ConnS. Without
  Algorithm 1's temporary linear head (an MLP's own classifier is trained the same way).
- ``patch-prune`` is NOT the paper's patch-level ticket, hence not called lottery-*: PatchS selects
  patches per input with a spiking encoder, a data-dependent gate a fixed chip graph cannot hold. This
  keeps one patch mask for the whole dataset.
- patch-prune: a patch's information is its input-times-gradient saliency on the dense model,
  |sum_{pixels, t} x dL/dx| averaged over ``score_samples`` samples (Cheng et al. score patches with a
  spiking encoder; the exact function is not published). Dropping an input patch of an MLP is exactly
  zeroing its columns of the first layer, which is how the patch ticket is stored and exported; the rest of
  the sparsity target is met by global magnitude pruning, then fine-tuning. Conv models are refused: a
  dropped input patch is not a weight of a shared kernel, and the NIR graph has no input mask to carry it.
- Prunable = every synaptic layer (compress/pruning.py).
"""

from __future__ import annotations

import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from compress.method import CompressResult
from compress.pruning import (
    PruningError,
    apply_masks,
    count_prunable,
    finetune,
    geometric_densities,
    global_topk_masks,
    layer_budgets,
    magnitude_masks,
    masks_to_numpy,
    n_keep,
    prunable_layers,
    sparsity_of,
    target_sparsity,
    topk_mask,
    weight_sparsity,
)

KL_THRESHOLD = 0.6


def imp_rounds(final_density: float, rate: float, max_rounds: int) -> int:
    """Rounds at ``rate`` per round to reach ``final_density`` (at least 1), at most ``max_rounds``."""
    needed = max(1, math.ceil(math.log(final_density) / math.log(1.0 - rate) - 1e-9))
    return max(1, min(needed, max_rounds))


def normalized_kl(counts: dict[int, torch.Tensor], full_steps: int) -> dict[int, float]:
    """KL(p_T || p_T') of softmaxed output rates per candidate T', divided by the largest over candidates.

    ``counts`` maps T' -> output spike counts [B, n]; rates are counts/T' scaled to T (the readout's logits).
    """
    from compress.train import COUNT_LOGIT_SCALE

    def log_p(steps: int) -> torch.Tensor:
        return F.log_softmax(counts[steps] / steps * full_steps * COUNT_LOGIT_SCALE, dim=-1)

    ref = log_p(full_steps)
    kl = {t: float((ref.exp() * (ref - log_p(t))).sum(-1).mean()) for t in counts if t != full_steps}
    top = max(kl.values()) if kl else 0.0
    return {t: (v / top if top > 0 else 0.0) for t, v in kl.items()}


def early_time_steps(model: nn.Module, dataset, train, samples: int, threshold: float = KL_THRESHOLD):
    """The smallest T' < T whose normalized KL to the full-T output is below ``threshold`` (else T)."""
    from compress.train import predict_counts

    x = torch.as_tensor(dataset.x_train[:samples]).to(next(model.parameters()).device)
    counts = {}
    for steps in range(1, train.steps + 1):
        cfg = dataclasses.replace(train, steps=steps)
        generator = torch.Generator(x.device).manual_seed(train.seed + steps)
        counts[steps] = predict_counts(model, x, cfg, generator)
    nkl = normalized_kl(counts, train.steps)
    chosen = next((t for t in sorted(nkl) if nkl[t] < threshold), train.steps)
    return chosen, nkl


class LotteryIMP:
    """IMP with late rewinding; ``early_time=True`` searches the masks at the Early-Time T'."""

    name = "lottery-imp"

    def __init__(self, rate: float = 0.25, rewind_epochs: int = 1, early_time: bool = False,
                 et_samples: int = 1000, rewind: bool = True, progress: bool | None = None):
        if not 0.0 < float(rate) < 1.0:
            raise PruningError(f"rate must be in (0, 1), got {rate}")
        if int(rewind_epochs) < 0:
            raise PruningError(f"rewind_epochs must be >= 0, got {rewind_epochs}")
        self.rate, self.rewind_epochs, self.early_time = float(rate), int(rewind_epochs), bool(early_time)
        self.et_samples, self.progress, self.rewind = int(et_samples), progress, bool(rewind)

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        sparsity = target_sparsity(budget, count_prunable(model))
        epochs = int(train.epochs)
        # one initialisation: the dense model's own (seed_everything(seed) + build, as the pipeline did)
        from compress.models import build_model
        from compress.train import seed_everything

        seed_everything(train.seed)
        device = next(model.parameters()).device
        init = build_model(model.config, model.input_shape, model.n_classes).to(device)
        model.load_state_dict(init.state_dict())
        rounds = imp_rounds(1.0 - sparsity, self.rate, max(epochs - 1, 1))
        share = [epochs // (rounds + 1) + (r < epochs % (rounds + 1)) for r in range(rounds + 1)]
        rewind_epochs = min(self.rewind_epochs, share[0])
        # round 0: dense training from the init, the rewind point saved after rewind_epochs
        finetune(model, dataset, train, rewind_epochs, {}, f"{self.name} dense to the rewind point",
                 phase=0, progress=self.progress)
        rewind_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        finetune(model, dataset, train, share[0] - rewind_epochs, {}, f"{self.name} dense round 0",
                 phase=1, progress=self.progress)
        search_train, nkl = train, {}
        if self.early_time:
            t_search, nkl = early_time_steps(model, dataset, train, self.et_samples)
            search_train = dataclasses.replace(train, steps=t_search)
        masks, log, search_wall = None, [], 0.0
        for r, density in enumerate(geometric_densities(1.0 - sparsity, rounds)):
            last = r == rounds - 1
            masks = magnitude_masks(model, sparsity if last else 1.0 - density, "global", restrict=masks)
            if last:
                search_wall = time.perf_counter() - began
            if self.rewind:
                model.load_state_dict(rewind_state)  # late rewinding
            cfg = train if last else search_train
            finetune(model, dataset, cfg, share[r + 1], masks,
                     f"{self.name} round {r + 1}/{rounds} sparsity {sparsity_of(masks):.4f} T={cfg.steps}",
                     phase=r + 2, progress=self.progress)
            log.append({"round": r + 1, "sparsity": sparsity_of(masks), "epochs": share[r + 1],
                        "steps": cfg.steps})
        apply_masks(model, masks)
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model), "rounds": log,
                 "rewind_epochs": rewind_epochs, "rewind": self.rewind, "dense_epochs": share[0],
                 "early_time_steps": search_train.steps,
                 "normalized_kl": {str(k): v for k, v in nkl.items()}, "search_wall_s": search_wall}
        return CompressResult(self.name, model, epochs, time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)


class _TopKStraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, scores: torch.Tensor, k: int) -> torch.Tensor:  # noqa: D102
        return topk_mask(scores, k).to(scores.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        return grad, None


class EdgePopup(nn.Module):
    """Parametrization: weight = w0 * top-k(scores), gradient straight through to the scores.

    ``binary``: BinWSNN-ConnS, weight = alpha * M * sign(w0) with the gain alpha = ||M w0||_1 / ||M||_1 (the
    mean |w0| of the kept weights, recomputed every forward as Algorithm 1 recomputes it every step)."""

    def __init__(self, scores: torch.Tensor, k: int, binary: bool = False):
        super().__init__()
        self.scores = nn.Parameter(scores)
        self.k = int(k)
        self.binary = bool(binary)

    def forward(self, w0: torch.Tensor) -> torch.Tensor:
        mask = _TopKStraightThrough.apply(self.scores, self.k)
        if not self.binary:
            return w0 * mask
        alpha = gain(w0, mask.detach())
        return alpha * torch.sign(w0) * mask


def gain(w0: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """alpha = ||M w0||_1 / ||M||_1: the mean magnitude of the kept frozen weights (0 with nothing kept)."""
    return (w0.abs() * mask).sum() / mask.sum().clamp_min(1.0)


class LotteryConnection:
    """Connection-level ticket by score search (edge-popup) over frozen random weights."""

    name = "lottery-conn"

    def __init__(self, score_lr: float = 0.1, scope: str = "layer", weights: str = "binary",
                 progress: bool | None = None):
        if scope not in ("layer", "global"):
            raise PruningError(f"unknown scope '{scope}'; known: layer, global")
        if weights not in ("binary", "real"):
            raise PruningError(f"unknown weights '{weights}'; known: binary, real")
        self.score_lr, self.scope, self.progress = float(score_lr), scope, progress
        self.weights = weights

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        n = count_prunable(model)
        sparsity = target_sparsity(budget, n)
        keep = n_keep(n, sparsity)
        layers = prunable_layers(model)
        generator = torch.Generator().manual_seed(train.seed + 32452843)
        ks = layer_budgets({name: layer.weight.numel() for name, layer in layers}, keep)
        scores = []
        for name, layer in layers:
            density = max(ks[name] / layer.weight.numel(), 1e-6) if self.scope == "layer" else keep / n
            std = float(layer.weight.detach().std()) / math.sqrt(density)
            w0 = torch.randn(layer.weight.shape, generator=generator) * std
            with torch.no_grad():
                layer.weight.copy_(w0.to(layer.weight.device))
            layer.weight.requires_grad_(False)
            s = torch.rand(layer.weight.shape, generator=generator).to(layer.weight.device)
            parametrize.register_parametrization(layer, "weight",
                                                 EdgePopup(s, ks[name], binary=self.weights == "binary"))
            scores.append(layer.parametrizations.weight[0].scores)
        if self.scope == "global":
            self._global_step(model)
            on_step = self._global_step
        else:
            on_step = None
        cfg = dataclasses.replace(train, lr=self.score_lr, optimizer="adam")
        if train.epochs > 0:
            from compress.train import fit

            fit(model, dataset, cfg, params=scores, on_step=on_step,
                label=f"{self.name} score search at sparsity {1 - keep / n:.4f}", progress=self.progress)
        for _, layer in layers:
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
            layer.weight.requires_grad_(True)
        masks = {name: layer.weight.detach() != 0 for name, layer in layers}
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model), "scope": self.scope,
                 "weights": self.weights,
                 "kept_per_layer": {k: int(m.sum()) for k, m in masks.items()}}
        return CompressResult(self.name, model, int(train.epochs), time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)

    @staticmethod
    def _global_step(model, step: int = 0) -> None:
        """Global scope: re-split k over layers by one ranking of all scores."""
        layers = prunable_layers(model)
        pops = {name: layer.parametrizations.weight[0] for name, layer in layers}
        total = sum(p.k for p in pops.values())
        picked = global_topk_masks({name: p.scores.detach() for name, p in pops.items()}, total)
        for name, p in pops.items():
            p.k = int(picked[name].sum())


class InputPatchPruning:
    """One dataset-wide input patch mask (least informative patches dropped), then magnitude pruning to the
    target and training: what a fixed chip graph can keep of the patch-level ticket (module docstring)."""

    name = "patch-prune"

    def __init__(self, patch_fraction: float = 0.314, patch_size: int = 2, score_samples: int = 512,
                 progress: bool | None = None):
        if not 0.0 <= float(patch_fraction) < 1.0:
            raise PruningError(f"patch_fraction must be in [0, 1), got {patch_fraction}")
        if int(patch_size) < 1:
            raise PruningError(f"patch_size must be >= 1, got {patch_size}")
        self.patch_fraction, self.patch_size = float(patch_fraction), int(patch_size)
        self.score_samples, self.progress = int(score_samples), progress

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        layers = prunable_layers(model)
        first_name, first = layers[0]
        if not isinstance(first, nn.Linear):
            raise PruningError("patch-prune needs an MLP (a first Linear layer): a conv model's dropped "
                               "input patches cannot be stored in its shared kernels or in the NIR graph")
        n = count_prunable(model)
        sparsity = target_sparsity(budget, n)
        saliency = patch_saliency(model, dataset, train, self.patch_size, self.score_samples)
        n_patches = saliency.numel()
        drop = int(round(self.patch_fraction * n_patches))
        while True:  # never drop more than the target allows
            keep_patch = topk_mask(saliency.reshape(-1), n_patches - drop).reshape(saliency.shape)
            pixel_mask = patch_to_pixels(keep_patch, model.input_shape, self.patch_size)
            column = pixel_mask.reshape(-1).to(first.weight.device)
            restrict = {name: torch.ones_like(layer.weight, dtype=torch.bool) for name, layer in layers}
            restrict[first_name] = column.reshape(1, -1).expand_as(first.weight).clone()
            if sparsity_of(restrict) <= sparsity or drop == 0:
                break
            drop -= 1
        apply_masks(model, restrict)
        masks = magnitude_masks(model, sparsity, "global", restrict=restrict)
        search_wall = time.perf_counter() - began
        finetune(model, dataset, train, int(train.epochs), masks,
                 f"{self.name} train on {n_patches - drop}/{n_patches} patches, sparsity {sparsity:.4f}",
                 phase=1, progress=self.progress)
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model), "patches_total": n_patches,
                 "patches_kept": n_patches - drop, "patch_size": self.patch_size,
                 "input_mask": pixel_mask.cpu().numpy().astype(int).tolist(), "search_wall_s": search_wall}
        return CompressResult(self.name, model, int(train.epochs), time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)


def patch_saliency(model: nn.Module, dataset, train, patch: int, samples: int) -> torch.Tensor:
    """|sum over a patch's pixels and steps of x dL/dx|, mean over samples: [C, ceil(H/p), ceil(W/p)]."""
    from compress.encoding import encode
    from compress.train import loss_fn

    device = next(model.parameters()).device
    x = torch.as_tensor(dataset.x_train[:samples]).to(device)
    y = torch.as_tensor(dataset.y_train[:samples]).to(device)
    x_seq = encode(x, train.steps, train.encoding, torch.Generator(device).manual_seed(train.seed + 49979687))
    x_seq.requires_grad_(True)
    loss = loss_fn(model(x_seq), y)
    (grad,) = torch.autograd.grad(loss, x_seq)
    taylor = (x_seq.detach() * grad).sum(0)  # [B, C, H, W]
    channels, height, width = model.input_shape
    ph, pw = math.ceil(height / patch), math.ceil(width / patch)
    padded = F.pad(taylor, (0, pw * patch - width, 0, ph * patch - height))
    per_patch = padded.reshape(len(x), channels, ph, patch, pw, patch).sum((3, 5))
    return per_patch.abs().mean(0)


def patch_to_pixels(keep_patch: torch.Tensor, input_shape: tuple[int, ...], patch: int) -> torch.Tensor:
    """Patch mask [C, ph, pw] -> pixel mask [C, H, W]."""
    _, height, width = input_shape
    full = keep_patch.repeat_interleave(patch, 1).repeat_interleave(patch, 2)
    return full[:, :height, :width]
