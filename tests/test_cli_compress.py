"""`harness compress` through the CLI entry point."""

import json

from compress.nir_io import load_nir
from harness.cli import main


def run(tmp_path, *extra):
    return main(["compress", "--dataset", "digits", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(tmp_path / "out"), *extra])


def test_unknown_method_exits_2_with_one_line_listing_the_known(tmp_path, capsys):
    assert run(tmp_path, "--method", "nosuch") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown method 'nosuch'" in err and "spikefit" in err


def test_unknown_profile_exits_2(tmp_path, capsys):
    assert run(tmp_path, "--method", "ptq", "--profile", "nosuchchip") == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_sparsity_of_one_exits_2(tmp_path, capsys):
    assert run(tmp_path, "--method", "ptq", "--sparsity", "1.0") == 2
    assert "sparsity" in capsys.readouterr().err


def test_malformed_option_exits_2(tmp_path, capsys):
    assert run(tmp_path, "--method", "ptq", "--option", "bits") == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_option_the_method_does_not_take_exits_2(tmp_path, capsys):
    assert run(tmp_path, "--method", "ptq", "--option", "colour=3") == 2
    assert "colour" in capsys.readouterr().err


def test_unknown_dataset_exits_2(tmp_path, capsys):
    code = main(["compress", "--method", "ptq", "--dataset", "nosuch", "--out", str(tmp_path / "o")])
    assert code == 2 and "unknown dataset" in capsys.readouterr().err


def test_ptq_run_writes_metrics_checkpoint_and_a_readable_nir(tmp_path):
    code = run(tmp_path, "--method", "ptq", "--bits", "4", "--epochs", "0", "--dense-epochs", "1",
               "--steps", "2")
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["method"] == "ptq" and metrics["budget"]["weight_bits"] == 4
    assert metrics["budget_met"] == {"weight_bits": True}
    nir_model = load_nir(tmp_path / "out" / "model.nir")
    assert [n for n, _ in nir_model.synaptic_layers()] == list(metrics["layers"])
    assert (tmp_path / "out" / "model.pt").is_file()


def test_profile_budget_reaches_the_method(tmp_path):
    code = run(tmp_path, "--method", "kmeans", "--profile", "truenorth", "--epochs", "0",
               "--dense-epochs", "1", "--steps", "2")
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert code == 0
    assert (metrics["budget"]["unique_weights"], metrics["budget"]["unique_scope"]) == (4, "neuron")
    assert metrics["distinct_per_group_max"] <= 4
