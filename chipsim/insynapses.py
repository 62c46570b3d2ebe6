"""Every neuron's incoming synapses, read from a ChipNetwork's CSR arrays and kept kernels, for placement.

Placement asks, per post neuron, which presynaptic neurons reach it (fan-in axons) and which weight values
it stores (unique weights). The network keeps synapses by presynaptic neuron (CSR) or as a conv kernel, so
:func:`in_synapses` transposes the CSR projections once by counting sort (linear in synapses: int32
presynaptic ids, no (pre, post, weight) triples, no sort) and leaves kept kernels as they are: the in-taps
of an output neuron are enumerated from the kernel where they are needed (:func:`visit`). Weight values
are replaced by dense integer ranks (``w - min`` for integers in a modest range, else ``np.unique``), so
distinct-value counts are marker stamps over an array of ranks.

Distinct counts everywhere use "seen" markers: ``mark[x] == stamp`` means x was already counted for the
current group (core, neuron or layer); starting a new group is changing the stamp, with no reset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipsim.kernels import kernel
from chipsim.network import ChipNetwork
from chipsim.routing import conv_meta

DIRECT_RANK_SPAN = 1 << 22
"""Integer weights spanning at most this many values are ranked as ``w - min`` (no sort)."""


@dataclass(frozen=True)
class InSynapses:
    """Incoming synapses by post neuron (global ids, ``ChipNetwork.offsets()``, input included).

    CSR projections: the presynaptic ids of neuron g are ``pre[ptr[g]:ptr[g+1]]``, their weight ranks
    ``rank[...]``. Kept kernels: conv ``k`` (row of ``cv_meta``, as ``routing.conv_meta``) feeds population
    ``cv_post[k]`` from the population starting at global ``cv_pre_off[k]``; its kernel's ranks are
    ``cv_rank[cv_w_off[k]:...]`` (-1 for a zero tap, which stores nothing). ``pop_cv_ptr`` indexes
    ``pop_cv`` (conv indices per post population).
    """

    ptr: np.ndarray  # int64 [n_total + 1]
    pre: np.ndarray  # int32 [n_csr_synapses]
    rank: np.ndarray  # int16 (int32 beyond 2^15 distinct values) [n_csr_synapses]
    cv_meta: np.ndarray  # int64 [n_conv, 12]
    cv_pre_off: np.ndarray  # int64 [n_conv]
    cv_w_off: np.ndarray  # int64 [n_conv]
    cv_rank: np.ndarray  # as ``rank``, [sum of kernel sizes]
    pop_cv_ptr: np.ndarray  # int64 [n_pops + 1]
    pop_cv: np.ndarray  # int64
    n_ranks: int


def kept_conv(proj) -> bool:
    """A projection whose conv kernel is kept (its CSR arrays empty)."""
    return proj.conv is not None and proj.targets.size == 0


def in_synapses(net: ChipNetwork) -> InSynapses:
    """Transpose ``net``'s CSR projections by post neuron and index its kept kernels (see the module)."""
    off = net.offsets()
    n_total = int(off[-1])
    csr = [p for p in net.projections if not kept_conv(p)]
    convs = sorted((p for p in net.projections if kept_conv(p)), key=lambda p: p.post)
    ranks, n_ranks = _ranks([np.asarray(p.weights) for p in csr] + [np.asarray(p.conv.weight).ravel()
                                                                      for p in convs])
    counts = np.zeros(n_total, np.int64)
    for p in csr:
        n_post = net.populations[p.post].size
        counts[off[p.post] : off[p.post + 1]] += np.bincount(p.targets, minlength=n_post)
    ptr = np.zeros(n_total + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    pre = np.empty(int(ptr[-1]), np.int32)
    rank = np.empty(int(ptr[-1]), rank_dtype(n_ranks))
    fill = ptr[:-1].copy()
    for p, r in zip(csr, ranks[: len(csr)], strict=True):
        _transpose(np.asarray(p.indptr, np.int64), np.asarray(p.targets, np.int32), r, int(off[p.pre]),
                   int(off[p.post]), fill, pre, rank)
    cv_rank = [np.where(np.asarray(p.conv.weight).ravel() != 0, r, -1).astype(rank.dtype)
               for p, r in zip(convs, ranks[len(csr):], strict=True)]
    pop_of_conv = np.array([p.post for p in convs], np.int64)
    return InSynapses(
        ptr=ptr, pre=pre, rank=rank,
        cv_meta=np.array([conv_meta(p.conv) for p in convs], np.int64).reshape(-1, 12),
        cv_pre_off=np.array([off[p.pre] for p in convs], np.int64),
        cv_w_off=np.concatenate([[0], np.cumsum([r.size for r in cv_rank])])[:-1].astype(np.int64),
        cv_rank=np.concatenate(cv_rank) if cv_rank else np.zeros(0, rank.dtype),
        pop_cv_ptr=np.searchsorted(pop_of_conv, np.arange(len(net.populations) + 1)).astype(np.int64),
        pop_cv=np.arange(len(convs), dtype=np.int64),
        n_ranks=n_ranks,
    )


def _ranks(weights: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Dense int32 ranks of every weight value over all arrays (equal values, equal ranks)."""
    nonempty = [w for w in weights if w.size]
    if not nonempty:
        return [np.zeros(w.size, np.int16) for w in weights], 1
    integral = all(w.dtype.kind in "iu" for w in nonempty) or all(
        np.array_equal(w, np.round(w)) and np.isfinite(w).all() for w in nonempty
    )
    lo = min(float(w.min()) for w in nonempty)
    hi = max(float(w.max()) for w in nonempty)
    if integral and hi - lo < DIRECT_RANK_SPAN:
        dtype = rank_dtype(int(hi - lo) + 1)
        return [np.subtract(w, int(lo), dtype=dtype, casting="unsafe") for w in weights], int(hi - lo) + 1
    values = np.unique(np.concatenate([np.unique(w) for w in nonempty]))
    dtype = rank_dtype(values.size)
    return [np.searchsorted(values, w).astype(dtype) for w in weights], int(values.size)


def rank_dtype(n_ranks: int):
    """int16 where every rank (and the -1 of a zero tap) fits, else int32: half the memory at 10^8."""
    return np.int16 if n_ranks < 2**15 else np.int32


@kernel(cache=True)
def _transpose(indptr, targets, w_rank, pre_off, post_off, fill, pre, rank):
    """Counting-sort one CSR projection into the by-post arrays (``fill``: next free slot per neuron)."""
    for i in range(indptr.size - 1):
        for s in range(indptr[i], indptr[i + 1]):
            g = post_off + targets[s]
            k = fill[g]
            pre[k] = pre_off + i
            rank[k] = w_rank[s]
            fill[g] = k + 1


@kernel(cache=True)
def visit(g, j, pop, stamp, ptr, pre, rank, cv_meta, cv_pre_off, cv_w_off, cv_rank, pop_cv_ptr, pop_cv,
          pre_mark, rank_mark, use_pre, use_rank):
    """Stamp neuron g's (local index j in population ``pop``) presynaptic ids and weight ranks not yet
    stamped with ``stamp``; return (new presynaptic ids, new ranks, synapses)."""
    new_pre = 0
    new_rank = 0
    n = 0
    for s in range(ptr[g], ptr[g + 1]):
        n += 1
        if use_pre:
            q = pre[s]
            if pre_mark[q] != stamp:
                pre_mark[q] = stamp
                new_pre += 1
        if use_rank:
            r = rank[s]
            if rank_mark[r] != stamp:
                rank_mark[r] = stamp
                new_rank += 1
    for t in range(pop_cv_ptr[pop], pop_cv_ptr[pop + 1]):
        k = pop_cv[t]
        cin, hin, win, cout, hout, wout, kh, kw, sy, sx, py, px = cv_meta[k]
        co = j // (hout * wout)
        oy = (j // wout) % hout
        ox = j % wout
        w0 = cv_w_off[k]
        for ci in range(cin):
            for ky in range(kh):
                iy = oy * sy - py + ky
                if iy < 0 or iy >= hin:
                    continue
                for kx in range(kw):
                    ix = ox * sx - px + kx
                    if ix < 0 or ix >= win:
                        continue
                    r = cv_rank[w0 + ((co * cin + ci) * kh + ky) * kw + kx]
                    if r < 0:
                        continue
                    n += 1
                    if use_pre:
                        q = cv_pre_off[k] + (ci * hin + iy) * win + ix
                        if pre_mark[q] != stamp:
                            pre_mark[q] = stamp
                            new_pre += 1
                    if use_rank and rank_mark[r] != stamp:
                        rank_mark[r] = stamp
                        new_rank += 1
    return new_pre, new_rank, n


def args(ins: InSynapses) -> tuple:
    """The arrays :func:`visit` takes after its first four arguments, in order."""
    return (ins.ptr, ins.pre, ins.rank, ins.cv_meta, ins.cv_pre_off, ins.cv_w_off, ins.cv_rank,
            ins.pop_cv_ptr, ins.pop_cv)
