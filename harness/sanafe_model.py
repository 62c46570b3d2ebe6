"""The same ChipNetwork in SANA-FE (Boyle et al., IEEE TCAD 2025; PyPI ``sanafe`` 2.2.9), on SANA-FE's own
Loihi architecture (``sanafe/examples/loihi.yaml``) with chipfit's core mapping, for cross-validation.

SANA-FE's ``loihi_lif`` soma (``leaky_integrate_fire``, ``src/models.cpp``): v += bias + this step's
input (input_decay 0), fire on v > threshold, hard reset to 0, no leak with ``leak_decay`` 1; every
projection delivers one step after the spike. That is chipfit's ``loihi_cuba`` with ``decay_u`` = 2^12 - 1
(Lava's du register: the current is the step's input), ``decay_v`` = 0, reset to zero, no refractory period
and a one-step synaptic delay, with weights and thresholds shifted by ``weight_shift``; other networks are
refused. Input spikes come from SANA-FE ``input`` somas (``loihi_inputs[k]``, 1024 per core, on the
cores after the last one chipfit uses), since chipfit's host has no core; their messages (111 pJ each, and
their hops) are in SANA-FE's network energy but not in chipfit's, so the comparison removes the message
part (the hops of input messages stay: an excess on SANA-FE's side).

Synapses use SANA-FE's dense synapse unit (35.5 pJ, chipfit's ``synapse_op_j``); conv kernels are expanded
to explicit synapses (SANA-FE would also count zero taps of a kernel; expanded, both count only stored
synapses).
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
    sim_time_s: float  # SANA-FE's simulated time of the run (simple timing model)
    wall_s: float


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
    """Raise SanafeError unless every population is an IF neuron SANA-FE's loihi_lif runs identically."""
    for pop in net.populations[1:]:
        p = pop.params
        top = 2 ** (p.decay_bits or 12) - 1
        if p.model != "loihi_cuba" or p.decay_u != top or p.decay_v != 0 or p.reset != "zero" or \
                p.refractory_steps:
            raise SanafeError(f"population {pop.name}: SANA-FE's loihi_lif runs loihi_cuba IF neurons "
                              f"(decay_u {top}, decay_v 0, reset zero, no refractory); got {p.model}, "
                              f"decay_u {p.decay_u}, decay_v {p.decay_v}, reset {p.reset}, "
                              f"refractory {p.refractory_steps}")
    for pr in net.projections:
        if pr.delay_steps != 1:
            raise SanafeError(f"projection {pr.name}: SANA-FE delivers after 1 step, delay is "
                              f"{pr.delay_steps}")


def run(net: ChipNetwork, core_of_neuron, x: np.ndarray) -> SanafeRun:
    """Run ``net`` in SANA-FE with neuron g of population p on core ``core_of_neuron[p][g]``; ``x`` bool
    [steps, n_in] (one sample)."""
    try:
        from importlib.resources import files

        import sanafe
    except ImportError as error:
        raise SanafeError(f"sanafe is not installed ({error}); pip install sanafe==2.2.9") from None
    from harness.brian2_model import synapse_lists

    check(net)
    arch = sanafe.load_arch(str(files("sanafe.examples").joinpath("loihi.yaml")))
    cores = arch.cores()
    steps, n_in = x.shape
    snn = sanafe.Network()
    groups = []
    inp = snn.create_neuron_group("input", n_in, log_spikes=True)
    # 1024 input somas per core, and a core's neurons count inputs too: the inputs go on the cores after
    # the last one chipfit uses
    first = max(int(np.max(c, initial=-1)) for c in core_of_neuron[1:]) + 1
    if first + (n_in - 1) // 1024 >= len(cores):
        raise SanafeError(f"no free cores left for {n_in} input neurons in SANA-FE's Loihi")
    for i in range(n_in):
        inp[i].set_attributes(model_attributes={"spikes": x[:, i].astype(int).tolist()},
                              soma_hw_name=f"loihi_inputs[{i % 1024}]")
        inp[i].map_to_core(cores[first + i // 1024])
    groups.append(inp)
    for p, pop in enumerate(net.populations[1:], start=1):
        shift = 2 ** pop.params.weight_shift
        attrs = {"threshold": float(int(pop.params.threshold) * shift), "reset": 0.0, "leak_decay": 1.0,
                 "bias": 0.0}
        grp = snn.create_neuron_group(pop.name, pop.size, model_attributes=attrs, log_spikes=True,
                                      soma_hw_name="loihi_lif",
                                      default_synapse_hw_name="loihi_dense_synapse")
        for i in np.flatnonzero(pop.bias):
            grp[int(i)].set_attributes(model_attributes={"bias": float(pop.bias[i])})
        for i, c in enumerate(np.asarray(core_of_neuron[p]).tolist()):
            grp[i].map_to_core(cores[c])
        groups.append(grp)
    for pr in net.projections:
        pre, post, w = synapse_lists(pr)
        shift = 2 ** net.populations[pr.post].params.weight_shift
        weights = {"weight": (np.asarray(w, float) * shift).tolist()}
        groups[pr.pre].connect_neurons_sparse(groups[pr.post], weights,
                                              list(zip(pre.tolist(), post.tolist(), strict=True)))
    chip = sanafe.SpikingChip(arch)
    chip.load(snn)
    start = time.perf_counter()
    with _quiet():
        result = chip.sim(steps, timing_model="simple", spike_trace=True, perf_trace=True,
                          processing_threads=1)
    wall = time.perf_counter() - start
    index = {pop.name: p for p, pop in enumerate(net.populations)}
    index["input"] = 0
    counts = [np.zeros(pop.size, np.int64) for pop in net.populations]
    for step in result["spike_trace"]:
        for address in step:
            counts[index[address.group_name]][address.neuron_offset] += 1
    perf = result["perf_trace"]
    return SanafeRun(tuple(counts), dict(result["energy"]), int(np.sum(perf["spikes"])),
                     int(result["neurons_updated"]), int(result["packets_sent"]), float(result["sim_time"]),
                     wall)


def compare(net: ChipNetwork, activity, priced, sanafe_run: SanafeRun, profile, steps: int) -> dict:
    """chipsim vs SANA-FE for one sample of ``steps`` steps: per-neuron spike counts, synaptic events,
    packets, energy by SANA-FE unit (synapse; soma = neuron updates + spike generation; network = messages
    + hops, the input neurons' messages removed) and latency.

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
    input_messages = int(activity.population["packets"][0, 0])
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
        "energy_j": {k: {"chipsim": chip[k], "sanafe": theirs[k], "relative_error": rel(chip[k], theirs[k])}
                     for k in chip},
        "latency_s": {"chipsim": latency, "sanafe": sanafe_run.sim_time_s,
                      "relative_error": rel(latency, sanafe_run.sim_time_s)},
        "wall_s": {"sanafe": sanafe_run.wall_s},
    }
