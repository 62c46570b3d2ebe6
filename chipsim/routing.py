"""Routing: which cores each neuron's spikes reach, and how many mesh hops that takes.

A spike leaves its core as one packet per distinct destination core (Loihi's axon_out messages; SANA-FE
counts one message per destination axon the same way); every packet travels by dimension-order XY routing,
so its hops are the Manhattan distance between the two cores' tiles (``Placement.core_xy``: chips sit side
by side along x). Cores of one tile are 0 hops apart. East-west and north-south hops are kept apart
because chips price them differently (Davies et al., IEEE Micro 2018, Table 2).

Host input: the input population lives off-chip. Its spikes are injected by the host straight into the
cores that hold their targets: they count as packets in at those cores, with no packets out and no hops.

Cores are renumbered compactly: ``cores[k]`` is the global core id of compact core ``k`` (the ones that hold
at least one neuron, ascending); every per-core counter is indexed by the compact number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipsim.fit import Placement
from chipsim.kernels import kernel
from chipsim.network import ChipNetwork, ConvKernel


@dataclass(frozen=True)
class Routes:
    """Per-neuron destination cores and per-projection synapse counts per destination core.

    Neurons are numbered globally (``ChipNetwork.offsets()``, input included).
    """

    cores: np.ndarray  # int64 [n_cores] global id of each compact core
    core_of_neuron: np.ndarray  # int32 [n_neurons_total] compact core, -1 for input neurons
    dest_indptr: np.ndarray  # int64 [n_neurons_total + 1] into dest_core / dest_pair
    dest_core: np.ndarray  # int32 compact destination cores of each neuron (distinct)
    dest_pair: np.ndarray  # int32 index into ``pairs`` of each (source, destination); -1 from the host
    hops_ew: np.ndarray  # int32 [n_neurons_total] E-W hops of all of a neuron's packets together
    hops_ns: np.ndarray  # int32 [n_neurons_total] N-S hops
    pairs: np.ndarray  # int32 [n_pairs, 2] (source, destination) compact cores that exchange packets
    pair_hops_ew: np.ndarray  # int32 [n_pairs]
    pair_hops_ns: np.ndarray  # int32 [n_pairs]
    syn_indptr: tuple[np.ndarray, ...]  # per projection, int64 [n_pre + 1] into syn_core / syn_count
    syn_core: tuple[np.ndarray, ...]  # per projection, int32 compact core of the targets
    syn_count: tuple[np.ndarray, ...]  # per projection, int32 synapses of the pre neuron on that core


def xy_hops(placement: Placement, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E-W and N-S hops between global cores ``src`` and ``dst`` under XY routing."""
    sx, sy = placement.core_xy(np.asarray(src))
    dx, dy = placement.core_xy(np.asarray(dst))
    return np.abs(dx - sx).astype(np.int32), np.abs(dy - sy).astype(np.int32)


def compact_cores(placement: Placement) -> tuple[np.ndarray, np.ndarray]:
    """(cores, compact core of every global neuron): cores used ascending, -1 for the off-chip input."""
    flat = np.concatenate([np.asarray(c, dtype=np.int64) for c in placement.core_of_neuron])
    cores = np.unique(flat[flat >= 0])
    compact = np.full(flat.shape, -1, dtype=np.int32)
    compact[flat >= 0] = np.searchsorted(cores, flat[flat >= 0]).astype(np.int32)
    return cores, compact


@kernel(cache=True)
def _csr_core_counts(indptr, targets, post_core, n_cores):
    """Per pre neuron, the distinct cores of its targets and how many synapses land on each."""
    n_pre = indptr.size - 1
    seen = np.full(n_cores, -1, np.int64)
    out_ptr = np.zeros(n_pre + 1, np.int64)
    for i in range(n_pre):
        k = 0
        for s in range(indptr[i], indptr[i + 1]):
            c = post_core[targets[s]]
            if seen[c] != i:
                seen[c] = i
                k += 1
        out_ptr[i + 1] = out_ptr[i] + k
    core = np.empty(out_ptr[-1], np.int32)
    count = np.zeros(out_ptr[-1], np.int32)
    slot = np.full(n_cores, -1, np.int64)
    seen[:] = -1
    for i in range(n_pre):
        k = out_ptr[i]
        for s in range(indptr[i], indptr[i + 1]):
            c = post_core[targets[s]]
            if seen[c] != i:
                seen[c] = i
                slot[c] = k
                core[k] = c
                k += 1
            count[slot[c]] += 1
    return out_ptr, core, count


@kernel(cache=True)
def conv_tap_out(coord, pad, tap, stride, n_out):
    """Output coordinate that input ``coord`` reaches through kernel tap ``tap`` along one axis of a
    convolution (``out * stride - pad + tap == coord``), or -1 where no output position does."""
    t = coord + pad - tap
    if t < 0 or t % stride != 0 or t // stride >= n_out:
        return -1
    return t // stride


@kernel(cache=True)
def _tap_table(n_in, pad, taps, stride, n_out):
    """int64 [n_in, taps]: :func:`conv_tap_out` of every input coordinate and tap along one axis."""
    table = np.empty((n_in, taps), np.int64)
    for c in range(n_in):
        for t in range(taps):
            table[c, t] = conv_tap_out(c, pad, t, stride, n_out)
    return table


@kernel(cache=True)
def _nonzero_out_channels(w):
    """(ptr, co): the output channels with a nonzero weight at each (in channel, ky, kx), ascending: the
    channels of tap ``(ci * kh + ky) * kw + kx`` are ``co[ptr[tap]:ptr[tap + 1]]``."""
    cout, cin, kh, kw = w.shape
    ptr = np.zeros(cin * kh * kw + 1, np.int64)
    co = np.empty(w.size, np.int64)
    n = 0
    for ci in range(cin):
        for ky in range(kh):
            for kx in range(kw):
                for o in range(cout):
                    if w[o, ci, ky, kx] != 0:
                        co[n] = o
                        n += 1
                ptr[(ci * kh + ky) * kw + kx + 1] = n
    return ptr, co[:n]


@kernel(cache=True)
def _conv_core_counts(w, meta, post_core, n_cores):
    """As :func:`_csr_core_counts` for a kept kernel (``meta`` as ``engine.conv_meta``), without expanding.
    Targets are visited in the order of the kernel's taps, then output channels (zero weights skipped)."""
    cin, hin, win, cout, hout, wout, kh, kw, sy, sx, py, px = meta[:12]
    n_pre = cin * hin * win
    oy_of = _tap_table(hin, py, kh, sy, hout)
    ox_of = _tap_table(win, px, kw, sx, wout)
    nz_ptr, nz_co = _nonzero_out_channels(w)
    plane = hout * wout
    seen = np.full(n_cores, -1, np.int64)
    slot = np.full(n_cores, -1, np.int64)
    ptr = np.zeros(n_pre + 1, np.int64)
    cap = 16
    core = np.empty(cap, np.int32)
    count = np.zeros(cap, np.int32)
    n = 0
    for i in range(n_pre):
        ci = i // (hin * win)
        y = (i // win) % hin
        x = i % win
        if n + cout * kh * kw > cap:  # room for every target this neuron can have
            cap = max(2 * cap, n + cout * kh * kw)
            core2 = np.empty(cap, np.int32)
            count2 = np.zeros(cap, np.int32)
            core2[:n] = core[:n]
            count2[:n] = count[:n]
            core, count = core2, count2
        for ky in range(kh):
            oy = oy_of[y, ky]
            if oy < 0:
                continue
            for kx in range(kw):
                ox = ox_of[x, kx]
                if ox < 0:
                    continue
                tap = (ci * kh + ky) * kw + kx
                base = oy * wout + ox
                for k in range(nz_ptr[tap], nz_ptr[tap + 1]):
                    c = post_core[nz_co[k] * plane + base]
                    if seen[c] != i:
                        seen[c] = i
                        slot[c] = n
                        core[n] = c
                        n += 1
                    count[slot[c]] += 1
        ptr[i + 1] = n
    return ptr, core[:n].copy(), count[:n].copy()


def conv_meta(conv: ConvKernel) -> np.ndarray:
    """int64 [12]: C_in, H_in, W_in, C_out, H_out, W_out, kh, kw, stride y, x, padding y, x."""
    _, _, kh, kw = conv.weight.shape
    return np.array([*conv.in_shape, *conv.out_shape, kh, kw, *conv.stride, *conv.padding], dtype=np.int64)


def route(net: ChipNetwork, placement: Placement) -> Routes:
    """Destination cores, (source, destination) pairs and hop counts of every neuron of ``net``."""
    cores, core_of = compact_cores(placement)
    n_cores = max(int(cores.size), 1)
    offsets = net.offsets()
    if core_of.size != offsets[-1]:
        raise ValueError(f"placement covers {core_of.size} neurons, network has {offsets[-1]}")
    syn_indptr, syn_core, syn_count = [], [], []
    by_pre: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in net.populations]
    for proj in net.projections:
        # int64, as chipsim.place passes it: one compiled signature of the counting kernels serves both
        post_core = core_of[offsets[proj.post] : offsets[proj.post + 1]].astype(np.int64)
        if proj.conv is not None and proj.targets.size == 0:
            ptr, core, count = _conv_core_counts(proj.conv.weight, conv_meta(proj.conv), post_core, n_cores)
        else:
            ptr, core, count = _csr_core_counts(
                np.asarray(proj.indptr, np.int64), np.asarray(proj.targets, np.int32), post_core, n_cores
            )
        syn_indptr.append(ptr)
        syn_core.append(core)
        syn_count.append(count)
        by_pre[proj.pre].append((ptr, core))
    dest_counts = np.zeros(offsets[-1], np.int64)
    parts = []
    for p, outgoing in enumerate(by_pre):
        if not outgoing:
            continue
        if len(outgoing) == 1:  # the usual case: one projection, its per-neuron cores are already distinct
            ptr, core = outgoing[0]
        else:
            ptr, core = _union_cores(outgoing, n_cores)
        dest_counts[offsets[p] : offsets[p + 1]] = np.diff(ptr)
        parts.append(core)
    dest_indptr = np.concatenate([[0], np.cumsum(dest_counts)]).astype(np.int64)
    dest_core = np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)
    cx, cy = (np.asarray(a, np.int64) for a in placement.core_xy(cores))
    pair_fn = _pair_ids_table if n_cores <= 4096 else _pair_ids_sorted
    dest_pair, hops_ew, hops_ns, src, dst = pair_fn(dest_indptr, dest_core, core_of, cx, cy, n_cores)
    pairs = np.stack([src, dst], axis=1).astype(np.int32).reshape(-1, 2)
    return Routes(
        cores=cores, core_of_neuron=core_of, dest_indptr=dest_indptr, dest_core=dest_core,
        dest_pair=dest_pair, hops_ew=hops_ew, hops_ns=hops_ns, pairs=pairs,
        pair_hops_ew=np.abs(cx[dst] - cx[src]).astype(np.int32) if cx.size else np.zeros(0, np.int32),
        pair_hops_ns=np.abs(cy[dst] - cy[src]).astype(np.int32) if cy.size else np.zeros(0, np.int32),
        syn_indptr=tuple(syn_indptr), syn_core=tuple(syn_core), syn_count=tuple(syn_count),
    )


def _union_cores(outgoing: list[tuple[np.ndarray, np.ndarray]], n_cores: int):
    """Per pre neuron, the union of the destination cores of several projections: (indptr, cores)."""
    neuron_of = [np.repeat(np.arange(ptr.size - 1, dtype=np.int64), np.diff(ptr)) for ptr, _ in outgoing]
    keys = np.unique(np.concatenate([n * n_cores + c for n, (_, c) in zip(neuron_of, outgoing, strict=True)]))
    neuron, core = np.divmod(keys, n_cores)
    counts = np.bincount(neuron, minlength=outgoing[0][0].size - 1)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), core.astype(np.int32)


@kernel(cache=True)
def _pair_ids_table(dest_indptr, dest_core, core_of, cx, cy, n_cores):
    """Number the (source, destination) core pairs in first-seen order (a dense n_cores^2 table) and sum
    each neuron's hops. Returns dest_pair, hops_ew, hops_ns per neuron, pair sources, pair destinations."""
    n_total = dest_indptr.size - 1
    table = np.full(n_cores * n_cores, -1, np.int64)
    dest_pair = np.full(dest_core.size, -1, np.int32)
    hops_ew = np.zeros(n_total, np.int32)
    hops_ns = np.zeros(n_total, np.int32)
    src = np.empty(min(dest_core.size, n_cores * n_cores), np.int64)
    dst = np.empty(src.size, np.int64)
    n_pairs = 0
    for g in range(n_total):
        s = core_of[g]
        if s < 0:
            continue
        for k in range(dest_indptr[g], dest_indptr[g + 1]):
            d = dest_core[k]
            pid = table[s * n_cores + d]
            if pid < 0:
                pid = n_pairs
                table[s * n_cores + d] = pid
                src[pid] = s
                dst[pid] = d
                n_pairs += 1
            dest_pair[k] = pid
            hops_ew[g] += abs(cx[d] - cx[s])
            hops_ns[g] += abs(cy[d] - cy[s])
    return dest_pair, hops_ew, hops_ns, src[:n_pairs].copy(), dst[:n_pairs].copy()


def _pair_ids_sorted(dest_indptr, dest_core, core_of, cx, cy, n_cores):
    """As :func:`_pair_ids_table` for many cores (no n_cores^2 table): pairs numbered in sorted order."""
    n_total = dest_indptr.size - 1
    neuron = np.repeat(np.arange(n_total), np.diff(dest_indptr))
    s = core_of[neuron].astype(np.int64)
    on_chip = s >= 0
    keys, pair_of = np.unique(s[on_chip] * n_cores + dest_core[on_chip], return_inverse=True)
    dest_pair = np.full(dest_core.size, -1, np.int32)
    dest_pair[on_chip] = pair_of
    src, dst = np.divmod(keys, n_cores)
    ew, ns = np.abs(cx[dst] - cx[src]), np.abs(cy[dst] - cy[src])
    hops_ew = np.bincount(neuron[on_chip], weights=ew[pair_of], minlength=n_total).astype(np.int32)
    hops_ns = np.bincount(neuron[on_chip], weights=ns[pair_of], minlength=n_total).astype(np.int32)
    return dest_pair, hops_ew, hops_ns, src, dst
