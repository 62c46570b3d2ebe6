"""The engine at scale: synaptic events per second on one core from 10^4 to 10^6 neurons (issue 19).

The network is ``bench_chipsim.recurrent_network`` (Poisson input -> one recurrent loihi_cuba population
with 100 random targets per neuron: 10^8 recurrent synapses at 10^6 neurons), built directly as a
ChipNetwork (not through NIR and ``compile_graph``, which would take longer than the run), on one core
(``bench_chipsim.single_core``) or, with ``--per-core K``, ``K`` neurons per core (then every spike also
counts its events per destination core, as a placed network does). Every size runs in this one process,
one after the other (each network freed before the next), 2-step warm-up, best of ``--repeats`` runs, so
the events/s of the sizes compare as ratios measured in the same process: ``ratio_to_first`` is a point's
events per CPU second over the first (smallest) point's. ``events_per_s`` is over wall time,
``events_per_cpu_s`` over this process's CPU time (``time.process_time``: on a shared machine, the time
the run had a core, which wall time overstates when other jobs take it). ``--parts`` also times, in the
same process, the run with int32 input sums, alternating with the real one (``speedup_over_int32``: what
``simulate.accumulator_dtype``'s int16 sums give), and a run on silent input (the per-step cost without
spikes), whose difference to the real run gives ``delivery_events_per_cpu_s``. Prints one JSON object
per point. Run:

    NUMBA_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_engine_scale.py \
        [--neurons 10000 100000 1000000] [--steps 50] [--repeats 3] [--per-core 0] [--bare] [--parts]

Peak RSS is this process's (VmHWM), so the last point's includes the earlier ones' high-water mark.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_chipsim import peak_rss_mb, poisson, recurrent_network, single_core  # noqa: E402


def placed(net, per_core: int):
    """``per_core`` consecutive neurons per core (input off chip)."""
    from chipsim.fit import FitReport, Placement

    n = net.populations[1].size
    n_cores = -(-n // per_core)
    fit = FitReport(net.profile_name, True, (), n_cores, n_cores, n_cores, strategy="benchmark")
    cores = (np.full(net.populations[0].size, -1, np.int32), (np.arange(n) // per_core).astype(np.int32))
    side = int(np.ceil(np.sqrt(n_cores)))
    return Placement(cores, fit, n_cores, side, side, 1)


def _scatter_kernel():
    import numba as nb

    from chipsim.prefetch import prefetch

    @nb.njit
    def scatter(acc, indptr, targets, weights, spikes, ahead):
        for k in range(spikes.size):
            if ahead and k + 1 < spikes.size:
                nxt = spikes[k + 1]
                for s in range(indptr[nxt], indptr[nxt + 1], 16):
                    prefetch(targets, s)
                for s in range(indptr[nxt], indptr[nxt + 1], 64):
                    prefetch(weights, s)
            g = spikes[k]
            for s in range(indptr[g], indptr[g + 1]):
                acc[np.uint32(targets[s])] += weights[s]

    return scatter


def bare_scatter(net, spike_rate: float, steps: int, repeats: int, seed: int) -> dict:
    """The engine's inner loop alone, on the recurrent projection's CSR: ``steps`` random spike lists at
    ``spike_rate``, each spike adding its row's weights into an int32 accumulator, without and with the
    next row prefetched (``chipsim.prefetch``), and prefetched into an int16 one (what the engine uses
    where the sums fit, ``simulate.accumulator_dtype``): the ceiling the engine's delivery works under,
    in this process. Returns events per CPU second of each."""
    scatter = _scatter_kernel()
    rec = net.projections[1]
    n = net.populations[1].size
    rng = np.random.default_rng(seed)
    lists = [np.flatnonzero(rng.random(n) < spike_rate) for _ in range(steps)]
    events = sum(int((rec.indptr[sp + 1] - rec.indptr[sp]).sum()) for sp in lists)
    weights = rec.weights
    out = {}
    for name, ahead, dtype in (("bare_scatter_events_per_cpu_s", False, np.int32),
                               ("bare_prefetch_events_per_cpu_s", True, np.int32),
                               ("bare_prefetch_int16_events_per_cpu_s", True, np.int16)):
        acc = np.zeros(n, dtype)
        scatter(acc, rec.indptr, rec.targets, weights, lists[0], ahead)
        best = np.inf
        for _ in range(repeats):
            start = time.process_time()
            for sp in lists:
                scatter(acc, rec.indptr, rec.targets, weights, sp, ahead)
            best = min(best, time.process_time() - start)
        out[name] = events / best
    return out


def timed(preps, x, repeats: int) -> list:
    """(activity, best wall s, best CPU s) of each prepared network in ``preps``: a 2-step warm-up each,
    then ``repeats`` rounds that run them one after the other (alternating, so that a change in the
    machine's load falls on all of them alike)."""
    from chipsim.simulate import simulate

    for prep in preps:
        simulate(prep, None, x[:2])  # compile or load the cache
    best = [[None, np.inf, np.inf] for _ in preps]
    for _ in range(repeats):
        for prep, row in zip(preps, best, strict=True):
            start, start_cpu = time.perf_counter(), time.process_time()
            row[0] = simulate(prep, None, x)
            row[1] = min(row[1], time.perf_counter() - start)
            row[2] = min(row[2], time.process_time() - start_cpu)
    return [tuple(row) for row in best]


def parts(prep, x, activity, best_cpu: float, int32, repeats: int) -> dict:
    """What the ``--parts`` run adds: the int32 run's (``int32``: (activity, wall s, CPU s), timed
    alternating with the real one; outputs must be equal) and a run on silent input (no spike anywhere:
    the neuron updates and per-step costs alone); ``delivery_events_per_cpu_s`` is the events over the
    CPU time the spikes added."""
    int32_activity, _, int32_cpu = int32
    fields = ("synops", "spikes_out", "packets_in", "output_spikes")
    same = all(np.array_equal(getattr(activity, f), getattr(int32_activity, f)) for f in fields)
    ((_, _, silent_cpu),) = timed([prep], np.zeros_like(x), repeats)
    events = activity.total("synops")
    steps = x.shape[0]
    return {"acc_dtype": np.dtype(prep.acc_dtype).name, "int32_events_per_cpu_s": events / int32_cpu,
            "int32_equal": bool(same), "speedup_over_int32": int32_cpu / best_cpu,
            "silent_cpu_s_per_step": silent_cpu / steps,
            "delivery_events_per_cpu_s": events / max(best_cpu - silent_cpu, 1e-12)}


def point(n: int, steps: int, repeats: int, per_core: int, seed: int, bare: bool, ab: bool) -> dict:
    from chipsim.simulate import prepare

    build = time.perf_counter()
    net = recurrent_network(n, seed=seed)
    x = poisson(steps, net.populations[0].size, seed)
    prep = prepare(net, placed(net, per_core) if per_core else single_core(net))
    build_s = time.perf_counter() - build
    runs = timed([prep, dataclasses.replace(prep, acc_dtype=np.int32)] if ab else [prep], x, repeats)
    activity, best, best_cpu = runs[0]
    events = activity.total("synops")
    rate = float(activity.total("spikes_out") / (n * steps))
    extra = bare_scatter(net, rate, steps, repeats, seed) if bare else {}
    if ab:
        extra.update(parts(prep, x, activity, best_cpu, runs[1], repeats))
    return {**extra, "neurons": net.n_neurons, "synapses": net.n_synapses, "steps": steps,
            "cores": int(prep.routes.cores.size), "build_s": round(build_s, 2),
            "s_per_step": best / steps, "cpu_s_per_step": best_cpu / steps, "synaptic_events": int(events),
            "events_per_s": events / best, "events_per_cpu_s": events / best_cpu,
            "spike_rate": rate, "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-core", type=int, default=0, help="neurons per core (0: all on one core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bare", action="store_true", help="also time the bare CSR scatter (bare_scatter)")
    parser.add_argument("--parts", action="store_true",
                        help="also time int32 input sums and a silent run in this process (parts)")
    args = parser.parse_args(argv)
    first = None
    for n in args.neurons:
        row = point(n, args.steps, args.repeats, args.per_core, args.seed, args.bare, args.parts)
        first = first or row["events_per_cpu_s"]
        row["ratio_to_first"] = row["events_per_cpu_s"] / first
        row["numba_threads"] = int(os.environ["NUMBA_NUM_THREADS"])
        row["load_average"] = os.getloadavg()[0]
        print(json.dumps(row), flush=True)
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
