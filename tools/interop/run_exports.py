"""Run chipfit's exports (tools/interop/chipfit_exports.py) in a framework's own importer, in its side venv.

    .venv-interop/snntorch/bin/python tools/interop/run_exports.py snntorch

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


RUNNERS = {"snntorch": snntorch_run, "norse": norse_run}


def main(framework: str) -> None:
    import nir

    folder = DATA / "export" / framework
    for path in sorted(folder.glob("*.nir")):
        x = np.load(DATA / "chipfit" / f"{path.stem}.npz")["input"]
        try:
            graph = nir.read(str(path), type_check=False)
            y = RUNNERS[framework](graph, x)
            np.savez_compressed(folder / f"{path.stem}.out.npz", output=y.astype(np.float32))
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
