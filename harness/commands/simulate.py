"""`harness simulate`: run a NIR graph on a simulated chip and price it (energy per inference, latency).

Compiles the graph for the profile (``chipsim.compile``), places it (``chipsim.place``), runs the engine on
the input spikes (``chipsim.simulate``; a float profile runs the float reference) and prices the counters
(``chipsim.cost``). The input ``.npz`` holds ``spikes`` [steps, batch, inputs] or [steps, inputs]. OUT.npz
gets ``spikes`` (the output population, in the input's layout), ``spike_counts_<i>`` [batch, size] per
population ``i`` and ``population_names``. The table and ``--json`` give the counters per population
(spikes, synaptic events, neuron updates active / idle, packets, hops) with NeuroBench's names (effective
ACs / MACs, membrane updates, activation sparsity, dense synops) and the energy as dynamic + static. A
network that does not fit is still simulated (on as many cores as it needs) with a warning. Bad input
(missing file or key, wrong width or dims) is one line, exit 2.

A test set runs in chunks of samples on ``--workers`` threads (default: every core), with a progress bar
(samples/s, ETA) on stderr (``chipsim.simulate.simulate_stream``). Memory does not grow with the samples:
an uncompressed input (``np.savez``) is read a chunk of samples at a time, and the per-sample spike counts
are written into OUT (a temporary file beside it until the run ends) as chunks finish
(:mod:`harness.npz_stream`); only the output spikes [steps, samples, outputs] are kept. ``--samples N``
simulates the first N samples only. Where the input .npz also holds ``labels`` [batch] (the class of each
sample; the predicted class is the output neuron with the most spikes), the accuracy is reported with its
95% Wilson confidence interval, and ``--ci W`` stops as soon as that interval is within +-W (at least 30
samples).

``--json`` also gives ``timings_s``: this run's wall seconds per stage (imports, reading the input,
Numba's set-up (only where chipsim's ahead-of-time kernels are not built for this machine, ``chipsim.aot``;
a kernel they lack sets Numba up in its own stage), reading the graph, compile, place, routing, or the
cache lookup in their stead, flattening for the engine, the simulation, pricing, writing OUT, printing),
so a user can see where a slow command spends its time.
"""

from __future__ import annotations

import argparse
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from harness import nir_input
from harness import options as opts
from harness.commands.map import NO_CACHE, PLACEMENT, STRATEGY
from harness.gc_pause import paused
from harness.npz_stream import CountArchive, StoredArray
from harness.paths import describe_file
from harness.stopwatch import Stopwatch
from hwprofiles.errors import UserError

MIN_CI_SAMPLES = 30
"""Fewest samples before ``--ci`` may stop (the normal approximation behind Wilson's interval)."""


class SimulateArgumentError(UserError):
    pass


OPTIONS = (
    opts.NIR,
    opts.PROFILE,
    opts.Opt("--input", opts.Text(), ".npz with 'spikes' [steps, batch, inputs] or [steps, inputs]",
             required=True),
    opts.SIM_STEPS.but(help="time steps (default: the input's; more pads with silence)"),
    *nir_input.OPTIONS,
    STRATEGY.but(help="placement strategy (see harness map)"),
    PLACEMENT,
    NO_CACHE,
    opts.Opt("--workers", opts.Int(1, os.cpu_count() or 1), "threads that simulate samples in parallel "
             "(default: every core)"),
    opts.SAMPLES.but(help="simulate only the first N samples (default: all)"),
    opts.Opt("--ci", opts.Float(0.0, 0.5, low_open=True), "stop once the 95%% confidence interval on "
             "accuracy is within +-W (needs 'labels' in the input)", metavar="W"),
    opts.Opt("--no-progress", None, "no progress bar"),
    opts.Opt("--out", opts.OutFile(), "write output spikes and spike counts here (.npz)", required=True),
    opts.JSON_OUT.but(help="write the cost here as JSON"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run a NIR graph on a simulated chip: spikes, energy, latency",
        description=__doc__.split("\n\n")[0],
    )
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def load_input(path: str) -> np.ndarray | StoredArray:
    """The ``spikes`` array of an .npz, at least one step and one sample; UserError (one line saying what
    the file is and what was expected) for anything else. A [steps, batch, inputs] array stored
    uncompressed (``np.savez``) comes as a :class:`~harness.npz_stream.StoredArray`, read a chunk of samples
    at a time; a compressed one is read whole."""
    expected = "an .npz archive holding 'spikes' (np.savez(path, spikes=...))"
    if not Path(path).is_file():
        raise SimulateArgumentError(f"input file not found: {path}")
    found = describe_file(path)
    if not found.startswith("a zip archive"):
        raise SimulateArgumentError(f"--input {path}: {found}; expected {expected}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "spikes" not in data.files:
                has = ", ".join(data.files) or "none"
                raise SimulateArgumentError(f"{path}: no 'spikes' array (has: {has})")
            spikes = StoredArray.open(path, "spikes")  # read a chunk of samples at a time where it can be
            if spikes is None:
                spikes = data["spikes"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        if isinstance(error, UserError):
            raise
        raise SimulateArgumentError(f"--input {path}: {found} that numpy cannot read as {expected} "
                                    f"({' '.join(str(error).split())})") from None
    if spikes.ndim in (2, 3) and (spikes.shape[0] == 0 or (spikes.ndim == 3 and spikes.shape[1] == 0)):
        raise SimulateArgumentError(f"--input {path}: 'spikes' has shape {spikes.shape}: no "
                                    f"{'steps' if spikes.shape[0] == 0 else 'samples'} to simulate")
    return spikes


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% (z = 1.96) Wilson score interval on a proportion (Wilson, JASA 1927)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def load_labels(path: str, spikes: np.ndarray) -> np.ndarray | None:
    """The optional ``labels`` [batch] of the input .npz (integers, one per sample), or None."""
    with np.load(path, allow_pickle=False) as data:
        if "labels" not in data.files:
            return None
        labels = data["labels"]
    batch = spikes.shape[1] if spikes.ndim == 3 else 1
    if labels.shape != (batch,) or labels.dtype.kind not in "iu":
        raise SimulateArgumentError(f"{path}: 'labels' must be integers [batch] = [{batch}], "
                                    f"found {labels.dtype} {list(labels.shape)}")
    return labels


def _start(args: argparse.Namespace, watch: Stopwatch):
    """(input spikes, labels or None, profile, ChipNetwork, Placement, Prepared): everything before the
    simulation, each stage timed on ``watch``."""
    import chipsim.activity  # noqa: F401 -- imported here to be timed as "import" (used by run)
    import chipsim.cost  # noqa: F401
    from chipsim import aot
    from chipsim.numba_start import set_up
    from chipsim.simulate import prepare
    from hwprofiles import load

    watch.lap("import")
    spikes = load_input(args.input)
    labels = load_labels(args.input, spikes)
    if args.ci is not None and labels is None:
        raise SimulateArgumentError(f"--ci needs 'labels' in {args.input} (one class per sample)")
    if args.samples is not None and spikes.ndim == 3:
        lazy = isinstance(spikes, StoredArray)
        spikes = spikes.samples(args.samples) if lazy else spikes[:, : args.samples]
        labels = None if labels is None else labels[: args.samples]
    profile = load(args.profile)
    watch.lap("read_input")
    if not aot.available():  # without the ahead-of-time build, every kernel needs Numba
        set_up()  # Numba's one-time set-up, which the first kernel would otherwise pay inside its stage
    watch.lap("numba_set_up")
    net, placement, routes = _compiled_placed_and_routed(args, profile, watch.lap)
    for note in net.notes:  # the convention the import assumed, and its warnings (chipsim.cache)
        if note.startswith("warning: ") or ": read as " in note:
            print(note)
    prepared = prepare(net, placement, routes)  # flattened for the engine
    watch.lap("prepare")
    return spikes, labels, profile, net, placement, prepared


def _compiled_placed_and_routed(args, profile, lap):
    """(ChipNetwork, Placement, Routes) of ``args.nir`` on ``profile``, through the compile/place cache
    (``--no-cache``: computed afresh), which keeps the routes beside the placement."""
    from chipsim.cache import compiled_placed_and_routed

    net, placement, routes, _ = compiled_placed_and_routed(
        args.nir, profile, dt_s=args.dt, integrator=args.integrator, strategy=args.strategy,
        placement_file=args.placement, use_cache=not args.no_cache, source=getattr(args, "from"),
        reset=args.reset, lap=lap)
    return net, placement, routes


def run(args: argparse.Namespace) -> int:
    watch = Stopwatch()
    with paused(keep=True):  # start-up: long-lived objects only, kept out of later collections (gc_pause)
        spikes, labels, profile, net, placement, prepared = _start(args, watch)
    from chipsim.activity import neurobench_totals, population_counters
    from chipsim.cost import cost
    from chipsim.simulate import simulate_stream

    stop = None
    if args.ci is not None:
        def stop(counts):
            n = counts.shape[0]
            lo, hi = wilson_interval(int((counts.argmax(axis=1) == labels[:n]).sum()), n)
            return n >= MIN_CI_SAMPLES and (hi - lo) / 2 <= args.ci
    off = net.offsets()
    from compress.files import WriteError, atomic_path, write_json_atomic

    def written(step):  # a full disk while OUT is written: one line naming OUT, as write_atomic says it
        try:
            return step()
        except OSError as error:
            raise WriteError(f"cannot write {args.out}: {error.strerror or error}") from None

    samples = spikes.shape[1] if spikes.ndim == 3 else 1
    names = [f"spike_counts_{i}" for i in range(len(net.populations))]
    with atomic_path(args.out) as tmp:  # OUT appears whole when the run ends, or not at all
        archive = written(lambda: CountArchive(tmp, names, [p.size for p in net.populations], samples))
        try:
            def keep_counts(lo, hi, counts):  # per-sample spike counts go into OUT as each chunk finishes
                parts = [counts[:, off[i]:off[i + 1]] for i in range(len(net.populations))]
                written(lambda: archive.add(parts))

            with _progress(not args.no_progress) as progress:
                activity = simulate_stream(prepared, None, spikes, steps=args.steps, workers=args.workers,
                                           progress=progress, stop=stop, per_sample_counts=False,
                                           on_counts=keep_counts)
            watch.lap("simulate")
            priced = cost(activity, placement, profile, net)
            watch.lap("cost")
            out_spikes = activity.output_spikes[:, 0] if spikes.ndim == 2 else activity.output_spikes
            arrays = {"spikes": out_spikes, "population_names": np.array([p.name for p in net.populations])}
            written(lambda: archive.finish(arrays))
        finally:
            archive.close()
    watch.lap("write_out")
    rows = population_counters(activity, net)
    report = {"profile": profile.name, "fits": placement.fit.fits, "cores_used": int(activity.n_cores),
              "steps": activity.steps, "samples": activity.batch, "cost": priced.to_dict(),
              "counters": {"per_population": rows, "neurobench": neurobench_totals(rows, activity.steps)},
              "network_notes": list(net.notes)}
    if labels is not None:
        n = activity.batch
        correct = int((activity.output_spikes.sum(axis=0).argmax(axis=1) == labels[:n]).sum())
        report["accuracy"] = {"value": correct / n, "ci95": list(wilson_interval(correct, n)), "samples": n,
                              "stopped_early": n < labels.shape[0]}
    print_cost(report, placement.fit.violations)
    watch.lap("print")
    if args.json:
        report["timings_s"] = watch.as_dict()  # this run's wall seconds per stage (harness.stopwatch)
        write_json_atomic(args.json, report)
    return 0


class _progress:
    """A rich progress bar on stderr (samples, samples/s, ETA) as a ``progress(done, total)`` callback."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar, self.task = enabled, None, None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]} samples/s"), TextColumn("ETA"),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.bar.add_task("simulate", total=total, rate="-")
        self.bar.update(self.task, completed=done)
        speed = self.bar.tasks[0].speed
        self.bar.update(self.task, rate="-" if not speed else f"{speed:.3g}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def print_cost(report: dict, violations) -> None:
    """The run's summary, counters and energy on stdout, as plain text (:mod:`harness.text_table`)."""
    from harness.text_table import text_table

    c = report["cost"]
    if not report["fits"]:
        print(f"warning: does not fit {report['profile']} ({len(violations)} violations, see harness map); "
              "simulated on as many cores as it needs")
    print(f"{report['profile']}: {report['samples']} sample(s) x {report['steps']} steps on "
          f"{report['cores_used']} cores")
    if "accuracy" in report:
        a = report["accuracy"]
        early = " (stopped early at the confidence interval)" if a["stopped_early"] else ""
        print(f"accuracy {a['value']:.4f}, 95% CI [{a['ci95'][0]:.4f}, {a['ci95'][1]:.4f}] over "
              f"{a['samples']} samples{early}")
    print_counters(report["counters"])

    def j(value):
        return "unknown" if value is None else f"{value:.4g}"

    rows = [[name, j(value)] for name, value in c["energy_j"].items()]
    rows += [["dynamic (all but static)", f"{j(c['dynamic_j'])} (known parts {c['dynamic_known_j']:.4g})"],
             ["static", j(c["static_j"])],
             ["total (dynamic + static)", f"{j(c['total_j'])} (known parts {c['total_known_j']:.4g})"]]
    print()
    print(text_table(["energy per inference", "J"], rows))
    model = c["static_model"]
    print(f"static: {model['power_w_per_chip']} W x {model['chips_powered']} chip(s) powered x "
          f"{model['latency_s']:.4g} s ({model['source']})")
    throughput = "-" if c["throughput_per_s"] is None else f"{c['throughput_per_s']:.4g}/s"
    print(f"latency {c['latency_s']:.4g} s per inference (barrier {c['barrier_s']:.3g} s/step), "
          f"throughput {throughput}")
    for note in c["notes"]:
        print(f"  note: {note}")


COUNTER_COLUMNS = (("spikes", "spikes"), ("synops", "synaptic events"),
                   ("neuron_updates_active", "updates active"), ("neuron_updates_idle", "updates idle"),
                   ("packets", "packets"), ("hops", "hops"))


def print_counters(counters: dict) -> None:
    """Per-population counters per inference, then NeuroBench's figures for the whole network."""
    from harness.text_table import text_table

    rows = [[r["population"], str(r["neurons"]), *(f"{r[k]:.4g}" for k, _ in COUNTER_COLUMNS),
             f"{r['neurobench']['activation_sparsity']:.4f}"] for r in counters["per_population"]]
    print()
    headers = ["population", "neurons", *(label for _, label in COUNTER_COLUMNS), "activation sparsity"]
    print(text_table(headers, rows, title="counters per inference"))
    nb = counters["neurobench"]
    print("NeuroBench: " + ", ".join(f"{k} {v:.6g}" for k, v in nb.items()))
