"""The fixed-point rows of docs/interop.md: every framework fixture (and chipfit's exported models, against
the framework's run of the export) on a fixed-point profile, with chipfit's count budget.

    PYTHONPATH=. python tools/interop/fixed_point_table.py [PROFILE]    (default loihi)

Prints one Markdown row per case: output counts on the chip and in the framework, the budget
(chipsim.count_budget, layer-local), the largest weight error the fit report states, or why the case is
not compared. The same computation as tests/test_interop_fixed_point.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chipsim import nir_read  # noqa: E402
from chipsim.compile import CompileError, compile_graph  # noqa: E402
from chipsim.count_budget import count_budget, integer_errors, semantics_kept  # noqa: E402
from chipsim.network import pipeline_steps  # noqa: E402
from chipsim.place import place  # noqa: E402
from chipsim.simulate import simulate  # noqa: E402
from hwprofiles import load  # noqa: E402

DATA = ROOT / "tests" / "data" / "interop"


def row(label: str, path: Path, source: str, x: np.ndarray, theirs: np.ndarray, profile_name: str) -> str:
    profile, ref_profile = load(profile_name), load("generic-45nm")
    imported = nir_read.load(path, source)
    try:
        net = compile_graph(nir_read.for_profile(imported, profile).graph, profile,
                            integrator=imported.convention.integrator)
    except CompileError as error:
        return f"| {label} | refused: {str(error)[:90]} | | | |"
    placement = place(net, profile)
    kept, why = semantics_kept(net, placement.fit.violations)
    padded = np.concatenate([x, np.zeros((pipeline_steps(net), x.shape[1]), x.dtype)])
    chip = simulate(net, placement, padded)
    ours = np.asarray(chip.output_spikes)[:, 0].sum(axis=0).astype(int)
    if not kept:
        return f"| {label} | not compared: {why[:90]} | {ours.tolist()} | {theirs.tolist()} | |"
    ref_net = compile_graph(nir_read.for_profile(imported, ref_profile).graph, ref_profile,
                            integrator=imported.convention.integrator)
    ref = simulate(ref_net, place(ref_net, ref_profile), x)
    measured = [np.abs(a.astype(float) - b.astype(float))
                for a, b in zip(chip.spike_counts, ref.spike_counts, strict=True)]
    budget = count_budget(net, ref_net, ref.spike_counts, len(padded), upstream=measured)[-1].astype(int)
    err = max(integer_errors(net, ref_net).values())
    return (f"| {label} | within budget (largest weight error {err:.2f} LSB) | {ours.tolist()} |"
            f" {theirs.tolist()} | {budget.tolist()} |")


def main(profile_name: str = "loihi") -> None:
    print(f"| {profile_name}: fixture | result | chip counts | framework counts | budget |")
    print("|---|---|---|---|---|")
    for p in sorted(DATA.glob("*/*.nir")):
        if p.parent.name in ("chipfit", "export"):
            continue
        data = np.load(p.with_suffix(".npz"))
        x = data["input"].reshape(data["input"].shape[0], -1)
        theirs = data["output"].sum(0).astype(int)
        print(row(f"{p.parent.name} {p.stem} (import)", p, p.parent.name, x, theirs, profile_name))
    for fw in ("snntorch", "norse"):
        for model in ("mlp", "cnn"):
            x = np.load(DATA / "chipfit" / f"{model}.npz")["input"]
            theirs = np.load(DATA / "export" / fw / f"{model}.out.npz")["output"].sum(0).astype(int)
            print(row(f"chipfit {model}, {fw}'s run of its export", DATA / "chipfit" / f"{model}.nir", "auto",
                      x.reshape(x.shape[0], -1), theirs, profile_name))


if __name__ == "__main__":
    main(*sys.argv[1:])
