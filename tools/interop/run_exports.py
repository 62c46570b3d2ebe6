"""Run chipfit's exports (tools/interop/chipfit_exports.py) in a framework's own importer, in its side venv.

    .venv-interop/snntorch/bin/python tools/interop/run_exports.py snntorch

The calls: ``snntorch.import_nir.import_from_nir(graph)``, ``norse.torch.from_nir(graph)``,
``sinabs.from_nir(graph, batch_size=1)``, ``rockpool.nn.modules.torch.nir.from_nir(graph)``,
``spyx.nir.from_nir(graph, x, dt=1)``, each on ``nir.read(path, type_check=False)``.

Writes ``tests/data/interop/export/FRAMEWORK/MODEL.out.npz`` (``output`` [T, n_out], the framework's output
spikes on chipfit's seeded input) or ``MODEL.out.json`` with the importer's error.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "interop"


def snntorch_run(graph, x):
    import torch
    from snntorch import utils as sutils
    from snntorch.import_nir import import_from_nir

    net = import_from_nir(graph)
    sutils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y = net(torch.from_numpy(x[t][None]))
            y = y[0] if isinstance(y, tuple) else y
            out.append(np.asarray(y).reshape(-1))
    return np.stack(out)


def norse_run(graph, x):
    import torch
    from norse.torch import from_nir

    net = from_nir(graph)
    out, state = [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, state = net(torch.from_numpy(x[t][None]), state)
            out.append(np.asarray(y).reshape(-1))
    return np.stack(out)


def sinabs_run(graph, x):
    import sinabs
    import torch

    net = sinabs.from_nir(graph, batch_size=1)  # the Squeeze layers take [batch*time, ...]
    shape = [int(s) for s in np.atleast_1d(graph.nodes["input"].input_type["input"])]
    x = x.reshape(x.shape[0], *shape)  # the export of a CNN is dense (chipsim.dialects.sinabs)
    with torch.no_grad():
        y = net(torch.from_numpy(x))
    y = y[0] if isinstance(y, tuple) else y  # nirtorch's GraphExecutor returns (output, state)
    return np.asarray(y).reshape(x.shape[0], -1)


def rockpool_run(graph, x):
    import torch
    from rockpool.nn.modules.torch.nir import from_nir

    net = from_nir(graph)
    with torch.no_grad():  # Rockpool modules take [batch, time, n]
        y = net(torch.from_numpy(x.reshape(1, x.shape[0], -1)))
    y = y[0] if isinstance(y, tuple) else y
    return np.asarray(y).reshape(x.shape[0], -1)


def spyx_run(graph, x):
    import jax.numpy as jnp
    from spyx.nir import from_nir

    if x.ndim == 4:  # [T, C, H, W] -> Spyx's channels-last [T, H, W, C]
        x = x.transpose(0, 2, 3, 1)
    _, y = from_nir(graph, jnp.asarray(x[:, None]), dt=1)  # time-major [T, batch, ...]
    return np.asarray(y).reshape(x.shape[0], -1)


RUNNERS = {"snntorch": snntorch_run, "norse": norse_run, "sinabs": sinabs_run, "rockpool": rockpool_run,
           "spyx": spyx_run}
SOURCE = {"snntorch": "", "norse": "", "sinabs": "_multi", "rockpool": "_cuba_multi", "spyx": "_late"}
"""The chipfit model each target's export came from (chipfit_exports.VARIANT; its input is the same)."""


def main(framework: str) -> None:
    import nir

    folder = DATA / "export" / framework
    for path in sorted(folder.glob("*.nir")):
        x = np.load(DATA / "chipfit" / f"{path.stem}{SOURCE[framework]}.npz")["input"]
        try:
            try:
                graph = nir.read(str(path), type_check=False)
            except TypeError:  # nir 1.0.4 (sinabs' pin) has no type check to turn off
                graph = nir.read(str(path))
            y = RUNNERS[framework](graph, x)
            np.savez_compressed(folder / f"{path.stem}.out.npz", output=y.astype(np.float32))
            stale = folder / f"{path.stem}.out.json"
            if stale.exists():
                stale.unlink()
            print(framework, path.stem, "output spikes", float(y.sum()))
        except Exception as error:  # noqa: BLE001 - the importer's failure is the result
            msg = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            tail = traceback.format_exc().strip().splitlines()[-3:]
            (folder / f"{path.stem}.out.json").write_text(
                json.dumps({"error": msg, "traceback_tail": tail}) + "\n"
            )
            print(framework, path.stem, "ERROR", msg)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(RUNNERS):
        main(name)
