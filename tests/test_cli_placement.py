"""`--placement FILE`: a mapping given as YAML is reproduced exactly; a bad file is one line and exit 2."""

import json

import numpy as np
import pytest
from test_cli_map import write_mlp

import hwprofiles
from chipsim.compile import compile_graph, load_graph
from chipsim.place import place_given
from chipsim.placement_file import read_placement
from harness.cli import main

LOIHI = hwprofiles.load("loihi")


def test_map_saves_a_placement_that_map_reads_back_exactly(tmp_path):
    nir_path = write_mlp(tmp_path / "mlp.nir")
    base = ["map", "--nir", str(nir_path), "--profile", "loihi", "--dt", "1e-4"]
    assert main([*base, "--strategy", "hops", "--save-placement", str(tmp_path / "p.yaml"),
                 "--json", str(tmp_path / "a.json")]) == 0
    assert main([*base, "--placement", str(tmp_path / "p.yaml"), "--json", str(tmp_path / "b.json")]) == 0
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert b["strategy"] == "given"
    for name, r in a["resources"].items():
        assert b["resources"][name]["per_core"] == r["per_core"], name


def test_a_hand_written_mapping_is_placed_as_written(tmp_path):
    # 64 -> 2500 -> 100: lif0 in runs 1000/1000/500 on cores 7, 3, 9; lif1 all on core 12
    net = compile_graph(load_graph(write_mlp(tmp_path / "mlp.nir")), LOIHI, dt_s=1e-4)
    (tmp_path / "p.yaml").write_text("lif0: {cores: [7, 3, 9], neurons: [1000, 1000, 500]}\n"
                                     f"lif1: {[12] * 100}\n")
    pl = place_given(net, LOIHI, read_placement(tmp_path / "p.yaml", net))
    expected = np.repeat([7, 3, 9], [1000, 1000, 500])
    np.testing.assert_array_equal(pl.core_of_neuron[1], expected)
    assert set(pl.core_of_neuron[2].tolist()) == {12}
    assert pl.fit.usage["neurons_per_core"][[3, 7, 9, 12]].tolist() == [1000, 1000, 500, 100]
    # lif1 neurons store 2500 dense 8-bit weights each: core 12 holds 100 x 2500 x 8 bits
    assert pl.fit.usage["synapse_memory_bits"][12] == 100 * 2500 * 8
    assert not pl.fit.fits  # 2,000,000 bits > 1,048,576 on core 12
    assert {(v.constraint, v.core) for v in pl.fit.violations} == {("synapse_memory_bits", 12)}


def test_equal_runs_cover_the_layer_with_a_shorter_last_run(tmp_path):
    net = compile_graph(load_graph(write_mlp(tmp_path / "mlp.nir")), LOIHI, dt_s=1e-4)
    (tmp_path / "p.yaml").write_text("lif0: {cores: [0, 1, 2], neurons: 1024}\n"
                                     "lif1: {cores: [4], neurons: 100}\n")
    cores = read_placement(tmp_path / "p.yaml", net)[1]
    assert np.bincount(cores).tolist() == [1024, 1024, 452]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lif0: [0]\nlif1: [0]\n", "layer 'lif0': 1 cores listed, one per neuron expected (2500)"),
        ("lif0: {cores: [0], neurons: 2500}\n", "layer 'lif1' is not placed"),
        ("lif0: {cores: [0], neurons: 2500}\nlif1: [0]\nfc9: [1]\n", "unknown layer 'fc9'"),
        ("lif0: {cores: [-1], neurons: 2500}\nlif1: {cores: [0], neurons: 100}\n", "non-negative integers"),
        ("lif0: {cores: [0, 1], neurons: [2000, 400]}\nlif1: {cores: [0], neurons: 100}\n",
         "runs summing to 2400"),
        ("- 1\n- 2\n", "expected a mapping of layer -> cores"),
        ("lif0: [0\n", "not a readable YAML placement"),
    ],
)
def test_a_bad_placement_file_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    nir_path = write_mlp(tmp_path / "mlp.nir")
    (tmp_path / "p.yaml").write_text(text)
    code = main(["map", "--nir", str(nir_path), "--profile", "loihi", "--dt", "1e-4",
                 "--placement", str(tmp_path / "p.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_missing_placement_file_is_one_line_and_exit_2(tmp_path, capsys):
    nir_path = write_mlp(tmp_path / "mlp.nir")
    code = main(["map", "--nir", str(nir_path), "--profile", "loihi",
                 "--placement", str(tmp_path / "no.yaml")])
    assert code == 2 and "placement file not found" in capsys.readouterr().err
