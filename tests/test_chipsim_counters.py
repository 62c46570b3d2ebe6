"""Per-population counters and NeuroBench's names for them (chipsim.activity.population_counters)."""

import numpy as np
import pytest

import hwprofiles
from chipsim.activity import neurobench_totals, population_counters
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import simulate
from harness.random_net import poisson_input, random_network
from harness.validate import single_core_placement
from tests.test_chipsim_delay import chain_graph

STEPS = 8


def chain_rows():
    """One input spike in step 0 through the 3-layer TrueNorth chain (delay 1), all on core 0."""
    profile = hwprofiles.load("truenorth")
    net = compile_graph(chain_graph(), profile, dt_s=1.0)
    x = np.zeros((STEPS, 1, 1), bool)
    x[0] = True
    activity = simulate(net, single_core_placement(net, profile), x)
    return population_counters(activity, net), activity


def test_a_chain_counts_one_spike_one_event_and_one_active_update_per_layer():
    rows, _ = chain_rows()
    assert [r["spikes"] for r in rows] == [1, 1, 1, 1]
    assert [r["synops"] for r in rows] == [0, 1, 1, 1]
    # TrueNorth has no current: a layer's neuron is active only in the step it receives and fires
    assert [r["neuron_updates_active"] for r in rows] == [0, 1, 1, 1]
    assert [r["neuron_updates_idle"] for r in rows] == [0, STEPS - 1, STEPS - 1, STEPS - 1]
    # one packet per spike that has targets (the host's into core 0, layers 1 and 2); the output has none
    assert [r["packets"] for r in rows] == [1, 1, 1, 0]
    assert [r["hops"] for r in rows] == [0, 0, 0, 0]


def test_neurobench_names_of_the_chain():
    rows, _ = chain_rows()
    nb = [r["neurobench"] for r in rows]
    assert [n["effective_acs"] for n in nb] == [0, 1, 1, 1]
    assert [n["effective_macs"] for n in nb] == [0, 0, 0, 0]
    assert [n["membrane_updates"] for n in nb] == [0, 1, 1, 1]
    assert [n["dense_synops"] for n in nb] == [0, STEPS, STEPS, STEPS]  # one 1x1 dense synapse per step
    assert nb[1]["activation_sparsity"] == pytest.approx(1 - 1 / STEPS)
    totals = neurobench_totals(rows, STEPS)
    assert totals["effective_acs"] == 3 and totals["dense_synops"] == 3 * STEPS
    assert totals["activation_sparsity"] == pytest.approx(1 - 3 / (3 * STEPS))


@pytest.mark.parametrize("name", ["loihi", "truenorth"])
def test_population_counters_add_up_to_the_core_counters(name):
    profile = hwprofiles.load(name)
    net = random_network(profile, 300, seed=2)
    x = poisson_input(40, net.populations[0].size, 0.1, seed=2, batch=2)
    activity = simulate(net, place(net, profile), x)
    pop = activity.population
    assert pop["synops"].sum() == activity.total("synops")
    assert pop["neuron_updates_active"].sum() == activity.total("neuron_updates_active")
    assert pop["neuron_updates_active"].sum() + pop["neuron_updates_idle"].sum() == 2 * 40 * net.n_neurons
    assert pop["spikes"][:, 1:].sum() == activity.total("spikes_out")
    assert pop["packets"][:, 1:].sum() == activity.total("packets_out")
    assert pop["packets"].sum() == activity.total("packets_in")
    assert pop["hops"].sum() == activity.total("hops_ew") + activity.total("hops_ns")
