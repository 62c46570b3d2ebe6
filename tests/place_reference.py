"""REFERENCE COPY of chipsim/place.py as of commit 8136c1c (the sort-based greedy placer), kept
unchanged so tests can check that the linear-time placer gives identical placements. Do not edit.

Place a ChipNetwork on a chip's cores and report, per core, every resource against the profile's limits.

Greedy first-fit in population order, as SANA-FE maps (Boyle et al., IEEE TCAD 2025) and as Loihi's
compiler partitions layers into cores (Davies et al., IEEE Micro 2018: constraints on compartments,
synapse memory, fan-in and fan-out axons per core). A core is closed when the next neuron would break a
limit that depends on which neurons share it: neurons, synapse memory, fan-in axons (distinct presynaptic
neurons reaching the core, input neurons included) and unique weights per core. Limits that placement
cannot change (fan-in/fan-out per neuron, unique weights per neuron or layer) and those that depend on
where targets land (fan-out axons: distinct (source neuron, destination core) pairs, the core's own
included, as every spike goes out through an axon) are checked on the result. Speck-like chips
(per-core memory, :func:`chipsim.constraints.one_layer_per_core`) get one whole population per core, on
the first free core whose kernel and neuron memory hold it (sinabs assigns layers to cores by max-flow;
first-fit in core order is our deviation and can miss a mapping max-flow would find).

Strategies: 'greedy' numbers cores in order (tiles row-major); 'hops' fills the same cores but walks the
tiles in snake order (boustrophedon), so consecutive cores, and so consecutive layers, are always mesh
neighbours: fewer NoC hops where a layer chain wraps a mesh row. A network that does not fit is still placed
(on as many cores as it takes) and reported; nothing here raises for not fitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chipsim import constraints as cst
from chipsim.expand import expand_conv
from chipsim.fit import FitReport, Placement, Violation
from chipsim.network import ChipNetwork
from hwprofiles.errors import UserError
from hwprofiles.profile import ChipProfile

STRATEGIES = ("greedy", "hops")


class PlacementError(UserError):
    """A placement request that makes no sense (an unknown strategy); never raised for not fitting."""


@dataclass(frozen=True)
class Synapses:
    """Every stored synapse of a network in global neuron ids, sorted by post then pre."""

    pre: np.ndarray  # int64
    post: np.ndarray  # int64
    weight: np.ndarray  # the chip's weight values
    proj: np.ndarray  # int32 projection index
    in_indptr: np.ndarray  # int64 [n_total + 1]: synapses into neuron g are [in_indptr[g], in_indptr[g+1])


def all_synapses(net: ChipNetwork) -> Synapses:
    """Expand every projection (kept conv kernels included) into global (pre, post, weight) triplets."""
    off = net.offsets()
    parts = []
    for i, p in enumerate(net.projections):
        if p.conv is not None and p.targets.size == 0:
            r, c, w = expand_conv(p.conv)
        else:
            r = np.repeat(np.arange(p.indptr.size - 1), np.diff(p.indptr))
            c, w = p.targets, p.weights
        parts.append((r + off[p.pre], c.astype(np.int64) + off[p.post], np.asarray(w), np.full(r.size, i)))
    if not parts:
        empty = np.zeros(0, np.int64)
        return Synapses(empty, empty, np.zeros(0), empty.astype(np.int32), np.zeros(off[-1] + 1, np.int64))
    pre, post, weight, proj = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((pre, post))
    pre, post, weight, proj = pre[order], post[order], weight[order], proj[order].astype(np.int32)
    in_indptr = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=int(off[-1])))]).astype(np.int64)
    return Synapses(pre, post, weight, proj, in_indptr)


def place(net: ChipNetwork, profile: ChipProfile, strategy: str = "greedy") -> Placement:
    """Assign every non-input neuron a global core and report the fit (see the module docstring)."""
    if strategy not in STRATEGIES:
        raise PlacementError(f"unknown placement strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    syn = all_synapses(net)
    cost = _neuron_memory_cost(net, syn, profile)
    if cst.one_layer_per_core(profile):
        bins = _bins_one_layer(net, syn, profile)
    else:
        bins = _bins_greedy(net, syn, cost, profile)
    cpc = profile.mesh.cores
    slot = _snake_cores(profile) if strategy == "hops" else np.arange(cpc)
    if cst.one_layer_per_core(profile):
        core_of_bin = bins[1]
        bins = bins[0]
    else:
        n_bins = int(bins.max()) + 1 if bins.size else 0
        ids = np.arange(n_bins)
        core_of_bin = (ids // cpc) * cpc + slot[ids % cpc]
    core_of = np.full(bins.size, -1, np.int64)
    core_of[bins >= 0] = core_of_bin[bins[bins >= 0]]
    fit = _fit_report(net, syn, cost, core_of, profile, strategy)
    off = net.offsets()
    per_pop = tuple(core_of[off[i] : off[i + 1]].astype(np.int32) for i in range(len(net.populations)))
    return Placement(per_pop, fit, cpc, profile.mesh.width, profile.mesh.height, profile.mesh.cores_per_tile)


# ---------------------------------------------------------------- memory cost


@dataclass(frozen=True)
class _Cost:
    per_neuron_bits: np.ndarray  # float64 [n_total]: synapse memory a neuron brings wherever it lands
    conv_channel_bits: dict  # projection index -> bits per output channel present on a core
    channel_size: dict  # projection index -> post neurons per output channel (H*W)


def _neuron_memory_cost(net: ChipNetwork, syn: Synapses, profile: ChipProfile) -> _Cost:
    off = net.offsets()
    per_neuron = np.zeros(int(off[-1]))
    channel_bits, channel_size = {}, {}
    for i, p in enumerate(net.projections):
        n_pre, n_post = net.populations[p.pre].size, net.populations[p.post].size
        enc, bits = cst.synapse_encoding(p, n_pre, n_post, profile)
        lo = off[p.post]
        if enc == "conv" and p.conv is not None and p.targets.size == 0:
            channel_bits[i] = cst.conv_channel_bits(p, profile)
            channel_size[i] = n_post // p.conv.out_shape[0]
        elif enc == "dense":
            per_neuron[lo : lo + n_post] += n_pre * bits
        else:
            per_neuron[lo : lo + n_post] += np.bincount(p.targets, minlength=n_post) * bits
    return _Cost(per_neuron, channel_bits, channel_size)


# ---------------------------------------------------------------- greedy partition into cores


def _bins_greedy(net: ChipNetwork, syn: Synapses, cost: _Cost, profile: ChipProfile) -> np.ndarray:
    """Core bin of each global neuron (-1 for the input): fill a core until the next neuron breaks a limit."""
    lim = profile.core
    off = net.offsets()
    bins = np.full(int(off[-1]), -1, np.int64)
    unique_core = lim.unique_weights if lim.unique_weights_scope == "core" else None
    core, used_n, used_bits, n_axons = 0, 0, 0.0, 0
    axons = np.zeros(int(off[-1]), bool)  # presynaptic neurons already reaching the current core
    axon_list: list[np.ndarray] = []
    values: np.ndarray = np.zeros(0)  # weight values already on the current core
    for pop in range(1, len(net.populations)):
        g0, n = int(off[pop]), net.populations[pop].size
        conv_in = [
            (i, cost.conv_channel_bits[i], cost.channel_size[i])
            for i, p in enumerate(net.projections)
            if p.post == pop and i in cost.conv_channel_bits
        ]
        a = 0
        while a < n:
            room = n - a if lim.neurons is None else min(n - a, lim.neurons - used_n)
            k = 0
            if room > 0:
                k = _fit_prefix(
                    g0 + a, room, a, syn, cost, conv_in, axons, n_axons, values, used_bits, lim, unique_core
                )
            if k == 0 and used_n == 0:
                k = 1  # a neuron that alone breaks a limit still gets a core; the report names the excess
            if k == 0:
                core, used_n, used_bits, n_axons = core + 1, 0, 0.0, 0
                for idx in axon_list:
                    axons[idx] = False
                axon_list, values = [], np.zeros(0)
                continue
            lo, hi = g0 + a, g0 + a + k
            bins[lo:hi] = core
            used_n += k
            used_bits += _range_bits(lo, hi, a, cost, conv_in)
            pre = syn.pre[syn.in_indptr[lo] : syn.in_indptr[hi]]
            new = np.unique(pre[~axons[pre]])
            axons[new] = True
            n_axons += new.size
            axon_list.append(new)
            if unique_core is not None:
                values = np.union1d(values, syn.weight[syn.in_indptr[lo] : syn.in_indptr[hi]])
            a += k
    return bins


def _range_bits(lo, hi, a, cost: _Cost, conv_in) -> float:
    bits = float(cost.per_neuron_bits[lo:hi].sum())
    local = np.arange(a, a + hi - lo)
    for _, ch_bits, size in conv_in:
        starts = np.count_nonzero(local % size == 0) + (1 if local[0] % size != 0 else 0)
        bits += starts * ch_bits
    return bits


def _fit_prefix(
    g_lo, room, a, syn, cost, conv_in, axons, n_axons, values, used_bits, lim, unique_core
) -> int:
    """How many of the next ``room`` neurons (global ``g_lo`` on) the current core can still take."""
    ok = np.ones(room, bool)
    if lim.synapse_memory_bits is not None:
        need = cost.per_neuron_bits[g_lo : g_lo + room].copy()
        local = np.arange(a, a + room)
        for _, ch_bits, size in conv_in:
            need += np.where(local % size == 0, ch_bits, 0)
            if local[0] % size != 0:
                need[0] += ch_bits
        ok &= used_bits + np.cumsum(need) <= lim.synapse_memory_bits
    s0, s1 = syn.in_indptr[g_lo], syn.in_indptr[g_lo + room]
    if lim.fan_in_axons is not None:
        pre, post = syn.pre[s0:s1], syn.post[s0:s1] - g_lo
        fresh_pre = ~axons[pre]
        _, first = np.unique(pre[fresh_pre], return_index=True)
        new_at = np.bincount(post[fresh_pre][first], minlength=room)
        ok &= n_axons + np.cumsum(new_at) <= lim.fan_in_axons
    if unique_core is not None:
        w, post = syn.weight[s0:s1], syn.post[s0:s1] - g_lo
        fresh_w = ~np.isin(w, values)
        _, first = np.unique(w[fresh_w], return_index=True)
        new_at = np.bincount(post[fresh_w][first], minlength=room)
        ok &= values.size + np.cumsum(new_at) <= unique_core
    return room if ok.all() else int(np.argmin(ok))


def _bins_one_layer(net: ChipNetwork, syn: Synapses, profile: ChipProfile) -> tuple[np.ndarray, np.ndarray]:
    """One population per core, on the first free core whose memory holds it (Speck)."""
    off = net.offsets()
    bins = np.full(int(off[-1]), -1, np.int64)
    memory = profile.core.core_memory or ()
    free = list(range(profile.mesh.cores))
    core_of_bin = []
    kernel, neuron = _speck_needs(net)
    for pop in range(1, len(net.populations)):
        fits = [
            c
            for c in free
            if c < len(memory)
            and kernel[pop] <= memory[c].kernel_entries
            and neuron[pop] <= memory[c].neuron_entries
        ]
        if fits:
            core = fits[0]
        elif free:
            core = free[0]
        else:  # more layers than cores: continue past the chip, the report counts the excess
            core = max([profile.mesh.cores - 1, *core_of_bin]) + 1
        if core in free:
            free.remove(core)
        bins[off[pop] : off[pop + 1]] = len(core_of_bin)
        core_of_bin.append(core)
    return bins, np.asarray(core_of_bin, dtype=np.int64)


def _speck_needs(net: ChipNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and neuron memory entries each population needs (sinabs' formulas)."""
    kernel = np.zeros(len(net.populations), np.int64)
    neuron = np.zeros(len(net.populations), np.int64)
    for p in net.projections:
        if p.kernel_shape is not None:
            c_out, c_in, kh, kw = p.kernel_shape
            kernel[p.post] += cst.speck_kernel_memory(c_in, c_out, kh, kw)
    for i, pop in enumerate(net.populations[1:], start=1):
        neuron[i] = cst.speck_neuron_memory(*cst.population_chw(pop.shape))
    return kernel, neuron


def _snake_cores(profile: ChipProfile) -> np.ndarray:
    """Local core ids of one chip in snake order: tile rows alternate direction, cores in a tile in order."""
    m = profile.mesh
    order = []
    for y in range(m.height):
        xs = range(m.width) if y % 2 == 0 else range(m.width - 1, -1, -1)
        for x in xs:
            order.extend((y * m.width + x) * m.cores_per_tile + k for k in range(m.cores_per_tile))
    return np.asarray(order, dtype=np.int64)


# ---------------------------------------------------------------- the report


def _fit_report(
    net, syn: Synapses, cost: _Cost, core_of: np.ndarray, profile: ChipProfile, strategy
) -> FitReport:
    off = net.offsets()
    pop_of = np.repeat(np.arange(len(net.populations)), np.diff(off))
    on_chip = core_of >= 0
    n_cores = int(core_of.max()) + 1 if on_chip.any() else 0
    used_cores = np.unique(core_of[on_chip])
    usage: dict[str, np.ndarray] = {}
    usage["neurons_per_core"] = np.bincount(core_of[on_chip], minlength=n_cores)
    bits = np.bincount(core_of[on_chip], weights=cost.per_neuron_bits[on_chip], minlength=n_cores)
    for i, ch_bits in cost.conv_channel_bits.items():
        p = net.projections[i]
        g = np.arange(off[p.post], off[p.post + 1])
        cores, _ = _distinct_pairs(core_of[g], (g - off[p.post]) // cost.channel_size[i])
        bits += np.bincount(cores, minlength=n_cores) * ch_bits
    usage["synapse_memory_bits"] = bits
    post_core, pre_core = core_of[syn.post], core_of[syn.pre]
    usage["fan_in_axons"] = _count_pairs(post_core, syn.pre, n_cores)
    out = pre_core >= 0
    usage["fan_out_axons"] = _count_pairs(pre_core[out], post_core[out], n_cores, distinct_of=syn.pre[out])
    fan_in = np.diff(syn.in_indptr)
    fan_out = np.bincount(syn.pre, minlength=int(off[-1]))
    usage["fan_in_per_neuron"] = _max_per_core(fan_in, core_of, n_cores)
    usage["fan_out_per_neuron"] = _max_per_core(fan_out, core_of, n_cores)
    unique_need = _unique_weights(syn, core_of, pop_of, profile, int(off[-1]))
    usage["unique_weights"] = _max_per_core(unique_need, core_of, n_cores)
    usage["layers_per_core"] = _count_pairs(core_of[on_chip], pop_of[on_chip], n_cores)
    proj_post = np.array([p.post for p in net.projections], np.int64)
    dest = _count_pairs(pre_core[out], proj_post[syn.proj[out]], n_cores)
    usage["destinations_per_layer"] = dest
    limits = cst.core_limits(profile)
    violations = []
    per_neuron_values = {
        "fan_in_per_neuron": fan_in,
        "fan_out_per_neuron": fan_out,
        "unique_weights": unique_need,
    }
    for name, use in usage.items():
        limit = limits.get(name)
        if limit is None:
            continue
        for c in np.flatnonzero(use > limit):
            violations.append(
                Violation(
                    name,
                    int(c),
                    float(use[c]),
                    float(limit),
                    _culprit(net, c, core_of, pop_of, per_neuron_values.get(name)),
                )
            )
    if profile.core.core_memory is not None:
        violations += _speck_memory(net, core_of, pop_of, profile, usage, n_cores)
    violations += _layer_shape_limits(net, core_of, off, profile)
    cores_used = int(used_cores.size)
    chips = int(math.ceil(n_cores / profile.mesh.cores)) if n_cores else 0
    if n_cores > profile.cores_total:
        violations.append(
            Violation(
                "cores",
                None,
                float(n_cores),
                float(profile.cores_total),
                detail=f"{chips} chips of {profile.mesh.cores} cores; {profile.name} joins at "
                f"most {profile.mesh.max_chips}",
            )
        )
    limits_out = {k: (None if v is None else float(v)) for k, v in limits.items()}
    return FitReport(
        profile.name,
        not violations,
        tuple(violations),
        cores_used,
        profile.cores_total,
        chips,
        usage,
        limits_out,
        strategy,
    )


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) pair of non-negative ints a (b dense-ranked first), for fast distinct counts."""
    _, b_rank = np.unique(b, return_inverse=True)
    return a.astype(np.int64) * (int(b_rank.max(initial=0)) + 1) + b_rank.ravel()


def _distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs, as two arrays (a non-negative ints; b any values)."""
    if a.size == 0:
        return a[:0].astype(np.int64), b[:0]
    _, first = np.unique(_pair_key(a, b), return_index=True)
    return a[first].astype(np.int64), b[first]


def _count_pairs(group: np.ndarray, item: np.ndarray, n_groups: int, distinct_of: np.ndarray | None = None):
    """Per group (a core id >= 0): how many distinct ``item`` (or (distinct_of, item) pairs) it has."""
    keep = group >= 0
    group, item = group[keep], item[keep]
    if distinct_of is not None:
        item = _pair_key(distinct_of[keep], item)
    g, _ = _distinct_pairs(group, item)
    return np.bincount(g, minlength=n_groups)


def _max_per_core(values: np.ndarray, core_of: np.ndarray, n_cores: int) -> np.ndarray:
    out = np.zeros(n_cores, np.int64)
    on = core_of >= 0
    np.maximum.at(out, core_of[on], values[on].astype(np.int64))
    return out


def _unique_weights(syn: Synapses, core_of, pop_of, profile: ChipProfile, n_total: int) -> np.ndarray:
    """Per neuron, the distinct-weight count of its scope: its own inputs, its core's, or its layer's."""
    scope = profile.core.unique_weights_scope or "neuron"
    group = {"neuron": syn.post, "core": core_of[syn.post], "layer": pop_of[syn.post]}[scope]
    if syn.post.size == 0:
        return np.zeros(n_total, np.int64)
    g, _ = _distinct_pairs(group[group >= 0], syn.weight[group >= 0])
    counts = np.bincount(g, minlength=max(n_total, int(group.max()) + 1))
    key = {"neuron": np.arange(n_total), "core": core_of, "layer": pop_of}[scope]
    return np.where(key >= 0, counts[np.maximum(key, 0)], 0)


def _culprit(net, core, core_of, pop_of, per_neuron) -> str:
    on = np.flatnonzero(core_of == core)
    if on.size == 0:
        return ""
    g = on[int(np.argmax(per_neuron[on]))] if per_neuron is not None else on[0]
    return net.populations[int(pop_of[g])].name


def _speck_memory(net, core_of, pop_of, profile: ChipProfile, usage, n_cores) -> list[Violation]:
    kernel_need, neuron_need = _speck_needs(net)
    memory = profile.core.core_memory
    kernel, neuron = np.zeros(n_cores, np.int64), np.zeros(n_cores, np.int64)
    k_lim, n_lim = np.zeros(n_cores, np.int64), np.zeros(n_cores, np.int64)
    for c in range(min(n_cores, len(memory))):
        k_lim[c], n_lim[c] = memory[c].kernel_entries, memory[c].neuron_entries
    for pop in range(1, len(net.populations)):
        for c in np.unique(core_of[pop_of == pop]):
            kernel[c] += kernel_need[pop]
            neuron[c] += neuron_need[pop]
    usage.update(
        kernel_memory=kernel, neuron_memory=neuron, kernel_memory_limit=k_lim, neuron_memory_limit=n_lim
    )
    out = []
    for name, use, lim in (("kernel_memory", kernel, k_lim), ("neuron_memory", neuron, n_lim)):
        for c in np.flatnonzero(use > lim):
            out.append(
                Violation(name, int(c), float(use[c]), float(lim[c]), _culprit(net, c, core_of, pop_of, None))
            )
    return out


def _layer_shape_limits(net, core_of, off, profile: ChipProfile) -> list[Violation]:
    """Kernel size and channel limits per projection; Xylo's input channels and output neurons."""
    c = profile.core
    out = []
    for p in net.projections:
        if p.kernel_shape is None or p.kind not in ("conv",):
            continue
        c_out, c_in, kh, kw = p.kernel_shape
        core = int(core_of[off[p.post]])
        post = net.populations[p.post].name
        if c.max_kernel_size is not None and max(kh, kw) > c.max_kernel_size:
            out.append(Violation("kernel_size", core, max(kh, kw), c.max_kernel_size, post, p.name))
        if c.max_channels is not None and max(c_in, c_out) > c.max_channels:
            out.append(Violation("channels", core, max(c_in, c_out), c.max_channels, post, p.name))
    if c.max_input_channels is not None and net.populations[0].size > c.max_input_channels:
        out.append(
            Violation(
                "input_channels", None, net.populations[0].size, c.max_input_channels, net.populations[0].name
            )
        )
    out_pop = net.populations[net.output]
    if c.max_output_neurons is not None and out_pop.size > c.max_output_neurons:
        out.append(Violation("output_neurons", None, out_pop.size, c.max_output_neurons, out_pop.name))
    return out


def route_hops(net: ChipNetwork, placement: Placement) -> int:
    """NoC hops one spike of every on-chip neuron costs: Manhattan distance summed over its distinct
    destination cores (one packet per destination core, XY routing)."""
    syn = all_synapses(net)
    core_of = np.concatenate(placement.core_of_neuron).astype(np.int64)
    src, dst = core_of[syn.pre], core_of[syn.post]
    keep = src >= 0
    pre, dst_core = _distinct_pairs(syn.pre[keep], dst[keep])
    sx, sy = placement.core_xy(core_of[pre])
    dx, dy = placement.core_xy(dst_core)
    return int(np.abs(sx - dx).sum() + np.abs(sy - dy).sum())
