"""Bring your own model: `harness run --nir MODEL.nir` compresses a network trained elsewhere to fit a chip.

The graph is read through the import dialects (chipsim.nir_read: snnTorch, sinabs, Norse, Rockpool, Spyx,
canonical NIR), turned into compress's trainable model (compress.nir_io.from_foreign_nir), and checked on
the run's own chip inputs (the rate-coded test split, seed + INPUT_SEED_OFFSET) against the graph's float
simulation (chipsim on generic-45nm, the dialect's integrator). It then replaces chipfit's dense model in
harness.run: the method compresses it exactly as it would chipfit's own, and the run maps, simulates and
prices it. The report's ``accuracy.float`` is the user's model as given, on those inputs.

``--dataset none`` (post-training methods only): the method compresses the model to the chip's budget
without data (epochs 0), and the report gives fit, spikes and energy on the user's ``--input`` spikes, with
accuracy unknown. The glue lives here, not in compress: compress never imports chipsim (DESIGN.md).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from hwprofiles.errors import UserError

REFERENCE_PROFILE = "generic-45nm"
ENCODINGS = ("rate", "direct", "events")
NO_DATA_METHODS = ("ptq", "kmeans", "magnitude")


class UserModelError(UserError):
    """Bad input to the user-model path: one line, exit 2."""


def load(path, source: str = "auto", input_shape=None, *, quiet: bool = False):
    """(Imported graph, trainable SpikingNet) of ``path`` read as ``source`` says."""
    from chipsim import nir_read
    from compress.nir_io import from_foreign_nir

    imported = nir_read.load(path, source)
    if not quiet:
        print(f"{path}: {imported.convention.describe()}")
        for warning in imported.warnings:
            print(f"warning: {warning}")
    model = from_foreign_nir(imported.graph, integrator=imported.convention.integrator,
                             input_shape=input_shape)
    return imported, model


def torch_counts(model, spikes: np.ndarray) -> np.ndarray:
    """Output spike counts [samples, classes] of ``model`` on chip input spikes [T, samples, inputs]."""
    import torch

    x = torch.as_tensor(spikes, dtype=torch.float32)
    x = x.reshape(x.shape[0], x.shape[1], *model.input_shape)
    model.eval()
    with torch.no_grad():
        return model(x).sum(0).numpy()


def graph_counts(imported, spikes: np.ndarray) -> np.ndarray:
    """Output spike counts [samples, classes] of the graph's own float simulation (chipsim, generic-45nm)."""
    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.place import place
    from chipsim.simulate import simulate

    profile = hwprofiles.load(REFERENCE_PROFILE)
    net = compile_graph(imported.graph, profile, integrator=imported.convention.integrator)
    return simulate(net, place(net, profile, "greedy"), spikes).output_spikes.sum(axis=0)


def float_check(imported, model, spikes: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy of the imported torch model and of the graph's float simulation on the same inputs."""
    ours, theirs = torch_counts(model, spikes), graph_counts(imported, spikes)
    return {
        "model": float((ours.argmax(1) == labels).mean()),
        "graph_float_reference": float((theirs.argmax(1) == labels).mean()),
        "output_counts_max_difference": float(np.abs(ours - theirs).max()),
        "samples": int(len(labels)),
    }


def _file_key(path, *parts) -> str:
    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _require_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise UserModelError(f"--encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if encoding != "rate":
        raise UserModelError(f"--encoding {encoding}: harness run feeds the chip rate-coded spikes only "
                             "(direct and events inputs are not implemented for --nir yet)")


def run(spec, nir_path, out: Path, *, source: str = "auto", encoding: str = "rate",
        cache: Path = Path(".cache/chipfit"), progress: bool = True) -> dict:
    """harness.run.run with the user's model in place of chipfit's dense one."""
    from compress.data import load_dataset
    from compress.pipeline import load_metrics, run_method, train_configs
    from harness import run as cells

    _require_encoding(encoding)
    data = load_dataset(spec.dataset, spec.data_dir, spec.seed)
    imported, model = load(nir_path, source, data.input_shape)
    if model.n_classes != data.n_classes:
        raise UserModelError(f"{nir_path}: the graph has {model.n_classes} outputs; {spec.dataset} has "
                             f"{data.n_classes} classes")
    _, train_cfg = train_configs(spec.seed, steps=spec.steps, epochs=spec.epochs)
    steps = train_cfg.steps
    spikes, labels = cells.chip_inputs(spec, steps)
    check = float_check(imported, model, spikes, labels)
    if check["model"] != check["graph_float_reference"]:
        print(f"warning: the imported model's accuracy {check['model']:.4f} differs from the graph's float "
              f"simulation {check['graph_float_reference']:.4f}")

    def compress_with(budget):
        key = _file_key(nir_path, source, spec.to_dict(), dataclasses.asdict(budget))
        folder = cache / "compressed" / f"user-{spec.method}-{key}"
        if (folder / "metrics.json").exists() and (folder / "model.nir").exists():
            return folder, load_metrics(folder)
        metrics = run_method(spec.method, dataset=data, budget=budget, model_cfg=model.config,
                             train_cfg=train_cfg, seed=spec.seed, out_dir=folder, options=spec.options,
                             progress=progress, dense=copy.deepcopy(model))
        return folder, metrics

    extra = {
        "accuracy": {"float": check["model"], "float_check": check},
        "input": {"nir": str(nir_path), "read_as": imported.convention.describe(), "encoding": encoding,
                  "steps": steps, "warnings": list(imported.warnings)},
    }
    return cells.run(spec, out, cache=cache, progress=progress, compress_with=compress_with, extra=extra)


def read_input(path, n_inputs: int) -> np.ndarray:
    """Input spikes [T, batch, n_inputs] from ``path`` (.npz, key 'input' or its only array: [T, *shape] or
    [T, batch, *shape])."""
    path = Path(path)
    if not path.is_file():
        raise UserModelError(f"--input file not found: {path}")
    with np.load(path) as archive:
        keys = list(archive.keys())
        if "input" not in keys and len(keys) != 1:
            raise UserModelError(f"{path}: expected an array 'input', found {keys}")
        x = np.asarray(archive["input" if "input" in keys else keys[0]], dtype=np.float64)
    if x.ndim >= 2 and int(np.prod(x.shape[1:])) == n_inputs:
        return x.reshape(x.shape[0], 1, n_inputs)
    if x.ndim >= 3 and int(np.prod(x.shape[2:])) == n_inputs:
        return x.reshape(x.shape[0], x.shape[1], n_inputs)
    raise UserModelError(f"{path}: input shape {list(x.shape)}; the graph takes {n_inputs} inputs per step "
                         "([T, inputs] or [T, batch, inputs])")


def run_no_data(nir_path, profile_name: str, method: str, input_path, out: Path, *, source: str = "auto",
                seed: int = 0, bits=None, unique=None, sparsity=None, options=None,
                strategy: str = "greedy") -> dict:
    """--dataset none: compress to the chip's budget without data; fit, spikes and energy on the input.

    The report has run's keys (harness.run.on_chip: the same simulation, pipeline steps included, the same
    pricing and counters), with the accuracies None and ``accuracy.unknown`` saying why."""
    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.place import place
    from compress import methods
    from compress.files import to_jsonable
    from compress.nir_io import to_nir
    from compress.pipeline import weight_stats
    from compress.train import TrainConfig, seed_everything
    from harness import report as reports
    from harness.run import REPORT_SCHEMA, REPORT_VERSION, RunSpec, budget_for, core_utilization, model_size
    from harness.run import on_chip as measure_on_chip

    if method not in NO_DATA_METHODS:
        raise UserModelError(f"--dataset none takes a post-training method ({', '.join(NO_DATA_METHODS)}), "
                             f"got {method!r}")
    if input_path is None:
        raise UserModelError("--dataset none needs --input SPIKES.npz (inputs to measure spikes and energy)")
    profile = hwprofiles.load(profile_name)
    imported, model = load(nir_path, source)
    spikes = read_input(input_path, int(np.prod(model.input_shape)))
    spec = RunSpec(profile=profile_name, method=method, dataset="none", seed=seed, sparsity=sparsity,
                   bits=bits, unique=unique, epochs=0, steps=spikes.shape[0], strategy=strategy,
                   options=options or {})
    budget = budget_for(spec, profile)
    seed_everything(seed)
    try:
        result = methods.get(method, **(options or {})).compress(
            model, None, budget, TrainConfig(epochs=0, steps=spikes.shape[0], seed=seed, device="cpu"))
    except (AttributeError, TypeError) as error:
        raise UserModelError(f"--dataset none: method {method} needs data with these options "
                             f"({type(error).__name__}: {error})") from None
    net = compile_graph(to_nir(result.model), profile)
    placement = place(net, profile, strategy)
    chip = measure_on_chip(net, placement, profile, spikes)
    steps = int(spikes.shape[0])
    report = to_jsonable({
        "schema": REPORT_SCHEMA, "version": REPORT_VERSION, "spec": spec.to_dict(),
        "profile": {"name": profile.name, "path": profile.path, "fixed_point": profile.fixed_point},
        "budget": dataclasses.asdict(budget),
        "accuracy": {"float": None, "exported": None, "on_chip": None, "samples": chip.activity.batch,
                     "steps": steps, "pipeline_steps": chip.pipeline, "steps_on_chip": steps + chip.pipeline,
                     "unknown": "--dataset none: no labels"},
        "input": {"nir": str(nir_path), "read_as": imported.convention.describe(), "encoding": "events",
                  "steps": steps, "file": str(input_path), "warnings": list(imported.warnings)},
        **chip.report,
        "model": model_size(weight_stats(result.model, budget), budget),
    })
    reports.write(report, out, placement=placement, utilization=core_utilization(placement.fit),
                  raster=chip.raster)
    return report
