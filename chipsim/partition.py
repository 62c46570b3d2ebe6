"""Partition each layer into tiles of output-channel groups x spatial blocks, one tile per core.

Greedy first-fit packs neurons in index order (channel-major), so a conv layer's core holds whole channels:
every presynaptic neuron then reaches every core of the next layer, and fan-out axons explode (issue 12: a
20k-neuron conv SNN needed 80,362 fan-out axons on a core of 4,096). Loihi's compiler, Lava's and
SANA-FE's mappers and sinabs' DYNAP-CNN mapper instead cut a conv layer by output channels and by
space, so a presynaptic neuron's receptive-field footprint lands on few cores. Here a layer of shape
(C, H, W) (a flat layer is (n, 1, 1)) is cut into tiles of ``cg`` channels x ``th`` rows x ``tw``
columns, the tile shape chosen per layer among halvings of C, H and W: the candidate with the fewest
cores (then the fewest channel groups, so the previous layer's neurons reach fewer cores; then the
squarest block) whose every tile keeps neurons, synapse memory, fan-in axons, unique weights (core
scope) and its neurons' fan-out axons within the core's limits.

Layers are chosen from the last to the first: a neuron's fan-out axons are its distinct destination
cores, which depend only on where the next layers' tiles are, so when a layer is cut its successors are
already fixed and each candidate's fan-out is a weighted count. Recurrent projections (to the layer itself
or earlier ones) are left to the report's exact check. Where no candidate fits, the one whose worst
resource is least over its limit is taken, and the report names the excess. Each layer gets its own
cores (no two layers share one); cores are numbered layer by layer, tiles channel group, row, column.
"""

from __future__ import annotations

import math

import numpy as np

from chipsim import constraints as cst
from chipsim.insynapses import InSynapses, kept_conv, visit
from chipsim.insynapses import args as ins_args
from chipsim.kernels import kernel
from chipsim.network import ChipNetwork
from chipsim.routing import _conv_core_counts, _csr_core_counts, _union_cores, conv_meta
from hwprofiles.profile import ChipProfile

MAX_EXACT_CHECKS = 8
"""Most candidates per layer whose fan-in axons are counted exactly (each costs a pass over its synapses);
a candidate whose receptive-field bound is within the limit needs no count."""


def partition_bins(net: ChipNetwork, ins: InSynapses, per_neuron_bits: np.ndarray, conv_bits: dict,
                   profile: ChipProfile) -> np.ndarray:
    """Core of each global neuron (-1 for the input), tiles numbered layer by layer from core 0."""
    off = net.offsets()
    n_total = int(off[-1])
    provisional = np.full(n_total, -1, np.int64)  # unique tile ids, successors first
    next_id = 0
    tiles_of = {}
    for pop in range(len(net.populations) - 1, 0, -1):
        dest = _destinations_per_neuron(net, pop, provisional, max(next_id, 1))
        conv_in = [conv_bits[i] for i, p in enumerate(net.projections) if p.post == pop and i in conv_bits]
        tile, n_tiles = _choose_tiles(net, pop, ins, per_neuron_bits[off[pop] : off[pop + 1]], conv_in,
                                      dest, profile)
        provisional[off[pop] : off[pop + 1]] = next_id + tile
        tiles_of[pop] = (tile, n_tiles)
        next_id += n_tiles
    bins = np.full(n_total, -1, np.int64)
    base = 0
    for pop in range(1, len(net.populations)):
        tile, n_tiles = tiles_of[pop]
        bins[off[pop] : off[pop + 1]] = base + tile
        base += n_tiles
    return bins


def _destinations_per_neuron(net: ChipNetwork, pop: int, provisional: np.ndarray, span: int) -> np.ndarray:
    """Distinct destination tiles of each neuron of ``pop`` over its projections to later layers."""
    off = net.offsets()
    outgoing = []
    for proj in net.projections:
        if proj.pre != pop or proj.post <= pop:
            continue
        post_core = provisional[off[proj.post] : off[proj.post + 1]]
        if kept_conv(proj):
            ptr, core, _ = _conv_core_counts(proj.conv.weight, conv_meta(proj.conv), post_core, span)
        else:
            ptr, core, _ = _csr_core_counts(np.asarray(proj.indptr, np.int64),
                                            np.asarray(proj.targets, np.int32), post_core, span)
        outgoing.append((ptr, core))
    if not outgoing:
        return np.zeros(net.populations[pop].size, np.int64)
    ptr, _ = outgoing[0] if len(outgoing) == 1 else _union_cores(outgoing, span)
    return np.diff(ptr)


def _halvings(n: int) -> list[int]:
    """n, ceil(n/2), ceil(n/4), ..., 1 (distinct)."""
    out = []
    k = 1
    while True:
        v = -(-n // k)
        if not out or v != out[-1]:
            out.append(v)
        if v == 1:
            return out
        k *= 2


def _choose_tiles(net, pop, ins, bits, conv_in, dest, profile) -> tuple[np.ndarray, int]:
    """Local tile id of each neuron of ``pop`` and the number of tiles (see the module docstring)."""
    c, h, w = cst.population_chw(net.populations[pop].shape)
    lim = profile.core
    idx = np.arange(c * h * w)
    ch, y, x = idx // (h * w), (idx // w) % h, idx % w
    candidates = []
    for cg in _halvings(c):
        for th in _halvings(h):
            for tw in _halvings(w):
                n_cg, n_ty, n_tx = -(-c // cg), -(-h // th), -(-w // tw)
                candidates.append((n_cg * n_ty * n_tx, n_cg, abs(math.log(th / tw)), cg, th, tw))
    candidates.sort()
    unique_core = lim.unique_weights if lim.unique_weights_scope == "core" else None
    best, best_ratio, exact = None, math.inf, 0
    for n_tiles, n_cg, _, cg, th, tw in candidates:
        n_ty, n_tx = -(-h // th), -(-w // tw)
        tile = ((ch // cg) * n_ty + y // th) * n_tx + x // tw
        need = {
            "neurons": np.bincount(tile, minlength=n_tiles),
            "synapse_memory_bits": np.bincount(tile, weights=bits, minlength=n_tiles),
            "fan_out_axons": np.bincount(tile, weights=dest, minlength=n_tiles),
        }
        if conv_in:  # a tile holds its channel group's kernel slices
            group_size = np.minimum(cg, c - np.arange(n_cg) * cg)
            need["synapse_memory_bits"] += np.repeat(group_size, n_ty * n_tx) * float(sum(conv_in))
        ratio = _worst_ratio(need, lim, unique_core)
        bound_ok = unique_core is None and (
            lim.fan_in_axons is None or _fan_in_bound(net, pop, th, tw, n_ty, n_tx) <= lim.fan_in_axons)
        if ratio <= 1.0 and not bound_ok:
            if exact == MAX_EXACT_CHECKS:
                continue  # not checked, so not taken
            exact += 1
            axons, values = _tile_fan_in(tile, n_tiles, pop, net.offsets(), ins, unique_core is not None)
            need |= {"fan_in_axons": axons, "unique_weights": values}
            ratio = _worst_ratio(need, lim, unique_core)
        if ratio <= 1.0:
            return tile, n_tiles
        if ratio < best_ratio:
            best, best_ratio = (tile, n_tiles), ratio
    return best


def _fan_in_bound(net: ChipNetwork, pop: int, th: int, tw: int, n_ty: int, n_tx: int) -> int:
    """An upper bound on any tile's fan-in axons: each kept conv's receptive field of the tile's block
    (every input channel, rows and columns clipped to the input), plus every presynaptic neuron of each
    other projection; the largest over the tile blocks."""
    worst = np.zeros((n_ty, n_tx), np.int64)
    for proj in net.projections:
        if proj.post != pop:
            continue
        if not kept_conv(proj):
            worst += net.populations[proj.pre].size
            continue
        cin, hin, win = proj.conv.in_shape
        _, h, w = proj.conv.out_shape
        kh, kw = proj.conv.weight.shape[2:]
        (sy, sx), (py, px) = proj.conv.stride, proj.conv.padding
        rows = _span(np.arange(n_ty) * th, np.minimum(h, np.arange(n_ty) * th + th) - 1, sy, py, kh, hin)
        cols = _span(np.arange(n_tx) * tw, np.minimum(w, np.arange(n_tx) * tw + tw) - 1, sx, px, kw, win)
        worst += cin * rows[:, None] * cols[None, :]
    return int(worst.max(initial=0))


def _span(first: np.ndarray, last: np.ndarray, stride: int, pad: int, k: int, n_in: int) -> np.ndarray:
    """Input positions the outputs first..last read along one axis (clipped to the input)."""
    lo = np.clip(first * stride - pad, 0, n_in)
    hi = np.clip(last * stride - pad + k - 1, -1, n_in - 1)
    return np.maximum(hi - lo + 1, 0)


def _worst_ratio(need: dict, lim, unique_core) -> float:
    limits = {"neurons": lim.neurons, "synapse_memory_bits": lim.synapse_memory_bits,
              "fan_out_axons": lim.fan_out_axons, "fan_in_axons": lim.fan_in_axons,
              "unique_weights": unique_core}
    worst = 0.0
    for name, use in need.items():
        limit = limits[name]
        if limit is not None and use.size:
            worst = max(worst, float(use.max()) / max(float(limit), 1e-300))
    return worst


def _tile_fan_in(tile, n_tiles, pop, pop_off, ins: InSynapses, use_rank: bool):
    order = np.argsort(tile, kind="stable")
    return _tile_fan_in_kernel(order, tile, n_tiles, pop, pop_off, *ins_args(ins), ins.n_ranks, use_rank)


@kernel(cache=True)
def _tile_fan_in_kernel(order, tile, n_tiles, pop, pop_off, ptr, pre, rank, cv_meta, cv_pre_off, cv_w_off,
                        cv_rank, pop_cv_ptr, pop_cv, n_ranks, use_rank):
    """Distinct presynaptic neurons (and weight ranks) per tile, stamped by tile id."""
    axons = np.zeros(n_tiles, np.int64)
    values = np.zeros(n_tiles, np.int64)
    pre_mark = np.full(pop_off[-1], -1, np.int64)
    rank_mark = np.full(max(n_ranks, 1), -1, np.int64)
    g0 = pop_off[pop]
    for j in order:
        t = tile[j]
        new_pre, new_rank, _ = visit(g0 + j, j, pop, t, ptr, pre, rank, cv_meta, cv_pre_off, cv_w_off,
                                     cv_rank, pop_cv_ptr, pop_cv, pre_mark, rank_mark, True, use_rank)
        axons[t] += new_pre
        values[t] += new_rank
    return axons, values
