"""Bad graphs through `harness map --from auto`: one line on stderr, exit 2; and the float engine's
multi-spike and subtract-after-decay semantics, computed by hand."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from chipsim import nir_read
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import simulate
from harness.cli import main
from hwprofiles import load


def lif(n, tau=1e-3, r=10.0):
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.ones(n))


def write(path, nodes, edges):
    nir.write(path, nir.NIRGraph(nodes, edges, type_check=False))
    return path


@pytest.mark.parametrize(
    "case,expect",
    [
        ("shape", "node 'fc' (Affine): weight (2, 3) does not take 4 inputs"),
        ("unknown", "node 'th' has kind Threshold, which chipsim does not compile"),
        ("cycle", "is on a cycle with no neuron node in it"),
    ],
)
def test_bad_graph_is_one_line_and_exit_2(tmp_path, capsys, case, expect):
    x = nir.Input(np.array([4]))
    if case == "shape":
        nodes = {
            "input": x,
            "fc": nir.Affine(np.ones((2, 3)), np.zeros(2)),
            "lif": lif(2),
            "output": nir.Output(np.array([2])),
        }
        edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    elif case == "unknown":
        nodes = {"input": x, "th": nir.Threshold(np.ones(4)), "output": nir.Output(np.array([4]))}
        edges = [("input", "th"), ("th", "output")]
    else:
        nodes = {
            "input": x,
            "a": nir.Linear(np.eye(4)),
            "b": nir.Linear(np.eye(4)),
            "lif": lif(4),
            "output": nir.Output(np.array([4])),
        }
        edges = [("input", "a"), ("a", "b"), ("b", "a"), ("b", "lif"), ("lif", "output")]
    path = write(tmp_path / "g.nir", nodes, edges)
    assert main(["map", "--nir", str(path), "--profile", "generic-45nm", "--dt", "1e-4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("harness map: error:") and "\n" not in err and expect in err


def _one_neuron(tmp_path, weight, spike, reset, after_decay, tau=None):
    """Input -> Linear(weight) -> one neuron (IF, or LIF with tau at dt 1, r = tau: gain 1)."""
    cell = nir.IF(r=np.ones(1), v_threshold=np.ones(1)) if tau is None else lif(1, tau=tau, r=tau)
    graph = nir.NIRGraph(
        {
            "input": nir.Input(np.array([1])),
            "w": nir.Linear(np.array([[weight]])),
            "n": cell,
            "output": nir.Output(np.array([1])),
        },
        [("input", "w"), ("w", "n"), ("n", "output")],
        type_check=False,
    )
    graph = nir_read.with_semantics(graph, 1.0, "test", reset, spike, after_decay)
    profile = load("generic-45nm")
    net = compile_graph(graph, profile)
    return net, profile


def test_multi_spike_fires_floor_v_over_threshold_and_subtracts_them(tmp_path):
    net, profile = _one_neuron(tmp_path, 2.5, "multi", "subtract", False)
    act = simulate(net, place(net, profile), np.ones((3, 1)))
    # v: 2.5 -> 2 spikes, 0.5; 3.0 -> 3 spikes, 0; 2.5 -> 2 spikes
    assert np.asarray(act.output_spikes)[:, 0, 0].tolist() == [2, 3, 2]


def test_multi_spike_delivers_its_count_downstream(tmp_path):
    graph = nir.NIRGraph(
        {
            "input": nir.Input(np.array([1])),
            "w1": nir.Linear(np.array([[2.0]])),
            "a": nir.IF(r=np.ones(1), v_threshold=np.ones(1)),
            "w2": nir.Linear(np.array([[0.5]])),
            "b": nir.IF(r=np.ones(1), v_threshold=np.ones(1)),
            "output": nir.Output(np.array([1])),
        },
        [("input", "w1"), ("w1", "a"), ("a", "w2"), ("w2", "b"), ("b", "output")],
        type_check=False,
    )
    graph = nir_read.with_semantics(graph, 1.0, "test", "subtract", "multi", False)
    profile = load("generic-45nm")
    net = compile_graph(graph, profile)
    act = simulate(net, place(net, profile), np.ones((2, 1)))
    # a fires 2 a step; b gets 2 * 0.5 = 1.0 a step: one spike each step
    assert np.asarray(act.output_spikes)[:, 0, 0].tolist() == [1, 1]


def test_reset_after_decay_subtracts_the_threshold_undecayed(tmp_path):
    # beta = 1 - dt/tau = 0.5, input 1.2 a step, threshold 1; snnTorch: mem = 0.5*mem + 1.2 - spk_prev
    net, profile = _one_neuron(tmp_path, 1.2, "single", "subtract", True, tau=2.0)
    mem, spk, expected = 0.0, 0.0, []
    for _ in range(6):
        mem = 0.5 * mem + 1.2 - spk
        spk = float(mem > 1)
        expected.append(spk)
    act = simulate(net, place(net, profile), np.ones((6, 1)))
    assert np.asarray(act.output_spikes)[:, 0, 0].tolist() == expected
    net2, _ = _one_neuron(tmp_path, 1.2, "single", "subtract", False, tau=2.0)  # subtract at the spike
    act2 = simulate(net2, place(net2, profile), np.ones((6, 1)))
    assert np.asarray(act2.output_spikes)[:, 0, 0].tolist() != expected


def test_from_names_the_dialect_even_where_auto_would_detect_another(capsys):
    """`--from snntorch` on a sinabs export is read as snnTorch's (the user's word wins over detection)."""
    import argparse
    import pathlib

    import hwprofiles
    from harness import nir_input

    path = pathlib.Path(__file__).parent / "data" / "interop" / "digits" / "sinabs" / "mlp.nir"
    args = argparse.Namespace(**{"from": "snntorch", "dt": None, "reset": None, "integrator": None})
    _, convention = nir_input.read(args, path, hwprofiles.load("generic-45nm"))
    assert "snntorch" in convention.describe().lower()
    args = argparse.Namespace(**{"from": "auto", "dt": None, "reset": None, "integrator": None})
    _, convention = nir_input.read(args, path, hwprofiles.load("generic-45nm"))
    assert "sinabs" in convention.describe().lower()
