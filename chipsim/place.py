"""Place a ChipNetwork on a chip's cores and report, per core, every resource against the profile's limits.

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

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from chipsim import constraints as cst
from chipsim.fit import FitReport, Placement, Violation
from chipsim.insynapses import InSynapses, in_synapses, kept_conv, visit
from chipsim.insynapses import args as ins_args
from chipsim.kernels import kernel
from chipsim.network import ChipNetwork
from chipsim.partition import partition_bins
from chipsim.routing import _conv_core_counts, _csr_core_counts, _union_cores, conv_meta, route
from hwprofiles.errors import UserError
from hwprofiles.profile import ChipProfile

STRATEGIES = ("auto", "greedy", "hops", "partition")


class PlacementError(UserError):
    """A placement request that makes no sense (an unknown strategy); never raised for not fitting."""


def place(net: ChipNetwork, profile: ChipProfile, strategy: str = "auto") -> Placement:
    """Assign every non-input neuron a global core and report the fit (see the module docstring).

    'auto' takes greedy first-fit where it fits (so a placement that fitted before is kept exactly), else
    the channel x space partition (:mod:`chipsim.partition`) where that fits, else whichever of the two
    has fewer violations (then fewer cores; greedy on a tie).
    """
    if strategy not in STRATEGIES:
        raise PlacementError(f"unknown placement strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    ins = in_synapses(net)
    cost = _neuron_memory_cost(net, profile, ins)
    if strategy != "auto":
        return _place_with(net, ins, cost, profile, strategy)
    greedy = _place_with(net, ins, cost, profile, "greedy")
    if greedy.fit.fits or cst.one_layer_per_core(profile):
        return greedy
    tiled = _place_with(net, ins, cost, profile, "partition")
    if tiled.fit.fits:
        return tiled
    return min((greedy, tiled), key=lambda p: (len(p.fit.violations), p.fit.cores_used))


def place_given(net: ChipNetwork, profile: ChipProfile, core_of_neuron: tuple[np.ndarray, ...]) -> Placement:
    """Report the fit of a placement made elsewhere (``--placement``): global core per neuron, per
    population (the input's ignored: it lives off-chip)."""
    off = net.offsets()
    core_of = np.full(int(off[-1]), -1, np.int64)
    for pop in range(1, len(net.populations)):
        core_of[off[pop] : off[pop + 1]] = np.asarray(core_of_neuron[pop], np.int64)
    ins = in_synapses(net)
    return _placement(net, ins, _neuron_memory_cost(net, profile, ins), core_of, profile, "given")


def _place_with(net, ins, cost, profile: ChipProfile, strategy: str) -> Placement:
    cpc = profile.mesh.cores
    if cst.one_layer_per_core(profile):
        bins, core_of_bin = _bins_one_layer(net, profile)
    else:
        if strategy == "partition":
            bins = partition_bins(net, ins, cost.per_neuron_bits, cost.conv_channel_bits, profile)
        else:
            bins = _bins_greedy(net, ins, cost, profile)
        slot = _snake_cores(profile) if strategy in ("hops", "partition") else np.arange(cpc)
        n_bins = int(bins.max()) + 1 if bins.size else 0
        ids = np.arange(n_bins)
        core_of_bin = (ids // cpc) * cpc + slot[ids % cpc]
    core_of = np.full(bins.size, -1, np.int64)
    core_of[bins >= 0] = core_of_bin[bins[bins >= 0]]
    return _placement(net, ins, cost, core_of, profile, strategy)


def _placement(net, ins, cost, core_of: np.ndarray, profile: ChipProfile, strategy: str) -> Placement:
    fit = _fit_report(net, ins, cost, core_of, profile, strategy)
    if net.violations:  # what the graph asks that the chip's neurons cannot do (compile found it)
        fit = dataclasses.replace(fit, fits=False, violations=(*net.violations, *fit.violations))
    off = net.offsets()
    per_pop = tuple(core_of[off[i] : off[i + 1]].astype(np.int32) for i in range(len(net.populations)))
    return Placement(per_pop, fit, profile.mesh.cores, profile.mesh.width, profile.mesh.height,
                     profile.mesh.cores_per_tile)


# ---------------------------------------------------------------- memory cost


@dataclass(frozen=True)
class _Cost:
    per_neuron_bits: np.ndarray  # float64 [n_total]: synapse memory a neuron brings wherever it lands
    conv_channel_bits: dict  # projection index -> bits per output channel present on a core
    channel_size: dict  # projection index -> post neurons per output channel (H*W)
    # (distinct-weight count, fan-in) per neuron where the distinct weights are counted per neuron: they do
    # not depend on the placement, so 'auto' counts them once for both of its placements; else None
    neuron_weights: tuple[np.ndarray, np.ndarray] | None = None


def _neuron_memory_cost(net: ChipNetwork, profile: ChipProfile, ins: InSynapses) -> _Cost:
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
    neuron_weights = None
    if (profile.core.unique_weights_scope or "neuron") == "neuron":
        off = net.offsets()
        pop_of = np.repeat(np.arange(len(net.populations)), np.diff(off))
        neuron_weights = _unique_weights(net, ins, np.zeros(int(off[-1]), np.int64), pop_of, profile)
    return _Cost(per_neuron, channel_bits, channel_size, neuron_weights)


# ---------------------------------------------------------------- greedy partition into cores


def _bins_greedy(net: ChipNetwork, ins: InSynapses, cost: _Cost, profile: ChipProfile) -> np.ndarray:
    """Core bin of each global neuron (-1 for the input): fill a core until the next neuron breaks a limit."""
    lim = profile.core
    off = net.offsets()
    conv_of_pop = [[(cost.conv_channel_bits[i], cost.channel_size[i]) for i, p in enumerate(net.projections)
                    if p.post == pop and i in cost.conv_channel_bits] for pop in range(len(net.populations))]
    conv_ptr = np.concatenate([[0], np.cumsum([len(c) for c in conv_of_pop])]).astype(np.int64)
    conv_bits = np.array([b for c in conv_of_pop for b, _ in c] or [0], np.float64)
    conv_size = np.array([n for c in conv_of_pop for _, n in c] or [1], np.int64)

    def limit(x):
        return -1 if x is None else x

    unique_core = lim.unique_weights if lim.unique_weights_scope == "core" else None
    return _greedy_kernel(
        off, limit(lim.neurons), float(limit(lim.synapse_memory_bits)), limit(lim.fan_in_axons),
        limit(unique_core), cost.per_neuron_bits, conv_ptr, conv_bits, conv_size, *ins_args(ins), ins.n_ranks,
    )


@kernel(cache=True)
def _greedy_kernel(pop_off, lim_neurons, lim_bits, lim_axons, lim_values, per_neuron_bits, conv_ptr,
                   conv_bits, conv_size, ptr, pre, rank, cv_meta, cv_pre_off, cv_w_off, cv_rank, pop_cv_ptr,
                   pop_cv, n_ranks):
    """First fit in neuron order, one neuron at a time: a neuron joins the current core unless it would
    break a limit (then the core closes and it opens the next one; alone on a core it stays, and the
    report names the excess). Distinct axons and weights are "seen" stamps with the core id as stamp, so
    each synapse is read at most twice (once more for the neuron that closes a core): linear time."""
    n_total = pop_off[-1]
    bins = np.full(n_total, -1, np.int64)
    pre_mark = np.full(n_total, -1, np.int64)
    rank_mark = np.full(max(n_ranks, 1), -1, np.int64)
    use_rank = lim_values >= 0
    use_pre = lim_axons >= 0
    core, used_n, used_bits, n_axons, n_values = 0, 0, 0.0, 0, 0
    for pop in range(1, pop_off.size - 1):
        g0 = pop_off[pop]
        for j in range(pop_off[pop + 1] - g0):
            g = g0 + j
            while True:
                bits = per_neuron_bits[g]
                for t in range(conv_ptr[pop], conv_ptr[pop + 1]):
                    if j % conv_size[t] == 0 or used_n == 0:  # its channel's kernel slice is not here yet
                        bits += conv_bits[t]
                new_pre, new_rank, _ = visit(g, j, pop, core, ptr, pre, rank, cv_meta, cv_pre_off, cv_w_off,
                                             cv_rank, pop_cv_ptr, pop_cv, pre_mark, rank_mark, use_pre,
                                             use_rank)
                ok = lim_neurons < 0 or used_n + 1 <= lim_neurons
                ok = ok and (lim_bits < 0 or used_bits + bits <= lim_bits)
                ok = ok and (not use_pre or n_axons + new_pre <= lim_axons)
                ok = ok and (not use_rank or n_values + new_rank <= lim_values)
                if ok or used_n == 0:
                    bins[g] = core
                    used_n += 1
                    used_bits += bits
                    n_axons += new_pre
                    n_values += new_rank
                    break
                core += 1  # the stamps of the closed core are stale from here on: nothing to reset
                used_n, used_bits, n_axons, n_values = 0, 0.0, 0, 0
    return bins


def _bins_one_layer(net: ChipNetwork, profile: ChipProfile) -> tuple[np.ndarray, np.ndarray]:
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
    net, ins: InSynapses, cost: _Cost, core_of: np.ndarray, profile: ChipProfile, strategy
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
    axons = _axon_counts(net, core_of, n_cores)
    usage["fan_in_axons"] = axons.fan_in_axons
    usage["fan_out_axons"] = axons.fan_out_axons
    unique_need, fan_in = cost.neuron_weights or _unique_weights(net, ins, core_of, pop_of, profile)
    fan_out = axons.fan_out
    usage["fan_in_per_neuron"] = _max_per_core(fan_in, core_of, n_cores)
    usage["fan_out_per_neuron"] = _max_per_core(fan_out, core_of, n_cores)
    usage["unique_weights"] = _max_per_core(unique_need, core_of, n_cores)
    usage["layers_per_core"] = _count_pairs(core_of[on_chip], pop_of[on_chip], n_cores)
    usage["destinations_per_layer"] = axons.destinations_per_layer
    limits = cst.core_limits(profile)
    violations = []
    per_neuron_values = {
        "fan_in_per_neuron": fan_in,
        "fan_out_per_neuron": fan_out,
        "unique_weights": unique_need,
    }
    by_core = np.argsort(core_of, kind="stable")
    core_start = np.searchsorted(core_of[by_core], np.arange(n_cores + 1))
    for name, use in usage.items():
        limit = limits.get(name)
        if limit is None:
            continue
        for c in np.flatnonzero(use > limit):
            on = by_core[core_start[c] : core_start[c + 1]]
            violations.append(
                Violation(name, int(c), float(use[c]), float(limit),
                          _culprit(net, on, pop_of, per_neuron_values.get(name)))
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
        _smallest_budget(violations, chips),
    )


def _smallest_budget(violations: list[Violation], chips: int) -> dict[str, float]:
    """Per limit broken, the least value under which this placement would hold (its largest need); with
    'chips' where the cores run past the system's chips."""
    budget: dict[str, float] = {}
    for v in violations:
        name = "chips" if v.constraint == "cores" else v.constraint
        need = float(chips) if v.constraint == "cores" else v.need
        budget[name] = max(budget.get(name, 0.0), need)
    return budget


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


def _count_pairs(group: np.ndarray, item: np.ndarray, n_groups: int):
    """Per group (a core id >= 0): how many distinct ``item`` it has."""
    keep = group >= 0
    g, _ = _distinct_pairs(group[keep], item[keep])
    return np.bincount(g, minlength=n_groups)


def _max_per_core(values: np.ndarray, core_of: np.ndarray, n_cores: int) -> np.ndarray:
    out = np.zeros(n_cores, np.int64)
    on = core_of >= 0
    np.maximum.at(out, core_of[on], values[on].astype(np.int64))
    return out


def _unique_weights(net, ins: InSynapses, core_of, pop_of, profile: ChipProfile):
    """Per neuron, the distinct-weight count of its scope (its own inputs, its core's, or its layer's), and
    its fan-in (synapses in)."""
    scope = profile.core.unique_weights_scope or "neuron"
    n_total = core_of.size
    if scope == "neuron":
        group = np.arange(n_total, dtype=np.int64)
    elif scope == "core":
        group = core_of.astype(np.int64)
    else:
        group = pop_of.astype(np.int64)
    order = np.argsort(group, kind="stable")
    order = order[group[order] >= 0]
    counts, fan_in = _distinct_ranks(order, group, pop_of.astype(np.int64), net.offsets(), *ins_args(ins),
                                     ins.n_ranks, max(int(group.max(initial=0)) + 1, 1))
    key = np.where(group >= 0, group, 0)
    return np.where(group >= 0, counts[key], 0), fan_in


@kernel(cache=True)
def _distinct_ranks(order, group, pop_of, pop_off, ptr, pre, rank, cv_meta, cv_pre_off, cv_w_off, cv_rank,
                    pop_cv_ptr, pop_cv, n_ranks, n_groups):
    """Distinct weight ranks per group over the in-synapses of the neurons in ``order`` (grouped), stamped
    by group id; and every neuron's fan-in."""
    counts = np.zeros(n_groups, np.int64)
    fan_in = np.zeros(group.size, np.int64)
    rank_mark = np.full(max(n_ranks, 1), -1, np.int64)
    pre_mark = np.zeros(0, np.int64)
    for g in order:
        pop = pop_of[g]
        _, new_rank, n = visit(g, g - pop_off[pop], pop, group[g], ptr, pre, rank, cv_meta, cv_pre_off,
                               cv_w_off, cv_rank, pop_cv_ptr, pop_cv, pre_mark, rank_mark, False, True)
        counts[group[g]] += new_rank
        fan_in[g] = n
    return counts, fan_in


def _culprit(net, on: np.ndarray, pop_of, per_neuron) -> str:
    """The layer of the core's neuron ``on`` (ascending ids) that needs the most (or its first neuron's)."""
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
                Violation(name, int(c), float(use[c]), float(lim[c]),
                          _culprit(net, np.flatnonzero(core_of == c), pop_of, None))
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


@dataclass(frozen=True)
class _Axons:
    fan_in_axons: np.ndarray  # int64 [n_cores]: distinct presynaptic neurons reaching each core
    fan_out_axons: np.ndarray  # int64 [n_cores]: distinct (source neuron, destination core) pairs
    destinations_per_layer: np.ndarray  # int64 [n_cores]: distinct destination layers of its neurons
    fan_out: np.ndarray  # int64 [n_total]: synapses out of each neuron


def _axon_counts(net: ChipNetwork, core_of: np.ndarray, n_cores: int) -> _Axons:
    """Per core, axons in and out, from each neuron's distinct destination cores (routing's per-projection
    core counts, without expanding a kernel)."""
    off = net.offsets()
    span = max(n_cores, 1)
    fan_in_axons = np.zeros(span, np.int64)
    fan_out_axons = np.zeros(span, np.int64)
    fan_out = np.zeros(int(off[-1]), np.int64)
    layer_pairs = []
    by_pre: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in net.populations]
    for proj in net.projections:
        post_core = core_of[off[proj.post] : off[proj.post + 1]]
        pre_out = fan_out[off[proj.pre] : off[proj.pre + 1]]
        if kept_conv(proj):
            ptr, core, count = _conv_core_counts(proj.conv.weight, conv_meta(proj.conv), post_core, span)
            _add_segment_sums(ptr, count, pre_out)
        else:
            indptr = np.asarray(proj.indptr, np.int64)
            ptr, core, count = _csr_core_counts(indptr, np.asarray(proj.targets, np.int32), post_core, span)
            pre_out += np.diff(indptr)
        src = core_of[off[proj.pre] : off[proj.pre + 1]][np.diff(ptr) > 0]
        layer_pairs.append(np.unique(src[src >= 0]) * len(net.populations) + proj.post)
        by_pre[proj.pre].append((ptr, core))
    for p, outgoing in enumerate(by_pre):
        if outgoing:
            ptr, core = outgoing[0] if len(outgoing) == 1 else _union_cores(outgoing, span)
            _tally_axons(ptr, core, core_of[off[p] : off[p + 1]], fan_in_axons, fan_out_axons)
    pairs = np.unique(np.concatenate(layer_pairs)) if layer_pairs else np.zeros(0, np.int64)
    dest = np.bincount(pairs // len(net.populations), minlength=span)
    return _Axons(fan_in_axons[:n_cores], fan_out_axons[:n_cores], dest[:n_cores], fan_out)


@kernel(cache=True)
def _add_segment_sums(ptr, values, out):
    """out[i] += values[ptr[i]:ptr[i+1]].sum() for every i."""
    for i in range(ptr.size - 1):
        for k in range(ptr[i], ptr[i + 1]):
            out[i] += values[k]


@kernel(cache=True)
def _tally_axons(ptr, core, src_core, fan_in_axons, fan_out_axons):
    """Each (neuron, distinct destination core) pair is one axon into that core and, where the neuron is
    on chip, one axon out of its own core."""
    for i in range(ptr.size - 1):
        for k in range(ptr[i], ptr[i + 1]):
            fan_in_axons[core[k]] += 1
        if src_core[i] >= 0:
            fan_out_axons[src_core[i]] += ptr[i + 1] - ptr[i]


def route_hops(net: ChipNetwork, placement: Placement) -> int:
    """NoC hops one spike of every on-chip neuron costs: Manhattan distance summed over its distinct
    destination cores (one packet per destination core, XY routing)."""
    r = route(net, placement)
    return int(r.hops_ew.astype(np.int64).sum() + r.hops_ns.astype(np.int64).sum())
