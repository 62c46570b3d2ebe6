"""The one path every compression method runs through: dense model (trained once, cached) -> method ->
measured on exactly the weights it exports -> model.pt, model.nir, metrics.json.

Every figure in metrics.json is computed here from the compressed model's actual weights and activity,
never taken on trust from the method, and on the model after :func:`compress.deploy.deploy` put it on the
chip's grid. Sparsity accounting: all synaptic layers' weights are prunable (biases excluded); ``sparsity`` =
zero weights / all weights. A neuron is *used* when it has at least one nonzero incoming weight (a compiler
drops the others); output neurons always count. A conv layer's neurons are its output channels x output
positions (what the chip holds), not its channels. Distinct values are counted per group of the budget's
scope (whole layer when the budget has none); zero is counted unless the budget says it is free
(``Budget.zero_free``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import pathlib
import time

import numpy as np

from compress.codebook import as_rows, layer_groups, qmax
from compress.data import Dataset, load_dataset
from compress.deploy import deploy
from compress.files import write_atomic, write_json_atomic
from compress.fold import has_batchnorm, without_batchnorm
from compress.method import Budget, CompressResult
from compress.models import ModelConfig, SpikingNet, build_model
from compress.train import TrainConfig, evaluate, fit, progress_shown, save_checkpoint, seed_everything

DEFAULT_CACHE_DIR = pathlib.Path(".cache/chipfit/dense")
GRID_TOLERANCE = 1e-4  # relative distance from an integer multiple of the scale still counted "on grid"


METHOD_EPOCHS = 10  # a method's training budget when none is given


def train_configs(seed: int, *, steps: int | None = None, epochs: int | None = None,
                  dense_epochs: int | None = None, device: str = "auto") -> tuple[TrainConfig, TrainConfig]:
    """(dense model's config, method's config): TrainConfig's defaults (what `harness train` uses) with
    the given steps; the dense model trains ``dense_epochs`` (default: TrainConfig's), the method
    ``epochs`` (default METHOD_EPOCHS)."""
    base = TrainConfig(seed=seed, device=device)
    if steps is not None:
        base = dataclasses.replace(base, steps=steps)
    dense_cfg = base if dense_epochs is None else dataclasses.replace(base, epochs=dense_epochs)
    return dense_cfg, dataclasses.replace(base, epochs=METHOD_EPOCHS if epochs is None else epochs)


def dense_key(dataset_name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, seed: int) -> str:
    """Hash of everything that determines the dense model (the device excluded)."""
    train = dataclasses.asdict(train_cfg)
    train.pop("device")
    blob = json.dumps({"dataset": dataset_name, "model": model_cfg.to_dict(), "train": train, "seed": seed},
                      sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def dense_model(dataset_name: str | Dataset, model_cfg: ModelConfig, train_cfg: TrainConfig, seed: int,
                cache_dir: str | pathlib.Path | None = None, *, data_dir: str | None = None,
                progress: bool = True) -> SpikingNet:
    """The dense starting model, trained once and cached at ``cache_dir/dense-<hash>.pt``.

    The cache is fit's own checkpoint (atomic, resumable): a finished one trains nothing more.
    """
    dataset = (dataset_name if isinstance(dataset_name, Dataset)
               else load_dataset(dataset_name, data_dir, seed))
    train_cfg = dataclasses.replace(train_cfg, seed=seed)
    cache = pathlib.Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    size = f"[{len(dataset.x_train)},{len(dataset.x_test)}]"
    if dataset.variant:  # event frames: how they were binned
        size += f"[{dataset.variant}]"
    if dataset.files:  # read from a folder: which files, as they are now
        size += f"[{dataset.files}]"
    key = dense_key(dataset.name + size, model_cfg, train_cfg, seed)
    seed_everything(seed)
    model = build_model(model_cfg, dataset.input_shape, dataset.n_classes)
    fit(model, dataset, train_cfg, checkpoint_path=cache / f"dense-{key}.pt", label="dense",
        progress=progress)
    return model


def positions_per_row(model: SpikingNet) -> dict[str, int]:
    """Neurons each row (output neuron or channel) of every synaptic layer stands for: 1 for Linear,
    the output positions H x W for Conv2d (from one forward pass of a zero input)."""
    import torch

    shapes: dict[str, tuple] = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, o.shape))
             for name, layer in model.synaptic_layers()]
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, 1, *model.input_shape, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return {name: int(np.prod(shape[2:])) if len(shape) > 2 else 1 for name, shape in shapes.items()}


def weight_stats(model: SpikingNet, budget: Budget, scales: dict[str, float] | None = None) -> dict:
    """Nonzeros, sparsity, used neurons, fan-in/out and distinct values per group, per layer and in total."""
    layers: dict[str, dict] = {}
    total = nonzero = 0
    neurons = 0
    max_distinct = 0
    fan_in = fan_out = 0
    synaptic = model.synaptic_layers()
    positions = positions_per_row(model)
    for index, (name, layer) in enumerate(synaptic):
        rows = as_rows(layer.weight.detach().cpu()).numpy()
        groups = layer_groups(layer, budget.unique_scope, budget.neurons_per_core)
        distinct = _distinct(rows, groups, count_zero=not budget.zero_free)
        n_nonzero = int(np.count_nonzero(rows))
        is_output = index == len(synaptic) - 1
        per_row = positions[name]
        used_rows = rows.shape[0] if is_output else int(np.count_nonzero(np.any(rows != 0, axis=1)))
        used = used_rows * per_row
        layer_fan_in = int(np.count_nonzero(rows, axis=1).max())
        layer_fan_out = int(np.count_nonzero(rows, axis=0).max()) if rows.ndim == 2 and per_row == 1 else 0
        fan_in, fan_out = max(fan_in, layer_fan_in), max(fan_out, layer_fan_out)
        stats = {"weights": int(rows.size), "nonzero": n_nonzero, "sparsity": 1.0 - n_nonzero / rows.size,
                 "neurons": int(rows.shape[0] * per_row), "neurons_used": used,
                 "fan_in_max": layer_fan_in, "fan_out_max": layer_fan_out,
                 "distinct_per_group_max": int(distinct.max()),
                 "distinct_per_group_mean": float(distinct.mean()),
                 "distinct_in_layer": int(len(np.unique(rows)))}
        if scales and name in scales and budget.weight_bits is not None:
            ratio = rows / scales[name]
            stats["on_grid"] = bool(np.all(np.abs(ratio - np.round(ratio)) <= GRID_TOLERANCE)
                                    and np.all(np.abs(np.round(ratio)) <= qmax(budget.weight_bits)))
        layers[name] = stats
        total, nonzero, neurons = total + rows.size, nonzero + n_nonzero, neurons + used
        max_distinct = max(max_distinct, int(distinct.max()))
    return {"layers": layers, "weights": total, "nonzero": nonzero, "sparsity": 1.0 - nonzero / max(total, 1),
            "neurons_used": neurons, "distinct_per_group_max": max_distinct, "fan_in_max": fan_in,
            "fan_out_max": fan_out, "inputs": int(np.prod(model.input_shape)),
            "outputs": int(model.n_classes)}


def _distinct(rows: np.ndarray, groups: np.ndarray, *, count_zero: bool) -> np.ndarray:
    counts = np.zeros(int(groups.max()) + 1, dtype=np.int64)
    for g in range(len(counts)):
        values = np.unique(rows[groups == g])
        counts[g] = len(values) - (0 if count_zero else int(np.any(values == 0)))
    return counts


def energy_estimate(evaluation, model: SpikingNet, budget: Budget, steps: int) -> float | None:
    """Dynamic energy per inference priced with the budget's per-operation figures, J:
    synops x synapse_op_j + neurons x steps x neuron_update_j + spikes x spike_out_j (every neuron update
    counted active: an upper bound of chipsim's active/idle split). None if a needed figure is unknown."""
    spikes = float(sum(evaluation.spikes_per_layer.values()))
    neurons = sum(int(np.prod(s.shape[2:])) for s in model.last_spikes.values()) if model.last_spikes else 0
    terms = [(evaluation.synops_per_sample, budget.synapse_op_j), (neurons * steps, budget.neuron_update_j),
             (spikes, budget.spike_out_j)]
    if any(count > 0 and price is None for count, price in terms):
        return None
    return float(sum(count * price for count, price in terms if price is not None))


def budget_met(stats: dict, budget: Budget, energy_j: float | None = None) -> dict[str, bool]:
    """For each limit the budget sets: does the model meet it? (An energy budget with unknown prices is
    not met: nothing shows it is.)"""
    met: dict[str, bool] = {}
    if budget.sparsity is not None:
        met["sparsity"] = stats["sparsity"] >= budget.sparsity - 1e-9
    if budget.unique_weights is not None:
        met["unique_weights"] = stats["distinct_per_group_max"] <= budget.unique_weights
    if budget.max_neurons is not None:
        met["max_neurons"] = stats["neurons_used"] <= budget.max_neurons
    if budget.max_synapses is not None:
        met["max_synapses"] = stats["nonzero"] <= budget.max_synapses
    on_grid = [s["on_grid"] for s in stats["layers"].values() if "on_grid" in s]
    if budget.weight_bits is not None and on_grid:
        met["weight_bits"] = all(on_grid)
    if budget.fan_in_per_neuron is not None:
        met["fan_in_per_neuron"] = stats["fan_in_max"] <= budget.fan_in_per_neuron
    if budget.fan_out_per_neuron is not None:
        met["fan_out_per_neuron"] = stats["fan_out_max"] <= budget.fan_out_per_neuron
    if budget.max_input_channels is not None:
        met["max_input_channels"] = stats["inputs"] <= budget.max_input_channels
    if budget.max_output_neurons is not None:
        met["max_output_neurons"] = stats["outputs"] <= budget.max_output_neurons
    if budget.energy_per_inference_j is not None:
        met["energy_per_inference_j"] = energy_j is not None and energy_j <= budget.energy_per_inference_j
    return met


def _nir_metadata(model: SpikingNet, result: CompressResult) -> None:
    """Put codebooks, masks and grid scales on each layer's ``nir_metadata`` (to_nir copies it)."""
    scales = result.extra.get("layer_scales", {})
    for name, layer in model.synaptic_layers():
        meta = dict(getattr(layer, "nir_metadata", {}) or {})
        if name in result.codebooks:
            meta["codebook"] = np.asarray(result.codebooks[name]).tolist()
        if name in result.masks:
            meta["mask"] = np.asarray(result.masks[name]).astype(np.int8).tolist()
        if name in scales:
            meta["weight_scale"] = float(scales[name])
        meta["compression"] = result.method
        layer.nir_metadata = meta


def run_method(method_name: str, *, dataset: str | Dataset, budget: Budget, model_cfg: ModelConfig,
               train_cfg: TrainConfig, seed: int, out_dir: str | pathlib.Path, options: dict | None = None,
               dense_cfg: TrainConfig | None = None, data_dir: str | None = None,
               cache_dir: str | pathlib.Path | None = None, progress: bool = True,
               dense: SpikingNet | None = None) -> dict:
    """Compress the cached dense model with ``method_name`` under ``budget``, project the result onto the
    chip's grid (:func:`compress.deploy.deploy`); write and return the metrics of that final model
    (``accuracy``; ``accuracy_method`` is the method's own model before the projection).

    ``dense``: a model to start from in place of the cached dense one (a user's model, `harness run --nir`).

    ``train_cfg.epochs`` is the method's training budget; ``dense_cfg`` trains the dense model (default:
    ``train_cfg``). Writes ``out_dir``/model.pt (a checkpoint :func:`compress.train.load_model` reads),
    model.nir and metrics.json, each atomically.
    """
    from compress import methods

    method = methods.get(method_name, **(options or {}))
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_dir, seed)
    train_cfg = dataclasses.replace(train_cfg, seed=seed)
    if dense is None:
        dense = dense_model(data, model_cfg, dense_cfg or train_cfg, seed, cache_dir, progress=progress)
    else:
        model_cfg = dense.config
    dense_eval = evaluate(dense, data, train_cfg)
    model = without_batchnorm(dense) if has_batchnorm(dense) else copy.deepcopy(dense)  # compress what ships
    seed_everything(seed)
    began = time.perf_counter()
    with progress_shown(progress):
        result: CompressResult = method.compress(model, data, budget, train_cfg)
    wall_s = time.perf_counter() - began
    compressed = result.model
    method_eval = evaluate(compressed, data, train_cfg)
    projection = deploy(compressed, budget, result.extra.get("layer_scales"), seed)
    if budget.weight_bits is not None:
        result.extra["layer_scales"] = projection["layer_scales"]
    evaluation = evaluate(compressed, data, train_cfg)
    stats = weight_stats(compressed, budget, result.extra.get("layer_scales"))
    energy_j = energy_estimate(evaluation, compressed, budget, train_cfg.steps)
    metrics = {
        "method": result.method, "options": options or {}, "budget": dataclasses.asdict(budget),
        "dataset": data.name, "seed": seed, "model": model_cfg.to_dict(),
        "train": {k: v for k, v in dataclasses.asdict(train_cfg).items() if k != "device"},
        "accuracy_dense": dense_eval.accuracy, "accuracy_method": method_eval.accuracy,
        "accuracy": evaluation.accuracy,
        "deploy": {k: v for k, v in projection.items() if k != "layer_scales"},
        "energy_per_inference_j_estimate": energy_j,
        "budget_met": budget_met(stats, budget, energy_j),
        **{k: v for k, v in stats.items() if k != "layers"},
        "layers": stats["layers"],
        "spikes_per_sample": evaluation.spikes_per_layer, "synops_per_sample": evaluation.synops_per_sample,
        "synops_per_layer": evaluation.synops_per_layer,
        "dense_synops_per_sample": evaluation.dense_synops_per_sample,
        "synops_per_sample_dense_model": dense_eval.synops_per_sample,
        "epochs": result.epochs, "wall_time_s": wall_s, "extra": result.extra,
    }
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / "model.pt", {"model_state": compressed.state_dict(),
                                       "model_config": compressed.config.to_dict(),
                                       "input_shape": compressed.input_shape,
                                       "n_classes": compressed.n_classes,
                                       "method": result.method})
    _nir_metadata(compressed, result)
    _save_nir_atomic(compressed, out / "model.nir")
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def _save_nir_atomic(model: SpikingNet, path: pathlib.Path) -> None:
    from compress.nir_io import save_nir

    write_atomic(path, lambda tmp: save_nir(model, tmp), suffix=".nir")


def load_metrics(out_dir: str | pathlib.Path) -> dict:
    """metrics.json of a finished run."""
    with open(pathlib.Path(out_dir) / "metrics.json") as handle:
        return json.load(handle)

