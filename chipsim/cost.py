"""cost(): price an Activity with a chip profile's per-operation energy and latency.

Energy follows SANA-FE's accounting (Boyle et al., IEEE TCAD 2025) with the profile's figures:

- synapse = synops x synapse_op_j
- neuron  = active updates x neuron_update_active_j + idle updates x neuron_update_idle_j
- spike   = spikes x spike_out_j + packets out x message_out_j + packets in x message_in_j
- routing = E-W hops x hop_ew_j + N-S hops x hop_ns_j
- mac     = macs x mac_j (an analog first layer, float profiles)
- static  = static_power_w x chips powered x latency per inference

all per inference (mean over samples). ``dynamic_j`` is the sum of the first five (what Loihi's and SANA-FE's
per-operation figures describe), ``static_j`` the last, and ``total_j`` their sum. The static model
(``static_model``) says what it charges: ``static_power_w`` is a whole-chip leakage figure in every shipped
profile (its ``source`` says so), so every chip that holds at least one used core is powered for the whole
inference, idle cores included (a chip cannot power-gate its cores in these sources); unused chips of a
multi-chip system are taken as off. A term whose count is zero costs nothing whatever the figure; a term
with work to price and a null (unpublished) figure makes its component ``None`` (unknown), and the total
``None``, while ``total_known_j`` sums what is known. A profile that leaves a term out of its model on
purpose (generic-45nm prices accumulates and MACs only, Horowitz, ISSCC 2014) writes 0 for it, with a
source saying so: null always means unknown, for float profiles too.

Latency per step = mean over the traced samples of (max over cores of the core's compute time + the
network time) + barrier sync. Core compute time = sum of its counters x the per-op latencies. Network time
is simulated with SimPy (``chipsim.noc``) on each traced sample's per-step (source, destination) packet
counts, memoised on identical traffic; without a link bandwidth it is the longest path's hop latency
(no contention). Barrier sync comes from the profile's table: the entry with the largest tile count <= the
tiles in use. On a chip that steps on a real-time tick (``latency.step_timing: tick``) a step lasts
max(tick, that sum). Latency per inference = sum of the step latencies; throughput = 1 / latency. A null
per-op latency counts as 0 and is listed in ``notes`` (the latency is then a lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipsim.activity import Activity
from chipsim.fit import Placement
from chipsim.network import ChipNetwork
from chipsim.noc import contention_free_time_s, network_time_s
from hwprofiles.profile import ChipProfile

# component -> (counter, energy figure, latency figure) terms
TERMS = {
    "synapse": (("synops", "synapse_op"),),
    "neuron": (("neuron_updates_active", "neuron_update_active"),
               ("neuron_updates_idle", "neuron_update_idle")),
    "spike": (("spikes_out", "spike_out"), ("packets_out", "message_out"), ("packets_in", "message_in")),
    "routing": (("hops_ew", "hop_ew"), ("hops_ns", "hop_ns")),
    "mac": (("macs", "mac"),),
}
COMPUTE_TERMS = ("synops", "neuron_updates_active", "neuron_updates_idle", "spikes_out", "packets_out",
                 "packets_in", "macs")
FIGURE_OF = {counter: figure for terms in TERMS.values() for counter, figure in terms}


@dataclass(frozen=True)
class Cost:
    """Energy (J per inference, by component) and latency (s) of one simulation on one profile."""

    profile_name: str
    energy_j: dict[str, float | None]  # synapse, neuron, spike, routing, mac, static; None: unknown
    total_j: float | None  # dynamic_j + static_j; None when a needed component is unknown
    total_known_j: float  # sum of the known components
    latency_step_s: np.ndarray  # float64 [steps]: compute + network + barrier, mean over traced samples
    compute_step_s: np.ndarray  # float64 [steps]: slowest core's compute time
    network_step_s: np.ndarray  # float64 [steps]: NoC time (SimPy, or hop latency without bandwidth)
    barrier_s: float  # barrier sync per step
    latency_s: float  # per inference: sum of latency_step_s
    throughput_per_s: float | None  # inferences per second (None at zero latency)
    samples: int  # samples the energy is averaged over
    traced_samples: int  # samples the latency is averaged over
    unknown: tuple[str, ...]  # components left unknown (null figures)
    notes: tuple[str, ...]
    dynamic_j: float | None = None  # synapse + neuron + spike + routing + mac; None when one is unknown
    dynamic_known_j: float = 0.0  # the known dynamic components
    static_j: float | None = None  # static_power_w x chips powered x latency_s; None: no figure
    static_model: dict | None = None  # what static_j charges and why (see static_model())

    def to_dict(self) -> dict:
        """JSON-able dictionary (arrays as lists)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in out.items():
            if isinstance(v, np.ndarray):
                out[k] = v.tolist()
            elif isinstance(v, tuple):
                out[k] = list(v)
        return out


def barrier_s(profile: ChipProfile, tiles_used: int) -> tuple[float, str | None]:
    """Barrier sync for ``tiles_used`` tiles: the entry with the largest key <= tiles_used (and a note)."""
    table = sorted(profile.latency.barrier_sync_s)
    if not table:
        return 0.0, "barrier sync: no figure in the profile, taken as 0"
    below = [s for n, s in table if n <= tiles_used]
    if not below:
        return float(table[0][1]), f"barrier sync: no entry for <= {tiles_used} tiles, used the smallest"
    return float(below[-1]), None


DYNAMIC = tuple(TERMS)  # the components dynamic_j sums


def static_model(profile: ChipProfile, chips_powered: int, latency_s: float) -> dict:
    """What the static term charges: power x chips powered x latency, with the figure's source."""
    power = profile.energy.static_power_w
    return {
        "power_w_per_chip": power,
        "chips_powered": int(chips_powered),
        "latency_s": float(latency_s),
        "charges": "static_power_w x chips powered x latency per inference; a chip is powered when it "
                   "holds a used core, for the whole inference (the figure is whole-chip leakage)",
        "source": profile.sources.get("energy.static_power_w"),
        "note": profile.notes.get("energy.static_power_w"),
    }


def _energy(activity: Activity, profile: ChipProfile) -> tuple[dict, list[str]]:
    energy: dict[str, float | None] = {}
    missing = []
    for component, terms in TERMS.items():
        total = 0.0
        for counter, figure in terms:
            count = activity.total(counter)
            per_op = getattr(profile.energy, f"{figure}_j")
            if count == 0:
                continue
            if per_op is None:
                total = None
                missing.append(f"energy.{figure}_j")
                break
            total += count * per_op
        energy[component] = None if total is None else total / max(activity.batch, 1)
    return energy, missing


def _core_compute_s(activity: Activity, profile: ChipProfile, samples: slice) -> tuple[np.ndarray, list[str]]:
    """float64 [samples, steps, cores]: each core's compute time per step."""
    out = np.zeros(activity.synops[samples].shape, np.float64)
    missing = []
    for counter in COMPUTE_TERMS:
        per_op = getattr(profile.latency, f"{FIGURE_OF[counter]}_s")
        counts = getattr(activity, counter)[samples]
        if per_op is None:
            if counts.any():
                missing.append(f"latency.{FIGURE_OF[counter]}_s")
            continue
        out += counts * per_op
    return out, missing


def _network_s(activity: Activity, placement: Placement, profile: ChipProfile,
               notes: list[str]) -> np.ndarray:
    """float64 [traced, steps]: NoC time of every traced sample's steps."""
    traced, steps = activity.pair_packets.shape[:2]
    out = np.zeros((traced, steps), np.float64)
    if activity.pairs.size == 0:
        return out
    hop_ew_s, hop_ns_s = profile.latency.hop_ew_s, profile.latency.hop_ns_s
    if hop_ew_s is None or hop_ns_s is None:
        notes.append("hop latency not published: taken as 0 (latency is a lower bound)")
        hop_ew_s, hop_ns_s = hop_ew_s or 0.0, hop_ns_s or 0.0
    sx, sy = placement.core_xy(activity.cores[activity.pairs[:, 0]])
    dx, dy = placement.core_xy(activity.cores[activity.pairs[:, 1]])
    src, dst = np.stack([sx, sy], axis=1), np.stack([dx, dy], axis=1)
    ew, ns = np.abs(dx - sx), np.abs(dy - sy)
    bandwidth = profile.mesh.link_bandwidth_packets_per_s
    if bandwidth is None:
        notes.append("no link bandwidth in the profile: network time is hop latency only, without contention")
    memo: dict[bytes, float] = {}
    for b in range(traced):
        for t in range(steps):
            counts = activity.pair_packets[b, t]
            key = counts.tobytes()
            if key not in memo:
                live = np.flatnonzero(counts)
                if bandwidth is None:
                    memo[key] = contention_free_time_s(ew[live], ns[live], hop_ew_s, hop_ns_s)
                else:
                    memo[key] = network_time_s(src[live], dst[live], counts[live], bandwidth,
                                               hop_ew_s, hop_ns_s)
            out[b, t] = memo[key]
    return out


def _longest_route_s(activity: Activity, placement: Placement, profile: ChipProfile) -> float:
    """Hop latency of the network's longest (source, destination) route, s (0 for unknown hop latency)."""
    if activity.pairs.size == 0:
        return 0.0
    sx, sy = placement.core_xy(activity.cores[activity.pairs[:, 0]])
    dx, dy = placement.core_xy(activity.cores[activity.pairs[:, 1]])
    return contention_free_time_s(np.abs(dx - sx), np.abs(dy - sy), profile.latency.hop_ew_s or 0.0,
                                  profile.latency.hop_ns_s or 0.0)


def cost(activity: Activity, placement: Placement, profile: ChipProfile,
         net: ChipNetwork | None = None) -> Cost:
    """Price ``activity`` (from ``simulate``) on ``profile``: energy per inference and latency."""
    notes: list[str] = []
    if net is not None and net.profile_name != profile.name:
        notes.append(f"network compiled for {net.profile_name}, priced on {profile.name}")
    traced = activity.pair_packets.shape[0]
    samples = slice(0, traced) if traced else slice(0, activity.batch)  # latency: over the traced samples
    compute, missing_s = _core_compute_s(activity, profile, samples)
    compute_step = compute.max(axis=2) if compute.shape[2] else np.zeros(compute.shape[:2])
    if traced:
        network = _network_s(activity, placement, profile, notes)
    else:
        network = np.full(compute_step.shape, _longest_route_s(activity, placement, profile))
        notes.append("no traced packet counts (too many core pairs): network time bounded by the longest "
                     "route")
    tiles_used = np.unique(activity.cores // placement.cores_per_tile).size
    sync_s, sync_note = barrier_s(profile, int(tiles_used))
    notes += [sync_note] if sync_note else []
    notes += [f"{name} not published: taken as 0 (latency is a lower bound)" for name in missing_s]
    compute_step_s = compute_step.mean(axis=0) if compute_step.size else np.zeros(activity.steps)
    network_step_s = network.mean(axis=0) if network.size else np.zeros(activity.steps)
    latency_step_s = compute_step_s + network_step_s + sync_s
    if profile.latency.step_timing == "tick":  # a real-time chip waits for its tick (or overruns it)
        overrun = int((latency_step_s > profile.time_step_s).sum())
        latency_step_s = np.maximum(latency_step_s, profile.time_step_s)
        notes.append(f"real-time chip: each step lasts the {profile.time_step_s:g} s tick"
                     + (f" ({overrun} steps overran it)" if overrun else ""))
    latency_s = float(latency_step_s.sum())

    energy, missing_j = _energy(activity, profile)
    if profile.energy.synapse_op_by_encoding_j:
        notes.append("synapse energy uses synapse_op_j for every synaptic event; the per-encoding figures "
                     "(synapse_op_by_encoding_j) are not applied")
    chips_used = np.unique(activity.cores // placement.cores_per_chip).size
    static_w = profile.energy.static_power_w
    energy["static"] = None if static_w is None else static_w * chips_used * latency_s
    if static_w is None:
        missing_j.append("energy.static_power_w")
    unknown = tuple(k for k, v in energy.items() if v is None)
    known = float(sum(v for v in energy.values() if v is not None))
    total = None if unknown else known
    dynamic = [energy[k] for k in DYNAMIC]
    dynamic_known = float(sum(v for v in dynamic if v is not None))
    if unknown:
        notes.append(f"unknown (null in the profile): {', '.join(missing_j)}")
    return Cost(
        profile_name=profile.name, energy_j=energy, total_j=total, total_known_j=known,
        latency_step_s=latency_step_s, compute_step_s=compute_step_s, network_step_s=network_step_s,
        barrier_s=sync_s, latency_s=latency_s, throughput_per_s=1.0 / latency_s if latency_s > 0 else None,
        samples=activity.batch, traced_samples=traced, unknown=unknown, notes=tuple(notes),
        dynamic_j=None if None in dynamic else dynamic_known, dynamic_known_j=dynamic_known,
        static_j=energy["static"], static_model=static_model(profile, chips_used, latency_s),
    )
