"""chipsim throughput against Brian2 (cython, the same integer dynamics) and SANA-FE, on one core.

One recurrent loihi_cuba network (10,000 neurons, fixed fan-out 100: 1,000,000 recurrent synapses, plus a
Poisson input layer that keeps activity sustained) runs for the same steps in chipsim and in the Brian2 twin
of ``harness.brian2_model`` (whose rasters must be identical), and a network of the same size, fan-out and
firing regime runs in SANA-FE 2.2.9 (its leaky_integrate_fire soma on its shipped Loihi architecture,
``simple`` timing model, one processing thread). Prints one JSON object. ``--sweep`` adds time per step
and peak RSS from 10^4 to 10^6 neurons (10^8 synapses), one subprocess per point.

Synaptic events = delivered synapses (chipsim's ``synops`` counter; for Brian2, spikes x out-degree from
its own raster; for SANA-FE, fired neurons x the fixed fan-out). Timings exclude building and compiling:
chipsim is warmed on 2 steps; Brian2 is timed over steps 1..T-1 of a run (its one-off per-run preparation
excluded, reported apart as ``brian2_whole_run_s``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from chipsim.network import ChipNetwork, NeuronParams, Population, Projection  # noqa: E402

FAN_OUT = 100
INPUT_FRACTION = 0.1  # input neurons per recurrent neuron
INPUT_FAN_OUT = 20
INPUT_RATE = 0.1
DECAY_U, DECAY_V = 1024, 256  # of 4096
THRESHOLD = 48  # mantissa (x 2^6)
REPEATS_CHIPSIM, REPEATS_BRIAN2 = 3, 2  # best-of timings (the machine is shared: take the least disturbed)
SWEEP = ((10_000, 100), (100_000, 100), (300_000, 100), (1_000_000, 100))


def fixed_fan_out(rng, n_pre: int, n_post: int, fan_out: int, low: int, high: int):
    """CSR with exactly ``fan_out`` random targets per presynaptic neuron, int8 weights in [low, high]."""
    indptr = np.arange(n_pre + 1, dtype=np.int64) * fan_out
    targets = rng.integers(0, n_post, size=n_pre * fan_out, dtype=np.int32)
    weights = rng.integers(low, high + 1, size=n_pre * fan_out, dtype=np.int8)
    return indptr, targets, weights


def recurrent_network(n: int, fan_out: int = FAN_OUT, seed: int = 0) -> ChipNetwork:
    """Poisson input -> one recurrent loihi_cuba population of ``n`` neurons, fan-out ``fan_out``."""
    rng = np.random.default_rng(seed)
    n_in = max(1, int(n * INPUT_FRACTION))
    params = NeuronParams(model="loihi_cuba", threshold=THRESHOLD, decay_u=DECAY_U, decay_v=DECAY_V,
                          refractory_steps=1, state_bits=24, current_bits=24, decay_bits=12, weight_shift=6)
    inp = Projection("input", 0, 1, "sparse", *fixed_fan_out(rng, n_in, n, INPUT_FAN_OUT, 0, 20))
    rec = Projection("recurrent", 1, 1, "recurrent", *fixed_fan_out(rng, n, n, fan_out, -12, 8))
    pops = (Population("input", n_in, (n_in,), None, np.zeros(n_in, np.int64)),
            Population("hidden", n, (n,), params, np.zeros(n, np.int64)))
    return ChipNetwork("loihi", pops, (inp, rec), output=1, dt_s=1e-3, fixed_point=True)


def poisson(steps: int, n_in: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1).random((steps, 1, n_in)) < INPUT_RATE


def single_core(net: ChipNetwork):
    from chipsim.fit import FitReport, Placement

    fit = FitReport(net.profile_name, True, (), 1, 1, 1, strategy="benchmark")
    cores = tuple(np.full(p.size, -1 if i == 0 else 0, np.int32) for i, p in enumerate(net.populations))
    return Placement(cores, fit, 1, 1, 1, 1)


def run_chipsim(net: ChipNetwork, x: np.ndarray, record: bool):
    """(activity, best wall s of REPEATS_CHIPSIM runs), after a 2-step warm-up."""
    from chipsim.simulate import prepare, simulate

    prep = prepare(net, single_core(net))
    simulate(prep, None, x[:2], record_raster=record)
    best = np.inf
    for _ in range(REPEATS_CHIPSIM):
        start = time.perf_counter()
        activity = simulate(prep, None, x, record_raster=record)
        best = min(best, time.perf_counter() - start)
    return activity, best


def _brian2_network(net: ChipNetwork, x: np.ndarray):
    import brian2

    from harness import brian2_model

    brian2.defaultclock.dt = net.dt_s * brian2.second
    source, groups, others = brian2_model.build(net)
    monitors = [brian2.SpikeMonitor(g) for g in groups]
    t_idx, n_idx = np.nonzero(x[:, 0, :])
    source.set_spikes(n_idx.astype(int), (t_idx * net.dt_s) * brian2.second)
    return brian2.Network(*groups, *others, *monitors), monitors


def run_brian2(net: ChipNetwork, x: np.ndarray):
    """(rasters bool [steps, size] per population, steady wall s of steps 1..T-1, wall s of the whole run).

    Two runs on Brian2's cython target. The rasters come from one run() over all steps. The steady-state
    time comes from a second, identical network run for 1 step (Brian2's per-run preparation: ~18 s here
    for 10^6 synapses) and then timed over the remaining steps; its spikes are not used, because a split
    run re-initialises Brian2's spike queues and so loses the recurrent spikes in flight at the split.
    """
    import brian2

    from harness import brian2_model

    brian2_model.configure("cython")
    dt = net.dt_s * brian2.second
    network, monitors = _brian2_network(net, x)
    start = time.perf_counter()
    network.run(x.shape[0] * dt)
    whole = time.perf_counter() - start
    rasters = []
    for pop, mon in zip(net.populations, monitors, strict=True):
        r = np.zeros((x.shape[0], pop.size), bool)
        r[np.rint(np.asarray(mon.t_) / net.dt_s).astype(np.int64), np.asarray(mon.i, np.int64)] = True
        rasters.append(r)
    best = np.inf
    for _ in range(REPEATS_BRIAN2):
        timing, _ = _brian2_network(net, x)
        timing.run(dt)
        start = time.perf_counter()
        timing.run((x.shape[0] - 1) * dt)
        best = min(best, time.perf_counter() - start)
    return rasters, best, whole


def events_from_raster(net: ChipNetwork, rasters, first_step: int = 0) -> int:
    """Delivered synapses: every spike (from step ``first_step``) times its out-degree in each projection."""
    total = 0
    for proj in net.projections:
        degree = np.diff(proj.indptr)
        total += int(rasters[proj.pre][first_step:].sum(axis=0) @ degree)
    return total


class _QuietFd1:
    """Send file descriptor 1 to /dev/null (SANA-FE's C++ prints progress there; we print one JSON object)."""

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)

    def __exit__(self, *exc):
        os.dup2(self.saved, 1)
        os.close(self.saved)


def run_sanafe(n: int, fan_out: int, steps: int, seed: int) -> dict:
    """Same size, fan-out and regime in SANA-FE (LIF soma with bias drive, leak = 1 - dv/4096)."""
    try:
        from importlib.resources import files

        import sanafe
    except ImportError as error:
        return {"sanafe_error": f"sanafe not importable: {error}"}
    try:
        arch = sanafe.load_arch(str(files("sanafe.examples").joinpath("loihi.yaml")))
        cores = arch.cores()
        per_core = 1024
        if n > per_core * len(cores):
            return {"sanafe_error": f"{n} neurons exceed the Loihi arch's {per_core * len(cores)}"}
        rng = np.random.default_rng(seed)
        net = sanafe.Network()
        attrs = {"threshold": float(THRESHOLD * 64), "bias": 300.0, "leak_decay": 1 - DECAY_V / 4096,
                 "reset": 0.0, "refractory_delay": 1}
        groups = []
        for g in range(0, n, per_core):
            size = min(per_core, n - g)
            grp = net.create_neuron_group(f"g{g // per_core}", size, model_attributes=attrs,
                                          soma_hw_name="loihi_lif",
                                          default_synapse_hw_name="loihi_sparse_synapse")
            grp.map_to_core(cores[g // per_core])
            groups.append(grp)
        build = time.perf_counter()
        targets = rng.integers(0, n, size=(n, fan_out))
        weights = rng.integers(-12, 9, size=(n, fan_out)).astype(float) * 64
        for a, src in enumerate(groups):
            rows = slice(a * per_core, a * per_core + len(src))
            pre = np.repeat(np.arange(len(src)), fan_out)
            post = targets[rows].ravel()
            w = weights[rows].ravel()
            for b, dst in enumerate(groups):
                sel = post // per_core == b
                pairs = list(zip(pre[sel].tolist(), (post[sel] % per_core).tolist(), strict=True))
                src.connect_neurons_sparse(dst, {"weight": w[sel].tolist()}, pairs)
        chip = sanafe.SpikingChip(arch)
        chip.load(net)
        build_s = time.perf_counter() - build
        start = time.perf_counter()
        with _QuietFd1():
            result = chip.sim(steps, timing_model="simple", processing_threads=1)
        wall = time.perf_counter() - start
        fired = int(result["neurons_fired"])
        return {"sanafe_events_per_s": fired * fan_out / wall, "sanafe_wall_s": wall, "sanafe_spikes": fired,
                "sanafe_spike_rate": fired / (n * steps), "sanafe_build_s": build_s,
                "sanafe_timing_model": "simple"}
    except Exception as error:  # report, never invent a figure
        return {"sanafe_error": f"{type(error).__name__}: {error}"}


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB (VmHWM: unlike ru_maxrss, not inherited across fork/exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def headline(n: int, fan_out: int, steps: int, seed: int, sanafe: bool) -> dict:
    net = recurrent_network(n, fan_out, seed)
    x = poisson(steps, net.populations[0].size, seed)
    activity, chip_s = run_chipsim(net, x, record=True)
    events = activity.total("synops")
    chip_rasters = [r[:, 0].astype(bool) for r in activity.raster]
    b2_rasters, b2_s, b2_whole_s = run_brian2(net, x)
    b2_events = events_from_raster(net, b2_rasters, first_step=1)  # the events of the timed steps
    out = {
        "neurons": net.n_neurons, "synapses": net.n_synapses, "steps": steps,
        "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", "0")),
        "spike_rate": float(chip_rasters[1].mean()), "synaptic_events": events,
        "chipsim_s": chip_s, "events_per_s": events / chip_s,
        "brian2_s": b2_s, "brian2_events_per_s": b2_events / b2_s, "brian2_whole_run_s": b2_whole_s,
        "spikes_identical": all(np.array_equal(a, b) for a, b in zip(chip_rasters, b2_rasters, strict=True)),
        "identical_fraction": float(np.mean([(a == b).mean() for a, b in zip(chip_rasters, b2_rasters,
                                                                              strict=True)])),
    }
    out["speedup_vs_brian2"] = out["events_per_s"] / out["brian2_events_per_s"]
    out["peak_rss_mb"] = peak_rss_mb()  # chipsim + Brian2, before SANA-FE loads its architecture
    if sanafe:
        out.update(run_sanafe(n, fan_out, steps, seed))
        if "sanafe_events_per_s" in out:
            out["speedup_vs_sanafe"] = out["events_per_s"] / out["sanafe_events_per_s"]
        out["peak_rss_mb_with_sanafe"] = peak_rss_mb()
    return out


def point(n: int, fan_out: int, steps: int, seed: int) -> dict:
    """One sweep point, chipsim only (run in its own process so peak RSS is this point's)."""
    build = time.perf_counter()
    net = recurrent_network(n, fan_out, seed)
    x = poisson(steps, net.populations[0].size, seed)
    build_s = time.perf_counter() - build
    activity, wall = run_chipsim(net, x, record=False)
    events = activity.total("synops")
    return {"neurons": net.n_neurons, "synapses": net.n_synapses, "steps": steps, "build_s": build_s,
            "s_per_step": wall / steps, "events_per_s": events / wall,
            "spike_rate": float(activity.total("spikes_out") / (n * steps)), "peak_rss_mb": peak_rss_mb()}


def sweep(steps: int, seed: int) -> list[dict]:
    rows = []
    for n, fan_out in SWEEP:
        cmd = [sys.executable, __file__, "--point", str(n), str(fan_out), "--steps", str(steps),
               "--seed", str(seed)]
        env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            error = done.stderr.strip().splitlines()[-1:]
            rows.append({"neurons": n, "synapses": n * fan_out, "error": error})
        else:
            rows.append(json.loads(done.stdout))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--fan-out", type=int, default=FAN_OUT)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sanafe", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="add the scale sweep up to 10^6 neurons")
    parser.add_argument("--point", nargs=2, type=int, metavar=("N", "FAN_OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.point:
        print(json.dumps(point(*args.point, args.steps, args.seed)))
        return 0
    result = headline(args.neurons, args.fan_out, args.steps, args.seed, not args.no_sanafe)
    if args.sweep:
        result["sweep"] = sweep(min(args.steps, 50), args.seed)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
