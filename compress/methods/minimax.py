"""Minimax compression: Chen, Yuan, Tan, Chen, Song, Zhang, "Resource Constrained Model Compression via
Minimax Optimization for Spiking Neural Networks", ACM MM 2023 (arXiv 2308.04672).

Problem (the authors' ``prune_cifar10net.py`` / ``utils/prune_optimizer.py``, research/methods.md §1):

    min_{W,s} max_{y,z>=0}  L(W) + y*Phi_s(W) + z*(R(s) - B)
    Phi_s(W) = sum of the ceil(s) smallest w^2   (0 iff at most N - s weights are nonzero)
    R(s)     = (N - ceil(s)) / N                 (remaining fraction), 0 <= s <= s_max = N(1 - B)

Per mini-batch, after the task's optimizer step on W (:func:`minimax_update`):
  1. proximal step: tau = the (ceil(s)+1)-th smallest w^2; every w with w^2 < tau: w <- w / (1 + 2 lr y);
  2. s step, straight-through gradients dPhi/ds = tau, dR/ds = -1/N: s <- clip(s - lr_s (y tau - z/N));
  3. dual ascent, projected to >= 0: y += lr_y Phi_s(W), z += lr_z (R(s) - B);
  4. mask: the ceil(s) smallest w^2 are zeroed.

``minimax`` (joint): compression pauses at each snapshot of the remaining fraction (0.25, 0.12, 0.05,
0.0235, 0.0073 as in the code, those above the target, then the target), fine-tunes with the mask frozen
(lr restarts, cosine decay), then resumes with s, y, z kept. ``minimax-seq`` (sequential; the paper does
not define its baseline, research/methods.md: prune straight to the target, then fine-tune once) runs the
same updates straight to the target, then one fine-tune.

Deviations (scale: digits and a small MLP/CNN instead of CIFAR-10 6Conv2FC):
- Prunable = every synaptic layer, the first included (the code spares the first conv): on a 64-128-10
  MLP the first layer holds 86% of the weights, and all methods here share one sparsity definition.
- The s step and the z step are measured in the weights' own saliency (``scale='saliency'``, default).
  With the code's raw constants (lr_s 0.5, lr_z 1e10) the z term of g_s = y tau - z/N outgrows y tau by
  orders of magnitude within a few steps (CIFAR: z/N ~ 272 per step against y tau ~ 1), so s follows a
  fixed quadratic schedule whatever the weights (measured here: identical snapshot steps for every seed).
  We keep the code's update rules and put both terms on one scale: tau_B = the target's threshold w^2 on
  the dense weights (:func:`saliency_unit`); s moves s_unit = s_max / (y_ref tau_B) weights per unit of
  g_s, divided by y / y_ref once y exceeds y_ref = y0 (10; a Newton-like step that keeps s from
  oscillating as y grows); lr_z = 2 N y_ref tau_B / ((1 - B) K) makes z/N reach y_ref tau_B over K =
  ``compress_fraction`` x 0.7 of the method's steps. s then tracks the count of weights whose w^2 lies
  below z / (N y): it depends on the weights, on the data through training and the proximal shrink, and
  on y, which grows with the penalty Phi (tests/test_methods_minimax.py). ``scale='reference'`` keeps the
  raw step (s_unit 1, lr_z = 2 N^2 / (lr_s K^2): z alone brings s to s_max in K steps).
  lr_s = 0.5, lr_y = 1e3, y0 = 10, z0 = 1 as in the code.
- The task loss and optimizer are the training core's (cross-entropy on spike counts, Adam at the
  TrainConfig lr) instead of MSE on firing rates with Adam 1e-4; fine-tuning lasts the share of
  ``TrainConfig.epochs`` left after compression (not 300 epochs per snapshot).
- If compression has not reached the target after its epoch share, s is set to the target (``forced``
  in the result), so the target is always met exactly (floor((1 - B) N) weights kept).
- Beyond the paper: ``resource='synops'|'energy'`` ranks weights by w^2 / c_i, where c_i blends weight
  count and the weight's synaptic events per sample a_i on the dense model (c_i = (a_i + mean a) / 2 mean a).
  With ``resource='energy'`` and an energy budget (``Budget.energy_per_inference_j``, the profile's
  ``energy.energy_per_inference_j``), R(s) IS the energy (the paper: "R(s) evaluates a general resource
  consumption"): E = E_fixed + sum over kept weights of synapse_op_j a_i, with E_fixed = neuron updates x
  neuron_update_j + spikes x spike_out_j of the dense model (no mask changes it at first order);
  R(s) = E(s) / E_dense, dR/ds = -(the threshold weight's share of E_dense), B = budget / E_dense, the
  snapshots in units of R, and the count that meets B recomputed on the final weights (a sparsity target,
  if also given, is a floor on the count). Prices: the budget's (the profile's own figures), or the
  ``profile`` option's. A budget below E_fixed is refused (no mask can meet it). Without an energy budget,
  'energy' ranks as 'synops' does and R(s) stays counted in weights.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch

from compress.method import CompressResult
from compress.pruning import (
    PruningError,
    apply_masks,
    count_prunable,
    finetune,
    masks_to_numpy,
    n_keep,
    prunable_layers,
    synops_per_weight,
    target_sparsity,
    weight_sparsity,
)

SNAPSHOTS = (0.25, 0.12, 0.05, 0.0235, 0.0073, 0.007)
RESOURCES = ("weights", "synops", "energy")
SCALES = ("saliency", "reference")
REFERENCE_Y0 = 10.0  # the code's initial y; the s step's unit is set at this y when y0 is ablated to 0


@dataclass
class MinimaxState:
    """The minimax variables: s (weights to prune, real), duals y and z, and the stage's cap on s."""

    s: float
    y: float
    z: float
    n: int
    s_max: int  # N - floor((1 - B) N): the target's pruned count
    s_stage: int  # current snapshot's pruned count (s is capped there)
    budget_remaining: float  # B
    lr_s: float
    lr_y: float
    lr_z: float
    steps: int = 0
    s_unit: float = 1.0  # weights s moves per unit of its gradient at y <= y_ref (1: the code's raw step)
    y_ref: float = 0.0  # above y_ref the s step is divided by y / y_ref (0: never)
    shares: torch.Tensor | None = None  # R(s) as energy: each weight's share of the dense energy [N]

    @property
    def pruned(self) -> int:
        return min(int(math.ceil(self.s - 1e-9)), self.s_max)

    @property
    def remaining(self) -> float:
        """R(s) = (N - ceil(s)) / N."""
        return (self.n - self.pruned) / self.n


def minimax_update(w: torch.Tensor, state: MinimaxState, lr_w: float,
                   cost: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One per-batch minimax step on the flat prunable weights ``w`` [N] (after the task's step).

    Updates ``state`` in place; returns (new weights, keep mask). ``cost``: per-weight resource weights
    (mean 1) dividing w^2 in the ranking; None = plain w^2 (the paper).
    """
    w = w.clone()
    n = w.numel()
    saliency = w.square() if cost is None else w.square() / cost
    order = torch.argsort(saliency, stable=True)
    k = state.pruned
    tau = float(saliency[order[k]]) if k < n else float(saliency[order[-1]])
    small = order[:k]
    w[small] = w[small] / (1.0 + 2.0 * lr_w * state.y)  # proximal step on Phi
    sal_small = w[small].square() if cost is None else w[small].square() / cost[small]
    phi = float(sal_small.sum())
    shares = None if state.shares is None else state.shares.to(w.device)
    slope = 1.0 / n if shares is None else (float(shares[order[k]]) if k < n else 0.0)  # -dR/ds
    grad_s = state.y * tau - state.z * slope
    unit = state.s_unit / max(1.0, state.y / state.y_ref) if state.y_ref > 0 else state.s_unit
    state.s = min(max(state.s - state.lr_s * unit * grad_s, 0.0), float(state.s_stage))
    state.y = max(0.0, state.y + state.lr_y * phi)
    remaining = state.remaining if shares is None else 1.0 - float(shares[order[:state.pruned]].sum())
    state.z = max(0.0, state.z + state.lr_z * (remaining - state.budget_remaining))
    state.steps += 1
    return w, keep_smallest_pruned(w, state.pruned, cost)


def pruned_for(remaining: float, w: torch.Tensor, shares: torch.Tensor, cost: torch.Tensor | None) -> int:
    """Fewest weights to prune, smallest w^2 (/ cost) first, for R = 1 - (their shares) <= ``remaining``."""
    saliency = w.square() if cost is None else w.square() / cost
    cum = torch.cumsum(shares.to(w.device)[torch.argsort(saliency, stable=True)], 0)
    need = 1.0 - remaining
    at = torch.searchsorted(cum, torch.tensor(need - 1e-12, dtype=cum.dtype, device=cum.device))
    return min(int(at) + 1, w.numel() - 1)


def saliency_unit(w: torch.Tensor, s_max: int) -> float:
    """tau_B: the (s_max + 1)-th smallest w^2 of the starting weights, the threshold the target puts on the
    dense model (the unit the s step and the z step are measured in); 1e-12 at least."""
    squares = torch.sort(w.detach().square().reshape(-1)).values
    return max(float(squares[min(s_max, squares.numel() - 1)]), 1e-12)


def keep_smallest_pruned(w: torch.Tensor, pruned: int, cost: torch.Tensor | None = None) -> torch.Tensor:
    """Keep mask [N] zeroing exactly the ``pruned`` smallest w^2 (or w^2/cost); ties: lower index pruned."""
    saliency = w.square() if cost is None else w.square() / cost
    mask = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    mask[torch.argsort(saliency, stable=True)[:pruned]] = False
    return mask


def _flat(model) -> torch.Tensor:
    return torch.cat([layer.weight.detach().reshape(-1) for _, layer in prunable_layers(model)])


def _unflat(model, flat: torch.Tensor) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, layer in prunable_layers(model):
        size = layer.weight.numel()
        out[name] = flat[start:start + size].reshape(layer.weight.shape)
        start += size
    return out


def _write(model, flat: torch.Tensor) -> None:
    with torch.no_grad():
        for (_, layer), value in zip(prunable_layers(model), _unflat(model, flat).values(), strict=True):
            layer.weight.copy_(value)


def stage_targets(budget_remaining: float, joint: bool, snapshots=SNAPSHOTS) -> list[float]:
    """Remaining fractions compression pauses at: the snapshots above the target (joint), then the target."""
    above = [r for r in snapshots if r > budget_remaining + 1e-12] if joint else []
    return [*above, budget_remaining]


class Minimax:
    """Joint minimax compression and fine-tuning (snapshot schedule). Options: see the module docstring."""

    name = "minimax"
    joint = True

    def __init__(self, compress_fraction: float = 0.3, lr_s: float = 0.5, lr_y: float = 1e3,
                 lr_z: float | None = None, y0: float = 10.0, z0: float = 1.0, resource: str = "weights",
                 profile: str | None = None, snapshots=SNAPSHOTS, scale: str = "saliency",
                 progress: bool | None = None):
        if scale not in SCALES:
            raise PruningError(f"unknown scale '{scale}'; known: {', '.join(SCALES)}")
        if resource not in RESOURCES:
            raise PruningError(f"unknown resource '{resource}'; known: {', '.join(RESOURCES)}")
        if not 0.0 < float(compress_fraction) <= 1.0:
            raise PruningError(f"compress_fraction must be in (0, 1], got {compress_fraction}")
        self.compress_fraction, self.lr_s, self.lr_y, self.lr_z = float(compress_fraction), lr_s, lr_y, lr_z
        self.y0, self.z0, self.resource, self.profile = y0, z0, resource, profile
        self.snapshots, self.progress, self.scale = tuple(snapshots), progress, scale

    def compress(self, model, dataset, budget, train) -> CompressResult:
        began = time.perf_counter()
        n = count_prunable(model)
        sparsity = target_sparsity(budget, n)
        keep = n_keep(n, sparsity)
        batches = math.ceil(len(dataset.x_train) / train.batch_size)
        epochs = int(train.epochs)
        compress_epochs = min(epochs, max(1, round(self.compress_fraction * epochs))) if epochs else 0
        k_steps = max(1.0, 0.7 * compress_epochs * batches)
        remaining_target = keep / n
        s_max = n - keep
        tau_b = saliency_unit(_flat(model), s_max)
        y_ref = self.y0 if self.y0 > 0 else REFERENCE_Y0
        if self.scale == "reference":
            s_unit = 1.0
            lr_z = self.lr_z if self.lr_z is not None else 2.0 * n * n / (self.lr_s * k_steps ** 2)
            y_scale = 0.0
        else:
            s_unit = max(s_max, 1) / (y_ref * tau_b)
            lr_z = self.lr_z if self.lr_z is not None else (
                2.0 * n * y_ref * tau_b / (max(1.0 - remaining_target, 1e-9) * k_steps))
            y_scale = y_ref
        state = MinimaxState(s=0.0, y=self.y0, z=self.z0, n=n, s_max=s_max, s_stage=s_max,
                             budget_remaining=remaining_target, lr_s=self.lr_s, lr_y=self.lr_y, lr_z=lr_z,
                             s_unit=s_unit, y_ref=y_scale)
        activity = synops_per_weight(model, dataset, train) if self.resource != "weights" else None
        cost = None
        energy = None
        if activity is not None:
            a = torch.cat([activity[name].reshape(-1) for name, _ in prunable_layers(model)])
            cost = (a + a.mean()) / (2.0 * a.mean().clamp_min(1e-12))
            energy = self._energy_model(model, a, budget, train) if self.resource == "energy" else None
        if energy is not None and energy["budget_fraction"] < 1.0:  # R(s) is the energy left
            state.shares = energy["shares"]
            remaining_target = state.budget_remaining = energy["budget_fraction"]
            state.s_max = state.s_stage = max(s_max, pruned_for(remaining_target, _flat(model),
                                                                energy["shares"], cost))
            state.lr_z = lr_z / max(1.0 - energy["fixed_fraction"], 1e-9)
        stages = stage_targets(remaining_target, self.joint, self.snapshots)
        step_budget = compress_epochs * batches  # minimax steps allowed before s is set to the target
        log, epochs_used, forced_any = [], 0, False
        search_steps, search_wall = 0, 0.0
        mask_flat = torch.ones(n, dtype=torch.bool)
        for index, remaining in enumerate(stages):
            last = index == len(stages) - 1
            if state.shares is None:
                state.s_stage = state.s_max if last else n - math.floor(remaining * n + 1e-6)
            else:  # energy: the count that meets the stage on the current ranking
                stage = pruned_for(remaining, _flat(model), state.shares, cost)
                if last:
                    state.s_max = max(state.s_max, stage)
                state.s_stage = state.s_max if last else min(stage, state.s_max)
            while state.pruned < state.s_stage and state.steps < step_budget and epochs_used < epochs:
                self._compress_epoch(model, dataset, train, state, cost, remaining, epochs_used)
                epochs_used += 1
            if state.shares is not None and last:  # the ranking moved: the final count on the final weights
                state.s_max = state.s_stage = max(state.s_max, pruned_for(remaining, _flat(model),
                                                                          state.shares, cost))
            forced = state.pruned < state.s_stage
            if forced:  # out of compression steps: set s to the stage's count
                state.s = float(state.s_stage)
            forced_any |= forced
            device = _flat(model).device
            mask_flat = keep_smallest_pruned(_flat(model), state.pruned,
                                             None if cost is None else cost.to(device))
            search_steps, search_wall = state.steps, time.perf_counter() - began
            masks = _unflat(model, mask_flat)
            apply_masks(model, masks)
            log.append({"stage_sparsity": 1 - remaining, "reached_at_step": state.steps,
                        "y": state.y, "z": state.z, "forced": forced})
            stages_left = len(stages) - index if self.joint else 1
            share = (epochs - epochs_used) // stages_left if (self.joint or last) else 0
            if last:
                share = epochs - epochs_used
            finetune(model, dataset, train, share, masks,
                     f"{self.name} fine-tune at sparsity {weight_sparsity(model):.4f}", phase=epochs_used,
                     progress=self.progress)
            epochs_used += max(share, 0)
        masks = _unflat(model, mask_flat)
        apply_masks(model, masks)
        extra = {"target_sparsity": sparsity, "sparsity": weight_sparsity(model), "kept": keep,
                 "prunable": n, "stages": log, "forced": forced_any, "lr_z": lr_z,
                 "search_steps": search_steps, "search_wall_s": search_wall, "resource": self.resource}
        if activity is not None:
            extra.update(self._resource_report(model, activity, train, budget))
        if energy is not None:
            kept = torch.cat([m.reshape(-1) for m in masks.values()]).to(energy["shares"].device)
            estimate = energy["dense_j"] * (energy["fixed_fraction"] + float(energy["shares"][kept].sum()))
            extra.update({"energy_budget_j": budget.energy_per_inference_j,
                          "energy_dense_j": energy["dense_j"],
                          "energy_estimate_j": estimate, "energy_constrained": state.shares is not None})
        return CompressResult(self.name, model, epochs, time.perf_counter() - began,
                              masks=masks_to_numpy(masks), extra=extra)

    def _compress_epoch(self, model, dataset, train, state: MinimaxState, cost, remaining: float,
                        epoch: int) -> None:
        """One epoch of minimax steps toward ``state.s_stage``; once there, the mask is held."""
        from compress.train import fit

        holder: dict[str, torch.Tensor] = {}

        def on_step(m, step):
            device = _flat(m).device
            if state.pruned >= state.s_stage:  # stage reached mid-epoch: hold the mask
                apply_masks(m, _unflat(m, holder["mask"].to(device)))
                return
            w, mask = minimax_update(_flat(m), state, lr_w=train.lr,
                                     cost=None if cost is None else cost.to(device))
            holder["mask"] = mask
            _write(m, w * mask)

        label = (f"{self.name} compress to {1 - remaining:.4f} (now {1 - state.remaining:.4f}, "
                 f"y {state.y:.3g}, z {state.z:.3g})")
        cfg = dataclasses.replace(train, epochs=1, schedule="none", seed=train.seed + 7919 * epoch)
        fit(model, dataset, cfg, on_step=on_step, label=label, progress=self.progress)

    def _prices(self, budget) -> tuple[float, float, float]:
        """(synapse_op_j, neuron_update_j, spike_out_j): the ``profile`` option's, else the budget's."""
        if self.profile is not None:
            import hwprofiles
            from compress.budget import energy_prices

            prices = energy_prices(hwprofiles.load(self.profile))
        else:
            prices = {"synapse_op_j": budget.synapse_op_j, "neuron_update_j": budget.neuron_update_j,
                      "spike_out_j": budget.spike_out_j}
        if prices["synapse_op_j"] is None or prices["neuron_update_j"] is None:
            raise PruningError("resource 'energy' needs the profile's synapse_op_j and "
                               "neuron_update_active_j (give --profile with published figures, or "
                               "--option profile=NAME)")
        return prices["synapse_op_j"], prices["neuron_update_j"], prices["spike_out_j"] or 0.0

    def _energy_model(self, model, a: torch.Tensor, budget, train) -> dict:
        """E = E_fixed + sum_i synapse_op_j a_i on the dense model (E_fixed: neuron updates x neuron_update_j
        + spikes x spike_out_j, which no mask changes at first order); each weight's share of E."""
        p_syn, p_neuron, p_spike = self._prices(budget)
        neurons = sum(math.prod(s.shape[2:]) for s in model.last_spikes.values())
        spikes = float(sum(float(s.sum()) for s in model.last_spikes.values())) / max(
            1, next(iter(model.last_spikes.values())).shape[1])
        fixed_j = p_neuron * neurons * train.steps + p_spike * spikes
        dense_j = fixed_j + p_syn * float(a.sum())
        limit = budget.energy_per_inference_j
        fraction = 1.0 if limit is None else limit / dense_j
        if limit is not None and limit <= fixed_j:
            raise PruningError(f"energy budget {limit:.3g} J is below the {fixed_j:.3g} J of neuron updates "
                               f"and spikes no mask removes (dense model: {dense_j:.3g} J per inference)")
        return {"shares": (p_syn * a / dense_j).cpu(), "fixed_fraction": fixed_j / dense_j,
                "dense_j": dense_j, "budget_fraction": fraction}

    def _resource_report(self, model, activity, train, budget) -> dict:
        synops = float(sum((activity[name] * (layer.weight.detach() != 0)).sum()
                           for name, layer in prunable_layers(model)))
        report = {"synops_per_sample_estimate": synops}
        if self.resource == "energy":
            p_syn, p_neuron, _ = self._prices(budget)
            neurons = sum(math.prod(s.shape[2:]) for s in model.last_spikes.values())
            report["energy_per_inference_j_estimate"] = p_syn * synops + p_neuron * neurons * train.steps
        return report


class MinimaxSequential(Minimax):
    """Sequential baseline: minimax compression straight to the target, then one fine-tune."""

    name = "minimax-seq"
    joint = False
