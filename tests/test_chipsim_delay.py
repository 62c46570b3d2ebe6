"""Spike timing: a spike fired in step t reaches the next layer in step t + the chip's synaptic delay.

Hand-computed over a 3-layer feed-forward chain of IF neurons that fire on one input spike: on Loihi and
TrueNorth (delay 1) the input spike of step 0 makes layer k fire in step k; on a chip that delivers within
the step (Speck) all three fire in step 0. The engine and the Brian2 twin must both do it; NIR Delay nodes
add their steps where the chip has programmable delays and are refused where it has none.
"""

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim.compile import CompileError, compile_graph
from chipsim.simulate import simulate
from harness import brian2_model
from harness.validate import single_core_placement


def chain_graph(layers: int = 3, delays: dict | None = None) -> nir.NIRGraph:
    """Input(1) -> [Affine(1) -> IF(threshold 0.5)] x layers; ``delays``: layer index -> Delay steps before
    that layer's Affine (dt = 1 s, so a step is 1)."""
    delays = delays or {}
    nodes = {"input": nir.Input(np.array([1]))}
    edges, last = [], "input"
    for k in range(1, layers + 1):
        if k in delays:
            nodes[f"d{k}"] = nir.Delay(np.array([float(delays[k])]))
            edges.append((last, f"d{k}"))
            last = f"d{k}"
        nodes[f"w{k}"] = nir.Affine(np.ones((1, 1)), np.zeros(1))
        nodes[f"n{k}"] = nir.IF(r=np.ones(1), v_threshold=np.array([0.5]))
        edges += [(last, f"w{k}"), (f"w{k}", f"n{k}")]
        last = f"n{k}"
    nodes["output"] = nir.Output(np.array([1]))
    edges.append((last, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def first_spike_steps(profile_name: str, graph: nir.NIRGraph, steps: int = 12):
    """(chipsim, Brian2) first firing step of every layer after one input spike in step 0."""
    profile = hwprofiles.load(profile_name)
    net = compile_graph(graph, profile, dt_s=1.0)
    x = np.zeros((steps, 1, 1), bool)
    x[0] = True
    activity = simulate(net, single_core_placement(net, profile), x, record_raster=True)
    chip = [int(np.flatnonzero(r[:, 0, 0])[0]) for r in activity.raster[1:]]
    twin = brian2_model.run(net, x, target="numpy")[0]
    brian = [int(np.flatnonzero(s[:, 0])[0]) for s in twin.spikes[1:]]
    return chip, brian, net


@pytest.mark.parametrize("profile_name", ["loihi", "truenorth"])
def test_layer_k_of_a_chain_fires_k_steps_after_the_input(profile_name):
    chip, brian, net = first_spike_steps(profile_name, chain_graph())
    assert [p.delay_steps for p in net.projections] == [1, 1, 1]
    assert chip == [1, 2, 3]
    assert brian == [1, 2, 3]


def test_a_chip_without_a_pipeline_delivers_within_the_step():
    chip, brian, _ = first_spike_steps("speck", chain_graph())
    assert chip == brian == [0, 0, 0]


def test_a_nir_delay_adds_its_steps_to_the_chips_delay_on_truenorth():
    chip, brian, net = first_spike_steps("truenorth", chain_graph(delays={2: 3}))
    assert [p.delay_steps for p in net.projections] == [1, 4, 1]
    assert chip == brian == [1, 5, 6]


def test_a_delay_past_the_chips_range_is_refused():
    with pytest.raises(CompileError, match="at most 15"):
        compile_graph(chain_graph(delays={1: 15}), hwprofiles.load("truenorth"), dt_s=1.0)


def test_a_chip_without_programmable_delays_refuses_a_delay_node():
    with pytest.raises(CompileError, match="no programmable delay") as info:
        compile_graph(chain_graph(delays={1: 2}), hwprofiles.load("loihi2"), dt_s=1.0)
    assert info.value.exit_code == 2


def test_a_delay_that_is_not_whole_steps_is_refused():
    with pytest.raises(CompileError, match="whole number of steps"):
        compile_graph(chain_graph(delays={1: 1.5}), hwprofiles.load("truenorth"), dt_s=1.0)


def test_the_output_of_a_chain_lags_by_its_depth_and_keeps_every_spike():
    profile = hwprofiles.load("loihi")
    net = compile_graph(chain_graph(), profile, dt_s=1.0)
    x = np.zeros((8, 1, 1), bool)
    x[[0, 2, 4]] = True
    out = simulate(net, single_core_placement(net, profile), x).output_spikes[:, 0, 0]
    assert np.flatnonzero(out).tolist() == [3, 5, 7]
