"""Cross-validate chipsim against an independent Brian2 implementation, neuron by neuron, step by step.

The method is brian2-loihi's (Michaelis et al., Front. Neuroinform. 16:1015624, 2022): implement the chip's
neuron model a second time in a general simulator and require the rasters to agree. Fixed point: both run
the same integer equations, so the rasters must be identical; we report the fraction of identical
(neuron, step) entries, the first divergence and the per-population spike counts. Float (``float_lif``):
Brian2 integrates the NIR equations with its own ``euler`` and ``exact`` state updaters, chipsim with the
same integrator; round-off may flip a spike that lands on the threshold, so we report per-population
spike-count agreement and spike-time error against a documented tolerance (docs/validation.md).

Deviations: chipsim exposes no internal state, so a divergence reports Brian2's state (v, u) before and
after the diverging step and both simulators' spike decisions.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from chipsim.network import ChipNetwork
from hwprofiles.errors import UserError
from hwprofiles.profile import ChipProfile

FLOAT_AGREEMENT_TOLERANCE = 0.99  # minimum spike-count agreement per population in float mode


class ValidateError(UserError):
    """Validation inputs that cannot be run (a missing pipeline, an impossible option)."""


@dataclass(frozen=True)
class Divergence:
    """The first (step, population, neuron) where the two rasters differ."""

    population: str
    neuron: int
    step: int
    sample: int
    chipsim_spiked: bool
    brian2_spiked: bool
    brian2_v_before: float | None
    brian2_v_after: float | None
    brian2_u_before: float | None
    brian2_u_after: float | None


@dataclass(frozen=True)
class PopulationComparison:
    name: str
    size: int
    chipsim_spikes: int
    brian2_spikes: int
    identical_fraction: float  # of (sample, step, neuron) raster entries
    count_agreement: float  # sum_n min(c1, c2) / sum_n max(c1, c2) over neurons (1.0 if both silent)
    spike_time_error_steps: float  # mean |t1 - t2| of the k-th spikes of each neuron, matched in order


@dataclass(frozen=True)
class Comparison:
    """One chipsim-vs-Brian2 run: ``integrator`` is None in fixed point."""

    integrator: str | None
    populations: tuple[PopulationComparison, ...]
    identical_fraction: float
    spikes_identical: bool
    first_divergence: Divergence | None
    chipsim_s: float
    brian2_s: float
    chip_rasters: tuple = dataclasses.field(default=(), repr=False, compare=False)  # per population
    brian2_runs: tuple = dataclasses.field(default=(), repr=False, compare=False)  # per sample

    @property
    def count_agreement(self) -> float:
        """The worst population's spike-count agreement."""
        return min((p.count_agreement for p in self.populations), default=1.0)


def float_profile(profile: ChipProfile) -> ChipProfile:
    """``profile`` with its neuron model swapped for the float NIR reference (``--float``)."""
    neuron = dataclasses.replace(profile.neuron, kind="float_lif", state_bits=None, current_bits=None,
                                 decay_bits=None, weight_shift=0, threshold_bits=None,
                                 resets_supported=("zero", "subtract"))
    core = dataclasses.replace(profile.core, weight_bits=None)
    return dataclasses.replace(profile, neuron=neuron, core=core)


def with_integrator(net: ChipNetwork, integrator: str) -> ChipNetwork:
    """A float network whose populations integrate with ``integrator``."""
    pops = [net.populations[0]] + [
        dataclasses.replace(p, params=dataclasses.replace(p.params, integrator=integrator))
        for p in net.populations[1:]]
    return dataclasses.replace(net, populations=tuple(pops))


def single_core_placement(net: ChipNetwork, profile: ChipProfile):
    """Every computing neuron on core 0: spikes do not depend on placement, only the counters do."""
    from chipsim.fit import FitReport, Placement

    fit = FitReport(profile.name, True, (), 1, 1, 1, strategy="validate")
    cores = tuple(np.full(p.size, -1 if i == 0 else 0, np.int32) for i, p in enumerate(net.populations))
    return Placement(cores, fit, 1, 1, 1, 1)


def count_agreement(c1: np.ndarray, c2: np.ndarray) -> float:
    """sum_n min(c1_n, c2_n) / sum_n max(c1_n, c2_n): 1.0 for identical counts (or none at all)."""
    top = np.maximum(c1, c2).sum()
    return 1.0 if top == 0 else float(np.minimum(c1, c2).sum() / top)


def spike_time_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |t_a - t_b| in steps over the k-th spikes of each neuron present in both rasters [steps, n]."""
    total, matched = 0.0, 0
    for n in range(a.shape[1]):
        ta, tb = np.flatnonzero(a[:, n]), np.flatnonzero(b[:, n])
        k = min(ta.size, tb.size)
        total += float(np.abs(ta[:k] - tb[:k]).sum())
        matched += k
    return total / matched if matched else 0.0


def compare(net: ChipNetwork, chip_rasters: list[np.ndarray], brian_runs, integrator: str | None,
            chipsim_s: float, brian2_s: float) -> Comparison:
    """Compare per-population rasters: chip_rasters[p] bool [steps, batch, size]; brian_runs per sample."""
    pops, first, same, total = [], None, 0, 0
    for p, pop in enumerate(net.populations[1:], start=1):
        a = chip_rasters[p].astype(bool)
        b = np.stack([r.spikes[p] for r in brian_runs], axis=1)
        same += int((a == b).sum())
        total += a.size
        counts_a, counts_b = a.sum(axis=0), b.sum(axis=0)
        err = np.mean([spike_time_error(a[:, s], b[:, s]) for s in range(a.shape[1])])
        pops.append(PopulationComparison(pop.name, pop.size, int(a.sum()), int(b.sum()),
                                         float((a == b).mean()), count_agreement(counts_a, counts_b),
                                         float(err)))
    first = first_divergence(net, chip_rasters, brian_runs)
    fraction = same / total if total else 1.0
    return Comparison(integrator, tuple(pops), fraction, same == total, first, chipsim_s, brian2_s,
                      tuple(chip_rasters), tuple(brian_runs))


def first_divergence(net: ChipNetwork, chip_rasters, brian_runs) -> Divergence | None:
    """Earliest step (then earliest population in update order, then neuron, then sample) that differs."""
    best = None
    for p in range(1, len(net.populations)):
        for s, run in enumerate(brian_runs):
            diff = np.argwhere(chip_rasters[p][:, s].astype(bool) != run.spikes[p])
            if diff.size:
                step, neuron = (int(x) for x in diff[0])
                key = (step, p, neuron, s)
                if best is None or key < best:
                    best = key
    if best is None:
        return None
    step, p, neuron, s = best
    run = brian_runs[s]

    def state(arr, t):
        return None if arr is None or t < 0 else float(arr[t, neuron])

    return Divergence(net.populations[p].name, neuron, step, s, bool(chip_rasters[p][step, s, neuron]),
                      bool(run.spikes[p][step, neuron]), state(run.v[p], step - 1), state(run.v[p], step),
                      state(run.u[p], step - 1), state(run.u[p], step))


def run_chipsim(net: ChipNetwork, profile: ChipProfile, x: np.ndarray) -> tuple[list[np.ndarray], float]:
    """chipsim's per-population rasters [steps, batch, size] for input ``x`` [steps, batch, n_in]."""
    from chipsim.simulate import simulate

    start = time.perf_counter()
    activity = simulate(net, single_core_placement(net, profile), x, record_raster=True)
    return list(activity.raster), time.perf_counter() - start


def validate(net: ChipNetwork, profile: ChipProfile, x: np.ndarray, *, target: str = "cython",
             brian2_net: ChipNetwork | None = None) -> list[Comparison]:
    """Run ``net`` in chipsim and Brian2 on ``x`` [steps, batch, n_in]; one Comparison per integrator.

    ``brian2_net`` (default ``net``) lets a test hand Brian2 a deliberately perturbed network.
    """
    from harness import brian2_model

    twin = net if brian2_net is None else brian2_net
    integrators = (None,) if net.fixed_point else brian2_model.FLOAT_METHODS
    results = []
    for integrator in integrators:
        a = net if integrator is None else with_integrator(net, integrator)
        b = twin if integrator is None else with_integrator(twin, integrator)
        rasters, chipsim_s = run_chipsim(a, profile, x)
        runs = brian2_model.run(b, x, target=target, record_state=True, float_method=integrator)
        results.append(compare(a, rasters, runs, integrator, chipsim_s, sum(r.run_s for r in runs)))
    return results


def passed(comparisons: list[Comparison], fixed_point: bool) -> bool:
    """Fixed point: every raster identical. Float: every population's count agreement within tolerance."""
    if fixed_point:
        return all(c.spikes_identical for c in comparisons)
    return all(c.count_agreement >= FLOAT_AGREEMENT_TOLERANCE for c in comparisons)


def report(net: ChipNetwork, comparisons: list[Comparison], **context) -> dict:
    """The JSON-able figures of a validation."""
    return {
        **context,
        "mode": "fixed_point" if net.fixed_point else "float",
        "neurons": net.n_neurons,
        "synapses": net.n_synapses,
        "passed": passed(comparisons, net.fixed_point),
        "float_tolerance": None if net.fixed_point else FLOAT_AGREEMENT_TOLERANCE,
        "runs": [_figures(c) for c in comparisons],
    }


def _figures(c: Comparison) -> dict:
    return {"integrator": c.integrator, "identical_fraction": c.identical_fraction,
            "spikes_identical": c.spikes_identical, "count_agreement": c.count_agreement,
            "first_divergence": c.first_divergence and dataclasses.asdict(c.first_divergence),
            "populations": [dataclasses.asdict(p) for p in c.populations],
            "chipsim_s": c.chipsim_s, "brian2_s": c.brian2_s}


def plot(net: ChipNetwork, comparison: Comparison, path, sample: int = 0) -> None:
    """Raster of both simulators for one sample, one panel per population, divergences marked in red."""
    chip_rasters, brian_runs = comparison.chip_rasters, comparison.brian2_runs
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops = list(range(1, len(net.populations)))
    fig, axes = plt.subplots(len(pops), 1, figsize=(9, 2.2 * len(pops)), sharex=True, squeeze=False)
    for ax, p in zip(axes[:, 0], pops, strict=True):
        a = chip_rasters[p][:, sample].astype(bool)
        b = brian_runs[sample].spikes[p]
        ta, na = np.nonzero(a)
        tb, nb = np.nonzero(b)
        td, nd = np.nonzero(a != b)
        ax.scatter(ta, na, s=6, marker="|", color="black", label="chipsim")
        ax.scatter(tb, nb, s=10, marker="o", facecolors="none", edgecolors="tab:blue", linewidths=0.5,
                   label="Brian2")
        if td.size:
            ax.scatter(td, nd, s=30, marker="x", color="red", label=f"differ ({td.size})")
        ax.set_ylabel(f"{net.populations[p].name}\nneuron")
        ax.legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel("time step")
    how = f" ({comparison.integrator})" if comparison.integrator else ""
    fig.suptitle(f"chipsim vs Brian2 on {net.profile_name}{how}, sample {sample}")
    fig.tight_layout()
    from compress.files import write_atomic

    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))  # whole or absent
    plt.close(fig)
