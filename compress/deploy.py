"""Bring a compressed model onto the chip's grid: what every method's output goes through before export.

A method optimises what it optimises; the chip then takes only weights that are on its grid and within its
per-neuron limits. :func:`deploy` projects the model onto those, in place, in this order (each step can only
remove synapses or merge values, so a limit met by an earlier step stays met):

1. ``fan_in_per_neuron``: each neuron keeps its F largest |w| incoming weights (rows of a synaptic layer;
   a conv channel's kernel row is its neurons' fan-in, a bound at the border).
2. ``fan_out_per_neuron``: each presynaptic neuron of a Linear layer keeps its F largest |w| outgoing
   weights (columns).
3. the weight table (``unique_weights`` per ``unique_scope`` group): a group with more distinct values
   than allowed is clustered by 1-D k-means on its nonzero weights; zeros stay zero, and when zero is a
   stored value (``zero_free`` False) and the group has zeros, only M - 1 values are learned.
4. ``weight_bits``: every weight rounded to its layer's signed grid, the method's scale where it gave
   one, else max|w| / qmax. Rounding is monotone, so it never adds distinct values.

What the projection cannot reach (neurons, synapses, input/output sizes, cores) it leaves: the pipeline's
``budget_met`` names it and ``harness compress`` exits 3. The accuracy the pipeline reports is the
projected model's; the method's own model's accuracy is reported beside it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from compress.codebook import as_rows, grid_scale, kmeans_values, layer_groups, to_grid
from compress.method import Budget
from compress.pruning import topk_mask


def cap_rows(rows: torch.Tensor, limit: int) -> int:
    """Keep the ``limit`` largest |w| of each row of ``rows`` [n, k] in place; return weights removed."""
    before = int(torch.count_nonzero(rows))
    if rows.shape[1] > limit:
        for i in range(rows.shape[0]):
            rows[i] *= topk_mask(rows[i].abs(), limit).to(rows.dtype)
    return before - int(torch.count_nonzero(rows))


def cluster_group(values: np.ndarray, m: int, zero_free: bool, seed: int) -> np.ndarray:
    """``values`` of one group with at most ``m`` distinct values (zero not counted when ``zero_free``)."""
    nonzero = values[values != 0]
    has_zero = bool(np.any(values == 0))
    learned = m if (zero_free or not has_zero) else m - 1
    if len(np.unique(nonzero)) <= learned:
        return values
    if learned < 1:  # a table of one entry, taken by zero: nothing else can be stored
        return np.zeros_like(values)
    centroids = kmeans_values(nonzero, learned, seed)
    out = values.copy()
    out[values != 0] = centroids[np.argmin(np.abs(nonzero[:, None] - centroids[None, :]), axis=1)]
    return out


def deploy(model: nn.Module, budget: Budget, scales: dict[str, float] | None = None,
           seed: int = 0) -> dict:
    """Project ``model`` onto ``budget`` in place (module docstring); return what each step changed and
    the per-layer grid scales used."""
    report = {"fan_in_removed": 0, "fan_out_removed": 0, "clustered_groups": 0, "gridded_layers": []}
    scales = dict(scales or {})
    with torch.no_grad():
        for name, layer in model.synaptic_layers():
            weight = layer.weight.data
            if budget.fan_in_per_neuron is not None:
                rows = as_rows(weight).clone()
                report["fan_in_removed"] += cap_rows(rows, budget.fan_in_per_neuron)
                weight.copy_(rows.reshape(weight.shape))
            if budget.fan_out_per_neuron is not None and isinstance(layer, nn.Linear):
                cols = weight.t().clone()
                report["fan_out_removed"] += cap_rows(cols, budget.fan_out_per_neuron)
                weight.copy_(cols.t())
            if budget.unique_weights is not None:
                rows = as_rows(weight).cpu().numpy().astype(np.float64)
                groups = layer_groups(layer, budget.unique_scope, budget.neurons_per_core)
                for g in np.unique(groups):
                    values = rows[groups == g]
                    new = cluster_group(values.ravel(), budget.unique_weights, budget.zero_free, seed)
                    if not np.array_equal(new, values.ravel()):
                        report["clustered_groups"] += 1
                        rows[groups == g] = new.reshape(values.shape)
                weight.copy_(torch.as_tensor(rows, dtype=weight.dtype).reshape(weight.shape))
            if budget.weight_bits is not None:
                scale = scales.get(name) or grid_scale(weight, budget.weight_bits)
                scales[name] = float(scale)
                gridded = to_grid(weight, budget.weight_bits, scale)
                if not torch.equal(gridded, weight):
                    report["gridded_layers"].append(name)
                weight.copy_(gridded)
    report["layer_scales"] = scales
    return report
