"""Each chip's own weight format: what :mod:`chipsim.compile` does with a post population's weights.

``profile.core.weight_format`` names one of :data:`FORMATS`:

- ``mantissa_exponent`` (Loihi, Loihi 2): an 8-bit mantissa per synapse and one exponent per projection
  (Davies et al., IEEE Micro 2018; Lava ``Dense(weight_exp)``), in :mod:`chipsim.quantize`'s ``loihi_*``.
- ``axon_types`` (TrueNorth): a binary crossbar; every axon of a core has one of ``unique_weights`` (4)
  types, and each neuron holds one signed ``weight_bits`` (9-bit) weight per type (Merolla et al., Science
  2014; Cassidy et al., IJCNN 2013). So a neuron sees at most 4 weight values, and an axon's type is shared
  by every neuron it reaches: :func:`axon_types` chooses the types and the per-neuron weights.
- ``symmetric`` (Speck 8-bit, Xylo Audio 2 8-bit, Akida 4-bit, SpiNNaker): one integer per synapse,
  ``clip(round(w / scale))`` in ``±(2^(bits-1) - 1)`` (:func:`chipsim.quantize.quantize_weights`).

Axon types are chosen per post population over all its incoming axons (every presynaptic neuron of every
projection into it), so any placement of its neurons sees one type per axon on every core. The choice is
Lloyd's k-means on the axons' weight vectors where only connected entries count (a zero weight is a
crossbar 0, free): the per-neuron type weights are the means of the weights they stand for, and each axon
takes the type of least squared error, until nothing changes (at most ``LLOYD_ROUNDS``). It starts twice,
from the axons' mean weights split at the ``types - 1`` widest gaps and from ``types`` axons taken as
centres farthest first (deterministic k-means++, Arthur and Vassilvitskii, SODA 2007), and keeps the
lower error. Deviation: the optimum is not guaranteed
(k-means is NP-hard in general; Lloyd finds a local optimum), and the types are shared across the whole
population, not chosen per core (a per-core choice could only lower the error). Weights with no shared
structure lose most of their detail: on a random Gaussian 256 x 256 layer the rmse is 0.99 of the weights'
standard deviation (against 0.011 for Speck's 8 bits). TrueNorth deployments avoid it by training for the
format, or by copying each input onto axons of several types so that every neuron picks its own value per
input (Esser et al., PNAS 2016), at a multiple of the axons; chipfit does not model the copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipsim import quantize as q
from chipsim.fit import Violation
from hwprofiles.profile import WEIGHT_FORMATS as FORMATS  # noqa: F401 (the names, from the profile schema)

LLOYD_ROUNDS = 32


@dataclass(frozen=True)
class AxonTyped:
    """One projection's synapses in TrueNorth's format: each synapse's integer weight (the looked-up value),
    its axon's type (the index into its neuron's row of ``table``), and ``table`` [n_post, types]."""

    weights: np.ndarray  # int32 [n_synapses], in the order of the projection's COO entries
    index: np.ndarray  # uint16 [n_synapses]: the presynaptic axon's type
    table: np.ndarray  # int32 [n_post, types]: each neuron's weight per axon type


def _initial_types(axon: np.ndarray, w: np.ndarray, n_axons: int, types: int) -> np.ndarray:
    """Axons' first types: their mean weights, sorted, split at the ``types - 1`` widest gaps."""
    count = np.bincount(axon, minlength=n_axons)
    mean = np.bincount(axon, weights=w, minlength=n_axons) / np.maximum(count, 1)
    order = np.argsort(mean, kind="stable")
    gaps = np.diff(mean[order])
    cuts = np.sort(np.argsort(-gaps, kind="stable")[: types - 1]) + 1
    out = np.zeros(n_axons, np.int64)
    for t, chunk in enumerate(np.split(order, cuts)):
        out[chunk] = t
    return out


def _farthest_types(axon: np.ndarray, post: np.ndarray, w: np.ndarray, n_axons: int, n_post: int,
                    types: int) -> np.ndarray:
    """Axons' first types from ``types`` axons taken as centres, farthest first (deterministic k-means++):
    the axon with the most synapses, then each time the axon farthest from every centre so far."""
    count = np.bincount(axon, minlength=n_axons)
    table = np.zeros((n_post, types))
    first = int(np.argmax(count))
    centres = [first]
    best = None
    for t in range(types):
        mine = axon == centres[-1]
        table[post[mine], t] = w[mine]
        cost = np.bincount(axon, weights=(w - table[post, t]) ** 2, minlength=n_axons)
        best = cost if best is None else np.minimum(best, cost)
        if t + 1 < types:
            centres.append(int(np.argmax(best)))
    return _best_types(axon, post, w, table, n_axons)


def _lloyd(axon, post, w, kind, n_post: int, types: int, n_axons: int) -> tuple[np.ndarray, float]:
    """Lloyd's rounds from ``kind`` until no axon changes type: (types, squared error in NIR units)."""
    for _ in range(LLOYD_ROUNDS):
        table = _type_means(axon, post, w, kind, n_post, types)
        new = _best_types(axon, post, w, table, n_axons)
        if np.array_equal(new, kind):
            break
        kind = new
    table = _type_means(axon, post, w, kind, n_post, types)
    return kind, float(np.sum((w - table[post, kind[axon]]) ** 2))


def _type_means(axon, post, w, kind, n_post: int, types: int) -> np.ndarray:
    """Each neuron's weight per type: the mean of its connected weights from axons of that type (0: none)."""
    key = post * types + kind[axon]
    total = np.bincount(key, weights=w, minlength=n_post * types)
    count = np.bincount(key, minlength=n_post * types)
    return (total / np.maximum(count, 1)).reshape(n_post, types)


def _best_types(axon, post, w, table: np.ndarray, n_axons: int) -> np.ndarray:
    """Each axon's type of least squared error against ``table`` [n_post, types] (lowest type on ties)."""
    cost = np.stack([np.bincount(axon, weights=(w - table[post, t]) ** 2, minlength=n_axons)
                     for t in range(table.shape[1])], axis=1)
    return np.argmin(cost, axis=1)


def axon_types(axon: np.ndarray, post: np.ndarray, w: np.ndarray, n_axons: int, n_post: int, types: int,
               scale: float, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TrueNorth's format for one post population's synapses (``axon`` [k] in 0..n_axons, ``post`` [k],
    effective weights ``w`` [k], nonzero, NIR units): (type of each axon [n_axons], integer table
    [n_post, types]), the table signed ``bits``-bit at ``scale`` NIR units per LSB."""
    axon, post, w = np.asarray(axon, np.int64), np.asarray(post, np.int64), np.asarray(w, np.float64)
    if w.size == 0:
        return np.zeros(n_axons, np.int64), np.zeros((n_post, types), np.int32)
    runs = [_lloyd(axon, post, w, start, n_post, types, n_axons)
            for start in (_initial_types(axon, w, n_axons, types),
                          _farthest_types(axon, post, w, n_axons, n_post, types))]
    kind = min(runs, key=lambda run: run[1])[0]  # the lower squared error (the first on a tie)
    table_int = q.quantize_weights(_type_means(axon, post, w, kind, n_post, types), scale, bits, True)
    kind = _best_types(axon, post, w, table_int * scale, n_axons)  # the integers may favour another type
    return kind, table_int


def unheld_integers(population: str, raws, quants, gain: np.ndarray,
                    profile) -> tuple[list[Violation], list[str]]:
    """Where a population's weights are integers (a graph quantized for some chip) that this chip's format
    did not keep exactly (``quants``: the LayerQuantization of ``raws``): (violations, notes).

    TrueNorth's axon types hold at most ``unique_weights`` values per neuron: more is a ``weight_format``
    Violation (the chip cannot hold the graph; the compile clusters them). Elsewhere the format's range or
    grid only rescales the integers (a note): Loihi's mantissas x 2^e and a symmetric ``weight_bits``."""
    vals = [np.asarray(r.vals, np.float64) for r in raws if r.conv is None]
    peak = max((float(np.max(np.abs(v), initial=0.0)) for v in vals), default=1.0)
    errors = [qz.max_abs_error for qz in quants]
    if all(e <= 1e-9 * max(peak, 1.0) for e in errors):
        return [], []
    core, fmt = profile.core, profile.core.weight_format
    bits = core.weight_bits or 8
    eff = [np.asarray(r.vals, np.float64) * gain[r.cols] for r in raws if r.conv is None]
    biggest = max((float(np.max(np.abs(e), initial=0.0)) for e in eff), default=0.0)
    if fmt == "axon_types" and eff:
        post = np.concatenate([r.cols for r in raws if r.conv is None])
        w = np.concatenate(eff)
        live = w != 0
        distinct = np.unique(np.stack([post[live], w[live]]), axis=1)[0] if live.any() else np.zeros(0, int)
        need = int(np.bincount(distinct.astype(np.int64)).max(initial=0))
        if need > core.unique_weights:
            return [Violation("weight_format", None, need, core.unique_weights, population, (
                f"{profile.name} holds {core.unique_weights} weights per neuron (one per axon type, each "
                "axon's type shared by its core); the graph's integer weights were clustered"))], []
    if fmt == "mantissa_exponent":
        held = f"8-bit mantissas x 2^e (e up to {core.weight_exponent_max}; mixed-sign mantissas even)"
    else:
        held = f"signed {bits}-bit weights (+-{q.weight_range(bits, core.weight_signed)[1]})"
    return [], [f"{population}: the graph's integer weights (up to {biggest:g}) are not kept exactly by "
                f"{profile.name}'s {held}; rescaled, max error {max(errors):.4g}"]
