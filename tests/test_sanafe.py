"""chipsim against SANA-FE 2.2.9 on its Loihi architecture with chipfit's core mapping (harness.sanafe_model).

A small conv + dense IF network (stride 2, biases, several cores): per-neuron spike counts identical,
synaptic events and packets equal, energy per SANA-FE unit within 2%.
"""

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.cost import cost
from chipsim.fit import FitReport, Placement
from chipsim.simulate import simulate

sanafe_model = pytest.importorskip("harness.sanafe_model")
pytest.importorskip("sanafe")

LOIHI = hwprofiles.load("loihi")


def conv_dense_graph(seed=0):
    """Input (2, 10, 10) -> Conv2d 4x3x3 stride 2 -> IF -> Affine 20 -> IF (dt = 1: weights act as given)."""
    rng = np.random.default_rng(seed)
    conv_w = rng.integers(-3, 8, size=(4, 2, 3, 3)).astype(float)
    fc_w = rng.integers(-4, 9, size=(20, 4 * 4 * 4)).astype(float)
    nodes = {
        "input": nir.Input(np.array([2, 10, 10])),
        "conv": nir.Conv2d(input_shape=(10, 10), weight=conv_w, stride=2, padding=0, dilation=1, groups=1,
                           bias=rng.integers(0, 3, size=4).astype(float)),
        "if1": nir.IF(r=np.ones((4, 4, 4)), v_threshold=np.full((4, 4, 4), 12.0)),
        "flat": nir.Flatten(start_dim=0, input_type={"input": np.array([4, 4, 4])}),
        "fc": nir.Affine(fc_w, np.zeros(20)),
        "if2": nir.IF(r=np.ones(20), v_threshold=np.full(20, 30.0)),
        "output": nir.Output(np.array([20])),
    }
    edges = [("input", "conv"), ("conv", "if1"), ("if1", "flat"), ("flat", "fc"), ("fc", "if2"),
             ("if2", "output")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def spread(net):
    """Conv neurons over cores 0, 4, 13, 40 (16 each), dense neurons over cores 36 and 100: several tiles
    in both mesh directions, so packets and hops are exercised."""
    fit = FitReport("loihi", True, (), 6, 128, 1)
    conv = np.repeat(np.array([0, 4, 13, 40], np.int32), 16)
    dense = np.repeat(np.array([36, 100], np.int32), 10)
    return Placement((np.full(net.populations[0].size, -1, np.int32), conv, dense), fit, 128, 8, 4, 4)


def test_chipsim_and_sanafe_agree_on_spikes_events_packets_and_energy():
    net = compile_graph(conv_dense_graph(), LOIHI, dt_s=1.0)
    placement = spread(net)
    x = (np.random.default_rng(1).random((40, 200)) < 0.3)
    # one silent step more: chipsim adds (and counts) a spike's events one step after SANA-FE counts them
    activity = simulate(net, placement, x[:, None, :].astype(np.uint8), steps=41, record_raster=True)
    priced = cost(activity, placement, LOIHI, net)
    theirs = sanafe_model.run(net, placement.core_of_neuron, x)
    result = sanafe_model.compare(net, activity, priced, theirs, LOIHI, steps=40)

    assert result["spikes"]["chipsim"] > 0
    assert result["spike_counts_identical"]
    assert result["synaptic_events"]["chipsim"] == result["synaptic_events"]["sanafe"]
    assert result["packets"]["chipsim"] == result["packets"]["sanafe"]
    for unit in ("synapse", "soma"):
        assert result["energy_j"][unit]["relative_error"] < 0.02, unit


def digits_conv_graph(seed=2):
    """Input (1, 8, 8) (the digits) -> Conv2d 4x3x3 -> IF -> Affine 10 -> IF; r = 1/dt at the 1 ms step."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(np.array([1, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.integers(-2, 6, size=(4, 1, 3, 3)).astype(float),
                           stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(4)),
        "if1": nir.IF(r=np.full((4, 8, 8), 1e3), v_threshold=np.full((4, 8, 8), 10.0)),
        "flat": nir.Flatten(start_dim=0, input_type={"input": np.array([4, 8, 8])}),
        "fc": nir.Affine(rng.integers(-3, 6, size=(10, 256)).astype(float), np.ones(10)),
        "if2": nir.IF(r=np.full(10, 1e3), v_threshold=np.full(10, 40.0)),
        "output": nir.Output(np.array([10])),
    }
    edges = [("input", "conv"), ("conv", "if1"), ("if1", "flat"), ("flat", "fc"), ("fc", "if2"),
             ("if2", "output")]
    return nir.NIRGraph(nodes, edges, type_check=False)


def test_harness_validate_against_sanafe_passes_on_an_if_conv_net(tmp_path, capsys):
    import json

    from harness.cli import main

    nir.write(tmp_path / "g.nir", digits_conv_graph())
    code = main(["validate", "--profile", "loihi", "--nir", str(tmp_path / "g.nir"), "--against", "sanafe",
                 "--samples", "1", "--steps", "30", "--json", str(tmp_path / "v.json")])
    figures = json.loads((tmp_path / "v.json").read_text())
    assert figures["samples"][0]["spikes"]["chipsim"] > 0
    assert code == 0 and figures["passed"]
    assert "PASSED" in capsys.readouterr().out


def test_harness_validate_against_sanafe_refuses_a_leaky_network(capsys):
    from harness.cli import main

    code = main(["validate", "--profile", "loihi", "--random-net", "40", "--against", "sanafe",
                 "--steps", "10"])
    assert code == 2
    assert "SANA-FE's loihi_lif" in capsys.readouterr().err
