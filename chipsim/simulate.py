"""simulate(): run a placed ChipNetwork on input spikes and return its Activity.

The Python side of the engine: it checks the input, flattens the network into the arrays the Numba kernels
of ``chipsim.engine`` take (all projections' CSR concatenated, per-population parameters as rows), computes
the routes (``chipsim.routing``) and wraps the counters in an :class:`~chipsim.activity.Activity`.
``prepare`` does the flattening once, so a benchmark or a sweep over inputs can reuse it.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from chipsim import engine
from chipsim.activity import Activity
from chipsim.fit import Placement
from chipsim.kernels import kernel, max_threads, num_threads
from chipsim.network import ChipNetwork
from chipsim.routing import Routes, conv_meta, route
from hwprofiles.errors import UserError

TRACE_BUDGET_BYTES = 256 * 2**20
"""Most memory the per-step (source, destination) packet counts of the traced samples may take."""


class SimulationInputError(UserError):
    """Input spikes that do not fit the network (shape, width, values)."""


@dataclass(frozen=True)
class Prepared:
    """A ChipNetwork flattened for the kernels, with its routes. Build with :func:`prepare`."""

    net: ChipNetwork
    routes: Routes
    arrays: dict  # the kernel's arguments from pop_off to out_pop, by name
    acc_dtype: type = np.int32  # the synaptic input sums' dtype (:func:`accumulator_dtype`)


def _int_range(bits: int | None) -> tuple[int, int]:
    bits = 48 if bits is None else int(bits)  # no width given: wide enough that products stay in int64
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _pop_rows(net: ChipNetwork) -> tuple[np.ndarray, np.ndarray]:
    """pop_int [P, 13] and pop_float [P, 8] (columns as ``engine.P_*`` / ``engine.F_*``)."""
    pop_int = np.zeros((len(net.populations), 13), np.int64)
    pop_float = np.zeros((len(net.populations), 8), np.float64)
    for p, pop in enumerate(net.populations[1:], start=1):
        prm = pop.params
        if prm.model not in engine.MODEL_CODES:
            raise ValueError(f"population {pop.name}: unknown neuron model {prm.model!r}")
        if (prm.model == "float_lif") == net.fixed_point:
            raise ValueError(f"population {pop.name}: model {prm.model} in a net with "
                             f"fixed_point={net.fixed_point}")
        shift = int(prm.weight_shift)
        u_lo, u_hi = _int_range(prm.current_bits if prm.current_bits is not None else prm.state_bits)
        v_lo, v_hi = _int_range(prm.state_bits)
        if prm.model == "loihi_cuba":  # Lava PyLifModelBitAcc: u wraps into (-2^23, 2^23], v >= -2^23 + 1
            u_lo, u_hi, v_lo = u_lo + 1, u_hi + 1, v_lo + 1
        thr = int(prm.threshold) << shift if net.fixed_point else 0
        pop_int[p] = [engine.MODEL_CODES[prm.model], engine.RESET_SUBTRACT if prm.reset == "subtract" else 0,
                      thr, int(prm.decay_u), int(prm.decay_v), int(prm.decay_bits or 0), shift,
                      int(prm.refractory_steps), u_lo, u_hi, v_lo, v_hi, int(prm.spike == "multi")]
        if not net.fixed_point:
            pop_float[p] = _float_coefficients(prm, net.dt_s)
    return pop_int, pop_float


def _float_coefficients(prm, dt_s: float, tau_syn_s=None, tau_mem_s=None) -> list[float]:
    """A, B, C of ``I += A*(w_in*in - I); v += B*(v_leak - v) + C*I`` for the chosen integrator, then
    v_leak, threshold, v_reset, w_in and SUB (what a subtractive reset takes); taus default to prm's."""
    exact = prm.integrator == "exact"
    if prm.integrator not in ("euler", "exact"):
        raise ValueError(f"unknown integrator {prm.integrator!r}")
    tau_syn_s = prm.tau_syn_s if tau_syn_s is None else tau_syn_s
    tau_mem_s = prm.tau_mem_s if tau_mem_s is None else tau_mem_s

    def gain(tau):
        return 1.0 - math.exp(-dt_s / tau) if exact else dt_s / tau

    a = 1.0 if tau_syn_s == 0 else gain(tau_syn_s)  # tau_syn = 0: a plain LIF, I = w_in * in
    if math.isinf(tau_mem_s):  # IF: dv/dt = r * I
        b, c = 0.0, dt_s * prm.r
    else:
        b = gain(tau_mem_s)
        c = b * prm.r
    # snnTorch's subtract (reset_delay): the next step subtracts the threshold after decaying v; subtracting
    # threshold / (1 - B) at the spike gives the same v after that decay (B < 1)
    sub = prm.threshold / (1.0 - b) if prm.reset_after_decay and b < 1 else prm.threshold
    return [a, b, c, prm.v_leak, prm.threshold, prm.v_reset, prm.w_in, sub]


def _neuron_coefficients(net: ChipNetwork) -> np.ndarray:
    """Per-neuron (A, B, C, SUB) [n_total, 4] of the float model (a fixed-point net: [1, 4], unused)."""
    if net.fixed_point:
        return np.zeros((1, 4))
    rows = [np.zeros((net.populations[0].size, 4))]
    for pop in net.populations[1:]:
        prm = pop.params
        syn, mem = prm.tau_syn_per_neuron_s, prm.tau_mem_per_neuron_s
        if syn is None and mem is None:
            a, b, c, *_, sub = _float_coefficients(prm, net.dt_s)
            rows.append(np.tile([a, b, c, sub], (pop.size, 1)))
            continue
        syn = np.full(pop.size, prm.tau_syn_s) if syn is None else np.asarray(syn, np.float64)
        mem = np.full(pop.size, prm.tau_mem_s) if mem is None else np.asarray(mem, np.float64)
        per = [_float_coefficients(prm, net.dt_s, ts, tm) for ts, tm in zip(syn, mem, strict=True)]
        rows.append(np.array([[a, b, c, sub] for a, b, c, *_, sub in per]))
    return np.ascontiguousarray(np.concatenate(rows), np.float64)


def _weight_dtype(arrays: list[np.ndarray], fixed: bool):
    if not fixed:
        return np.float64
    lo = min((int(a.min()) for a in arrays if a.size), default=0)
    hi = max((int(a.max()) for a in arrays if a.size), default=0)
    for dtype in (np.int8, np.int16, np.int32):
        if np.iinfo(dtype).min <= lo and hi <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"weights span {lo}..{hi}, wider than int32")


ACC16_MIN_NEURONS = 1 << 16
"""Neurons from which a fixed-point network's input sums are kept in int16 where they provably fit: there an
int32 accumulator takes half or more of this machine's L2 (256 KB of 512 KB a core), and the halved one
gave 1.16x at 10^5 neurons and 1.12-1.2x at 10^6, same process (docs/benchmarks.md); at 3 * 10^4 it gave
1.00x. Smaller networks keep int32 sums: one kernel signature for the common case (``chipsim.warm``)."""


@kernel(cache=True)
def _abs_fan_in(targets, weights, post_base, bound):
    """Add every synapse's |weight| to its post neuron's ``bound`` (global index ``post_base + target``)."""
    for s in range(targets.size):
        bound[post_base + targets[s]] += abs(np.int64(weights[s]))


def accumulator_dtype(net: ChipNetwork) -> type:
    """The dtype of the engine's per-neuron input sums: float64 for a float network; for a fixed-point one,
    int16 where the network has at least ``ACC16_MIN_NEURONS`` neurons and no neuron's summed |weights| over
    all its projections (a kept conv kernel: its output channel's) exceeds 32767, so that no partial sum
    in any delivery order can leave int16 (the result is then the int32 one, bit for bit); int32 otherwise."""
    if not net.fixed_point:
        return np.float64
    off = net.offsets()
    if int(off[-1]) < ACC16_MIN_NEURONS:
        return np.int32
    bound = np.zeros(int(off[-1]), np.int64)
    for pr in net.projections:
        lo, hi = int(off[pr.post]), int(off[pr.post + 1])
        if pr.conv is not None and pr.targets.size == 0:
            w = np.abs(np.asarray(pr.conv.weight, np.int64)).reshape(pr.conv.weight.shape[0], -1)
            bound[lo:hi] += int(w.sum(axis=1).max(initial=0))
        else:
            _abs_fan_in(np.asarray(pr.targets), np.asarray(pr.weights), lo, bound)
    return np.int16 if int(bound.max(initial=0)) <= np.iinfo(np.int16).max else np.int32


def _concat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    """Concatenation that does not copy a single array (100M targets are 400 MB)."""
    if len(arrays) == 1:
        return np.ascontiguousarray(arrays[0], dtype=dtype)
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


def prepare(net: ChipNetwork, placement: Placement, routes: Routes | None = None) -> Prepared:
    """Flatten ``net`` for the kernels and route it on ``placement`` (``routes``: already routed there, as
    :func:`chipsim.routing.route` gives, e.g. from ``chipsim.cache``)."""
    routes = route(net, placement) if routes is None else routes
    fixed = net.fixed_point
    projs = net.projections
    csr = [pr for pr in projs if not (pr.conv is not None and pr.targets.size == 0)]
    wdtype = _weight_dtype([pr.weights for pr in csr], fixed)
    ip_off, syn_off, indptrs = [], 0, []
    conv_rows, conv_ws, w_off = [], [], 0
    proj_conv = np.full(len(projs), -1, np.int64)
    for j, pr in enumerate(projs):
        ip_off.append(sum(a.size for a in indptrs))
        if pr.conv is not None and pr.targets.size == 0:
            proj_conv[j] = len(conv_rows)
            conv_rows.append(np.append(conv_meta(pr.conv), w_off))
            conv_ws.append(np.asarray(pr.conv.weight).transpose(1, 2, 3, 0).ravel())  # [C_in, kh, kw, C_out]
            w_off += pr.conv.weight.size
            indptrs.append(np.zeros(net.populations[pr.pre].size + 1, np.int64))
        else:
            indptrs.append(np.asarray(pr.indptr, np.int64) + syn_off)
            syn_off += int(pr.targets.size)
    sc_off = np.concatenate([[0], np.cumsum([p.size for p in routes.syn_indptr])[:-1]]).astype(np.int64)
    sc_syn_off = np.concatenate([[0], np.cumsum([c.size for c in routes.syn_core])[:-1]]).astype(np.int64)
    state_dtype = np.int64 if fixed else np.float64
    bias = np.concatenate([np.zeros(net.populations[0].size)]
                          + [np.asarray(p.bias) for p in net.populations[1:]])
    in_order = sorted(range(len(projs)), key=lambda j: projs[j].post)  # stable: keeps the graph's order
    in_ptr = np.searchsorted([projs[j].post for j in in_order], np.arange(len(net.populations) + 1))
    pop_int, pop_float = _pop_rows(net)
    arrays = dict(
        pop_off=net.offsets(), pop_int=pop_int, pop_float=pop_float, bias=bias.astype(state_dtype),
        coef=_neuron_coefficients(net),
        proj_pre=np.array([p.pre for p in projs], np.int64),
        proj_delay=np.array([p.delay_steps for p in projs], np.int64),
        proj_shift=np.array([p.input_shift for p in projs], np.int64), proj_ip_off=np.array(ip_off, np.int64),
        indptr_all=np.concatenate(indptrs) if indptrs else np.zeros(1, np.int64),
        targets_all=_concat([np.asarray(p.targets, np.int32) for p in csr], np.int32),
        weights_all=np.concatenate([np.asarray(p.weights).astype(wdtype) for p in csr]
                                   or [np.zeros(0, wdtype)]),
        proj_conv=proj_conv,
        conv_meta_all=np.array(conv_rows, np.int64).reshape(-1, 13),
        conv_w_all=np.concatenate(conv_ws).astype(np.int32 if fixed else np.float64) if conv_ws
        else np.zeros(0, np.int32 if fixed else np.float64),
        proj_sc_off=sc_off,
        sc_ptr_all=np.concatenate([p + o for p, o in zip(routes.syn_indptr, sc_syn_off, strict=True)]
                                  or [np.zeros(1, np.int64)]),
        sc_core=np.concatenate(routes.syn_core or (np.zeros(0, np.int32),)),
        sc_count=np.concatenate(routes.syn_count or (np.zeros(0, np.int32),)),
        in_ptr=in_ptr.astype(np.int64), in_proj=np.array(in_order, np.int64),
        core_of=routes.core_of_neuron, dest_indptr=routes.dest_indptr, dest_core=routes.dest_core,
        dest_pair=routes.dest_pair, hops_ew=routes.hops_ew, hops_ns=routes.hops_ns, out_pop=int(net.output),
    )
    return Prepared(net=net, routes=routes, arrays=arrays, acc_dtype=accumulator_dtype(net))


def _check_input(net: ChipNetwork, input_spikes, steps: int | None,
                 binary: bool | None = None) -> tuple[np.ndarray, bool]:
    """[batch, steps, n_in] contiguous input and whether it is binary; UserError on bad input. ``binary``:
    already decided over the whole input (:func:`_scan_input`), for one chunk of it."""
    x = np.asarray(input_spikes)
    if x.ndim == 2:
        x = x[:, None, :]
    _check_layout(net, x)
    if binary is None:
        binary = _values_binary(net, x)
    return _batch_major(x, steps, binary), binary


def _check_layout(net: ChipNetwork, x) -> None:
    if x.ndim != 3:
        raise SimulationInputError(f"input spikes must be [steps, batch, inputs] or [steps, inputs], "
                                   f"got shape {x.shape}")
    n_in = net.populations[0].size
    if x.shape[2] != n_in:
        raise SimulationInputError(f"input has {x.shape[2]} channels, the network's input takes {n_in}")
    if x.dtype.kind not in "biuf":
        raise SimulationInputError(f"input spikes must be numbers, got dtype {x.dtype}")


def _values_binary(net: ChipNetwork, x: np.ndarray) -> bool:
    """Whether ``x`` holds only 0 and 1; UserError for NaN/inf, or non-binary input to a fixed-point chip."""
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise SimulationInputError("input holds NaN or infinite values")
    binary = x.dtype == np.bool_ or bool(((x == 0) | (x == 1)).all())
    if not binary and net.fixed_point:
        raise SimulationInputError("a fixed-point chip takes binary spikes (0/1); the input holds other "
                                   "values")
    return binary


def _batch_major(x: np.ndarray, steps: int | None, binary: bool) -> np.ndarray:
    """[steps, batch, n_in] -> the engine's contiguous [batch, steps, n_in], ``steps`` cut or padded."""
    if steps is not None:
        if steps < 0:
            raise SimulationInputError(f"steps must be >= 0, got {steps}")
        pad = max(0, steps - x.shape[0])
        x = np.concatenate([x[:steps], np.zeros((pad, *x.shape[1:]), x.dtype)])
    dtype = np.uint8 if binary else np.float64
    return np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)


def _scan_input(net: ChipNetwork, input_spikes, chunk: int) -> bool:
    """Check a [steps, batch, n_in] input (an array, or anything with ``shape``, ``dtype`` and ``[:, lo:hi]``
    slicing, such as a file read in chunks) chunk by chunk; whether it is binary throughout."""
    shape = tuple(input_spikes.shape)
    _check_layout(net, np.empty((0, 0, shape[2]), dtype=input_spikes.dtype))
    binary = True
    for lo in range(0, shape[1], chunk):
        binary &= _values_binary(net, np.asarray(input_spikes[:, lo:lo + chunk]))
    return bool(binary)


def _run(prep: Prepared, x: np.ndarray, binary: bool, traced: int, record_raster: bool,
         threads: int | None = None, record_state: bool = False, per_population: bool = True) -> dict:
    """One engine call over the samples of ``x`` [batch, steps, n_in]: every output array, by name."""
    net, a = prep.net, prep.arrays
    batch, n_steps, _ = x.shape
    n_total = int(a["pop_off"][-1])
    n_cores = prep.routes.cores.size
    n_pairs = prep.routes.pairs.shape[0]
    out = dict(
        counters=np.zeros((batch, n_steps, engine.N_COUNTERS, n_cores), np.int32),
        pop_counters=np.zeros((batch, len(net.populations), engine.N_POP_COUNTERS), np.int64),
        spike_count=np.zeros((batch, n_total), np.int32),
        out_spikes=np.zeros((batch, n_steps, net.populations[net.output].size), np.uint8),
        raster=np.zeros((batch, n_steps, n_total) if record_raster else (batch, 0, 0), np.uint8),
        state_rec=np.zeros((batch, 2, n_steps, n_total) if record_state else (batch, 2, 0, 0),
                           np.int64 if net.fixed_point else np.float64),
        pair_packets=np.zeros((max(traced, 1), n_steps, n_pairs if traced else 0), np.int32),
    )
    fixed = net.fixed_point
    protos = (np.zeros(0, prep.acc_dtype), np.zeros(0, np.int64 if fixed else np.float64))
    args = (fixed, not binary, x, *a.values(), *out.values(), *protos)
    # no more threads than samples: each extra one is an OpenMP team member started for nothing (2-7 ms a
    # call here, for a one-sample command)
    threads = min(num_threads() if threads is None else int(threads), max(batch, 1))
    compiled = engine.run_batch.compiled(*args)
    if compiled is None:  # Numba's parallel engine
        interruptible(lambda: engine.run_batch.jit(*args), threads)
    else:  # the ahead-of-time one (no Numba import): one call per thread, each on its block of samples
        blocks = [(fixed, not binary, x[lo:hi], *a.values(), *_sample_block(out, lo, hi, traced), *protos)
                  for lo, hi in _blocks(batch, threads)]
        interruptible(lambda: _on_threads(compiled, blocks), numba_threads=False)
    if per_population:
        out["population"] = _per_population(prep, out, x)
    return out


def _per_population(prep: Prepared, out: dict, x: np.ndarray) -> dict[str, np.ndarray]:
    off = prep.arrays["pop_off"]
    split = [slice(int(off[p]), int(off[p + 1])) for p in range(len(prep.net.populations))]
    return _population_counters(out["pop_counters"], out["spike_count"], (x != 0).sum(axis=1), prep.routes,
                                split)


def _blocks(batch: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (lo, hi) blocks of ``batch`` samples, sizes differing by at most one (as
    Numba's static ``prange`` schedule splits them)."""
    edges = [batch * i // parts for i in range(parts + 1)]
    return [(lo, hi) for lo, hi in zip(edges, edges[1:], strict=False) if hi > lo]


def _sample_block(out: dict, lo: int, hi: int, traced: int) -> list[np.ndarray]:
    """The output arrays of samples lo..hi (views: the engine writes into ``out``). Only samples below
    ``traced`` fill ``pair_packets``; a block past them gets an empty one (the engine then traces none)."""
    pairs = out["pair_packets"]
    traced_here = pairs[lo:min(hi, traced)] if lo < traced else np.zeros((1, pairs.shape[1], 0), pairs.dtype)
    return [traced_here if k == "pair_packets" else v[lo:hi] for k, v in out.items()]


def _on_threads(call, blocks: list[tuple]) -> None:
    """``call(*block)`` for every block, each on a thread of its own (``call`` releases the GIL)."""
    import threading

    if len(blocks) == 1:
        call(*blocks[0])
        return
    errors: list[BaseException] = []

    def run(block):
        try:
            call(*block)
        except BaseException as error:  # handed to the caller
            errors.append(error)

    workers = [threading.Thread(target=run, args=(b,), name="chipsim-engine-block", daemon=True)
               for b in blocks]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


INTERRUPT_POLL_S = 0.1
"""How often the waiting thread looks for Ctrl-C while the engine runs."""


def interruptible(call, threads: int | None = None, numba_threads: bool = True):
    """Run ``call()`` (a Numba kernel that releases the GIL) in a daemon thread and wait for it in slices,
    so Ctrl-C (KeyboardInterrupt) reaches the caller at once instead of after the whole loop; the
    abandoned kernel ends with the process. ``threads``: Numba threads for the kernel (Numba's setting is
    per calling thread; default: the caller's); ``numba_threads=False``: ``call`` is not Numba's (an
    ahead-of-time function: one thread), so none is set and Numba is not imported. Exceptions of ``call``
    are raised here."""
    import threading

    if numba_threads:
        import numba

        threads = numba.get_num_threads() if threads is None else int(threads)
    box: dict = {}

    def target():
        try:
            if numba_threads:
                numba.set_num_threads(threads)
            box["result"] = call()
        except BaseException as error:  # handed to the waiting thread
            box["error"] = error

    worker = threading.Thread(target=target, name="chipsim-engine", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(INTERRUPT_POLL_S)
    if "error" in box:
        raise box["error"]
    return box.get("result")


def _traced(prep: Prepared, batch: int, n_steps: int, traced_samples: int) -> int:
    per_sample_bytes = 4 * max(n_steps, 1) * max(prep.routes.pairs.shape[0], 1)
    return max(0, min(int(traced_samples), batch, TRACE_BUDGET_BYTES // per_sample_bytes))


def _activity(prep: Prepared, counters, spike_count, out_spikes, pair_packets, binary, population,
              raster=None, n_samples=None, totals=None) -> Activity:
    net = prep.net
    off = prep.arrays["pop_off"]
    split = [slice(int(off[p]), int(off[p + 1])) for p in range(len(net.populations))]
    c = [np.ascontiguousarray(counters[:, :, k]) for k in range(engine.N_COUNTERS)]
    return Activity(
        cores=prep.routes.cores, synops=c[engine.K_SYNOPS], macs=c[engine.K_MACS],
        neuron_updates_active=c[engine.K_ACTIVE], neuron_updates_idle=c[engine.K_IDLE],
        spikes_out=c[engine.K_SPIKES], packets_out=c[engine.K_PACKETS_OUT], packets_in=c[engine.K_PACKETS_IN],
        hops_ew=c[engine.K_HOPS_EW], hops_ns=c[engine.K_HOPS_NS],
        spike_counts=tuple(spike_count[:, sl] for sl in split),
        output_spikes=out_spikes.transpose(1, 0, 2), pairs=prep.routes.pairs,
        pair_packets=pair_packets, input_binary=binary, dt_s=float(net.dt_s),
        raster=tuple(raster[:, :, sl].transpose(1, 0, 2) for sl in split) if raster is not None else None,
        population=population, n_samples=n_samples, totals=totals,
    )


COUNTER_NAMES = {engine.K_SYNOPS: "synops", engine.K_MACS: "macs", engine.K_ACTIVE: "neuron_updates_active",
                 engine.K_IDLE: "neuron_updates_idle", engine.K_SPIKES: "spikes_out",
                 engine.K_PACKETS_OUT: "packets_out", engine.K_PACKETS_IN: "packets_in",
                 engine.K_HOPS_EW: "hops_ew", engine.K_HOPS_NS: "hops_ns"}


def simulate(net: ChipNetwork | Prepared, placement: Placement | None, input_spikes, *,
             steps: int | None = None, record_raster: bool = False, traced_samples: int = 4,
             record_state: bool = False) -> Activity:
    """Run ``net`` on ``input_spikes`` [steps, batch, n_in] (or [steps, n_in]: batch 1).

    ``steps`` truncates the input or pads it with silence. ``traced_samples``: how many samples (the first)
    keep their per-step (source, destination) packet counts for the NoC model, fewer where they would take
    more than ``TRACE_BUDGET_BYTES`` (none at all on a huge, densely connected mesh: then ``cost`` bounds
    the network time by the network's longest route). ``net`` may be a
    :class:`Prepared` (then ``placement`` is ignored). Deterministic: no randomness anywhere. Every
    counter is kept per sample and step; for a test set use :func:`simulate_stream`.
    """
    prep = net if isinstance(net, Prepared) else prepare(net, placement)
    x, binary = _check_input(prep.net, input_spikes, steps)
    traced = _traced(prep, x.shape[0], x.shape[1], traced_samples)
    r = _run(prep, x, binary, traced, record_raster, record_state=record_state)
    activity = _activity(prep, r["counters"], r["spike_count"], r["out_spikes"], r["pair_packets"][:traced],
                         binary, r["population"], r["raster"] if record_raster else None)
    if not record_state:
        return activity
    off = prep.arrays["pop_off"]
    rec = r["state_rec"]
    state = tuple((rec[:, 0, :, int(off[p]):int(off[p + 1])].transpose(1, 0, 2),
                   rec[:, 1, :, int(off[p]):int(off[p + 1])].transpose(1, 0, 2)) for p in range(off.size - 1))
    return dataclasses.replace(activity, state=state)


SCAN_SAMPLES = 256
"""Samples read at a time when a chunked input is checked before the run (whether it is binary)."""

CHUNK_BYTES = 64 * 2**20
"""Most memory one chunk's per-step counters may take in :func:`simulate_stream`."""


def simulate_stream(net: ChipNetwork | Prepared, placement: Placement | None, input_spikes, *,
                    steps: int | None = None, workers: int | None = None, chunk_size: int | None = None,
                    traced_samples: int = 4, per_sample_counts: bool = True, progress=None,
                    stop=None, on_counts=None) -> Activity:
    """As :func:`simulate`, over a test set in chunks of samples, memory bounded by the chunk.

    Each chunk runs its samples in parallel on ``workers`` threads (default: every core Numba has);
    counters are summed as chunks finish (``Activity.totals``) and kept per step only for the first
    ``traced_samples`` samples. ``per_sample_counts=False`` keeps spike counts as one row summed over
    samples. ``progress(done, total)`` is called after each chunk; ``stop(output_counts)`` (the output
    population's spike counts so far, [done, n_out]) may end the run early by returning True. Ctrl-C
    stops at once (:func:`interruptible`). The result does not depend on ``workers`` or the chunking.

    ``input_spikes`` [steps, batch, n_in] may be anything with ``shape``, ``dtype`` and ``[:, lo:hi]``
    slicing (a file read chunk by chunk): it is checked, then converted, one chunk at a time, so only a
    chunk of it is ever in memory here. ``on_counts(lo, hi, counts)`` receives each chunk's per-sample
    spike counts (int32 [hi - lo, every neuron]) as it finishes, in order, on a helper thread, to be written
    out instead of kept.
    """
    prep = net if isinstance(net, Prepared) else prepare(net, placement)
    chunked = getattr(input_spikes, "ndim", np.ndim(input_spikes)) == 3
    if chunked:
        binary = _scan_input(prep.net, input_spikes, SCAN_SAMPLES)
        raw_steps = int(input_spikes.shape[0])
        batch, n_steps = int(input_spikes.shape[1]), raw_steps if steps is None else int(steps)
        if steps is not None and steps < 0:
            raise SimulationInputError(f"steps must be >= 0, got {steps}")
    else:
        x, binary = _check_input(prep.net, input_spikes, steps)
        batch, n_steps, _ = x.shape
    n_cores = prep.routes.cores.size
    most = max_threads()
    workers = most if workers is None else int(workers)
    if not 1 <= workers <= most:
        raise SimulationInputError(f"workers must be 1..{most} (this machine's "
                                   f"cores), got {workers}")
    per_sample = 4 * max(n_steps, 1) * engine.N_COUNTERS * max(n_cores, 1)
    if chunk_size is None:
        chunk_size = max(workers, min(16 * workers, CHUNK_BYTES // per_sample) // workers * workers)
    keep = min(int(traced_samples), batch)
    traced = _traced(prep, batch, n_steps, traced_samples)
    totals = np.zeros(engine.N_COUNTERS, np.int64)
    kept_counters = np.zeros((keep, n_steps, engine.N_COUNTERS, n_cores), np.int32)
    n_total = int(prep.arrays["pop_off"][-1])
    rows = batch if per_sample_counts else 1
    spike_count = np.zeros((rows, n_total), np.int32 if per_sample_counts else np.int64)
    out_spikes = np.zeros((batch, n_steps, prep.net.populations[prep.net.output].size), np.uint8)
    out_lo, out_hi = (int(v) for v in prep.arrays["pop_off"][prep.net.output : prep.net.output + 2])
    out_counts = np.zeros((batch, out_hi - out_lo), np.int32)
    pair_packets = np.zeros((traced, n_steps, prep.routes.pairs.shape[0]), np.int32)
    population: dict[str, np.ndarray] = {}

    def load(lo: int, hi: int) -> np.ndarray:
        return _batch_major(np.asarray(input_spikes[:, lo:hi]), steps, binary) if chunked else x[lo:hi]

    def reduce(r: dict, chunk: np.ndarray, lo: int, hi: int, here: int) -> None:
        """Fold one finished chunk into the totals (on the reducer thread, beside the next chunk's run)."""
        totals[:] += r["counters"].sum(axis=(0, 1, 3), dtype=np.int64)
        if lo < keep:
            kept_counters[lo : min(keep, hi)] = r["counters"][: min(keep, hi) - lo]
        if here:
            pair_packets[lo : lo + here] = r["pair_packets"][:here]
        if on_counts is not None:
            on_counts(lo, hi, r["spike_count"])
        if per_sample_counts:
            spike_count[lo:hi] = r["spike_count"]
        else:
            spike_count[0] += r["spike_count"].sum(axis=0, dtype=np.int64)
        for name, rows_of in _per_population(prep, r, chunk).items():  # one row: the sum over samples
            population[name] = population.get(name, 0) + rows_of.sum(axis=0, keepdims=True)

    # While the engine runs chunk k on ``workers`` threads, one thread reads chunk k + 1 and another folds
    # chunk k - 1 into the totals, so the per-chunk Python and numpy work does not leave cores idle.
    done, pending = 0, None
    with ThreadPoolExecutor(1, thread_name_prefix="chipsim-read") as reader, \
            ThreadPoolExecutor(1, thread_name_prefix="chipsim-reduce") as reducer:
        upcoming = reader.submit(load, 0, min(batch, chunk_size))
        while done < batch:
            hi = min(batch, done + chunk_size)
            here = max(0, min(traced - done, hi - done))
            chunk = upcoming.result()
            if hi < batch:
                upcoming = reader.submit(load, hi, min(batch, hi + chunk_size))
            r = _run(prep, chunk, binary, here, False, workers, per_population=False)
            out_spikes[done:hi] = r["out_spikes"]
            out_counts[done:hi] = r["spike_count"][:, out_lo:out_hi]
            if pending is not None:
                pending.result()  # at most one chunk waits to be folded in: memory stays bounded
            pending = reducer.submit(reduce, r, chunk, done, hi, here)
            del chunk, r
            done = hi
            if progress is not None:
                progress(done, batch)
            if stop is not None and done < batch and stop(out_counts[:done]):
                break
        if pending is not None:
            pending.result()
    if per_sample_counts:
        spike_count = spike_count[:done]
    return _activity(prep, kept_counters[: min(keep, done)], spike_count, out_spikes[:done],
                     pair_packets[: min(traced, done)], binary, population, n_samples=done,
                     totals={COUNTER_NAMES[k]: int(totals[k]) for k in range(engine.N_COUNTERS)})


def _population_counters(pop_counters, spike_count, input_count, routes: Routes,
                         split) -> dict[str, np.ndarray]:
    """Per-population totals, int64 [batch, n_pops]: the engine's events and updates, and the spikes,
    packets and hops of each population (fixed per neuron, so spike count x the neuron's routes; the input
    population's spikes are the host's, ``input_count`` [batch, n_in])."""
    off = np.array([s.start for s in split] + [split[-1].stop], np.int64)
    spikes, packets, hops = _route_totals(spike_count, np.ascontiguousarray(input_count), off,
                                          routes.dest_indptr, routes.hops_ew, routes.hops_ns)
    return {
        "synops": pop_counters[:, :, engine.PC_SYNOPS], "macs": pop_counters[:, :, engine.PC_MACS],
        "neuron_updates_active": pop_counters[:, :, engine.PC_ACTIVE],
        "neuron_updates_idle": pop_counters[:, :, engine.PC_IDLE],
        "spikes": spikes, "packets": packets, "hops": hops,
    }


@kernel(cache=True)
def _route_totals(spike_count, input_count, off, dest_indptr, hops_ew, hops_ns):
    """(spikes, packets, hops) int64 [batch, n_pops] of :func:`_population_counters` in one pass: each
    neuron's count (the input population's from ``input_count``) times 1, its destinations and its hops.
    Each (sample, population) sums in locals over per-neuron destination and hop counts taken once, so the
    loop has no branch and no store (it runs beside the engine on every chunk: 8.2 -> 1.4 ms for 32
    samples of the 82k-neuron conv net)."""
    batch, n_pops, n_total = spike_count.shape[0], off.size - 1, off[off.size - 1]
    n_dest = np.empty(n_total, np.int64)
    n_hops = np.empty(n_total, np.int64)
    for g in range(n_total):
        n_dest[g] = dest_indptr[g + 1] - dest_indptr[g]
        n_hops[g] = np.int64(hops_ew[g]) + np.int64(hops_ns[g])
    spikes = np.zeros((batch, n_pops), np.int64)
    packets = np.zeros((batch, n_pops), np.int64)
    hops = np.zeros((batch, n_pops), np.int64)
    for b in range(batch):
        for p in range(n_pops):
            lo, hi = off[p], off[p + 1]
            if p == 0:  # the input population's counts are the host's (another dtype: a call of its own)
                s, k, h = _weighted_sums(input_count[b], n_dest[lo:hi], n_hops[lo:hi])
            else:
                s, k, h = _weighted_sums(spike_count[b, lo:hi], n_dest[lo:hi], n_hops[lo:hi])
            spikes[b, p], packets[b, p], hops[b, p] = s, k, h
    return spikes, packets, hops


@kernel(cache=True, inline="always")
def _weighted_sums(counts, n_dest, n_hops):
    """(sum of counts, of counts x destinations, of counts x hops), int64."""
    s = k = h = np.int64(0)
    for i in range(counts.size):
        c = np.int64(counts[i])
        s += c
        k += c * n_dest[i]
        h += c * n_hops[i]
    return s, k, h
