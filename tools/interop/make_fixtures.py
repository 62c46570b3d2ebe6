"""Make the interop fixtures: each framework's own MLP and CNN, exported by its own exporter, run by itself.

Run inside that framework's side venv (``make interop`` does it for all five)::

    .venv-interop/snntorch/bin/python tools/interop/make_fixtures.py snntorch

For FRAMEWORK and each model (``mlp``: Linear-LIF-Linear-LIF; ``cnn``: Conv-LIF-Pool-Flatten-Linear-LIF)
it writes under ``tests/data/interop/FRAMEWORK/``:
- ``MODEL.nir``: the graph as the framework's exporter writes it, with its default neuron settings;
- ``MODEL.npz``: ``input`` [T, *shape] (seeded Bernoulli spikes) and ``output`` [T, n_out], the
  framework's own output spikes per step (counts where the framework is multi-spike);
- ``MODEL.json``: versions, the exporter call, and ``error`` where the exporter failed (no .nir then).

Weights are the framework's default initialisation times ``GAIN`` (seeded), so that the small nets fire;
neuron parameters are the framework's defaults (or, where it has none, the value in its documentation
examples, named in the JSON). The import side of this script (``import_check``) runs chipfit's exports
in the framework's importer: see ``tools/interop/run_exports.py``.
"""

from __future__ import annotations

import json
import sys
import traceback
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "interop"
T = 20  # steps
SEED = 0
GAIN = 3.0  # MLP
GAIN_CNN = 16.0  # the pool averages 4 inputs
ROCKPOOL_GAIN = 0.3  # Rockpool's LIFTorch adds the whole synaptic current to v every step (multi-spike)
NORSE_GAIN = 8.0  # Norse's CubaLIF takes dt/tau_mem = 0.1 of its current per step
MLP = (16, 12, 4)  # inputs, hidden, outputs
CNN_IN = (1, 8, 8)  # C, H, W; conv 4x3x3 -> 4x6x6, pool 2 -> 4x3x3, flatten 36 -> linear 4


def spikes(shape, p=0.3, seed=SEED) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, *shape)) < p).astype(np.float32)


def versions(*names) -> dict:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def save(framework: str, model: str, graph, x: np.ndarray, y, info: dict) -> None:
    import nir

    folder = OUT / framework
    folder.mkdir(parents=True, exist_ok=True)
    if graph is not None:
        try:
            nir.write(folder / f"{model}.nir", graph)
        except TypeError as error:  # h5py cannot store None fields, nor gzip 0-d parameters
            info["write_error"] = error_text(error)
            fill_nones(graph, info)
            try:
                nir.write(folder / f"{model}.nir", graph)
            except TypeError:
                info["written_with"] = "nir.write(path, graph, compression=None)"
                nir.write(folder / f"{model}.nir", graph, compression=None)
    if y is not None:
        y = np.asarray(y, dtype=np.float32).reshape(T, -1)
        np.savez_compressed(folder / f"{model}.npz", input=x, output=y)
        info["output_spikes_total"] = float(y.sum())
        info["output_max_per_step"] = float(y.max())
    (folder / f"{model}.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    print(framework, model, {k: info[k] for k in info if k in ("error", "output_spikes_total")})


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0][:300]


def attempt(framework: str, model: str, build, x, info: dict) -> None:
    """Run ``build() -> (graph, y)``; an exporter or run failure becomes the JSON's ``error``."""
    try:
        graph, y = build()
    except Exception as error:  # noqa: BLE001 - a foreign exporter's failure is the data we record
        info["error"] = error_text(error)
        info["traceback_tail"] = traceback.format_exc().strip().splitlines()[-3:]
        save(framework, model, None, x, None, info)
        return
    save(framework, model, graph, x, y, info)


def fill_nones(graph, info: dict, conv_hw=CNN_IN[1:], flatten_in=(4, 3, 3)) -> None:
    """nir.write cannot store a field that is None: fill ``Conv2d.input_shape`` and ``Flatten.input_type``
    with the shapes the CNN has there, and record each filled field in the JSON's ``patched``."""
    for name, node in graph.nodes.items():
        kind = type(node).__name__
        if kind == "Conv2d" and node.input_shape is None:
            node.input_shape = np.asarray(conv_hw)
            info.setdefault("patched", []).append(f"{name}.input_shape None -> {list(conv_hw)}")
        if kind == "Flatten" and (node.input_type or {}).get("input") is None:
            node.input_type = {"input": np.asarray(flatten_in)}
            info.setdefault("patched", []).append(f"{name}.input_type None -> {list(flatten_in)}")


def torch_gain(module, gain=GAIN):
    import torch

    with torch.no_grad():
        for p in torch.nn.Module.parameters(module):  # Rockpool overrides .parameters()
            if p.ndim >= 2:
                p.mul_(gain)


# ---------------------------------------------------------------- snnTorch 1.0.0


def snntorch() -> None:
    import nirtorch
    import snntorch as snn
    import torch
    from snntorch import utils as sutils
    from snntorch.export_nir import _extract_snntorch_module, export_to_nir

    info0 = {
        "framework": "snntorch",
        "versions": versions("snntorch", "nirtorch", "nir", "torch"),
        "neuron": "snn.Leaky(beta=0.9, init_hidden=True) (beta has no default; 0.9 as in the docs)",
        "exporter": "snntorch.export_nir.export_to_nir(net, torch.zeros(1, *shape))",
        "seed": SEED,
        "gain": {"mlp": GAIN, "cnn": GAIN_CNN},
    }

    def run(net, x):
        sutils.reset(net)
        out = []
        with torch.no_grad():
            for t in range(T):
                spk, _ = net(torch.from_numpy(x[t][None]))
                out.append(spk[0].numpy())
        return np.stack(out)

    def export(net, sample, info, hw=None):
        """export_to_nir; where its closing ``infer_types()`` raises, the graph it built before that."""
        try:
            return export_to_nir(net, sample)
        except Exception as error:  # noqa: BLE001
            info["exporter_error"] = error_text(error)
            info["fixture_graph"] = (
                "export_to_nir without its final graph.infer_types(): "
                "nirtorch.extract_nir_graph(net, _extract_snntorch_module, sample, "
                "model_name='snntorch', ignore_submodules_of=[snn.RLeaky, snn.RSynaptic])"
            )
            graph = nirtorch.extract_nir_graph(
                net,
                _extract_snntorch_module,
                sample,
                model_name="snntorch",
                ignore_submodules_of=[snn.RLeaky, snn.RSynaptic],
            )
            if hw is not None:
                fill_nones(graph, info)
            return graph

    torch.manual_seed(SEED)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(MLP[0], MLP[1]),
        snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.Linear(MLP[1], MLP[2]),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    torch_gain(mlp)
    x = spikes((MLP[0],))
    info = dict(info0)
    attempt("snntorch", "mlp", lambda: (export(mlp, torch.zeros(1, MLP[0]), info), run(mlp, x)), x, info)

    torch.manual_seed(SEED)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 4),
        snn.Leaky(beta=0.9, init_hidden=True, output=True),
    )
    torch_gain(cnn, GAIN_CNN)
    x = spikes(CNN_IN)
    info = dict(info0)
    attempt(
        "snntorch",
        "cnn",
        lambda: (export(cnn, torch.zeros(1, *CNN_IN), info, CNN_IN[1:]), run(cnn, x)),
        x,
        info,
    )


# ---------------------------------------------------------------- Norse 1.1.0


def norse() -> None:
    import norse.torch as nt
    import torch

    info0 = {
        "framework": "norse",
        "versions": versions("norse", "nir", "nirtorch", "torch"),
        "neuron": "norse.torch.LIFCell() (defaults: tau_syn_inv 200/s, tau_mem_inv 100/s, v_th 1, dt 1 ms)",
        "exporter": "norse.torch.to_nir(net, torch.zeros(1, *shape))",
        "seed": SEED,
        "gain": {"mlp": NORSE_GAIN, "cnn": GAIN_CNN},
    }

    def run(net, x):
        out, state = [], None
        with torch.no_grad():
            for t in range(T):
                z, state = net(torch.from_numpy(x[t][None]), state)
                out.append(z[0].numpy())
        return np.stack(out)

    torch.manual_seed(SEED)
    mlp = nt.SequentialState(
        torch.nn.Linear(MLP[0], MLP[1]), nt.LIFCell(), torch.nn.Linear(MLP[1], MLP[2]), nt.LIFCell()
    )
    torch_gain(mlp, NORSE_GAIN)
    x = spikes((MLP[0],))
    attempt("norse", "mlp", lambda: (nt.to_nir(mlp, torch.zeros(1, MLP[0])), run(mlp, x)), x, dict(info0))

    torch.manual_seed(SEED)
    cnn = nt.SequentialState(
        torch.nn.Conv2d(1, 4, 3),
        nt.LIFCell(),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 4),
        nt.LIFCell(),
    )
    torch_gain(cnn, GAIN_CNN)
    x = spikes(CNN_IN)

    def cnn_build():
        graph = nt.to_nir(cnn, torch.zeros(1, *CNN_IN))
        missing = [k for k, v in graph.nodes.items() if v is None]
        if missing:
            raise ValueError(f"norse.torch.to_nir wrote None for nodes {missing} (AvgPool2d, Flatten)")
        return graph, run(cnn, x)

    attempt("norse", "cnn", cnn_build, x, dict(info0))


# ---------------------------------------------------------------- sinabs 3.1.3


def sinabs() -> None:
    import sinabs
    import sinabs.layers as sl
    import torch

    info0 = {
        "framework": "sinabs",
        "versions": versions("sinabs", "nir", "nirtorch", "torch"),
        "neuron": "sinabs.layers.IAF() / IAFSqueeze(batch_size=1) (defaults: threshold 1, MultiSpike, "
        "MembraneSubtract, min_v_mem None)",
        "exporter": "sinabs.to_nir(net, torch.zeros(...))",
        "seed": SEED,
        "gain": {"mlp": GAIN, "cnn": GAIN_CNN},
    }

    torch.manual_seed(SEED)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(MLP[0], MLP[1]), sl.IAF(), torch.nn.Linear(MLP[1], MLP[2]), sl.IAF()
    )
    torch_gain(mlp)
    x = spikes((MLP[0],))

    def mlp_build():
        with torch.no_grad():
            y = mlp(torch.from_numpy(x)[None])[0].numpy()  # [B, T, N]
        mlp[1].reset_states(), mlp[3].reset_states()
        info = dict(info0, exporter="sinabs.to_nir(net, torch.zeros(1, 1, 16))")
        return sinabs.to_nir(mlp, torch.zeros(1, 1, MLP[0])), y, info

    torch.manual_seed(SEED)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        sl.IAFSqueeze(batch_size=1),
        sl.SumPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 4),
        sl.IAFSqueeze(batch_size=1),
    )
    torch_gain(cnn, GAIN_CNN / 4)  # SumPool2d sums where the others average
    xc = spikes(CNN_IN)

    def cnn_build():
        with torch.no_grad():
            y = cnn(torch.from_numpy(xc)).numpy()  # [B*T, N] with B = 1
        for m in cnn:
            if isinstance(m, sl.IAFSqueeze):
                m.reset_states()
        info = dict(info0, exporter="sinabs.to_nir(net, torch.zeros(1, 1, 8, 8))")
        return sinabs.to_nir(cnn, torch.zeros(1, *CNN_IN)), y, info

    for model, build, inp in (("mlp", mlp_build, x), ("cnn", cnn_build, xc)):
        holder = {}

        def run(build=build, holder=holder):
            graph, y, info = build()
            holder.update(info)
            return graph, y

        attempt("sinabs", model, run, inp, holder)


# ---------------------------------------------------------------- Rockpool 3.1.0


def rockpool() -> None:
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    info0 = {
        "framework": "rockpool",
        "versions": versions("rockpool", "nir", "nirtorch", "torch"),
        "neuron": "rockpool.nn.modules.LIFTorch(n) (defaults: tau_mem = tau_syn = 20 ms, dt 1 ms, thr 1,"
        " StepPWL multi-spike, subtract)",
        "exporter": "rockpool.nn.modules.torch.nir.to_nir(net)",
        "seed": SEED,
        "gain": {"mlp": ROCKPOOL_GAIN},
    }

    def run(net, x):
        with torch.no_grad():
            out = net(torch.from_numpy(x)[None])
        out = out[0] if isinstance(out, tuple) else out
        return out[0].detach().numpy()

    torch.manual_seed(SEED)
    mlp = Sequential(
        LinearTorch((MLP[0], MLP[1])), LIFTorch(MLP[1]), LinearTorch((MLP[1], MLP[2])), LIFTorch(MLP[2])
    )
    torch_gain(mlp, ROCKPOOL_GAIN)
    x = spikes((MLP[0],))

    def mlp_build():
        y = run(mlp, x)
        mlp.reset_state()
        return to_nir(mlp), y

    attempt("rockpool", "mlp", mlp_build, x, dict(info0))

    xc = spikes(CNN_IN)

    def cnn_build():
        torch.manual_seed(SEED)
        conv = torch.nn.Conv2d(1, 4, 3)
        net = Sequential(conv, LIFTorch(4 * 6 * 6))
        return to_nir(net), None

    info = dict(
        info0,
        exporter="rockpool.nn.modules.torch.nir.to_nir(Sequential(torch.nn.Conv2d(1, 4, 3), ...))",
        note="Rockpool's NIR exporter maps LinearTorch, LIFTorch, LIFNeuronTorch and ExpSynTorch only",
    )
    attempt("rockpool", "cnn", cnn_build, xc, info)


# ---------------------------------------------------------------- Spyx 1.0.0


def spyx() -> None:
    import jax.numpy as jnp
    import spyx.nn as snn
    from flax import nnx
    from spyx.nir import to_nir

    info0 = {
        "framework": "spyx",
        "versions": versions("spyx", "nir", "jax", "flax"),
        "neuron": "spyx.nn.LIF(shape, rngs=...) (defaults: beta per neuron ~ 0.5 + N(0, 0.25) truncated,"
        " threshold 1, superspike heaviside)",
        "exporter": "spyx.nir.to_nir(model, {'input': shape}, {'output': n_out}, dt=1)",
        "seed": SEED,
        "gain": {"mlp": GAIN, "cnn": GAIN_CNN},
    }

    def run(model, x):  # x [T, *shape] -> [T, n_out]; one sample, time-major
        state = model.initial_state(1)
        out = []
        for t in range(T):
            z, state = model(jnp.asarray(x[t][None]), state)
            out.append(np.asarray(z[0]))
        return np.stack(out)

    def gain_all(model, gain):
        for layer in model.layers:
            if hasattr(layer, "kernel"):
                layer.kernel.value = layer.kernel.value * gain

    for variant, beta in (("", None), ("_beta09", 0.9)):
        rngs = nnx.Rngs(SEED)
        mlp = snn.Sequential(
            nnx.Linear(MLP[0], MLP[1], rngs=rngs),
            snn.LIF((MLP[1],), beta=beta, rngs=rngs),
            nnx.Linear(MLP[1], MLP[2], rngs=rngs),
            snn.LIF((MLP[2],), beta=beta, rngs=rngs),
        )
        gain_all(mlp, GAIN)
        x = spikes((MLP[0],))
        info = dict(
            info0, neuron=info0["neuron"] if beta is None else "spyx.nn.LIF(shape, beta=0.9, rngs=...)"
        )
        attempt(
            "spyx",
            "mlp" + variant,
            lambda mlp=mlp, x=x: (
                to_nir(mlp, {"input": np.array([MLP[0]])}, {"output": np.array([MLP[2]])}, dt=1),
                run(mlp, x),
            ),
            x,
            info,
        )

        rngs = nnx.Rngs(SEED)
        cnn = snn.Sequential(
            nnx.Conv(1, 4, (3, 3), padding="VALID", rngs=rngs),
            snn.LIF((6, 6, 4), beta=beta, rngs=rngs),
            snn.SumPool((2, 2), (2, 2), "VALID"),
            snn.Flatten(),
            nnx.Linear(36, 4, rngs=rngs),
            snn.LIF((4,), beta=beta, rngs=rngs),
        )
        gain_all(cnn, GAIN_CNN / 4)  # SumPool sums where the others average
        xc = spikes(CNN_IN)  # [T, C, H, W]; Spyx runs channels-last
        info = dict(
            info0, neuron=info["neuron"], layout="Spyx runs NHWC: input fed as x.transpose(0, 2, 3, 1)"
        )
        attempt(
            "spyx",
            "cnn" + variant,
            lambda cnn=cnn, xc=xc: (
                to_nir(cnn, {"input": np.array(CNN_IN)}, {"output": np.array([4])}, dt=1),
                run(cnn, xc.transpose(0, 2, 3, 1)),
            ),
            xc,
            info,
        )


FRAMEWORKS = {"snntorch": snntorch, "norse": norse, "sinabs": sinabs, "rockpool": rockpool, "spyx": spyx}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(FRAMEWORKS):
        FRAMEWORKS[name]()
