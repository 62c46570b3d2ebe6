"""The event-driven engine: Numba kernels that run a ChipNetwork and count what its cores do.

Per time step, populations are updated in topological order. Before population ``p`` updates, every
projection into it delivers: only the presynaptic neurons that spiked are visited (those of step t - d for a
projection of delay d >= 1, the chip's synaptic delay; with d = 0, this step's spikes for ``pre < p`` and
the previous step's for ``pre >= p``, as ``chipsim.network`` fixes), and each walks its CSR
fan-out, or, for a kept conv kernel, its receptive field, adding weights into ``p``'s input. Then the
neurons of ``p`` update bit-exactly by their model (the equations in ``chipsim.network``'s docstring) and
the ones that fired become ``p``'s spike list for this step. The update runs one branch-free loop per model
over the whole population (so LLVM vectorises it), writing each neuron's fired and active bits into a flag
array; the active/idle counts per core are summed from it over each run of same-core neurons, and the
fired list is compacted from it. Delivery and packet counting ask for
the CSR rows and routes of the spikes ahead (``chipsim.prefetch``), which at 10^6 neurons would otherwise
wait on memory once per spike; prefetching changes no value.

Fixed point: state in int64, clipped to the state's range every update, except loihi_cuba's current,
which wraps once into (-2^23, 2^23] as Lava's bit-accurate model does; input sums in int32 (a fan-in of
2^15 synapses at 16-bit weights still fits), or int16 in a large network where no neuron's summed
|weights| can leave it (``simulate.accumulator_dtype``: the same sums, half the cache). Float
(``float_lif``): float64 throughout. Models, as in
Davies et al. IEEE Micro 2018 / Lava 0.10.0 ``PyLifModelBitAcc`` (loihi_cuba: bit for bit against Lava's
fixtures in tests/fixtures/lava), Cassidy et al. IJCNN 2013 (truenorth_lif), Rockpool Xylo (xylo_shift),
sinabs IAF (speck_iaf).

Counters (``K_*``) are per step, per compact core, in int32. Synaptic events are counted where they are
delivered (on the post neuron's core, in the step they are added), from the per-projection core counts of
``chipsim.routing``; spikes, packets and hops where the spike is emitted. A neuron update is active when the
neuron had nonzero net input, nonzero state (u or v, before the update), nonzero bias, or fired (SANA-FE's
rule, with "input arrived" read as nonzero net input); idle otherwise. Batches run in parallel over
samples (``prange``; the ahead-of-time build of ``chipsim.kernels`` is a one-thread function, which
``chipsim.simulate`` runs on one block of samples per Python thread); every sample owns its state and its
slice of every output, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np

from chipsim.kernels import kernel, lazy, prange
from chipsim.routing import conv_tap_out

prefetch = lazy("chipsim.prefetch", "prefetch")  # Numba's intrinsic: its module imports Numba

# neuron models and reset modes (codes of hwprofiles.profile.NEURON_KINDS / RESET_MODES)
LOIHI_CUBA, TRUENORTH_LIF, XYLO_SHIFT, SPECK_IAF, FLOAT_LIF = 0, 1, 2, 3, 4
MODEL_CODES = {"loihi_cuba": 0, "truenorth_lif": 1, "xylo_shift": 2, "speck_iaf": 3, "float_lif": 4}
RESET_ZERO, RESET_SUBTRACT = 0, 1
# bits of a neuron's update flags (the fixed-point update loops write them, one byte a neuron)
FLAG_FIRED, FLAG_ACTIVE = 1, 2

# counter rows of the [steps, 9, cores] block each sample fills
K_SYNOPS, K_ACTIVE, K_IDLE, K_SPIKES, K_PACKETS_OUT, K_PACKETS_IN, K_HOPS_EW, K_HOPS_NS, K_MACS = range(9)
N_COUNTERS = 9
# columns of the [n_pops, 4] per-population block each sample fills (events into the population's neurons)
PC_SYNOPS, PC_MACS, PC_ACTIVE, PC_IDLE = range(4)
N_POP_COUNTERS = 4

# columns of pop_int (int64 [P, 12])
P_MODEL, P_RESET, P_THRESHOLD, P_DECAY_U, P_DECAY_V, P_DECAY_BITS, P_SHIFT, P_REFRACTORY = range(8)
P_U_LO, P_U_HI, P_V_LO, P_V_HI = range(8, 12)
P_MULTI = 12  # float only: 1 = multi-spike (floor(v / threshold) spikes a step, sinabs/Rockpool), 0 = one
# columns of pop_float (float64 [P, 8]): I += A*(w_in*in - I); v += B*(v_leak - v) + C*I; a subtractive
# reset takes F_SUB per spike (the threshold, or threshold / (1 - B) where snnTorch subtracts after decay)
F_A, F_B, F_C, F_V_LEAK, F_THRESHOLD, F_V_RESET, F_W_IN, F_SUB = range(8)


@kernel(cache=True, inline="always")
def _sat(x, lo, hi):
    """Clip to [lo, hi] without a branch (min/max select)."""
    return min(max(x, lo), hi)


@kernel(cache=True, inline="always")
def _shift0(x, d, mask):
    """x >>0 d without a branch: a negative x gets 2^d - 1 (``mask``) added before the floor shift."""
    return (x + ((x >> 63) & mask)) >> d


@kernel(cache=True, inline="always")
def _settle(vc, vo, r, thr_gt, thr, subtract, v_lo, v_hi, refr):
    """Threshold, reset and refractory of a neuron with voltage ``vo``, refractory count ``r`` and candidate
    voltage ``vc``: (new v, new refractory count, fired). Fires when vc > thr_gt, outside refractory."""
    free = r <= 0
    fired = free & (vc > thr_gt)
    reset = _sat(vc - thr, v_lo, v_hi) if subtract else np.int64(0)
    vn = (reset if fired else vc) if free else vo
    rn = refr if fired else r - (r > 0)
    return vn, rn, fired


PREFETCH_INDEX_AHEAD = 4
"""How many spikes ahead :func:`_deliver` prefetches a spiking neuron's row bounds (``indptr``) and per-core
count pointer, so that reading them for the next spike's row prefetch does not wait on memory."""
PREFETCH_EVENTS_AHEAD = 64
"""Synapses :func:`_deliver` asks for ahead of the ones it adds: ``64 // mean row length`` rows ahead (at
least one, at most ``PREFETCH_ROWS_MAX``), so that short rows (an input layer's 20 targets) are asked for
early enough to arrive in time."""
PREFETCH_ROWS_MAX = 8
PREFETCH_ROW_TARGETS = 128
"""Targets of the next spiking neuron's CSR row that :func:`_deliver` prefetches (a longer row is a
sequential stream, which the hardware prefetcher follows on its own)."""


@kernel(cache=True, inline="always")
def _prefetch_row(i, ip, sc, indptr_all, targets_all, weights_all, w_line, sc_ptr_all, sc_core, sc_count):
    """Ask for the cache lines of pre neuron ``i``'s CSR row (its first ``PREFETCH_ROW_TARGETS`` targets and
    their weights) and of its per-core event counts, so they arrive while the current row is added."""
    a = indptr_all[ip + i]
    b = min(indptr_all[ip + i + 1], a + PREFETCH_ROW_TARGETS)
    for s in range(a, b, 16):
        prefetch(targets_all, s)
    for s in range(a, b, w_line):
        prefetch(weights_all, s)
    c = sc_ptr_all[sc + i]
    prefetch(sc_core, c)
    prefetch(sc_count, c)


@kernel(cache=True)
def _deliver(p, spk, cnt_row, pop_off, proj, proj_pre, proj_ip_off, indptr_all, targets_all, weights_all,
             proj_conv, conv_meta_all, conv_w_all, proj_sc_off, sc_ptr_all, sc_core, sc_count, acc,
             values, synops_row):
    """Add the weights of projection ``proj``'s spiking pre neurons (``spk[..cnt_row]``) into ``acc``.

    ``values`` (float input only, else size 0) scales each input spike's weights (analog input);
    ``synops_row`` [cores] counts the events per core. Returns the number of events.
    """
    pre = proj_pre[proj]
    pre_base = pop_off[pre]
    post_base = pop_off[p]
    n_spk = cnt_row[pre]
    ip = proj_ip_off[proj]
    sc = proj_sc_off[proj]
    ci_conv = proj_conv[proj]
    n_events = 0
    if ci_conv >= 0:
        if n_spk > 0:
            _deliver_conv(spk[pre_base:pre_base + n_spk], pre_base, post_base, conv_meta_all[ci_conv],
                          conv_w_all, acc, values)
        for k in range(n_spk):
            i = spk[pre_base + k] - pre_base
            for s in range(sc_ptr_all[sc + i], sc_ptr_all[sc + i + 1]):
                synops_row[sc_core[s]] += sc_count[s]
                n_events += sc_count[s]
        return n_events
    scaled = values.size > 0
    acc_post = acc[post_base:pop_off[p + 1]]
    w_line = max(1, 64 // weights_all.itemsize)  # weights per 64-byte cache line
    # rows ahead to prefetch: one for long rows, more for short ones (each row's adds must outlast a miss)
    n_pre = pop_off[pre + 1] - pre_base
    mean_row = (indptr_all[ip + n_pre] - indptr_all[ip]) // max(n_pre, 1)
    ahead = min(PREFETCH_ROWS_MAX, max(1, PREFETCH_EVENTS_AHEAD // max(mean_row, 1)))
    for k in range(min(ahead, n_spk)):
        _prefetch_row(spk[pre_base + k] - pre_base, ip, sc, indptr_all, targets_all, weights_all, w_line,
                      sc_ptr_all, sc_core, sc_count)
    for k in range(n_spk):
        g = spk[pre_base + k]
        i = g - pre_base
        scale = values[i] if scaled else 1.0
        if k + ahead + PREFETCH_INDEX_AHEAD < n_spk:  # a later spike's row bounds, read below
            far = spk[pre_base + k + ahead + PREFETCH_INDEX_AHEAD] - pre_base
            prefetch(indptr_all, ip + far)
            prefetch(sc_ptr_all, sc + far)
        if k + ahead < n_spk:
            _prefetch_row(spk[pre_base + k + ahead] - pre_base, ip, sc, indptr_all, targets_all,
                          weights_all, w_line, sc_ptr_all, sc_core, sc_count)
        a = indptr_all[ip + i]
        b = indptr_all[ip + i + 1]
        tgt = targets_all[a:b]
        wgt = weights_all[a:b]
        # targets are >= 0: an unsigned index spares Numba's negative-index wraparound
        if scaled:
            for s in range(tgt.size):
                acc_post[np.uint32(tgt[s])] += wgt[s] * scale
        else:
            for s in range(tgt.size):
                acc_post[np.uint32(tgt[s])] += wgt[s]
        for s in range(sc_ptr_all[sc + i], sc_ptr_all[sc + i + 1]):
            synops_row[sc_core[s]] += sc_count[s]
            n_events += sc_count[s]
    return n_events


@kernel(cache=True)
def _deliver_conv(spikes, pre_base, post_base, m, conv_w_all, acc, values):
    """A kept kernel's receptive fields: every spiking input neuron ``spikes`` (global ids, pre population
    starting at ``pre_base``) adds its taps' weights into the post population at ``post_base``. ``m``: the
    kernel's row of ``conv_meta_all`` (``routing.conv_meta`` and the kernel's offset in ``conv_w_all``,
    stored [C_in, kh, kw, C_out] by ``simulate.prepare``). The output coordinate of every (input
    coordinate, tap) comes from a per-axis table built once per call, not a division per tap."""
    hin, win, cout, hout, wout, kh, kw = m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    sy, sx, py, px, w0 = m[8], m[9], m[10], m[11], m[12]
    scaled = values.size > 0
    oy_of = np.empty((hin, kh), np.int64)
    for y in range(hin):
        for ky in range(kh):
            oy_of[y, ky] = conv_tap_out(y, py, ky, sy, hout)
    ox_of = np.empty((win, kw), np.int64)
    for x in range(win):
        for kx in range(kw):
            ox_of[x, kx] = conv_tap_out(x, px, kx, sx, wout)
    plane = hout * wout
    for k in range(spikes.size):
        i = spikes[k] - pre_base
        scale = values[i] if scaled else 1.0
        ci = i // (hin * win)
        y = (i // win) % hin
        x = i % win
        w_ci = w0 + ci * kh * kw * cout
        for ky in range(kh):
            oy = oy_of[y, ky]
            if oy < 0:
                continue
            for kx in range(kw):
                ox = ox_of[x, kx]
                if ox < 0:
                    continue
                o = post_base + oy * wout + ox
                w_tap = w_ci + (ky * kw + kx) * cout
                if scaled:  # a zero weight adds nothing; skipped so that 0 * inf adds no NaN
                    for co in range(cout):
                        w = conv_w_all[w_tap + co]
                        if w != 0:
                            acc[o + co * plane] += w * scale
                else:  # adding a zero weight leaves the sum as it was: no branch
                    for co in range(cout):
                        acc[o + co * plane] += conv_w_all[w_tap + co]


@kernel(cache=True)
def _emit(fired, n, core_of, dest_indptr, dest_core, dest_pair, hops_ew, hops_ns, ct, pair_row, traced):
    """Count the packets (one per destination core), hops and spikes of the ``n`` neurons in ``fired`` into
    this step's counters ``ct`` [9, cores] and (traced samples) ``pair_row`` [n_pairs]."""
    packets_in = ct[K_PACKETS_IN]
    spikes, packets_out = ct[K_SPIKES], ct[K_PACKETS_OUT]
    ew, ns = ct[K_HOPS_EW], ct[K_HOPS_NS]
    for k in range(n):
        if k + PREFETCH_INDEX_AHEAD < n:  # a later neuron's route pointers, read one line below
            far = fired[k + PREFETCH_INDEX_AHEAD]
            prefetch(dest_indptr, far)
            prefetch(core_of, far)
            prefetch(hops_ew, far)
            prefetch(hops_ns, far)
        if k + 1 < n:  # the next neuron's destinations
            nxt = dest_indptr[fired[k + 1]]
            prefetch(dest_core, nxt)
            prefetch(dest_pair, nxt)
        g = fired[k]
        a, b = dest_indptr[g], dest_indptr[g + 1]
        for d in range(a, b):
            packets_in[dest_core[d]] += 1
        if traced:
            for d in range(a, b):
                if dest_pair[d] >= 0:
                    pair_row[dest_pair[d]] += 1
        c = core_of[g]
        if c >= 0:
            spikes[c] += 1
            packets_out[c] += b - a
            ew[c] += hops_ew[g]
            ns[c] += hops_ns[g]


@kernel(cache=True, inline="always")
def _wrap(x, lo, hi):
    """Wrap once into [lo, hi] (span hi - lo + 1) without a branch, as Lava's bit-accurate Loihi wraps u."""
    span = hi - lo + 1
    return x - span * (x > hi) + span * (x < lo)


I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


@kernel(cache=True)
def _update_loihi(prm, acc, u, v, ref, bias, fired):
    """loihi_cuba over a range of neurons (slices of the state arrays); sets ``fired`` [n] to the neuron's
    flags (``FLAG_FIRED`` | ``FLAG_ACTIVE``: 0, 2 or 3) and returns how many updates were active. The
    current decays by ``decay_u + 1`` (Lava's ``du`` plus its ``ds_offset``), the voltage by ``decay_v``;
    u wraps into [u_lo, u_hi], v saturates. Where u, v and the decay factors all lie in int32 (every
    shipped profile: 24-bit state, 12-bit decay), the two decay products are taken as 32 x 32 -> 64-bit
    multiplies, which AVX2 has (``vpmuldq``; a full 64-bit one it has not): the same products, 1.2x on
    the update at 10^6 neurons (docs/benchmarks.md)."""
    dbits = prm[P_DECAY_BITS]
    mask = (np.int64(1) << dbits) - 1
    keep_u, keep_v = mask - prm[P_DECAY_U], (mask + 1) - prm[P_DECAY_V]
    narrow = (min(prm[P_U_LO], prm[P_V_LO], keep_u, keep_v) >= I32_MIN
              and max(prm[P_U_HI], prm[P_V_HI], keep_u, keep_v) <= I32_MAX)
    return _loihi_loop(prm, acc, u, v, ref, bias, fired, narrow)


@kernel(cache=True)
def _loihi_loop(prm, acc, u, v, ref, bias, fired, narrow):
    """The loop of :func:`_update_loihi`; ``narrow``: every u, v and decay factor fits int32 (then the
    products read their operands' low 32 bits, exactly)."""
    dbits, shift = prm[P_DECAY_BITS], prm[P_SHIFT]
    mask = (np.int64(1) << dbits) - 1
    keep_u, keep_v = mask - prm[P_DECAY_U], (mask + 1) - prm[P_DECAY_V]
    ku, kv = np.int64(np.int32(keep_u)), np.int64(np.int32(keep_v))
    thr, refr, subtract = prm[P_THRESHOLD], prm[P_REFRACTORY], prm[P_RESET] == RESET_SUBTRACT
    u_lo, u_hi, v_lo, v_hi = prm[P_U_LO], prm[P_U_HI], prm[P_V_LO], prm[P_V_HI]
    n_active = 0
    if narrow:
        for i in range(acc.size):
            x = np.int64(acc[i])
            uo, vo, bi, r = np.int64(u[i]), np.int64(v[i]), np.int64(bias[i]), ref[i]
            un = _wrap(_shift0(np.int64(np.int32(uo)) * ku, dbits, mask) + (x << shift), u_lo, u_hi)
            vc = _sat(_shift0(np.int64(np.int32(vo)) * kv, dbits, mask) + un + bi, v_lo, v_hi)
            vn, rn, f = _settle(vc, vo, r, thr, thr, subtract, v_lo, v_hi, refr)
            active = ((x | uo | vo | bi) != 0) | f
            u[i], v[i], ref[i], fired[i] = un, vn, rn, f + 2 * active
            n_active += active
        return n_active
    for i in range(acc.size):
        x = np.int64(acc[i])
        uo, vo, bi, r = np.int64(u[i]), np.int64(v[i]), np.int64(bias[i]), ref[i]  # typable for float too
        un = _wrap(_shift0(uo * keep_u, dbits, mask) + (x << shift), u_lo, u_hi)
        vc = _sat(_shift0(vo * keep_v, dbits, mask) + un + bi, v_lo, v_hi)
        vn, rn, f = _settle(vc, vo, r, thr, thr, subtract, v_lo, v_hi, refr)
        active = ((x | uo | vo | bi) != 0) | f
        u[i], v[i], ref[i], fired[i] = un, vn, rn, f + 2 * active
        n_active += active
    return n_active


@kernel(cache=True)
def _update_xylo(prm, acc, u, v, ref, bias, fired):
    """xylo_shift over a range of neurons, as :func:`_update_loihi`."""
    du, dv = prm[P_DECAY_U], prm[P_DECAY_V]
    thr, refr, subtract = prm[P_THRESHOLD], prm[P_REFRACTORY], prm[P_RESET] == RESET_SUBTRACT
    u_lo, u_hi, v_lo, v_hi = prm[P_U_LO], prm[P_U_HI], prm[P_V_LO], prm[P_V_HI]
    n_active = 0
    for i in range(acc.size):
        x = np.int64(acc[i])
        uo, vo, bi, r = np.int64(u[i]), np.int64(v[i]), np.int64(bias[i]), ref[i]  # typable for float too
        un = _sat(uo - (uo >> du) + x, u_lo, u_hi)
        vc = _sat(vo - (vo >> dv) + un + bi, v_lo, v_hi)
        vn, rn, f = _settle(vc, vo, r, thr - 1, thr, subtract, v_lo, v_hi, refr)
        active = ((x | uo | vo | bi) != 0) | f
        u[i], v[i], ref[i], fired[i] = un, vn, rn, f + 2 * active
        n_active += active
    return n_active


@kernel(cache=True)
def _update_linear(prm, acc, v, ref, bias, fired):
    """truenorth_lif (leak ``decay_v`` per step) or speck_iaf (no leak) over a range of neurons, as
    :func:`_update_loihi`; no current state (u stays 0)."""
    leak = prm[P_DECAY_V] if prm[P_MODEL] == TRUENORTH_LIF else np.int64(0)
    thr, refr, subtract = prm[P_THRESHOLD], prm[P_REFRACTORY], prm[P_RESET] == RESET_SUBTRACT
    v_lo, v_hi = prm[P_V_LO], prm[P_V_HI]
    n_active = 0
    for i in range(acc.size):
        x = np.int64(acc[i])
        vo, bi, r = np.int64(v[i]), np.int64(bias[i]), ref[i]
        vc = _sat(vo + x + bi - leak, v_lo, v_hi)
        vn, rn, f = _settle(vc, vo, r, thr - 1, thr, subtract, v_lo, v_hi, refr)
        active = ((x | vo | bi) != 0) | f
        v[i], ref[i], fired[i] = vn, rn, f + 2 * active
        n_active += active
    return n_active


@kernel(cache=True)
def _update_fixed(prm, runs, run_core, r0, r1, acc, u, v, ref, bias, flag, fired_list, ct, pc):
    """Bit-exact update of the population whose same-core runs are ``runs[r0..r1]`` (neurons
    runs[r]..runs[r+1] sit on core run_core[r]); returns how many fired (listed in fired_list, which
    ``flag`` [n_total] helps build). ``pc``: the population's counter row (active/idle added).

    The whole population updates in one loop (a conv layer placed in tiles has runs of a few neurons: 750
    runs a step in the 20k-neuron conv net, where a call per run cost 6x the update itself); each neuron's
    flags say whether it fired and whether its update was active, and the active ones are then counted per
    run (:func:`_tally_active`)."""
    model = prm[P_MODEL]
    lo, hi = runs[r0], runs[r1]
    if model == LOIHI_CUBA:
        n_active = _update_loihi(prm, acc[lo:hi], u[lo:hi], v[lo:hi], ref[lo:hi], bias[lo:hi], flag[lo:hi])
    elif model == XYLO_SHIFT:
        n_active = _update_xylo(prm, acc[lo:hi], u[lo:hi], v[lo:hi], ref[lo:hi], bias[lo:hi], flag[lo:hi])
    else:
        n_active = _update_linear(prm, acc[lo:hi], v[lo:hi], ref[lo:hi], bias[lo:hi], flag[lo:hi])
    pc[PC_ACTIVE] += n_active
    pc[PC_IDLE] += (hi - lo) - n_active
    if r1 - r0 == 1:  # one core: the loop's own count
        ct[K_ACTIVE, run_core[r0]] += n_active
        ct[K_IDLE, run_core[r0]] += (hi - lo) - n_active
    else:
        _tally_active(flag, runs, run_core, r0, r1, ct)
    return _compact(flag[lo:hi], lo, fired_list)


@kernel(cache=True, inline="always")
def _tally_active(flag, runs, run_core, r0, r1, ct):
    """Add each run's active and idle updates (``FLAG_ACTIVE`` bits of ``flag``) to its core's counters."""
    for r in range(r0, r1):
        a, b = runs[r], runs[r + 1]
        n_active = 0
        for g in range(a, b):
            n_active += flag[g] >> 1
        c = run_core[r]
        ct[K_ACTIVE, c] += n_active
        ct[K_IDLE, c] += (b - a) - n_active


@kernel(cache=True)
def _compact(flag, lo, fired_list):
    """Write lo + i for every flag[i] with ``FLAG_FIRED`` set into fired_list; returns how many."""
    n = 0
    for i in range(flag.size):
        fired_list[n] = lo + i  # kept only where the flag is set
        n += flag[i] & FLAG_FIRED
    return n


@kernel(cache=True)
def _core_runs(pop_off, core_of):
    """Split every population into runs of consecutive neurons on one core: (runs, run_core, pop_runs);
    population p's runs are r in pop_runs[p]..pop_runs[p+1], neurons runs[r]..runs[r+1] on run_core[r]."""
    n_pops = pop_off.size - 1
    n_total = pop_off[n_pops]
    runs = np.empty(n_total + n_pops + 1, np.int64)
    run_core = np.empty(n_total + n_pops, np.int64)
    pop_runs = np.empty(n_pops + 1, np.int64)
    n = 0
    for p in range(n_pops):
        pop_runs[p] = n
        for g in range(pop_off[p], pop_off[p + 1]):
            if g == pop_off[p] or core_of[g] != core_of[g - 1]:
                runs[n] = g
                run_core[n] = core_of[g]
                n += 1
        runs[n] = pop_off[p + 1]  # closes the last run (overwritten by the next population's first)
    pop_runs[n_pops] = n
    return runs, run_core, pop_runs


@kernel(cache=True)
def _update_float(lo, hi, prm, fprm, coef, acc, u, v, ref, bias, fired_list, core_of, ct, pc, mult):
    """float_lif update (forward Euler or zero-order hold, folded into the coefficients A, B, C, SUB).

    ``coef`` [n_total, 4] holds each neuron's A, B, C and subtractive reset (per neuron, so that a node's
    time constants may differ between its neurons, as Spyx's default LIF draws them).

    Single-spike: fires when v > threshold. Multi-spike (``P_MULTI``): n = floor(v / threshold) >= 1 spikes
    (sinabs' MultiSpike, Rockpool's floor), written to ``mult[g]``, and a subtractive reset takes n * SUB.
    """
    subtract = prm[P_RESET] == RESET_SUBTRACT
    multi = prm[P_MULTI] != 0
    refr = prm[P_REFRACTORY]
    v_leak, thr, v_reset, w_in = fprm[F_V_LEAK], fprm[F_THRESHOLD], fprm[F_V_RESET], fprm[F_W_IN]
    n_fired = 0
    core = core_of[lo] if hi > lo else 0
    n_active = 0
    n_seen = 0
    for g in range(lo, hi):
        if core_of[g] != core:
            ct[K_ACTIVE, core] += n_active
            ct[K_IDLE, core] += n_seen - n_active
            pc[PC_ACTIVE] += n_active
            pc[PC_IDLE] += n_seen - n_active
            core, n_active, n_seen = core_of[g], 0, 0
        x = acc[g] + bias[g]
        uo = u[g]
        vo = v[g]
        a, bb, c, sub = coef[g, 0], coef[g, 1], coef[g, 2], coef[g, 3]
        un = uo + a * (w_in * x - uo)
        fired = False
        if ref[g] > 0:
            ref[g] -= 1
            vn = vo
        else:
            vn = vo + bb * (v_leak - vo) + c * un
            count = np.floor(vn / thr) if multi and thr > 0 else 1.0
            fired = vn >= thr if multi else vn > thr
            if fired:
                vn = vn - count * sub if subtract else v_reset
                mult[g] = count
                ref[g] = refr
                fired_list[n_fired] = g
                n_fired += 1
        u[g] = un
        v[g] = vn
        n_active += x != 0 or uo != 0 or vo != 0 or fired
        n_seen += 1
    if hi > lo:
        ct[K_ACTIVE, core] += n_active
        ct[K_IDLE, core] += n_seen - n_active
        pc[PC_ACTIVE] += n_active
        pc[PC_IDLE] += n_seen - n_active
    return n_fired


@kernel(cache=True)
def _lag(delay, pre, post):
    """Steps between a spike of ``pre`` and its delivery to ``post``: the projection's delay, or (0) the
    same step forward and the next step for a recurrent (``pre >= post``) projection."""
    if delay > 0:
        return delay
    return np.int64(1) if pre >= post else np.int64(0)


@kernel(cache=True)
def _run_sample(fixed, analog, inp, pop_off, pop_int, pop_float, bias, coef, proj_pre, proj_delay,
                proj_shift, proj_ip_off, indptr_all, targets_all, weights_all, proj_conv, conv_meta_all,
                conv_w_all,
                proj_sc_off, sc_ptr_all, sc_core, sc_count, in_ptr, in_proj, core_of, dest_indptr, dest_core,
                dest_pair, hops_ew, hops_ns, out_pop, counters, pop_counters, spike_count, out_spikes, raster,
                state_rec, pair_packets, traced, acc, u, v):
    """One sample's whole run. ``inp`` [steps, n_in]: spikes, or (``analog``, float only) input values.

    The spike lists of the last ``ring`` steps are kept (a ring buffer, slot ``t % ring``), so a projection
    of delay d reads the list of step t - d: the work per step does not grow with the delay. Multi-spike
    counts (float) are kept in the same ring. A projection with ``proj_shift[j] = k > 0`` (Loihi's negative
    weight exponent -k) adds its own sum floored by 2^k (an arithmetic shift, Lava's PyDenseModelBitAcc)."""
    steps = inp.shape[0]
    n_pops = pop_off.size - 1
    n_total = pop_off[n_pops]
    record = raster.shape[0] > 0
    record_state = state_rec.shape[1] > 0
    ring = 2
    for j in range(proj_pre.size):
        ring = max(ring, proj_delay[j] + 1)
    ref = np.zeros(n_total, np.int64)
    # the other projections' sum while a shifted one is delivered (only a network with a shift needs it)
    held = np.zeros(n_total if np.any(proj_shift > 0) else 0, acc.dtype)
    # spike lists of the ring's slots: only the first cnt[slot, p] entries of a population's part are read,
    # each written before (unzeroed: at 10^6 neurons, zeroing it was a tenth of a run's fixed cost)
    spk = np.empty((ring, n_total), np.int64)
    cnt = np.zeros((ring, n_pops), np.int64)
    in_values = np.zeros((ring if analog else 1, pop_off[1]), np.float64)
    no_values = np.zeros(0, np.float64)
    out_lo = pop_off[out_pop]
    runs, run_core, pop_runs = _core_runs(pop_off, core_of)
    flag = np.zeros(n_total, np.uint8)
    # spikes per firing neuron, per ring slot (float only: multi-spike); fixed point reads none
    mult = np.ones((ring, 0 if fixed else n_total), np.float64)
    any_multi = not fixed and np.any(pop_int[:, P_MULTI] != 0)
    for t in range(steps):
        cur = t % ring
        ct = counters[t]
        pair_row = pair_packets[t] if traced else pair_packets[0]
        # the input population: spikes from the host
        n = 0
        for i in range(pop_off[1]):
            if inp[t, i] != 0:
                spk[cur, n] = i
                if analog:
                    in_values[cur, i] = inp[t, i]
                n += 1
                if record:
                    raster[t, i] = 1
        cnt[cur, 0] = n
        _emit(spk[cur], n, core_of, dest_indptr, dest_core, dest_pair, hops_ew, hops_ns, ct, pair_row, traced)
        for p in range(1, n_pops):
            lo = pop_off[p]
            hi = pop_off[p + 1]
            acc[lo:hi] = 0
            for k in range(in_ptr[p], in_ptr[p + 1]):
                j = in_proj[k]
                pre = proj_pre[j]
                lag = _lag(proj_delay[j], pre, p)
                if lag > t:
                    continue  # nothing fired that long ago
                src = (t - lag) % ring
                is_mac = analog and pre == 0
                events_row = ct[K_MACS] if is_mac else ct[K_SYNOPS]
                values = in_values[src] if is_mac else no_values
                if any_multi and pre > 0 and pop_int[pre, P_MULTI] != 0:
                    values = mult[src, pop_off[pre]:pop_off[pre + 1]]
                shift = proj_shift[j]
                if shift > 0:
                    held[lo:hi] = acc[lo:hi]
                    acc[lo:hi] = 0
                n_events = _deliver(p, spk[src], cnt[src], pop_off, j, proj_pre, proj_ip_off, indptr_all,
                                    targets_all, weights_all, proj_conv, conv_meta_all, conv_w_all,
                                    proj_sc_off, sc_ptr_all, sc_core, sc_count, acc, values, events_row)
                if shift > 0:  # floor division by 2^shift: the arithmetic shift (acc may be float: typed so)
                    div = np.int64(1) << shift
                    for g in range(lo, hi):
                        acc[g] = held[g] + acc[g] // div
                pop_counters[p, PC_MACS if is_mac else PC_SYNOPS] += n_events
            fired = spk[cur, lo:hi]
            if fixed:
                n = _update_fixed(pop_int[p], runs, run_core, pop_runs[p], pop_runs[p + 1], acc, u, v, ref,
                                  bias, flag, fired, ct, pop_counters[p])
            else:
                n = _update_float(lo, hi, pop_int[p], pop_float[p], coef, acc, u, v, ref, bias, fired,
                                  core_of, ct, pop_counters[p], mult[cur])
            cnt[cur, p] = n
            if record_state:
                state_rec[0, t, lo:hi] = u[lo:hi]
                state_rec[1, t, lo:hi] = v[lo:hi]
            _emit(fired, n, core_of, dest_indptr, dest_core, dest_pair, hops_ew, hops_ns, ct, pair_row,
                  traced)
            for k in range(n):
                g = fired[k]
                m = np.int64(mult[cur, g]) if any_multi else 1
                spike_count[g] += m
                if record:
                    raster[t, g] = 1
                if p == out_pop:
                    out_spikes[t, g - out_lo] = m


# nogil: simulate.interruptible waits in slices; serial_ahead_of_time: one-thread calls (chipsim.kernels)
@kernel(cache=True, parallel=True, nogil=True, serial_ahead_of_time=True)
def run_batch(fixed, analog, inputs, pop_off, pop_int, pop_float, bias, coef, proj_pre, proj_delay,
              proj_shift, proj_ip_off, indptr_all, targets_all, weights_all, proj_conv, conv_meta_all,
              conv_w_all,
              proj_sc_off, sc_ptr_all, sc_core, sc_count, in_ptr, in_proj, core_of, dest_indptr, dest_core,
              dest_pair, hops_ew, hops_ns, out_pop, counters, pop_counters, spike_count, out_spikes, raster,
              state_rec, pair_packets, acc_proto, state_proto):
    """Run every sample of ``inputs`` [batch, steps, n_in] in parallel; fills the output arrays in place.

    Outputs: counters [batch, steps, 9, cores], pop_counters [batch, n_pops, 4] (int64, ``PC_*``: events
    into and updates of each population, over the whole run), spike_count [batch, n_total], out_spikes
    [batch, steps, n_out], raster [batch, steps, n_total] (or [batch, 0, 0]: not recorded), state_rec
    [batch, 2, steps, n_total] (u and v after each step; [batch, 2, 0, 0]: not recorded), pair_packets
    [traced, steps, n_pairs] (only samples b < traced fill it; [1, steps, 0]: none).
    ``acc_proto``/``state_proto`` fix the dtypes (size 0).
    """
    batch = inputs.shape[0]
    n_total = pop_off[pop_off.size - 1]
    n_traced = pair_packets.shape[0]
    has_pairs = pair_packets.shape[2] > 0
    for b in prange(batch):
        acc = np.zeros(n_total, acc_proto.dtype)
        u = np.zeros(n_total, state_proto.dtype)
        v = np.zeros(n_total, state_proto.dtype)
        pp = pair_packets[min(np.int64(b), n_traced - 1)]
        _run_sample(fixed, analog, inputs[b], pop_off, pop_int, pop_float, bias, coef, proj_pre, proj_delay,
                    proj_shift, proj_ip_off,
                    indptr_all, targets_all, weights_all, proj_conv, conv_meta_all, conv_w_all, proj_sc_off,
                    sc_ptr_all, sc_core, sc_count, in_ptr, in_proj, core_of, dest_indptr, dest_core,
                    dest_pair, hops_ew, hops_ns, out_pop, counters[b], pop_counters[b], spike_count[b],
                    out_spikes[b], raster[b], state_rec[b], pp, (b < n_traced) & has_pairs, acc, u, v)
