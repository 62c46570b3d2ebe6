"""The same ChipNetwork in SANA-FE (Boyle et al., IEEE TCAD 2025; PyPI ``sanafe`` 2.2.9), on SANA-FE's own
Loihi architecture (``sanafe/examples/loihi.yaml``) with chipfit's core mapping, for cross-validation.

SANA-FE's ``loihi_lif`` soma (``LoihiLifModel::update``, ``src/models.cpp``), per step: u *= input_decay,
v *= leak_decay (both floats), v truncated toward zero to 1/64; then, outside a refractory period,
v += bias, u += this step's input, v += u; fire on v > threshold, hard reset to ``reset``; the refractory
count is set to ``refractory_delay`` on a spike and decremented at the end of every step, and while it is
positive input and bias are dropped (u and v still decay). Every projection delivers one step after the
spike. That is chipfit's ``loihi_cuba`` (Lava's bit-accurate LIF) exactly when u is the step's input
(``decay_u`` = 2^12 - 1, SANA-FE input_decay 0) and the reset is to zero: a decaying current is a float
in SANA-FE, never truncated as Loihi's is, so CUBA neurons (du < 4095) are refused; a voltage decay dv
(LIF) and refractory periods are exact (see :func:`run` for the units that make them so). What SANA-FE
does not model: v's saturation at +-(2^23 - 1) and u's wrap at 2^23 (networks that reach them differ).

Inputs. chipfit's host injects an input spike straight into every core that holds one of its targets
(``chipsim.routing``: a packet in at each such core, no packet out, no hops), as Loihi's host and
embedded x86 cores write spikes into the cores' input axons. SANA-FE has no host: its inputs are
``input`` somas mapped to cores. So each (input neuron, destination core) pair becomes one SANA-FE input
soma on that core (or, when its input somas are all taken, on another core of its tile: 0 hops as
well), wired to the targets on that core only; its messages (SANA-FE's 111 pJ ``axon_out`` each, and
5.1 ns on its core) are chipfit's host packets, which cost only ``message_in`` there, so the comparison
removes their 111 pJ (their 5.1 ns stays in SANA-FE's latency: a small excess on its side).

Mesh. chipfit numbers tiles row by row, SANA-FE column by column (:func:`sanafe_core`): every neuron goes
to the SANA-FE core at the same mesh position, so both count the same hops. SANA-FE prices a north-south
hop 4.2 pJ, chipfit's profile 4.0 pJ (Davies et al. 2018, Table 2); the figures are compared as each
tool has them.

Synapses use SANA-FE's dense synapse unit (35.5 pJ, chipfit's ``synapse_op_j``); conv kernels are expanded
to explicit synapses (SANA-FE would also count zero taps of a kernel; expanded, both count only stored
synapses). Latency is SANA-FE's ``detailed`` timing model (its default: messages scheduled over the NoC
with each core's pipeline), the closest to chipsim's (each core's compute + the NoC time + the barrier);
``simple`` (max over cores of the send or the receive work alone, no hop latency) is available.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

import numpy as np

from chipsim.network import ChipNetwork
from hwprofiles.errors import UserError


class SanafeError(UserError):
    """A network SANA-FE's Loihi soma cannot represent, or sanafe missing."""


@dataclass(frozen=True)
class SanafeRun:
    """What SANA-FE produced: per population spike counts [size], energy by unit (J), totals."""

    spike_counts: tuple[np.ndarray, ...]
    energy_j: dict  # SANA-FE's 'synapse', 'dendrite', 'soma', 'network', 'total' over the run
    synaptic_events: int  # perf trace 'spikes': synapses processed
    neurons_updated: int  # SANA-FE 'neurons_updated'
    packets: int  # SANA-FE 'packets_sent' (input neurons' messages included)
    sim_time_s: float  # SANA-FE's simulated time of the run (its timing model)
    wall_s: float
    input_somas: int = 0  # SANA-FE input neurons standing for chipfit's host entries
    input_messages: int = 0  # their messages: chipfit's host packets
    step_time_s: np.ndarray | None = None  # SANA-FE's simulated time of each step
    timing_model: str = "detailed"


@contextlib.contextmanager
def _quiet():
    """SANA-FE prints progress to fd 1 from C++: send it to /dev/null for the run."""
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def check(net: ChipNetwork) -> None:
    """Raise SanafeError unless every population is a neuron SANA-FE's loihi_lif runs identically: loihi_cuba
    with u the step's input (decay_u 2^D - 1), any voltage decay, reset to zero, any refractory period, and
    a one-step delay and no negative weight exponent on every projection."""
    for pop in net.populations[1:]:
        p = pop.params
        top = 2 ** (p.decay_bits or 12) - 1
        if p.model != "loihi_cuba" or p.decay_u != top or p.reset != "zero":
            raise SanafeError(f"population {pop.name}: SANA-FE's loihi_lif runs loihi_cuba neurons with "
                              f"decay_u {top} (its current is a float, input_current *= input_decay, never "
                              f"truncated as Loihi's is) and reset zero; got {p.model}, decay_u {p.decay_u}, "
                              f"reset {p.reset}")
    for pr in net.projections:
        if pr.delay_steps != 1:
            raise SanafeError(f"projection {pr.name}: SANA-FE delivers after 1 step, delay is "
                              f"{pr.delay_steps}")
        if getattr(pr, "input_shift", 0):
            raise SanafeError(f"projection {pr.name}: weight exponent -{pr.input_shift} (Loihi floors this "
                              f"projection's summed input by 2^{pr.input_shift}); SANA-FE's synapses add "
                              f"weights with no such floor")


def host_entries(net: ChipNetwork, core_of_neuron) -> list[tuple[int, int]]:
    """(input neuron, core) pairs, sorted: where chipfit's host injects each input neuron's spikes (one
    packet per distinct core holding one of its targets, over every projection from the input;
    ``chipsim.routing``)."""
    from harness.brian2_model import synapse_lists

    pairs: set[tuple[int, int]] = set()
    for pr in net.projections:
        if pr.pre == 0:
            pre, post, _ = synapse_lists(pr)
            cores = np.asarray(core_of_neuron[pr.post])[post]
            pairs.update(zip(pre.tolist(), cores.tolist(), strict=True))
    return sorted(pairs)


def entry_cores(entries, n_cores: int, cores_per_tile: int, units: int) -> tuple[np.ndarray, np.ndarray]:
    """(SANA-FE core, input soma unit on it) of each host entry (i, c): c itself while it has a free input
    unit (SANA-FE's ``input`` soma holds one spike train, so each input neuron needs its own of the core's
    ``units`` ``loihi_inputs``), else the core of c's tile with the most free units (0 hops from c in SANA-FE
    as in chipfit); SanafeError when the tile has none."""
    taken = np.zeros(n_cores, np.int64)
    core = np.empty(len(entries), np.int64)
    unit = np.empty(len(entries), np.int64)
    for k, (_, c) in enumerate(entries):
        if taken[c] >= units:
            tile = np.arange(c - c % cores_per_tile, c - c % cores_per_tile + cores_per_tile)
            c = int(tile[np.argmin(taken[tile])])
            if taken[c] >= units:
                raise SanafeError(f"core {entries[k][1]}'s tile has no free SANA-FE input soma for the input "
                                  f"neurons that stand for chipfit's host inputs ({units} per core)")
        core[k], unit[k] = c, taken[c]
        taken[c] += 1
    return core, unit


INPUT_UNITS = 4096  # at most this many input somas per SANA-FE core (loihi.yaml has 1024)
DENDRITE_SLOTS = 1024  # SANA-FE's accumulator dendrite holds 1024 neurons (models.hpp loihi_max_compartments)


def loihi_arch(sanafe, units: int):
    """SANA-FE's ``loihi.yaml`` with room for the input somas that stand for chipfit's host inputs, one per
    input neuron that reaches a core: ``units`` input somas per core (``loihi_inputs``; each is an object
    with its own random generator, so no more than needed), dendrite units for them (``host_dendrites``:
    SANA-FE maps every neuron to a dendrite, and one accumulator holds 1024), and ``max_neurons_supported``
    raised by as many (SANA-FE counts the stand-ins as neurons; Loihi's host inputs take no compartments).
    Input somas and these dendrites cost no energy or time; no figure of loihi.yaml changes."""
    import tempfile
    from importlib.resources import files

    text = files("sanafe.examples").joinpath("loihi.yaml").read_text()
    for line in ("max_neurons_supported: 1024", "loihi_inputs[0..1023]", "          synapse:\n"):
        if text.count(line) != 1:
            raise SanafeError(f"sanafe's examples/loihi.yaml has not one {line!r} (sanafe 2.2.9 expected)")
    dendrites = f"""            - name: host_dendrites[0..{(units - 1) // DENDRITE_SLOTS}]
              attributes:
                model: accumulator
                energy_update: 0.0
                latency_update: 0.0
          synapse:
"""
    text = text.replace("max_neurons_supported: 1024", f"max_neurons_supported: {1024 + units}")
    text = text.replace("loihi_inputs[0..1023]", f"loihi_inputs[0..{units - 1}]")
    text = text.replace("          synapse:\n", dendrites)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        return sanafe.load_arch(f.name)
    finally:
        os.unlink(f.name)


LOIHI_MESH = (8, 4, 4)  # loihi.yaml: width x height tiles, cores per tile


def sanafe_core(core, mesh=LOIHI_MESH) -> np.ndarray:
    """SANA-FE core id at the mesh position of chipfit's core ``core`` (one chip).

    chipfit numbers tiles row by row (``Placement.core_xy``: x = tile % width, y = tile // width), SANA-FE
    column by column (``src/arch.cpp``: x = tile / height, y = tile % height); the core within its tile is
    kept."""
    width, height, per_tile = mesh
    core = np.asarray(core, np.int64)
    tile, local = np.divmod(core, per_tile)
    y, x = np.divmod(tile, width)
    return (x * height + y) * per_tile + local


def run(net: ChipNetwork, core_of_neuron, x: np.ndarray, *, timing_model: str = "detailed") -> SanafeRun:
    """Run ``net`` in SANA-FE with neuron g of population p on core ``core_of_neuron[p][g]``; ``x`` bool
    [steps, n_in] (one sample).

    Units: SANA-FE's v is kept in units of 2^weight_shift LSBs (weights and thresholds are the mantissas,
    bias / 2^shift), so its ``loihi_quantize`` (v truncated toward zero to 1/64) is Loihi's truncation of the
    decayed v to an integer LSB, and its float ``leak_decay`` (2^D - dv) / 2^D is exact. SANA-FE holds a
    neuron ``refractory_delay - 1`` steps after a spike (the count is set on the spike and decremented in
    the same step), chipfit ``refractory_steps``: the delay given is refractory_steps + 1.

    Inputs: one SANA-FE ``input`` soma per host entry (:func:`host_entries`), on the entry's core
    (:func:`entry_cores`), connected only to the targets on that core: each spike is one message from a
    core 0 hops away, as chipfit's host injects it.
    """
    try:
        import sanafe
    except ImportError as error:
        raise SanafeError(f"sanafe is not installed ({error}); pip install sanafe==2.2.9") from None
    from harness.brian2_model import synapse_lists

    check(net)
    used = max(int(np.max(c, initial=-1)) for c in core_of_neuron[1:]) + 1
    if used > int(np.prod(LOIHI_MESH)):
        raise SanafeError(f"the placement uses {used} cores; SANA-FE's loihi.yaml is one chip of "
                          f"{int(np.prod(LOIHI_MESH))} cores")
    entries = host_entries(net, core_of_neuron)
    per_core = np.bincount([c for _, c in entries], minlength=1)
    units = int(min(max(per_core.max(), 1), INPUT_UNITS))
    arch = loihi_arch(sanafe, units)
    cores = arch.cores()
    steps, n_in = x.shape
    placed, unit = entry_cores(entries, len(cores), LOIHI_MESH[2], units)
    snn = sanafe.Network()
    groups = []
    inp = snn.create_neuron_group("input", len(entries), log_spikes=True)
    for k, (i, _) in enumerate(entries):
        inp[k].set_attributes(model_attributes={"spikes": x[:, i].astype(int).tolist()},
                              soma_hw_name=f"loihi_inputs[{unit[k]}]",
                              dendrite_hw_name=f"host_dendrites[{unit[k] // DENDRITE_SLOTS}]")
        inp[k].map_to_core(cores[int(sanafe_core(placed[k]))])
    groups.append(inp)
    for p, pop in enumerate(net.populations[1:], start=1):
        prm = pop.params
        shift, top = 2.0 ** prm.weight_shift, 2 ** (prm.decay_bits or 12)
        attrs = {"threshold": float(prm.threshold), "reset": 0.0, "input_decay": 0.0,
                 "leak_decay": (top - int(prm.decay_v)) / top, "bias": 0.0}
        if prm.refractory_steps:
            attrs["refractory_delay"] = int(prm.refractory_steps) + 1
        grp = snn.create_neuron_group(pop.name, pop.size, model_attributes=attrs, log_spikes=True,
                                      soma_hw_name="loihi_lif", default_dendrite_hw_name="loihi_dendrites",
                                      default_synapse_hw_name="loihi_dense_synapse")
        for i in np.flatnonzero(pop.bias):
            grp[int(i)].set_attributes(model_attributes={"bias": float(pop.bias[i]) / shift})
        for i, c in enumerate(sanafe_core(core_of_neuron[p]).tolist()):
            grp[i].map_to_core(cores[c])
        groups.append(grp)
    entry = {pair: k for k, pair in enumerate(entries)}
    for pr in net.projections:
        pre, post, w = synapse_lists(pr)
        if pr.pre == 0:
            post_core = np.asarray(core_of_neuron[pr.post])[post]
            pre = np.array([entry[(i, c)] for i, c in zip(pre.tolist(), post_core.tolist(), strict=True)],
                           np.int64)
        weights = {"weight": np.asarray(w, float).tolist()}
        groups[pr.pre].connect_neurons_sparse(groups[pr.post], weights,
                                              list(zip(pre.tolist(), post.tolist(), strict=True)))
    chip = sanafe.SpikingChip(arch)
    chip.load(snn)
    start = time.perf_counter()
    with _quiet():
        result = chip.sim(steps, timing_model=timing_model, spike_trace=True, perf_trace=True,
                          processing_threads=1)
    wall = time.perf_counter() - start
    index = {pop.name: p for p, pop in enumerate(net.populations)}
    counts = [np.zeros(pop.size, np.int64) for pop in net.populations]
    for step in result["spike_trace"]:
        for address in step:
            if address.group_name != "input":
                counts[index[address.group_name]][address.neuron_offset] += 1
    counts[0] = x.sum(axis=0).astype(np.int64)
    perf = result["perf_trace"]
    return SanafeRun(tuple(counts), dict(result["energy"]), int(np.sum(perf["spikes"])),
                     int(result["neurons_updated"]), int(result["packets_sent"]), float(result["sim_time"]),
                     wall, len(entries), int(sum(int(x[:, i].sum()) for i, _ in entries)),
                     np.asarray(perf.get("sim_time", []), float), timing_model)


def compare(net: ChipNetwork, activity, priced, sanafe_run: SanafeRun, profile, steps: int) -> dict:
    """chipsim vs SANA-FE for one sample of ``steps`` steps: per-neuron spike counts, synaptic events,
    packets (and host packets), energy by SANA-FE unit (synapse; soma = neuron updates + spike generation;
    network = messages + hops, the 111 pJ of SANA-FE's input somas' messages removed) and latency.

    SANA-FE counts a spike's synaptic events in the step it is sent, chipsim in the step they are added
    (one later), so ``activity`` (with its raster) must run one silent step longer: everything but the
    synaptic events is taken from its first ``steps`` steps, the events from all of them.
    """
    t = slice(0, steps)
    counts = [np.asarray(r[t, 0]).sum(axis=0) for r in activity.raster]
    identical = all(np.array_equal(a, b) for a, b in zip(counts[1:], sanafe_run.spike_counts[1:],
                                                          strict=True))

    def total(counter, window=t):
        return int(getattr(activity, counter)[:, window].sum(dtype=np.int64))

    e = profile.energy
    synops = total("synops", slice(None))
    spikes, packets = total("spikes_out"), total("packets_out")
    chip = {
        "synapse": synops * e.synapse_op_j,
        "soma": total("neuron_updates_active") * e.neuron_update_active_j
        + total("neuron_updates_idle") * e.neuron_update_idle_j + spikes * e.spike_out_j,
        "network": packets * e.message_out_j + total("hops_ew") * e.hop_ew_j + total("hops_ns") * e.hop_ns_j,
    }
    host_packets = int(activity.population["packets"][0, 0])
    input_messages = sanafe_run.input_messages
    sf = dict(sanafe_run.energy_j)
    theirs = {"synapse": sf["synapse"], "soma": sf["soma"],
              "network": sf["network"] - input_messages * e.message_out_j}
    latency = float(priced.latency_step_s[t].sum())

    def rel(a, b):
        return abs(a - b) / abs(b) if b else (0.0 if a == 0 else float("inf"))

    return {
        "steps": steps,
        "spike_counts_identical": identical,
        "spikes": {"chipsim": int(sum(c.sum() for c in counts[1:])),
                   "sanafe": int(sum(c.sum() for c in sanafe_run.spike_counts[1:]))},
        "synaptic_events": {"chipsim": synops, "sanafe": sanafe_run.synaptic_events},
        "packets": {"chipsim": packets, "sanafe": sanafe_run.packets - input_messages},
        "host_packets": {"chipsim": host_packets, "sanafe": input_messages},
        "energy_j": {k: {"chipsim": chip[k], "sanafe": theirs[k], "relative_error": rel(chip[k], theirs[k])}
                     for k in chip},
        "latency_s": {"chipsim": latency, "sanafe": sanafe_run.sim_time_s,
                      "relative_error": rel(latency, sanafe_run.sim_time_s),
                      "sanafe_timing_model": sanafe_run.timing_model},
        "wall_s": {"sanafe": sanafe_run.wall_s},
    }
