"""One cell of the question chipfit answers: compress with method M, map onto chip P, simulate, price.

Flow (DESIGN.md): dataset -> dense model (trained once, cached) -> method (cached by its inputs) -> NIR
graph -> compile for the profile -> place -> simulate the whole test set on the chip -> cost -> RunReport.

Three accuracies show what each step cost: ``float`` (the dense model in torch), ``exported`` (the
compressed model in torch with exactly the exported weights) and ``on_chip`` (chipsim in the chip's fixed
point, the same rate-coded input spikes for every sample). A model that does not fit is still simulated, on
as many cores as it needs, and the report says so and gives the budget it would need.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compress.files import to_jsonable
from hwprofiles.errors import UserError

REPORT_SCHEMA = "chipfit.run_report"
REPORT_VERSION = 1
DEFAULT_CACHE = Path(".cache/chipfit")
INPUT_SEED_OFFSET = 7919  # the chip's input spikes are drawn from seed + this (independent of training)


class RunError(UserError):
    pass


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run. Two equal specs give the same report (deterministic)."""

    profile: str
    method: str
    dataset: str = "digits"
    model: str = "mlp"
    seed: int = 0
    sparsity: float | None = None
    bits: int | None = None
    unique: int | None = None
    epochs: int | None = None  # the method's training budget (None: the method default of harness compress)
    dense_epochs: int | None = None
    steps: int | None = None
    strategy: str = "auto"  # chipsim.place: greedy where it fits, else channel groups x spatial tiles
    options: dict = field(default_factory=dict)
    data_dir: str | None = None
    samples: int | None = None  # test samples simulated on chip (None: the whole test set)
    cores: int | None = None  # fit on at most this many cores of the profile (None: all of them)
    events: dict = field(default_factory=dict)  # event datasets: bin_by, polarity, downsample (T = steps)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def configs(spec: RunSpec):
    """(model config, dense model's TrainConfig, method's TrainConfig) of a spec."""
    from compress.architectures import model_config
    from compress.data import EVENT_DATASETS
    from compress.pipeline import train_configs

    dense_cfg, train_cfg = train_configs(spec.seed, steps=spec.steps, epochs=spec.epochs,
                                         dense_epochs=spec.dense_epochs)
    if spec.dataset in EVENT_DATASETS:  # the events are the input spikes
        dense_cfg, train_cfg = (dataclasses.replace(c, encoding="events") for c in (dense_cfg, train_cfg))
    return model_config(spec.model), dense_cfg, train_cfg


def dataset_of(spec: RunSpec):
    """The spec's dataset; an event dataset binned into the spec's T steps as ``spec.events`` says."""
    from compress.data import EVENT_DATASETS, load_dataset
    from compress.datasets import EventOptions

    if spec.dataset not in EVENT_DATASETS:
        return load_dataset(spec.dataset, spec.data_dir, spec.seed)
    steps = configs(spec)[1].steps
    try:
        options = EventOptions(steps=steps, **spec.events)
    except (TypeError, ValueError) as error:
        raise RunError(f"event options {spec.events}: {error}") from None
    return load_dataset(spec.dataset, spec.data_dir, spec.seed, events=options)


def budget_for(spec: RunSpec, profile):
    """The method's budget: the profile's, with the spec's explicit targets over it."""
    from compress.budget import budget_from_profile, override

    return override(
        budget_from_profile(profile, cores=spec.cores),
        weight_bits=spec.bits,
        unique_weights=spec.unique,
        sparsity=spec.sparsity,
    )


def compression_key(spec: RunSpec, budget) -> str:
    """Hash of every input of the compression step (not the profile itself: two chips with one budget
    share a compressed model), the data folder's files (:func:`compress.data.folder_fingerprint`) among
    them."""
    from compress.data import folder_fingerprint

    model_cfg, dense_cfg, train_cfg = configs(spec)
    blob = json.dumps(
        to_jsonable(
            {
                "method": spec.method,
                "options": spec.options,
                "budget": dataclasses.asdict(budget),
                "dataset": spec.dataset,
                **({"events": spec.events} if spec.events else {}),
                **({"data_files": folder_fingerprint(spec.data_dir)} if spec.data_dir else {}),
                "model": model_cfg.to_dict(),
                "dense": dataclasses.asdict(dense_cfg),
                "train": dataclasses.asdict(train_cfg),
                "seed": spec.seed,
            }
        ),
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def compressed_model(spec: RunSpec, budget, cache: Path, progress: bool = True) -> tuple[Path, dict]:
    """Folder holding model.nir and metrics.json of the compressed model, computing it only when absent."""
    from compress.pipeline import load_metrics, run_method

    folder = cache / "compressed" / f"{spec.method}-{compression_key(spec, budget)}"
    if (folder / "metrics.json").exists() and (folder / "model.nir").exists():
        return folder, load_metrics(folder)
    model_cfg, dense_cfg, train_cfg = configs(spec)
    metrics = run_method(
        spec.method,
        dataset=dataset_of(spec) if spec.events else spec.dataset,
        budget=budget,
        model_cfg=model_cfg,
        train_cfg=train_cfg,
        seed=spec.seed,
        out_dir=folder,
        options=spec.options,
        dense_cfg=dense_cfg,
        data_dir=spec.data_dir,
        cache_dir=cache / "dense",
        progress=progress,
    )
    return folder, metrics


def chip_inputs(spec: RunSpec, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Test set as chip input spikes uint8 [steps, samples, inputs] and the labels: static images
    rate-coded, event frames as they are."""
    import torch

    from compress.encoding import encode

    data = dataset_of(spec)
    x, y = data.x_test, data.y_test
    if spec.samples is not None:
        x, y = x[: spec.samples], y[: spec.samples]
    if data.steps is not None:
        frames = np.ascontiguousarray(np.swapaxes(x, 0, 1))  # [T, N, ...]
        return frames.reshape(data.steps, len(x), -1).astype(np.uint8), np.asarray(y)
    generator = torch.Generator().manual_seed(spec.seed + INPUT_SEED_OFFSET)
    spikes = encode(torch.as_tensor(x), steps, "rate", generator).numpy()
    return spikes.reshape(steps, len(x), -1).astype(np.uint8), np.asarray(y)


def nearest_budget(fit) -> dict:
    """What a chip would need to hold this network: for every resource over its limit, the largest need,
    plus the cores and chips the placement used."""
    needs = {}
    for v in fit.violations:
        current = needs.get(v.constraint)
        if current is None or v.need > current["need"]:
            needs[v.constraint] = {"need": v.need, "limit": v.limit}
    return {"resources": needs, "cores_needed": fit.cores_used, "chips_needed": fit.chips_needed}


def on_chip_budget(fit, cores: int | None) -> dict[str, bool]:
    """The mapper's verdict as budget_met entries: ``map:<constraint>`` False for each limit broken, and
    ``map:cores`` for using more than ``cores`` cores."""
    met = {f"map:{v.constraint}": False for v in fit.violations}
    if cores is not None:
        met["map:cores"] = fit.cores_used <= cores and "map:cores" not in met
    return met


def model_size(metrics: dict, budget) -> dict:
    """Parameters, nonzero weights, distinct values and the weight storage in bits (nonzero weights x the
    weight bits; 32 for float; synapse addressing overhead is the chip's and is in the fit report)."""
    bits = budget.weight_bits or 32
    return {
        "parameters": metrics["weights"],
        "nonzero": metrics["nonzero"],
        "sparsity": metrics["sparsity"],
        "neurons_used": metrics["neurons_used"],
        "distinct_per_group_max": metrics["distinct_per_group_max"],
        "weight_bits": bits,
        "weight_storage_bits": metrics["nonzero"] * bits,
        "distinct_per_layer": {name: layer["distinct_in_layer"] for name, layer in metrics["layers"].items()},
    }


def core_utilization(fit) -> np.ndarray:
    """Per global core, the largest use/limit ratio over the resources with a per-core limit."""
    n = max((len(u) for u in fit.usage.values()), default=0)
    ratio = np.zeros(n)
    for name, use in fit.usage.items():
        if name.endswith("_limit"):
            continue
        limit = fit.usage.get(f"{name}_limit")
        if limit is None:
            limit = fit.limits.get(name)
        if limit is None:
            continue
        limit = np.broadcast_to(np.asarray(limit, dtype=float), use.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(limit > 0, use / limit, 0.0)
        ratio[: len(r)] = np.maximum(ratio[: len(r)], r)
    return ratio


def pipeline_note(steps: int, pipeline: int) -> list[str]:
    """The report's note on the steps the chip's synaptic delays added (none without delays)."""
    if not pipeline:
        return []
    return [f"the chip's synaptic delays put the output {pipeline} steps behind the input: simulated "
            f"{steps} + {pipeline} steps (silence after the input) so the output sees every input step"]


def counters_report(activity, net) -> dict:
    """report.json's ``counters``: per population per inference, and NeuroBench's whole-network figures."""
    from chipsim.activity import neurobench_totals, population_counters

    rows = population_counters(activity, net)
    return {"per_population": rows, "neurobench": neurobench_totals(rows, activity.steps)}


@dataclass(frozen=True)
class OnChip:
    """The chip's side of a report: what simulating ``spikes`` on the placed network measured."""

    activity: object  # chipsim.simulate's Activity over the whole input
    pipeline: int  # steps the chip's synaptic delays add (simulated as silence after the input)
    report: dict  # report.json's fit, latency, spikes, synops, energy, counters, quantization, notes
    raster: dict  # population -> [steps, neurons] spikes of input sample 0 (the raster plot)


def on_chip(net, placement, profile, spikes: np.ndarray, routes=None) -> OnChip:
    """Simulate uint8 input ``spikes`` [T, samples, inputs] on the placed network for T + the pipeline's
    steps, price it on ``profile`` and give the report's chip figures (per inference = per sample).
    ``routes``: the placement's, where already routed (chipsim.cache); routed here otherwise, once."""
    from chipsim.cost import cost
    from chipsim.network import pipeline_steps
    from chipsim.simulate import prepare, simulate
    from harness.commands.map import map_report

    steps = int(spikes.shape[0])
    # the chip's synaptic delays put the output pipeline_steps behind the input: run that much longer
    # (silence after the input), so the output sees all T input steps, as the float model does
    pipeline = pipeline_steps(net)
    prepared = prepare(net, placement, routes)
    activity = simulate(prepared, None, spikes, steps=steps + pipeline)
    priced = cost(activity, placement, profile, net)
    raster = simulate(prepared, None, spikes[:, :1], steps=steps + pipeline, record_raster=True).raster

    samples = activity.batch
    populations = [p.name for p in net.populations]
    spikes_by_layer = {
        name: float(c.sum() / samples) for name, c in zip(populations, activity.spike_counts, strict=True)
    }
    spikes_by_layer[populations[0]] = float(spikes.sum() / samples)  # the host's input spikes
    fit = map_report(net, placement)
    fit.pop("quantization")
    for resource in fit["resources"].values():
        resource.pop("per_core")
    report = {
        "fit": fit | {"nearest_budget": None if placement.fit.fits else nearest_budget(placement.fit)},
        "latency": {
            "per_inference_s": priced.latency_s,
            "throughput_per_s": priced.throughput_per_s,
            "per_step_s": priced.latency_step_s,
            "compute_step_s": priced.compute_step_s,
            "network_step_s": priced.network_step_s,
            "barrier_s": priced.barrier_s,
            "traced_samples": priced.traced_samples,
        },
        "spikes": {
            "per_inference_by_layer": spikes_by_layer,
            "per_inference": float(sum(v for k, v in spikes_by_layer.items() if k != populations[0])),
        },
        "synops": {
            "per_inference_on_chip": activity.total("synops") / samples,
            "packets_per_inference": activity.total("packets_out") / samples,
            "hops_per_inference": (activity.total("hops_ew") + activity.total("hops_ns")) / samples,
        },
        "energy": {
            "per_inference_j": priced.energy_j,
            "dynamic_j": priced.dynamic_j,
            "dynamic_known_j": priced.dynamic_known_j,
            "static_j": priced.static_j,
            "static_model": priced.static_model,
            "total_j": priced.total_j,
            "total_known_j": priced.total_known_j,
            "unknown": list(priced.unknown),
        },
        "counters": counters_report(activity, net),
        "quantization": [dataclasses.asdict(q) for q in net.quantization],
        "notes": list(priced.notes) + pipeline_note(steps, pipeline),
    }
    raster_of = {name: r[:, 0] for name, r in zip(populations[1:], raster[1:], strict=True)}
    return OnChip(activity=activity, pipeline=pipeline, report=report, raster=raster_of)


def run(spec: RunSpec, out: Path, *, cache: Path = DEFAULT_CACHE, progress: bool = True,
        compress_with=None, extra: dict | None = None) -> dict:
    """Run one cell and write report.json, report.md and the plots into ``out``; return the report.

    ``compress_with(budget) -> (folder, metrics)`` replaces the compression of chipfit's own dense model
    (harness.user_model: a user's NIR model); ``extra`` is merged into the report (its ``accuracy`` too).
    """
    import hwprofiles
    from chipsim.cache import compiled_placed_and_routed
    from compress import methods
    from harness import report as reports

    began = time.perf_counter()
    profile = hwprofiles.load(spec.profile)
    methods.require(spec.method)
    budget = budget_for(spec, profile)
    if compress_with is None:
        folder, metrics = compressed_model(spec, budget, cache, progress)
    else:
        folder, metrics = compress_with(budget)
    compressed_s = time.perf_counter() - began

    net, placement, routes, _ = compiled_placed_and_routed(folder / "model.nir", profile,
                                                           strategy=spec.strategy)
    steps = int(metrics["train"]["steps"])
    spikes, labels = chip_inputs(spec, steps)
    chip = on_chip(net, placement, profile, spikes, routes)
    counts = chip.activity.output_spikes.sum(axis=0)  # [samples, classes]
    samples = chip.activity.batch
    report = {
        "schema": REPORT_SCHEMA,
        "version": REPORT_VERSION,
        "spec": spec.to_dict(),
        "profile": {"name": profile.name, "path": profile.path, "fixed_point": profile.fixed_point},
        "budget": dataclasses.asdict(budget),
        "accuracy": {
            "float": metrics["accuracy_dense"],
            "exported": metrics["accuracy"],
            "on_chip": float((counts.argmax(axis=1) == labels).mean()),
            "samples": samples,
            "steps": steps,
            "pipeline_steps": chip.pipeline,
            "steps_on_chip": steps + chip.pipeline,
        },
        **chip.report,
        "synops": chip.report["synops"] | {"per_inference_torch": metrics["synops_per_sample"]},
        "model": model_size(metrics, budget),
        "compression": {
            "method": metrics["method"],
            "epochs": metrics["epochs"],
            "wall_time_s": metrics["wall_time_s"],
            "accuracy_method": metrics.get("accuracy_method"),
            "budget_met": metrics["budget_met"] | on_chip_budget(placement.fit, spec.cores),
            "cached_in": str(folder),
        },
        "timing_s": {"compress": compressed_s, "total": time.perf_counter() - began},
    }
    for key, value in (extra or {}).items():
        report[key] = report[key] | value if isinstance(report.get(key), dict) else value
    report = to_jsonable(report)
    reports.write(report, out, placement=placement, utilization=core_utilization(placement.fit),
                  raster=chip.raster)
    return report
