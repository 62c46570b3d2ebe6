"""Train spiking networks by backpropagation through time, and measure them (accuracy, spikes, synops).

BPTT with surrogate gradients (Neftci, Mostafa & Zenke, IEEE SPM 2019). Loss: cross-entropy on the output
spike counts over T, read as logits (the count-based readout the chip uses; Shrestha & Orchard's and
snnTorch's count losses are the alternatives); ``COUNT_LOGIT_SCALE`` (1.0) scales counts into logits
(0.5 trained slightly worse on digits).

Synaptic operations follow NeuroBench (Yik et al., Nat. Commun. 2025; ``SynapticOperations``): every weight
layer is re-run on a binarized copy (nonzero weight -> 1, no bias) with binarized inputs (nonzero -> 1);
the summed output is the effective op count, summed over steps and averaged per sample. Layers whose
inputs are all in {0, 1} count accumulates (ACs), others multiply-accumulates (MACs): with ``direct``
encoding the first layer is a MAC layer. Dense synops use all-ones weights and inputs.

Speed: on CPU a model under ``SMALL_MODEL_PARAMS`` parameters trains and evaluates with one torch thread
(its matrices are too small to share; on a busy 2-core machine 2 threads cost 5x the CPU time).

Devices: ``device='auto'`` trains on CUDA when torch sees a GPU, else on the CPU. On CUDA the forward
pass runs under bf16 autocast (``amp``, Micikevicius et al., ICLR 2018 for mixed precision; bf16 needs no
loss scaling): the conv and linear layers compute in bf16, while every neuron's membrane update, the
threshold test and the loss stay in float32 (:class:`compress.models.SpikingNet` casts each neuron's input
up), so a spike is decided at float32 precision. Evaluation always runs in float32. The CPU path has no
autocast. The GPU path is untested here (no GPU in the development session).

Determinism: every epoch draws its shuffle and its input spikes from generators seeded by
(seed, epoch), so a run resumed from a checkpoint continues exactly as an uninterrupted one (on CPU).
"""

from __future__ import annotations

import contextvars
import math
import pathlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from compress.data import Dataset
from compress.encoding import ENCODINGS, encode
from compress.files import write_atomic
from compress.models import ModelConfig, SpikingNet, build_model, predict, spike_counts
from hwprofiles.errors import UserError

COUNT_LOGIT_SCALE = 1.0
SMALL_MODEL_PARAMS = 200_000
EVAL_SEED_OFFSET = 7919  # test-time input spikes use a stream distinct from any training epoch's


class CheckpointError(UserError):
    """A checkpoint that is unreadable or was written by a different configuration."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train: ``steps`` is T (time steps per sample); ``lr`` the initial learning rate."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    schedule: str = "cosine"
    steps: int = 16
    encoding: str = "rate"
    seed: int = 0
    device: str = "auto"
    weight_decay: float = 0.0
    amp: bool = True  # bf16 autocast of conv/linear layers when training on CUDA; no effect on the CPU

    def __post_init__(self):
        for name, value, known in (("optimizer", self.optimizer, ("adam", "sgd")),
                                   ("schedule", self.schedule, ("cosine", "none")),
                                   ("encoding", self.encoding, ENCODINGS),
                                   ("device", self.device, ("auto", "cpu", "cuda"))):
            if value not in known:
                raise ValueError(f"unknown {name} '{value}'; known: {', '.join(known)}")
        for name in ("epochs", "batch_size", "steps"):
            if getattr(self, name) < (0 if name == "epochs" else 1):
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based
    loss: float  # mean training loss
    train_accuracy: float
    lr: float
    wall_s: float


@dataclass
class TrainHistory:
    """What training did: one record per epoch (those restored from a checkpoint included)."""

    label: str
    epochs: list[EpochRecord] = field(default_factory=list)
    resumed_from_epoch: int = 0  # epochs already done in the checkpoint this run started from

    @property
    def wall_time_s(self) -> float:
        return float(sum(e.wall_s for e in self.epochs))


@dataclass(frozen=True)
class EvalResult:
    """Accuracy and activity on one split; per-sample means (synops summed over the T steps)."""

    accuracy: float
    spikes_per_layer: dict[str, float]
    synops_per_sample: float
    synops_per_layer: dict[str, float]
    dense_synops_per_sample: float
    op_kind_per_layer: dict[str, str] = field(default_factory=dict)  # 'AC' | 'MAC' (NeuroBench)
    n_samples: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU."""
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' asked for, but torch sees no CUDA device")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@contextmanager
def _threads_for(model: nn.Module, device: torch.device) -> Iterator[None]:
    """One torch thread for a small model on CPU (restored afterwards)."""
    before = torch.get_num_threads()
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMS
    if device.type == "cpu" and small and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _autocast(cfg: TrainConfig, device: torch.device):
    """bf16 autocast on CUDA (when ``cfg.amp`` and the GPU has bf16), else a no-op context."""
    from contextlib import nullcontext

    if cfg.amp and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def check_inputs(dataset: Dataset, cfg: TrainConfig) -> None:
    """An event dataset needs ``encoding='events'`` and T = its frames' steps; a static one any other."""
    if dataset.steps is not None and (cfg.encoding != "events" or cfg.steps != dataset.steps):
        raise UserError(f"dataset '{dataset.name}' holds event frames of {dataset.steps} steps: train with "
                        f"encoding 'events' and steps {dataset.steps} (got '{cfg.encoding}', {cfg.steps})")
    if dataset.steps is None and cfg.encoding == "events":
        raise UserError(f"dataset '{dataset.name}' holds static images: encoding 'events' needs an event "
                        "dataset")


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def loss_fn(output_spikes: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on output spike counts [T, B, n] read as logits (scaled by COUNT_LOGIT_SCALE)."""
    return F.cross_entropy(spike_counts(output_spikes) * COUNT_LOGIT_SCALE, target)


def predict_counts(model: SpikingNet, x: torch.Tensor, cfg: TrainConfig,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode ``x`` [B, ...] over ``cfg.steps`` steps, run the model, return output spike counts [B, n]."""
    with torch.no_grad():
        return spike_counts(model(encode(x, cfg.steps, cfg.encoding, generator)))


def _lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate for 0-based ``epoch``: cosine annealing to 0 (Loshchilov & Hutter)."""
    if cfg.schedule == "none":
        return cfg.lr
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(cfg.epochs, 1)))


def _optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _comparable(cfg: TrainConfig) -> dict:
    """The settings a resumed run must share with its checkpoint (epochs may grow; device may change)."""
    values = asdict(cfg)
    values.pop("epochs")
    values.pop("device")
    values.pop("amp")
    return values


def save_checkpoint(path: str | pathlib.Path, payload: dict) -> None:
    """Write ``payload`` with torch.save atomically (temporary file, then os.replace)."""
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def _read_checkpoint(path: pathlib.Path) -> dict:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a truncated or foreign file
        raise CheckpointError(f"{path}: not a readable chipfit checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or "model_state" not in payload or "model_config" not in payload:
        raise CheckpointError(f"{path}: not a chipfit checkpoint (no model_state/model_config)")
    return payload


def load_model(path: str | pathlib.Path) -> SpikingNet:
    """Rebuild the trained model stored in a checkpoint written by :func:`fit`."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at '{path}'")
    payload = _read_checkpoint(path)
    model = build_model(ModelConfig.from_dict(payload["model_config"]), tuple(payload["input_shape"]),
                        payload["n_classes"])
    model.load_state_dict(payload["model_state"])
    return model


def fit(model: SpikingNet, dataset: Dataset, cfg: TrainConfig, *,
        on_step: Callable[[SpikingNet, int], None] | None = None,
        extra_loss: Callable[[SpikingNet], torch.Tensor] | None = None,
        params: Iterable[torch.nn.Parameter] | None = None,
        checkpoint_path: str | pathlib.Path | None = None,
        label: str = "train", progress: bool | None = None) -> TrainHistory:
    """Train ``model`` in place on ``dataset.x_train`` for ``cfg.epochs`` epochs; return the history.

    ``on_step(model, step)`` runs after every optimizer step (methods apply masks or projections there);
    ``extra_loss(model)`` is added to the loss; ``params`` replaces ``model.parameters()`` in the optimizer.
    With ``checkpoint_path``, state is saved after every epoch and a run resumes from it when it exists.
    ``progress``: show a bar; None follows the innermost :func:`progress_shown` (default: shown).
    """
    check_inputs(dataset, cfg)
    device = resolve_device(cfg.device)
    model.to(device)
    optimizer = _optimizer(list(params) if params is not None else model.parameters(), cfg)
    history = TrainHistory(label)
    start = 0
    ckpt = pathlib.Path(checkpoint_path) if checkpoint_path is not None else None
    if ckpt is not None and ckpt.exists():
        payload = _read_checkpoint(ckpt)
        same_model = payload["model_config"] == model.config.to_dict()
        if payload.get("train_config") != _comparable(cfg) or not same_model:
            raise CheckpointError(f"{ckpt}: written with other settings; use another output folder or "
                                  "delete it to start over")
        done = len(payload["history"])
        if done > cfg.epochs:
            raise CheckpointError(f"{ckpt}: already trained {done} epochs, more than the {cfg.epochs} asked; "
                                  "use another output folder or delete it to start over")
        model.load_state_dict(payload["model_state"])
        optimizer.load_state_dict(payload["optimizer_state"])
        history.epochs = [EpochRecord(**e) for e in payload["history"]]
        start = history.resumed_from_epoch = done

    x_all = torch.as_tensor(dataset.x_train)
    y_all = torch.as_tensor(dataset.y_train)
    n = len(x_all)
    batches = math.ceil(n / cfg.batch_size)
    step = start * batches
    bar = _progress(progress)
    with bar, _threads_for(model, device):
        task = bar.add_task(label, total=(cfg.epochs - start) * batches)
        for epoch in range(start, cfg.epochs):
            began = time.perf_counter()
            lr = _lr_at(cfg, epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            order = torch.randperm(n, generator=_generator(torch.device("cpu"), cfg.seed * 100_003 + epoch))
            spikes_gen = _generator(device, cfg.seed * 100_003 + epoch)
            model.train()
            total_loss, correct = 0.0, 0
            for b in range(batches):
                index = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
                x, y = x_all[index].to(device, non_blocking=True), y_all[index].to(device)
                with _autocast(cfg, device):
                    out = model(encode(x, cfg.steps, cfg.encoding, spikes_gen))
                out = out.float()
                loss = loss_fn(out, y)
                if extra_loss is not None:
                    loss = loss + extra_loss(model)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                if on_step is not None:
                    on_step(model, step)
                total_loss += float(loss.detach()) * len(index)
                correct += int((predict(spike_counts(out.detach())) == y).sum())
                bar.update(task, advance=1, description=f"{label} epoch {epoch + 1}/{cfg.epochs} "
                           f"loss {total_loss / ((b * cfg.batch_size) + len(index)):.3f} "
                           f"acc {correct / ((b * cfg.batch_size) + len(index)):.3f}")
            history.epochs.append(EpochRecord(epoch + 1, total_loss / n, correct / n, lr,
                                              time.perf_counter() - began))
            if ckpt is not None:
                save_checkpoint(ckpt, {
                    "model_state": model.state_dict(), "optimizer_state": optimizer.state_dict(),
                    "model_config": model.config.to_dict(), "train_config": _comparable(cfg),
                    "input_shape": model.input_shape, "n_classes": model.n_classes,
                    "history": [asdict(e) for e in history.epochs], "label": label})
    model.eval()
    return history


_SHOW_PROGRESS = contextvars.ContextVar("chipfit_show_progress", default=True)


@contextmanager
def progress_shown(enabled: bool) -> Iterator[None]:
    """Within this block, every :func:`fit` not told otherwise shows its bar iff ``enabled``: how a caller
    (``run_method``, a sweep's worker) quiets the training loops of a method it does not configure."""
    token = _SHOW_PROGRESS.set(bool(enabled))
    try:
        yield
    finally:
        _SHOW_PROGRESS.reset(token)


def _progress(enabled: bool | None):
    if enabled is None:
        enabled = _SHOW_PROGRESS.get()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    disable=not enabled, transient=False)


def evaluate(model: SpikingNet, dataset: Dataset, cfg: TrainConfig, split: str = "test",
             batch_size: int = 256) -> EvalResult:
    """Accuracy, mean spikes per layer and NeuroBench synops per sample on ``split`` ('test'|'train')."""
    if split not in ("test", "train"):
        raise ValueError(f"unknown split '{split}'; known: test, train")
    check_inputs(dataset, cfg)
    x_all = torch.as_tensor(dataset.x_test if split == "test" else dataset.x_train)
    y_all = torch.as_tensor(dataset.y_test if split == "test" else dataset.y_train)
    device = resolve_device(cfg.device)
    model.to(device).eval()
    generator = _generator(device, cfg.seed + EVAL_SEED_OFFSET)
    correct = 0
    spikes: dict[str, float] = {}
    synops: dict[str, float] = {}
    binary: dict[str, bool] = {}
    with torch.no_grad(), _threads_for(model, device):
        for start in range(0, len(x_all), batch_size):
            x, y = x_all[start:start + batch_size].to(device), y_all[start:start + batch_size].to(device)
            out = model(encode(x, cfg.steps, cfg.encoding, generator))
            correct += int((predict(spike_counts(out)) == y).sum())
            for name, s in model.last_spikes.items():
                spikes[name] = spikes.get(name, 0.0) + float(s.sum())
            for name, layer in model.synaptic_layers():
                inp = model.last_inputs[name]
                synops[name] = synops.get(name, 0.0) + effective_synops(layer, inp)
                binary[name] = binary.get(name, True) and bool(((inp == 0) | (inp == 1)).all())
    n = max(len(x_all), 1)
    dense = {name: dense_synops(layer, model.last_inputs[name].shape[2:], cfg.steps)
             for name, layer in model.synaptic_layers()} if len(x_all) else {}
    per_layer = {k: v / n for k, v in synops.items()}
    return EvalResult(
        accuracy=correct / n,
        spikes_per_layer={k: v / n for k, v in spikes.items()},
        synops_per_sample=float(sum(per_layer.values())),
        synops_per_layer=per_layer,
        dense_synops_per_sample=float(sum(dense.values())),
        op_kind_per_layer={k: "AC" if v else "MAC" for k, v in binary.items()},
        n_samples=len(x_all),
    )


def _binarized_forward(layer: nn.Module, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.Conv2d):
        return F.conv2d(x, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
    return F.linear(x, weight)


def effective_synops(layer: nn.Linear | nn.Conv2d, inputs: torch.Tensor) -> float:
    """NeuroBench effective ops of ``layer`` for ``inputs`` [T, B, ...], summed over steps and samples."""
    active = (inputs != 0).to(torch.float32).sum(0)  # [B, ...]: steps each input was nonzero (linear op)
    weight = (layer.weight != 0).to(torch.float32)
    return float(_binarized_forward(layer, active, weight).sum())


def dense_synops(layer: nn.Linear | nn.Conv2d, input_shape: tuple[int, ...], steps: int) -> float:
    """Ops per sample with every weight and every input at 1, over ``steps`` steps (NeuroBench 'Dense')."""
    ones_in = torch.ones((1, *input_shape), device=layer.weight.device)
    ones_w = torch.ones_like(layer.weight)
    return float(_binarized_forward(layer, ones_in, ones_w).sum()) * steps


def seed_everything(seed: int) -> None:
    """Seed torch's global generator (model initialization happens outside :func:`fit`)."""
    torch.manual_seed(seed)
