"""chipfit's own MLP and CNN, exported by `harness export --to FRAMEWORK`, run in that framework's importer
(committed by tools/interop/run_exports.py in its side venv) with chipfit's float-reference spikes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chipsim import nir_read
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import simulate
from harness.cli import main
from hwprofiles import load

DATA = Path(__file__).parent / "data" / "interop"


def chipfit_run(model: str) -> np.ndarray:
    imported = nir_read.load(DATA / "chipfit" / f"{model}.nir")
    profile = load("generic-45nm")
    net = compile_graph(imported.graph, profile)
    x = np.load(DATA / "chipfit" / f"{model}.npz")["input"]
    return np.asarray(simulate(net, place(net, profile), x.reshape(x.shape[0], -1)).output_spikes)[:, 0]


@pytest.mark.parametrize("framework", ["snntorch", "norse"])
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_framework_importer_runs_the_export_with_chipfits_spikes_per_step(framework, model):
    theirs = np.load(DATA / "export" / framework / f"{model}.out.npz")["output"]
    ours = chipfit_run(model)
    assert ours.sum() > 0
    np.testing.assert_array_equal(ours, theirs)


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
