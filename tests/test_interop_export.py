"""chipfit's own MLP and CNN, exported by `harness export --to FRAMEWORK`, run in that framework's importer
(committed by tools/interop/run_exports.py in its side venv) with chipfit's float-reference spikes.

Each target's export is made from the chipfit model with the neuron options its importer has
(tools/interop/chipfit_exports.py VARIANT): reset to zero for snnTorch and Norse, subtract + multi-spike
for sinabs and Rockpool (a CubaLIF for Rockpool), subtract after the decay for Spyx."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest

from chipsim import nir_read
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import simulate
from harness.cli import main
from hwprofiles import load

DATA = Path(__file__).parent / "data" / "interop"
VARIANT = {"snntorch": "", "norse": "", "sinabs": "_multi", "rockpool": "_cuba_multi", "spyx": "_late"}
SPYX_LAG = 2  # one step per projection (input -> lif1, lif1 -> lif2): docs/interop.md


def chipfit_run(path: Path, source: str = "auto", x_name: str | None = None) -> np.ndarray:
    profile = load("generic-45nm")
    imported = nir_read.for_profile(nir_read.load(path, source), profile)
    net = compile_graph(imported.graph, profile, integrator=imported.convention.integrator)
    x = np.load(DATA / "chipfit" / f"{x_name or path.stem}.npz")["input"]
    return np.asarray(simulate(net, place(net, profile), x.reshape(x.shape[0], -1)).output_spikes)[:, 0]


@pytest.mark.parametrize("framework", list(VARIANT))
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_framework_importer_runs_the_export_with_chipfits_spikes_per_step(framework, model):
    theirs = np.load(DATA / "export" / framework / f"{model}.out.npz")["output"]
    ours = chipfit_run(DATA / "chipfit" / f"{model}{VARIANT[framework]}.nir")
    assert ours.sum() > 0
    if framework == "spyx":  # Spyx fires from the previous step's V: its spikes come one step late a layer
        assert not theirs[:SPYX_LAG].any()
        ours, theirs = ours[:-SPYX_LAG], theirs[SPYX_LAG:]
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("framework", ["sinabs", "rockpool"])
def test_multi_spike_targets_fire_several_spikes_a_step_in_both(framework):
    theirs = np.load(DATA / "export" / framework / "mlp.out.npz")["output"]
    ours = chipfit_run(DATA / "chipfit" / f"mlp{VARIANT[framework]}.nir")
    assert theirs.max() >= 2 and ours.max() == theirs.max()


@pytest.mark.parametrize("framework", ["sinabs", "spyx"])
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_the_export_read_back_with_its_dialect_runs_as_the_framework_ran_it(framework, model):
    """chipfit's import dialect for the framework, on chipfit's export for it: the framework's spikes.
    (Not Rockpool: its exporter writes r = tau*exp(-dt/tau)/dt, which the dialect reads, but its importer
    takes dt = tau/(1+r), which the export must satisfy; no r does both.)"""
    theirs = np.load(DATA / "export" / framework / f"{model}.out.npz")["output"]
    path = DATA / "export" / framework / f"{model}.nir"
    ours = chipfit_run(path, framework, f"{model}{VARIANT[framework]}")
    np.testing.assert_array_equal(ours, theirs)  # Spyx's lag: simulated by the dialect's Delay nodes


def test_densify_runs_the_cnn_as_its_conv_and_pool():
    imported = nir_read.load(DATA / "chipfit" / "cnn.nir")
    dense, notes = nir_read.densify(imported.graph)
    assert not any(isinstance(n, (nir.Conv2d, nir.SumPool2d)) for n in dense.nodes.values())
    assert any("256x64" in n for n in notes)
    profile = load("generic-45nm")
    x = np.load(DATA / "chipfit" / "cnn.npz")["input"].reshape(20, -1)
    a, b = (np.asarray(simulate(n, place(n, profile), x).output_spikes) for n in
            (compile_graph(imported.graph, profile), compile_graph(dense, profile)))
    assert a.sum() > 0
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("target", ["sinabs", "rockpool", "spyx"])
def test_export_a_target_cannot_run_is_one_line_and_exit_2(tmp_path, capsys, target):
    code = main(
        [
            "export",
            "--nir",
            str(DATA / "chipfit" / "mlp.nir"),
            "--to",
            target,
            "--out",
            str(tmp_path / "x.nir"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("harness export: error:") and "\n" not in err
    why = "CubaLIF only" if target == "rockpool" else "reset 'zero'"  # chipfit's default: LIF, reset to zero
    assert "node 'lif1'" in err and why in err


def test_export_refuses_a_neuron_the_target_has_not(tmp_path, capsys):
    """Rockpool's LIFTorch always has a synaptic current: a plain LIF is refused, naming the node."""
    code = main(["export", "--nir", str(DATA / "chipfit" / "mlp_multi.nir"), "--to", "rockpool",
                 "--out", str(tmp_path / "x.nir")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "node 'lif1' (LIF)" in err and "CubaLIF only" in err and "\n" not in err


def test_export_writes_snntorchs_dt_and_gain(tmp_path):
    out = tmp_path / "s.nir"
    assert (
        main(["export", "--nir", str(DATA / "chipfit" / "mlp.nir"), "--to", "snntorch", "--out", str(out)])
        == 0
    )
    graph = nir_read.read_file(out)
    for node in nir_read.neuron_nodes(graph).values():
        np.testing.assert_allclose(np.asarray(node.r) * 1e-4 / np.asarray(node.tau), 1.0, rtol=1e-6)


def test_train_writes_the_framework_export_beside_model_nir(tmp_path):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--steps", "4",
                 "--out", str(out), "--to", "norse", "--no-progress"])
    assert code == 0
    graph = nir_read.read_file(out / "model.norse.nir")
    assert nir_read.neuron_nodes(graph)
    for node in nir_read.neuron_nodes(graph).values():
        np.testing.assert_allclose(np.asarray(node.r), 1.0)  # Norse's LIFBoxCell ignores r: folded away


@pytest.mark.parametrize("target", ["sinabs", "rockpool", "spyx"])
def test_train_refuses_a_target_its_model_cannot_run_before_training(tmp_path, capsys, target):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--steps", "4",
                 "--out", str(out), "--to", target, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"--to {target}:" in err and "node '" in err and "\n" not in err
    assert not (out / "model.pt").exists()  # refused before any training


def test_sinabs_export_keeps_the_conv_and_rockpools_goes_dense():
    sinabs = nir_read.read_file(DATA / "export" / "sinabs" / "cnn.nir")
    rockpool = nir_read.read_file(DATA / "export" / "rockpool" / "cnn.nir")
    assert any(isinstance(n, nir.Conv2d) for n in sinabs.nodes.values())
    assert all(np.ndim(n.v_threshold) == 1 for n in nir_read.neuron_nodes(sinabs).values())
    assert not any(isinstance(n, (nir.Conv2d, nir.SumPool2d, nir.Flatten)) for n in rockpool.nodes.values())
