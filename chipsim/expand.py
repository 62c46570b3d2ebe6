"""Weight nodes as sparse matrices, and a chain of them composed into one projection's synapses.

Compile (:mod:`chipsim.compile`) turns each chain of NIR weight nodes between two populations (Affine, Conv2d,
SumPool2d; Flatten and Delay change nothing) into one synapse matrix. Here every such node is a matrix in
CSR over its inputs, ``(indptr, targets, weights)``: the synapses of input ``i`` are
``targets[indptr[i]:indptr[i+1]]``, sorted by target, zero weights dropped; a chain is their product
(input -> ... -> output), computed row by row (Gustavson, ACM TOMS 4:250, 1978) with a dense accumulator
and a "touched" list, so the work is linear in the multiply-adds and nothing but the result is stored.

A convolution's matrix is written straight from its kernel, input neuron by input neuron, in target order
(output channel, then row, then column: for one input, tap ``ky`` lands on output row
``(y + pad - ky) / stride``, so walking the taps backwards walks the outputs forwards), without a sort.
Sum pooling is the depthwise case with a kernel of ones. Float sums of several paths onto one synapse are
added in chain order (the same terms as a dense product; the last bit may differ from another order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipsim.kernels import kernel, max_threads, prange


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution (or, ``depthwise`` with a ones kernel, a sum pool) over (C, H, W) inputs."""

    weight: np.ndarray  # [C_out, C_in, kh, kw] float64 (depthwise: [1, 1, kh, kw])
    stride: tuple[int, int]
    padding: tuple[int, int]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    depthwise: bool = False


@dataclass(frozen=True)
class Csr:
    """A synapse matrix [n_in, n_out] in CSR over inputs; targets sorted within a row, no zero weights."""

    indptr: np.ndarray  # int64 [n_in + 1]
    targets: np.ndarray  # int32 [n_synapses]
    weights: np.ndarray  # float64 [n_synapses]
    n_out: int

    @property
    def n_in(self) -> int:
        return self.indptr.size - 1

    def rows(self) -> np.ndarray:
        """The input (row) of every synapse, int64 [n_synapses]."""
        return np.repeat(np.arange(self.n_in, dtype=np.int64), np.diff(self.indptr))

    def keep(self, mask: np.ndarray) -> Csr:
        """The synapses where ``mask`` is true (rows stay sorted)."""
        kept = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])[self.indptr]
        return Csr(kept, self.targets[mask], self.weights[mask], self.n_out)


def keep_nonzero(indptr: np.ndarray, targets: np.ndarray, values: np.ndarray, nonzero: int,
                 in_place: bool = False):
    """(indptr, targets, values) of the entries whose value is not 0 (``nonzero`` of them); ``in_place``
    compacts ``targets`` and ``values`` themselves (no new memory) and returns views of them."""
    out_p = np.empty_like(indptr)
    if in_place:
        out_t, out_v = targets, values
    else:
        out_t, out_v = np.empty(nonzero, targets.dtype), np.empty(nonzero, values.dtype)
    _keep_nonzero(indptr, targets, values, out_p, out_t, out_v)
    return out_p, out_t[:nonzero], out_v[:nonzero]


@kernel(cache=True)
def _keep_nonzero(indptr, targets, values, out_p, out_t, out_v):
    k = 0
    out_p[0] = 0
    for i in range(indptr.size - 1):
        for e in range(indptr[i], indptr[i + 1]):
            if values[e] != 0:
                out_t[k] = targets[e]
                out_v[k] = values[e]
                k += 1
        out_p[i + 1] = k


def identity(n: int) -> Csr:
    return Csr(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int32), np.ones(n), n)


PARALLEL_MIN_ENTRIES = 2**25
"""Kernel taps or matrix entries from which an expansion runs on every core: below it, one thread, so a
small network does not pay for starting Numba's thread pool (about a second in a fresh process)."""


def _blocks(work: int, rows: int) -> int:
    """Parallel blocks of rows for a job of ``work`` entries: 0 (run serially) below PARALLEL_MIN_ENTRIES."""
    return 0 if work < PARALLEL_MIN_ENTRIES or rows < 2 else min(rows, 8 * max_threads())


def dense(weight: np.ndarray) -> Csr:
    """(x -> W x) with W [out, in]: input i's synapses are W's nonzero column i."""
    wt = np.ascontiguousarray(np.asarray(weight, dtype=np.float64).T)
    counts = np.count_nonzero(wt, axis=1)
    indptr = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    if indptr[-1] == wt.size:  # no zero weight: every input reaches every output, in order
        targets = np.tile(np.arange(wt.shape[1], dtype=np.int32), wt.shape[0])
        weights = wt.reshape(-1)
        if np.shares_memory(weights, weight):  # the NIR node's own array: not ours to hand on
            weights = weights.copy()
        return Csr(indptr, targets, weights, wt.shape[1])
    blocks = _blocks(wt.size, wt.shape[0])
    targets, weights = np.empty(indptr[-1], np.int32), np.empty(indptr[-1])
    _dense_parallel(wt, indptr, targets, weights, True, blocks)
    return Csr(indptr, targets, weights, wt.shape[1])


@kernel(cache=True)
def _dense_rows(wt, lo, hi, rowinfo, targets, weights, fill):
    """Rows lo..hi-1: counts (``fill`` false: synapses per row into ``rowinfo``) or writes (``rowinfo`` is
    indptr)."""
    for i in range(lo, hi):
        k = rowinfo[i] if fill else 0
        for j in range(wt.shape[1]):
            if wt[i, j] != 0:
                if fill:
                    targets[k] = j
                    weights[k] = wt[i, j]
                k += 1
        if not fill:
            rowinfo[i] = k


def _dense_parallel(wt, rowinfo, targets, weights, fill, blocks):
    if blocks == 0:
        _dense_rows(wt, 0, wt.shape[0], rowinfo, targets, weights, fill)
    else:
        _dense_blocks(wt, rowinfo, targets, weights, fill, blocks)


@kernel(cache=True, parallel=True)
def _dense_blocks(wt, rowinfo, targets, weights, fill, blocks):
    n = wt.shape[0]
    for b in prange(blocks):
        _dense_rows(wt, b * n // blocks, (b + 1) * n // blocks, rowinfo, targets, weights, fill)


def conv(geo: ConvGeometry) -> Csr:
    """The convolution's synapses (one per input neuron and in-bounds nonzero tap), in CSR order."""
    w = np.asarray(geo.weight, dtype=np.float64)
    wt = np.ascontiguousarray(w if geo.depthwise else w.transpose(1, 0, 2, 3))  # [C_in, C_out, kh, kw]
    (c_in, h, wd), (c_out, ho, wo) = geo.in_shape, geo.out_shape
    taps_y = _taps(h, ho, w.shape[2], geo.stride[0], geo.padding[0])
    taps_x = _taps(wd, wo, w.shape[3], geo.stride[1], geo.padding[1])
    work = (taps_y[1].size * taps_x[1].size) * c_in * (1 if geo.depthwise else c_out)
    args = (wt, c_out, ho, wo, *taps_y, *taps_x, geo.depthwise)
    blocks = _blocks(work, c_in)
    counts = np.zeros(c_in * h * wd, np.int64)
    _conv_parallel(args, c_in, counts, np.zeros(0, np.int32), np.zeros(0), False, blocks)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    targets, weights = np.empty(indptr[-1], np.int32), np.empty(indptr[-1])
    _conv_parallel(args, c_in, indptr, targets, weights, True, blocks)
    return Csr(indptr, targets, weights, c_out * ho * wo)


def _taps(n_in: int, n_out: int, k: int, stride: int, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per input coordinate, its in-bounds taps in increasing output order: (start [n_in + 1], tap, out)."""
    tap = np.arange(k - 1, -1, -1)  # tap k-1 lands on the smallest output
    pos = np.arange(n_in)[:, None] + pad - tap[None, :]
    ok = (pos >= 0) & (pos % stride == 0) & (pos // stride < n_out)
    start = np.concatenate([[0], np.cumsum(ok.sum(axis=1))]).astype(np.int64)
    return start, np.broadcast_to(tap, ok.shape)[ok].astype(np.int64), (pos[ok] // stride).astype(np.int64)


def _conv_parallel(args, c_in, rowinfo, targets, weights, fill, blocks):
    if blocks == 0:
        _conv_rows(*args, 0, c_in, rowinfo, targets, weights, fill)
    else:
        _conv_blocks(*args, c_in, rowinfo, targets, weights, fill, blocks)


@kernel(cache=True)
def _conv_rows(wt, c_out, ho, wo, y0, ky, oy, x0, kx, ox, depthwise, c_lo, c_hi, rowinfo, targets, weights,
               fill):
    """Input channels c_lo..c_hi-1: counts (``fill`` false: synapses per input into ``rowinfo``) or writes
    (``rowinfo`` is indptr). ``wt`` is [C_in, C_out, kh, kw] ([1, 1, kh, kw] depthwise); the taps come
    from :func:`_taps`."""
    h, wd = y0.size - 1, x0.size - 1
    for ci in range(c_lo, c_hi):
        for y in range(h):
            for x in range(wd):
                i = (ci * h + y) * wd + x
                k = rowinfo[i] if fill else 0
                lo, hi = (ci, ci + 1) if depthwise else (0, c_out)
                for co in range(lo, hi):
                    kern = wt[0, 0] if depthwise else wt[ci, co]
                    for a in range(y0[y], y0[y + 1]):
                        row = (co * ho + oy[a]) * wo
                        for b in range(x0[x], x0[x + 1]):
                            v = kern[ky[a], kx[b]]
                            if v != 0:
                                if fill:
                                    targets[k] = row + ox[b]
                                    weights[k] = v
                                k += 1
                if not fill:
                    rowinfo[i] = k


@kernel(cache=True, parallel=True)
def _conv_blocks(wt, c_out, ho, wo, y0, ky, oy, x0, kx, ox, depthwise, c_in, rowinfo, targets, weights, fill,
                 blocks):
    for b in prange(blocks):
        _conv_rows(wt, c_out, ho, wo, y0, ky, oy, x0, kx, ox, depthwise, b * c_in // blocks,
                   (b + 1) * c_in // blocks, rowinfo, targets, weights, fill)


def product(a: Csr, b: Csr) -> Csr:
    """The chain a then b (``x -> B (A x)``) as one matrix; sums that cancel to 0 are dropped."""
    counts = np.zeros(a.n_in, np.int64)
    _product_rows(a.indptr, a.targets, a.weights, b.indptr, b.targets, b.weights, b.n_out,
                  counts, np.zeros(0, np.int32), np.zeros(0), False)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    targets, weights = np.empty(indptr[-1], np.int32), np.empty(indptr[-1])
    _product_rows(a.indptr, a.targets, a.weights, b.indptr, b.targets, b.weights, b.n_out,
                  indptr, targets, weights, True)
    return Csr(indptr, targets, weights, b.n_out)


@kernel(cache=True)
def _product_rows(ap, at, aw, bp, bt, bw, n_out, rowinfo, targets, weights, fill):
    acc = np.zeros(n_out)
    seen = np.zeros(n_out, np.bool_)
    touched = np.empty(n_out, np.int64)
    for i in range(ap.size - 1):
        m = 0
        for e in range(ap[i], ap[i + 1]):
            j, a = at[e], aw[e]
            for f in range(bp[j], bp[j + 1]):
                t = bt[f]
                if not seen[t]:
                    seen[t] = True
                    touched[m] = t
                    m += 1
                acc[t] += a * bw[f]
        row = np.sort(touched[:m])
        k = rowinfo[i] if fill else 0
        for t in row:
            if acc[t] != 0:
                if fill:
                    targets[k] = t
                    weights[k] = acc[t]
                k += 1
            acc[t] = 0.0
            seen[t] = False
        if not fill:
            rowinfo[i] = k


def add(a: Csr, b: Csr) -> Csr:
    """a + b (two paths between the same populations): row i of a then row i of b, duplicates summed."""
    both = a.indptr + b.indptr
    targets, weights = np.empty(both[-1], np.int32), np.empty(both[-1])
    rows_a, rows_b = a.rows(), b.rows()
    at_a = both[rows_a] + np.arange(a.targets.size) - a.indptr[rows_a]
    at_b = both[rows_b] + np.diff(a.indptr)[rows_b] + np.arange(b.targets.size) - b.indptr[rows_b]
    targets[at_a], weights[at_a] = a.targets, a.weights
    targets[at_b], weights[at_b] = b.targets, b.weights
    return product(Csr(both, targets, weights, a.n_out), identity(a.n_out))


def apply_to_vector(m: Csr, x: np.ndarray) -> np.ndarray:
    """``W x`` for a vector over the matrix's inputs (a bias pushed through the rest of a chain)."""
    return np.bincount(m.targets, weights=np.repeat(np.asarray(x, np.float64), np.diff(m.indptr)) * m.weights,
                       minlength=m.n_out)


def expand_conv(kernel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A kept kernel (:class:`chipsim.network.ConvKernel`) as (pre, post, weight) synapse triplets, zero
    taps dropped, sorted by pre then post."""
    m = conv(ConvGeometry(np.asarray(kernel.weight, dtype=np.float64), tuple(kernel.stride),
                          tuple(kernel.padding), tuple(kernel.in_shape), tuple(kernel.out_shape)))
    return m.rows(), m.targets.astype(np.int64), m.weights
