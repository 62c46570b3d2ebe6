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

import math
from dataclasses import dataclass

import numba as nb
import numpy as np


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


def identity(n: int) -> Csr:
    return Csr(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int32), np.ones(n), n)


def dense(weight: np.ndarray) -> Csr:
    """(x -> W x) with W [out, in]: input i's synapses are W's nonzero column i."""
    wt = np.ascontiguousarray(np.asarray(weight, dtype=np.float64).T)
    nz = wt != 0
    indptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1, dtype=np.int64))])
    targets = np.nonzero(nz)[1].astype(np.int32)
    return Csr(indptr, targets, wt[nz], wt.shape[1])


def conv(geo: ConvGeometry) -> Csr:
    """The convolution's synapses (one per input neuron and in-bounds nonzero tap), in CSR order."""
    w = np.ascontiguousarray(geo.weight, dtype=np.float64)
    args = (w, *geo.in_shape, *geo.out_shape, *geo.stride, *geo.padding, geo.depthwise)
    counts = np.zeros(math.prod(geo.in_shape), np.int64)
    _conv_rows(*args, counts, np.zeros(0, np.int32), np.zeros(0), False)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    targets, weights = np.empty(indptr[-1], np.int32), np.empty(indptr[-1])
    _conv_rows(*args, indptr, targets, weights, True)
    return Csr(indptr, targets, weights, math.prod(geo.out_shape))


@nb.njit(cache=True, parallel=True)
def _conv_rows(w, c_in, h, wd, c_out, ho, wo, sy, sx, py, px, depthwise, rowinfo, targets, weights, fill):
    """Counts (``fill`` false: synapses per input into ``rowinfo``) or writes (``rowinfo`` is indptr)."""
    kh, kw = w.shape[2], w.shape[3]
    for ci in nb.prange(c_in):
        for y in range(h):
            for x in range(wd):
                i = (ci * h + y) * wd + x
                k = rowinfo[i] if fill else 0
                lo, hi = (ci, ci + 1) if depthwise else (0, c_out)
                for co in range(lo, hi):
                    for ky in range(kh - 1, -1, -1):
                        ny = y + py - ky
                        if ny < 0 or ny % sy != 0 or ny // sy >= ho:
                            continue
                        for kx in range(kw - 1, -1, -1):
                            nx = x + px - kx
                            if nx < 0 or nx % sx != 0 or nx // sx >= wo:
                                continue
                            v = w[0, 0, ky, kx] if depthwise else w[co, ci, ky, kx]
                            if v == 0:
                                continue
                            if fill:
                                targets[k] = (co * ho + ny // sy) * wo + nx // sx
                                weights[k] = v
                            k += 1
                if not fill:
                    rowinfo[i] = k


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


@nb.njit(cache=True)
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
