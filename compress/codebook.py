"""Shared quantization and clustering helpers: the uniform weight grid, weight groups, nearest-centroid
assignment, straight-through estimators, and the weight parametrizations methods train through.

Conventions:
- A synaptic layer's weight is viewed as rows = output neurons (Linear) or output channels (Conv2d), each
  row its fan-in (``as_rows``).
- The grid of ``bits`` signed bits with a per-layer ``scale`` is ``scale * {-q..q}``, ``q = 2**(bits-1)-1``
  (symmetric; ``bits = 1`` is treated as ``q = 1``: the ternary grid ``{-scale, 0, scale}``).
- A *group* is the set of weights that share one weight table: the whole layer, one core (consecutive
  blocks of ``neurons_per_core`` rows) or one neuron (one row). For Conv2d, 'core' and 'neuron' both group
  by output channel (a channel's kernel is shared by all its neurons): conservative, never over budget.
- Straight-through estimator (Bengio et al., 2013): forward the projected value, backward the identity.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

SCOPES = ("layer", "core", "neuron")


def qmax(bits: int) -> int:
    """Largest integer magnitude on the symmetric signed grid of ``bits`` bits."""
    return max(1, 2 ** (bits - 1) - 1)


def grid_scale(weight: torch.Tensor, bits: int) -> float:
    """Per-layer scale mapping the largest |weight| to the grid's largest magnitude (1.0 for all zeros)."""
    top = float(weight.detach().abs().max()) if weight.numel() else 0.0
    return top / qmax(bits) if top > 0 else 1.0


def to_grid(weight: torch.Tensor, bits: int, scale: float) -> torch.Tensor:
    """Round to the nearest grid point ``scale * k``, ``|k| <= qmax(bits)`` (no gradient)."""
    q = qmax(bits)
    return torch.clamp(torch.round(weight / scale), -q, q) * scale


def ste(value: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    """Forward ``value``; backward the identity onto ``latent`` (straight-through)."""
    return latent + (value - latent).detach()


def fake_quantize(weight: torch.Tensor, bits: int, scale: float) -> torch.Tensor:
    """Grid-rounded weight in the forward pass, straight-through gradient."""
    return ste(to_grid(weight, bits, scale), weight)


def as_rows(weight: torch.Tensor) -> torch.Tensor:
    """[rows, fan_in] view: rows are output neurons (Linear) or output channels (Conv2d)."""
    return weight.reshape(weight.shape[0], -1)


def group_of_rows(n_rows: int, scope: str | None, neurons_per_core: int | None = None) -> np.ndarray:
    """Group index of each row for a unique-weight ``scope`` (None or 'layer': one group)."""
    rows = np.arange(n_rows)
    if scope in (None, "layer"):
        return np.zeros(n_rows, dtype=np.int64)
    if scope == "neuron":
        return rows.astype(np.int64)
    if scope == "core":
        if not neurons_per_core or neurons_per_core < 1:
            raise ValueError("scope 'core' needs neurons_per_core >= 1")
        return (rows // neurons_per_core).astype(np.int64)
    raise ValueError(f"unknown scope '{scope}'; known: {', '.join(SCOPES)}")


def layer_groups(layer: nn.Module, scope: str | None, neurons_per_core: int | None) -> np.ndarray:
    """Group of each row of ``layer``'s weight; Conv2d 'core'/'neuron' scopes group per output channel."""
    n_rows = layer.weight.shape[0]
    if isinstance(layer, nn.Conv2d) and scope in ("core", "neuron"):
        scope = "neuron"
    return group_of_rows(n_rows, scope, neurons_per_core)


def distinct_per_group(rows: np.ndarray, groups: np.ndarray, *, count_zero: bool = True) -> np.ndarray:
    """Distinct values per group of ``rows`` [n_rows, fan_in]; zero not counted if ``count_zero`` False."""
    counts = []
    for g in range(int(groups.max()) + 1 if len(groups) else 0):
        values = np.unique(rows[groups == g])
        if not count_zero:
            values = values[values != 0]
        counts.append(len(values))
    return np.asarray(counts, dtype=np.int64)


def nearest(rows: torch.Tensor, centroids: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centroid of its row's group for every weight: [n_rows, fan_in] int64.

    ``centroids`` [n_groups, M]; ``groups`` [n_rows]. Ties go to the lower index.
    """
    table = centroids[groups]  # [rows, M]
    return torch.argmin((rows.unsqueeze(-1) - table.unsqueeze(1)).abs(), dim=-1)


def kmeans_values(values: np.ndarray, m: int, seed: int, n_init: int = 4) -> np.ndarray:
    """``m`` sorted 1-D k-means centroids of ``values`` (scikit-learn, fixed n_init, seeded).

    Fewer distinct values than ``m``: those values, padded by repeating the last (a codebook always has m).
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    values = np.asarray(values, dtype=np.float64).ravel()
    distinct = np.unique(values)
    if len(distinct) <= m:
        padded = np.concatenate([distinct, np.repeat(distinct[-1:] if len(distinct) else [0.0], m)])
        return np.sort(padded[:m])
    with threadpool_limits(1):  # OpenMP threads on tiny 1-D problems cost 10x more than they save
        km = KMeans(n_clusters=m, n_init=n_init, random_state=seed).fit(values.reshape(-1, 1))
    return np.sort(km.cluster_centers_.ravel())


def group_codebooks(rows: np.ndarray, groups: np.ndarray, m: int, seed: int,
                    mask: np.ndarray | None = None) -> np.ndarray:
    """k-means codebook [n_groups, m] of each group's (kept, if ``mask``) weights."""
    books = []
    for g in range(int(groups.max()) + 1):
        values = rows[groups == g]
        if mask is not None:
            values = values[mask[groups == g]]
        books.append(kmeans_values(values if values.size else np.zeros(1), m, seed))
    return np.stack(books)


class Clustered(nn.Module):
    """Weight parametrization: each weight takes a value of its group's codebook; masked weights are 0.

    ``codebook`` [n_groups, M] is a trained parameter. Forward: the weight's assigned value, projected to
    the ``bits`` grid (straight-through) when ``bits`` is set. Backward: each value receives the sum of
    the gradients of the weights assigned to it; the latent weight receives the gradient straight through
    (``ste_latent``) so assignments can change. ``assign`` fixes the assignment (k-means fine-tuning);
    ``None`` reassigns to the nearest value in every forward (clusterization-aware training).
    ``pin_zero``: value 0 of every group is fixed at exactly 0 (zero counts as one of the M values).
    """

    def __init__(self, codebook: np.ndarray, groups: np.ndarray, *, bits: int | None = None,
                 scale: float = 1.0, mask: torch.Tensor | None = None, assign: torch.Tensor | None = None,
                 pin_zero: bool = False, ste_latent: bool = True):
        super().__init__()
        book = torch.as_tensor(np.asarray(codebook), dtype=torch.float32)
        self.pin_zero = pin_zero
        self.codebook = nn.Parameter(book[:, 1:].clone() if pin_zero else book.clone())
        self.register_buffer("groups", torch.as_tensor(groups, dtype=torch.long))
        self.register_buffer("mask", None if mask is None else mask.clone().bool())
        self.register_buffer("assign", None if assign is None else assign.clone().long())
        self.bits, self.scale, self.ste_latent = bits, float(scale), ste_latent

    def values(self) -> torch.Tensor:
        """The codebook as used in the forward pass [n_groups, M] (grid-projected, zero pinned)."""
        book = self.codebook
        if self.bits is not None:
            book = fake_quantize(book, self.bits, self.scale)
        if self.pin_zero:
            book = torch.cat([torch.zeros_like(book[:, :1]), book], dim=1)
        return book

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        rows = as_rows(weight)
        book = self.values()
        idx = self.assign if self.assign is not None else nearest(rows.detach(), book.detach(), self.groups)
        out = book[self.groups].gather(1, idx)
        if self.ste_latent:
            out = out + (rows - rows.detach())
        out = out.reshape(weight.shape)
        return out if self.mask is None else out * self.mask


class Masked(nn.Module):
    """Weight parametrization: ``weight * mask`` (pruned weights are exactly 0 and get no gradient)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask.clone().bool())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


class FakeQuantized(nn.Module):
    """Weight parametrization: the ``bits`` grid of a fixed per-layer ``scale``, straight-through (QAT)."""

    def __init__(self, bits: int, scale: float, mask: torch.Tensor | None = None):
        super().__init__()
        self.bits, self.scale = bits, float(scale)
        self.register_buffer("mask", None if mask is None else mask.clone().bool())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        out = fake_quantize(weight, self.bits, self.scale)
        return out if self.mask is None else out * self.mask


def attach(layer: nn.Module, parametrization: nn.Module) -> None:
    """Put ``parametrization`` on ``layer.weight`` (torch.nn.utils.parametrize)."""
    parametrize.register_parametrization(layer, "weight", parametrization)


def bake(model: nn.Module) -> None:
    """Replace every weight parametrization by the value it computes, so the model holds exactly the
    weights that will be exported."""
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
