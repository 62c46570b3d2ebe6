"""`harness map`: a NIR file in, a fit table and JSON out; bad input is one line and exit 2."""

import json

import nir
import numpy as np
import pytest

from harness.cli import main


def write_mlp(path, sizes=(64, 2500, 100)):
    rng = np.random.default_rng(0)
    nodes, edges, prev = {"input": nir.Input(np.array([sizes[0]]))}, [], "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        tau = 1e-4 / (1 - 0.9)
        nodes[f"fc{i}"] = nir.Affine(rng.uniform(0.1, 1, size=(b, a)), np.zeros(b))
        nodes[f"lif{i}"] = nir.LIF(
            tau=np.full(b, tau), r=np.full(b, tau / 1e-4), v_leak=np.zeros(b), v_threshold=np.ones(b)
        )
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(np.array([sizes[-1]]))
    nir.write(path, nir.NIRGraph(nodes, edges + [(prev, "output")], type_check=False))
    return path


def test_map_prints_the_fit_and_writes_json(tmp_path, capsys):
    path = write_mlp(tmp_path / "mlp.nir")
    assert (
        main(
            [
                "map",
                "--nir",
                str(path),
                "--profile",
                "loihi",
                "--dt",
                "1e-4",
                "--json",
                str(tmp_path / "fit.json"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "fits" in out and "5 of 4096 cores" in out
    report = json.loads((tmp_path / "fit.json").read_text())
    assert report["fits"] and report["cores_used"] == 5 and report["chips_needed"] == 1
    assert report["resources"]["neurons_per_core"]["per_core"] == [1024, 1024, 492, 52, 8]


def test_map_reports_a_network_that_does_not_fit_without_failing(tmp_path, capsys):
    path = write_mlp(tmp_path / "mlp.nir", sizes=(300, 10))
    assert (
        main(["map", "--nir", str(path), "--profile", "truenorth", "--json", str(tmp_path / "f.json")]) == 0
    )
    report = json.loads((tmp_path / "f.json").read_text())
    assert not report["fits"]
    constraints = {v["constraint"] for v in report["violations"]}
    assert "fan_in_axons" in constraints  # 300 inputs > 256 axons
    assert "unique_weights" not in constraints  # the compile clusters each neuron's weights onto 4 axon types
    assert "violation" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["missing", "not_hdf5", "unsupported_node", "unknown_profile"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    path, profile = tmp_path / "g.nir", "loihi"
    if case == "not_hdf5":
        path.write_text("hello")
    elif case == "unsupported_node":
        graph = nir.NIRGraph(
            {
                "input": nir.Input(np.array([2])),
                "d": nir.Delay(np.ones(2)),
                "output": nir.Output(np.array([2])),
            },
            [("input", "d"), ("d", "output")],
        )
        nir.write(path, graph)
    elif case == "unknown_profile":
        write_mlp(path, sizes=(2, 2))
        profile = "no-such-chip"
    assert main(["map", "--nir", str(path), "--profile", profile]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("harness map: error:") and "\n" not in err


def test_map_prints_each_projections_weight_exponent(tmp_path, capsys):
    # weights 0.1..1 under a threshold of 1e5: the 17-bit threshold mantissa forces a scale of 1e5 / 131071
    # weight units per LSB, so the weights (<= 1.3 LSB) take a negative exponent: need 1/0.763/255 = 0.0051,
    # the finest 2^e >= it is 2^-7
    w = np.random.default_rng(0).uniform(0.1, 1, size=(4, 8))
    nodes = {"input": nir.Input(np.array([8])), "fc": nir.Affine(w, np.zeros(4)),
             "if": nir.IF(r=np.ones(4), v_threshold=np.full(4, 1e5)), "output": nir.Output(np.array([4]))}
    path = tmp_path / "small.nir"
    nir.write(path, nir.NIRGraph(nodes, [("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False))
    assert main(["map", "--nir", str(path), "--profile", "loihi", "--dt", "1", "--json",
                 str(tmp_path / "fit.json")]) == 0
    out = capsys.readouterr().out
    assert "quantization" in out and "exponent" in out
    row = next(line for line in out.splitlines() if "input->if" in line)
    assert "-7" in row.split("│")[3]
    assert json.loads((tmp_path / "fit.json").read_text())["quantization"][0]["exponent"] == -7
