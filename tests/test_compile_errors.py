"""chipsim.compile's refusals: the whole one-line message a user reads (node, kind, expected, found), exit 2.

Every expected message is written out in full, so a message that loses its node, its kind, the value it
found or the wording around them fails here. Small graphs only (this file runs once per mutant of
chipsim/compile.py in ``make mutation``).
"""

import dataclasses

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim.compile import CompileError, compile_graph

LOIHI = hwprofiles.load("loihi")
SPINNAKER = hwprofiles.load("spinnaker")
TRUENORTH = hwprofiles.load("truenorth")
XYLO = hwprofiles.load("xylo-audio2")
SPECK = hwprofiles.load("speck")


def if_(n, threshold=1.0, **more):
    """IF neurons with r = 1: at dt = 1 s a weight reaches v as it is."""
    shape = n if isinstance(n, tuple) else (n,)
    return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, threshold), **more)


def graph(nodes: dict, edges: list) -> nir.NIRGraph:
    return nir.NIRGraph(nodes, edges, type_check=False)


def line(*ops, n_in, out=None) -> nir.NIRGraph:
    """input -> ops[0] -> ops[1] ... -> output, the nodes named a, b, c, ..."""
    names = [chr(ord("a") + i) for i in range(len(ops))]
    nodes = {"input": nir.Input(np.atleast_1d(n_in)), **dict(zip(names, ops, strict=True)),
             "output": nir.Output(np.array([out or 1]))}
    path = ["input", *names, "output"]
    return graph(nodes, list(zip(path, path[1:], strict=False)))


def dense_if(n_in=1, n_out=1, neuron=None) -> nir.NIRGraph:
    return line(nir.Linear(np.ones((n_out, n_in))), neuron or if_(n_out), n_in=n_in, out=n_out)


def refused(g: nir.NIRGraph, profile=LOIHI, **options) -> str:
    options.setdefault("dt_s", 1.0)
    with pytest.raises(CompileError) as caught:
        compile_graph(g, profile, **options)
    assert caught.value.exit_code == 2
    return str(caught.value)


def conv(weight, **geometry) -> nir.Conv2d:
    weight = np.asarray(weight, float)
    args = {"input_shape": (3, 3), "stride": 1, "padding": 0, "dilation": 1, "groups": 1,
            "bias": np.zeros(weight.shape[0])} | geometry
    return nir.Conv2d(weight=weight, **args)


def pool(k, stride=None, padding=0) -> nir.SumPool2d:
    return nir.SumPool2d(kernel_size=np.array([k, k]), stride=np.array([stride or k] * 2),
                         padding=np.array([padding, padding]))


# ---------------------------------------------------------------- options and the time step


def test_an_unknown_integrator_names_the_choices_and_what_was_given():
    assert refused(dense_if(), integrator="rk4") == "integrator must be one of ('euler', 'exact'), got 'rk4'"


@pytest.mark.parametrize("dt", [0.0, -1e-3, float("inf"), float("nan")])
def test_a_time_step_that_is_not_a_positive_number_says_what_it_got(dt):
    assert refused(dense_if(), dt_s=dt) == f"time step dt must be a positive number of seconds, got {dt!r}"


@pytest.mark.parametrize("key", ["dt_s", "dt"])
def test_a_bad_time_step_in_the_graphs_metadata_is_refused_too(key):
    g = dense_if()
    g.metadata = {key: -2.0}
    assert refused(g, dt_s=None) == "time step dt must be a positive number of seconds, got -2.0"


def test_the_time_step_comes_from_dt_s_then_dt_then_the_profile():
    g = dense_if()
    g.metadata = {"dt": 3e-3}
    assert compile_graph(g, LOIHI).dt_s == 3e-3  # NIR's 'dt' key
    g.metadata = {"dt_s": 2e-3, "dt": 3e-3}
    assert compile_graph(g, LOIHI).dt_s == 2e-3  # 'dt_s' first
    g.metadata = {"dt": np.array(4e-3)}  # a 0-d array, as h5py reads it back
    assert compile_graph(g, LOIHI).dt_s == 4e-3
    g.metadata = "not a mapping"
    assert compile_graph(g, LOIHI).dt_s == LOIHI.time_step_s == 1e-3


def test_no_time_step_anywhere_is_refused():
    untimed = dataclasses.replace(LOIHI, time_step_s=None)
    assert refused(dense_if(), untimed, dt_s=None) == "no time step: give dt_s"


# ---------------------------------------------------------------- graph structure


def test_a_subgraph_without_one_input_and_one_output_counts_both():
    sub = graph({"lif": if_(1), "output": nir.Output(np.array([1]))}, [("lif", "output")])
    g = graph({"input": nir.Input(np.array([1])), "sub": sub, "output": nir.Output(np.array([1]))},
              [("input", "sub"), ("sub", "output")])
    assert refused(g) == "subgraph 'sub' needs one Input and one Output, has 0/1"
    sub.nodes["o2"] = nir.Output(np.array([1]))
    sub.nodes["in"] = nir.Input(np.array([1]))
    assert refused(g) == "subgraph 'sub' needs one Input and one Output, has 1/2"


def test_an_edge_to_a_node_the_graph_lacks_names_the_edge_and_the_end():
    g = dense_if()
    g.edges.append(("a", "ghost"))
    assert refused(g) == "edge ('a', 'ghost') names a node the graph does not have: 'ghost'"
    g = dense_if()
    g.edges.append(("ghost", "b"))
    assert refused(g) == "edge ('ghost', 'b') names a node the graph does not have: 'ghost'"


def test_an_edge_into_a_subgraph_is_an_edge_into_its_input():
    sub = graph({"in": nir.Input(np.array([2])), "w": nir.Linear(np.array([[1.0, 2.0]])),
                 "out": nir.Output(np.array([1]))}, [("in", "w"), ("w", "out")])
    g = graph({"input": nir.Input(np.array([2])), "sub": sub, "n": if_(1, threshold=10.0),
               "output": nir.Output(np.array([1]))},
              [("input", "sub"), ("sub", "n"), ("n", "output")])
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert [p.name for p in net.populations] == ["input", "n"]
    assert [(p.name, p.kind) for p in net.projections] == [("input->n", "dense")]
    assert net.projections[0].weights.tolist() == [1, 2]  # integers on Loihi's grid stay as they are


def test_a_layer_kind_the_chip_lacks_names_the_node_the_kind_and_the_chips_kinds():
    g = line(pool(2), nir.Flatten({"input": np.array([1, 1, 1])}), if_(1), n_in=[1, 2, 2])
    assert refused(g, TRUENORTH) == (
        "node 'a' (SumPool2d) needs layer kind 'sumpool', which truenorth does not run (layer_kinds: dense,"
        " recurrent)")


def test_li_on_a_fixed_point_chip_says_what_to_end_the_graph_with():
    li = nir.LI(tau=np.ones(1), r=np.ones(1), v_leak=np.zeros(1))
    assert refused(dense_if(neuron=li), XYLO) == (
        "node 'b' (LI) is a non-spiking leaky integrator; xylo-audio2 has no such neuron: end the graph with"
        " a spiking layer (LIF, CubaLIF, IF)")


def test_a_node_kind_chipsim_does_not_compile_is_named():
    g = line(nir.Linear(np.ones((1, 1))), nir.Threshold(np.ones(1)), n_in=1)
    assert refused(g) == "node 'b' has kind Threshold, which chipsim does not compile"


def test_an_identity_node_passes_its_input_on():
    identity = nir.ir.graph.Identity(np.array([1]))
    g = line(nir.Linear(np.array([[3.0]])), identity, if_(1, threshold=10.0), n_in=1)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert [p.name for p in net.populations] == ["input", "c"]
    assert net.projections[0].weights.tolist() == [3]


def test_two_inputs_or_two_outputs_are_counted():
    g = dense_if()
    g.nodes["input2"] = nir.Input(np.array([1]))
    g.edges.append(("input2", "a"))
    assert refused(g) == "the graph needs exactly one Input and one Output, has 2 and 1"
    g = dense_if()
    g.nodes["output2"] = nir.Output(np.array([1]))
    g.edges.append(("b", "output2"))
    assert refused(g) == "the graph needs exactly one Input and one Output, has 1 and 2"


def test_a_flat_input_to_a_pool_needs_a_chw_shape():
    g = line(pool(2), if_(1), n_in=4)
    assert refused(g, SPECK) == "node 'a' (SumPool2d) needs a (C, H, W) input, got shape (4,)"


def test_a_flat_input_to_a_conv_takes_the_shape_its_input_shape_and_channels_give():
    # 2 channels x 2 x 2 arrive flat (8,); the conv's input_shape (2, 2) and C_in = 2 make them (2, 2, 2)
    g = line(conv(np.ones((1, 2, 2, 2)), input_shape=(2, 2)), if_((1, 1, 1), threshold=100.0), n_in=8)
    net = compile_graph(g, SPECK, dt_s=1.0)
    assert net.projections[0].conv.in_shape == (2, 2, 2)
    # the same input with an input_shape that does not multiply out to 8 is refused
    g = line(conv(np.ones((1, 2, 2, 2)), input_shape=(3, 2)), if_((1, 1, 1)), n_in=8)
    assert refused(g, SPECK) == "node 'a' (Conv2d) needs a (C, H, W) input, got shape (8,)"
    g = line(conv(np.ones((1, 2, 2, 2)), input_shape=None), if_((1, 1, 1)), n_in=8)
    assert refused(g, SPECK) == "node 'a' (Conv2d) needs a (C, H, W) input, got shape (8,)"


def conv_if(weight, out, n_in=(1, 3, 3), **geometry) -> nir.NIRGraph:
    return line(conv(weight, **geometry), if_(out), n_in=list(n_in))


def test_a_conv_weight_that_is_not_four_dimensional_shows_its_shape():
    c = conv(np.ones((1, 1, 2, 2)))
    c.weight = np.ones((2, 3))
    g = line(c, if_((1, 2, 2)), n_in=[1, 3, 3])
    assert refused(g, SPECK) == "node 'a' (Conv2d): weight must be [C_out, C_in, kh, kw], got (2, 3)"


@pytest.mark.parametrize("geometry", [{"dilation": 2}, {"groups": 2}, {"dilation": (1, 2)}])
def test_dilation_or_groups_other_than_one_are_refused(geometry):
    g = conv_if(np.ones((1, 1, 2, 2)), (1, 2, 2), **geometry)
    assert refused(g, SPECK) == "node 'a' (Conv2d): dilation and groups other than 1 are not supported"


def test_a_conv_whose_channels_differ_from_its_input_says_both():
    g = conv_if(np.ones((1, 2, 2, 2)), (1, 2, 2))
    assert refused(g, SPECK) == "node 'a' (Conv2d): weight takes 2 channels, input has 1"


def test_same_padding_with_a_stride_is_refused():
    g = conv_if(np.ones((1, 1, 3, 3)), (1, 2, 2), padding="same", stride=2)
    assert refused(g, SPECK) == "node 'a' (Conv2d): padding 'same' needs stride 1"
    g = conv_if(np.ones((1, 1, 3, 3)), (1, 2, 2), padding="same", stride=(1, 2))
    assert refused(g, SPECK) == "node 'a' (Conv2d): padding 'same' needs stride 1"


def test_a_valid_padding_string_pads_nothing():
    g = conv_if(np.ones((1, 1, 2, 2)), (1, 2, 2), padding="valid")
    net = compile_graph(g, SPECK, dt_s=1.0)
    assert (net.projections[0].conv.padding, net.populations[1].shape) == ((0, 0), (1, 2, 2))
    # a 3 x 3 kernel 'valid' on 3 x 3: one output, no padding (a 'same' padding would be 1)
    g = conv_if(np.ones((1, 1, 3, 3)), (1, 1, 1), padding="valid")
    net = compile_graph(g, SPECK, dt_s=1.0)
    assert (net.projections[0].conv.padding, net.populations[1].shape) == ((0, 0), (1, 1, 1))


def test_a_same_padding_of_an_even_kernel_pads_its_floor_half():
    # a 2 x 4 kernel 'same': padding ((2 - 1) // 2, (4 - 1) // 2) = (0, 1); out (3 + 0 - 2 + 1, 3 + 2 - 4 + 1)
    g = conv_if(np.ones((1, 1, 2, 4)), (1, 2, 2), padding="same")
    net = compile_graph(g, SPECK, dt_s=1.0)
    assert net.projections[0].conv.padding == (0, 1)
    assert net.populations[1].shape == (1, 2, 2)


@pytest.mark.parametrize("kernel", [(4, 1), (1, 4)])
def test_a_kernel_larger_than_its_input_is_refused_with_both_sizes(kernel):
    kh, kw = kernel
    g = conv_if(np.ones((1, 1, kh, kw)), (1, 1, 1))
    assert refused(g, SPECK) == f"node 'a' (Conv2d): kernel {kh}x{kw} does not fit input 3x3"


def test_a_padded_kernel_that_fits_exactly_gives_one_output():
    # 5 x 5 over 3 x 3 padded by 1: (3 + 2 - 5) // 1 + 1 = 1
    g = conv_if(np.ones((1, 1, 5, 5)), (1, 1, 1), padding=1)
    net = compile_graph(g, SPECK, dt_s=1.0)
    assert net.populations[1].shape == (1, 1, 1)


@pytest.mark.parametrize("k, stride, padding, out",
                         [(4, 1, 0, None), (2, 2, 0, (1, 1, 1)), (4, 1, 1, (1, 2, 2))])
def test_a_pool_window_larger_than_its_input_is_refused(k, stride, padding, out):
    g = line(pool(k, stride, padding), if_(out or (1, 1, 1)), n_in=[1, 3, 3])
    if out is None:
        assert refused(g, SPECK) == f"node 'a' (SumPool2d): window {k}x{k} does not fit input 3x3"
    else:  # (3 + 2p - k) // s + 1: 1 for a 2 x 2 of stride 2, 2 for a 4 x 4 padded by 1
        assert compile_graph(g, SPECK, dt_s=1.0).populations[1].shape == out


def test_a_pool_window_that_fits_one_way_only_is_refused():
    p = nir.SumPool2d(kernel_size=np.array([1, 4]), stride=np.array([1, 1]), padding=np.array([0, 0]))
    g = line(p, if_((1, 3, 1)), n_in=[1, 3, 3])
    assert refused(g, SPECK) == "node 'a' (SumPool2d): window 1x4 does not fit input 3x3"


@pytest.mark.parametrize("shape", [(2, 3), (2,), (2, 3, 1)])
def test_a_dense_weight_that_does_not_take_the_inputs_shows_its_shape(shape):
    w = nir.Linear(np.ones((2, 3)))
    w.weight = np.ones(shape)  # nir builds a Linear of 2-D weights only; a file can hold any
    g = line(w, if_(2), n_in=2)
    assert refused(g) == f"node 'a' (Linear): weight {shape} does not take 2 inputs"


def test_an_affine_weight_that_does_not_take_the_inputs_names_affine():
    g = line(nir.Affine(np.ones((2, 3)), np.zeros(2)), if_(2), n_in=2)
    assert refused(g) == "node 'a' (Affine): weight (2, 3) does not take 2 inputs"


def test_a_neuron_layer_of_the_wrong_size_says_both_sizes():
    g = line(nir.Linear(np.ones((3, 2))), if_(2), n_in=2)
    assert refused(g) == "node 'b' (IF) has 2 neurons but receives 3 inputs"


@pytest.mark.parametrize("field", ["tau", "r", "v_threshold"])
def test_the_largest_parameter_array_is_the_layers_size(field):
    lif = nir.LIF(tau=np.ones(1), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))
    setattr(lif, field, np.ones(3))
    g = line(nir.Linear(np.ones((2, 2))), lif, n_in=2)
    assert refused(g) == "node 'b' (LIF) has 3 neurons but receives 2 inputs"


def test_a_cubalif_layer_is_sized_by_tau_mem():
    cuba = nir.CubaLIF(tau_syn=np.ones(1), tau_mem=np.ones(1), r=np.ones(1), v_leak=np.zeros(1),
                       v_threshold=np.ones(1))
    cuba.tau_mem = np.ones(3)  # nir checks the shapes agree when it builds one; a file need not
    g = line(nir.Linear(np.ones((2, 2))), cuba, n_in=2)
    assert refused(g) == "node 'b' (CubaLIF) has 3 neurons but receives 2 inputs"


def test_an_input_without_a_shape_is_refused():
    g = dense_if()
    g.nodes["input"].input_type["input"] = None
    assert refused(g) == "Input node 'input' has no shape"


def test_inputs_of_different_sizes_into_one_node_are_refused():
    g = graph({"input": nir.Input(np.array([2])), "w1": nir.Linear(np.ones((1, 2))),
               "w3": nir.Linear(np.ones((3, 2))), "n": if_(1), "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("input", "w3"), ("w1", "n"), ("w3", "n"), ("n", "output")])
    assert refused(g) == "node 'n' (IF) receives inputs of different sizes {1, 3}"


def test_a_node_the_input_does_not_reach_is_named():
    g = dense_if()
    g.nodes["island"] = nir.Linear(np.ones((1, 1)))
    assert refused(g) == "node 'island' (Linear) is not reachable from the Input"


def test_an_unreached_output_or_pass_node_is_no_error():
    sub = graph({"in": nir.Input(np.array([1])), "out": nir.Output(np.array([1]))}, [("in", "out")])
    g = dense_if()
    g.nodes["spare"] = sub  # its Input and Output become pass-through nodes nothing feeds
    assert len(compile_graph(g, LOIHI, dt_s=1.0).populations) == 2


def test_an_output_that_feeds_a_node_is_refused():
    g = dense_if()
    g.nodes["w2"] = nir.Linear(np.ones((1, 1)))
    g.nodes["n2"] = if_(1)
    g.edges += [("output", "w2"), ("w2", "n2")]
    assert refused(g) == "node 'output' (Output) feeds 'w2'; an Output ends the graph"


def test_a_cycle_of_weights_without_a_neuron_is_refused():
    g = graph({"input": nir.Input(np.array([1])), "w1": nir.Linear(np.ones((1, 1))),
               "w2": nir.Linear(np.ones((1, 1))), "n": if_(1), "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "w2"), ("w2", "w1"), ("w1", "n"), ("n", "output")])
    # walked back from n: w1, then w2, then w1 again
    assert refused(g) == "node 'w1' (Linear) is on a cycle with no neuron node in it"


def test_the_output_needs_one_input_and_a_neuron_behind_it():
    g = dense_if()
    g.edges.append(("a", "output"))
    assert refused(g) == "node 'output' must have exactly one input on the way to the Output"
    g = dense_if()
    g.nodes["w2"] = nir.Linear(np.ones((1, 1)))
    g.edges = [e for e in g.edges if e != ("b", "output")] + [("b", "w2"), ("w2", "output")]
    assert refused(g) == "the Output is fed by node 'w2' (Linear); it must be fed by a neuron node"


def test_an_output_behind_pass_nodes_finds_the_neuron():
    identity = nir.ir.graph.Identity(np.array([1]))
    g = line(nir.Linear(np.array([[2.0]])), if_(1, threshold=5.0), identity, n_in=1)
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert net.output == 1 and net.populations[1].name == "b"


def test_a_neuron_without_input_other_than_itself_is_refused():
    # n2 only hears itself: a chain that never reaches the Input
    g = dense_if()
    g.nodes["n2"] = if_(1)
    g.nodes["self"] = nir.Linear(np.ones((1, 1)))
    g.edges += [("n2", "self"), ("self", "n2")]
    assert refused(g) == "node 'n2' (IF) is not reachable from the Input"


def test_a_neuron_that_receives_nothing_is_not_reachable():
    g = dense_if()
    g.nodes["lonely"] = if_(1)
    assert refused(g) == "node 'lonely' (IF) is not reachable from the Input"


def test_a_bias_of_the_wrong_size_says_both_sizes():
    g = line(nir.Affine(np.ones((2, 1)), np.ones(3)), if_(2), n_in=1)
    assert refused(g) == "node 'a' (Affine): bias has 3 values for 2 outputs"


def test_a_conv_bias_of_the_wrong_size_names_the_conv():
    g = conv_if(np.ones((1, 1, 2, 2)), (1, 2, 2), bias=np.ones(3))
    assert refused(g, SPECK) == "node 'a' (Conv2d): bias has 3 values for 4 outputs"


# ---------------------------------------------------------------- neuron parameters


def test_a_parameter_with_the_wrong_count_names_the_field():
    cuba = nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                       v_threshold=np.ones(2))
    cuba.w_in = np.ones(3)
    assert refused(dense_if(1, 2, cuba)) == "node 'b' (CubaLIF): w_in has 3 values for 2 neurons"


def test_time_constants_that_differ_on_a_fixed_point_chip_show_the_range():
    lif = nir.LIF(tau=np.array([1e-3, 2.5e-3]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    assert refused(dense_if(1, 2, lif)) == (
        "node 'b' (LIF): tau differs between neurons (0.001..0.0025); chipsim needs one value per node")


def test_v_leak_that_differs_after_threshold_scaling_is_refused():
    lif = nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.array([1.0, 1.0]), v_threshold=np.array([1.0, 2.0]))
    # threshold scaling thr_ref / thr = 2, 1: v_leak becomes 2, 1
    assert refused(dense_if(1, 2, lif)) == (
        "node 'b' (LIF): v_leak * threshold scaling differs between neurons (1..2); chipsim needs one value"
        " per node")
    lif.v_leak = np.array([0.5, 1.0])  # 0.5 * 2 = 1 * 1: equal after scaling, accepted
    compile_graph(dense_if(1, 2, lif), LOIHI, dt_s=1.0)


def test_v_reset_that_differs_after_threshold_scaling_is_refused():
    lif = nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.array([1.0, 2.0]),
                  v_reset=np.array([1.0, 1.0]))
    assert refused(dense_if(1, 2, lif), SPINNAKER) == (
        "node 'b' (LIF): v_reset * threshold scaling differs between neurons (1..2); chipsim needs one value"
        " per node")


def test_equal_infinite_taus_are_one_value_and_mixed_ones_are_refused():
    lif = nir.LIF(tau=np.array([np.inf, np.inf]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    net = compile_graph(dense_if(1, 2, lif), LOIHI, dt_s=1.0)  # no leak: v keeps all (decay 0)
    assert (net.populations[1].params.decay_v, net.projections[0].weights.tolist()) == (0, [1, 1])
    assert compile_graph(dense_if(1, 2, lif), SPINNAKER, dt_s=1.0).populations[1].params.tau_mem_s == np.inf
    lif.tau = np.array([np.inf, 1.0])
    assert refused(dense_if(1, 2, lif)) == (
        "node 'b' (LIF): tau differs between neurons (1..inf); chipsim needs one value per node")


def test_per_neuron_taus_on_a_float_chip_must_be_positive():
    lif = nir.LIF(tau=np.array([1e-3, -1e-3]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    assert refused(dense_if(1, 2, lif), SPINNAKER) == "node 'b' (LIF): time constants must be > 0 s"
    lif.tau = np.array([1e-3, 0.0])
    assert refused(dense_if(1, 2, lif), SPINNAKER) == "node 'b' (LIF): time constants must be > 0 s"


@pytest.mark.parametrize("tau_syn, tau_mem", [(1.0, 0.0), (0.0, 1.0), (-1.0, 1.0), (1.0, -1.0)])
def test_a_cubalif_needs_both_time_constants_positive(tau_syn, tau_mem):
    cuba = nir.CubaLIF(tau_syn=np.array([tau_syn]), tau_mem=np.array([tau_mem]), r=np.ones(1),
                       v_leak=np.zeros(1), v_threshold=np.ones(1))
    assert refused(dense_if(neuron=cuba)) == "node 'b' (CubaLIF): time constants must be > 0 s"


def test_a_lif_with_a_zero_tau_is_refused():
    lif = nir.LIF(tau=np.zeros(1), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))
    assert refused(dense_if(neuron=lif)) == "node 'b' (LIF): time constants must be > 0 s"


def test_thresholds_that_differ_and_are_not_all_positive_are_refused():
    n = if_(2)
    n.v_threshold = np.array([1.0, 0.0])
    assert refused(dense_if(1, 2, n)) == "node 'b' (IF): thresholds differ and some are <= 0"
    n.v_threshold = np.array([1.0, -1.0])
    assert refused(dense_if(1, 2, n)) == "node 'b' (IF): thresholds differ and some are <= 0"


def test_a_nonzero_v_reset_on_a_fixed_point_chip_names_the_value_and_the_chip():
    n = if_(1, v_reset=np.array([0.5]))
    assert refused(dense_if(neuron=n)) == "node 'b' (IF): v_reset 0.5 != 0; loihi resets to 0"
    assert compile_graph(dense_if(neuron=n), SPINNAKER, dt_s=1.0).populations[1].params.v_reset == 0.5


@pytest.mark.parametrize("meta, message", [
    ({"reset": "none"}, "node 'b': metadata reset must be 'zero' or 'subtract', got 'none'"),
    ({"reset": 0}, "node 'b': metadata reset must be 'zero' or 'subtract', got 0"),
    ({"spike": "burst"}, "node 'b': metadata spike must be 'single' or 'multi', got 'burst'"),
])
def test_metadata_the_compiler_does_not_know_is_refused(meta, message):
    assert refused(dense_if(neuron=if_(1, metadata=meta))) == message


# ---------------------------------------------------------------- projections and delays


def test_a_recurrent_projection_on_a_chip_without_recurrent_layers_names_both_ends():
    g = dense_if()
    g.nodes["rec"] = nir.Linear(np.ones((1, 1)))
    g.edges += [("b", "rec"), ("rec", "b")]
    assert refused(g, SPECK) == "projection 'b' -> 'b' is recurrent, which speck does not run"


def delayed(delay, n=1) -> nir.NIRGraph:
    return line(nir.Linear(np.ones((n, 1))), nir.Delay(np.asarray(delay, float)), if_(n), n_in=1, out=n)


@pytest.mark.parametrize("delay", [[1.5], [1.0, 2.0], [-1.0], []])
def test_a_delay_that_is_not_one_whole_number_of_steps_shows_what_it_got(delay):
    n = max(len(delay), 1)
    expected = (f"node 'b' (Delay): needs one delay, a whole number of steps of 1 s, for every neuron; got "
                f"{np.asarray(delay, float)!r}")
    assert refused(delayed(delay, n), TRUENORTH) == expected


def test_a_delay_within_a_millionth_of_a_step_counts_as_whole():
    net = compile_graph(delayed([2e-3 + 1e-13]), TRUENORTH, dt_s=1e-3)
    assert net.projections[0].delay_steps == 1 + 2


def test_paths_with_different_delays_are_listed():
    g = graph({"input": nir.Input(np.array([1])), "w1": nir.Linear(np.ones((1, 1))),
               "d": nir.Delay(np.array([2.0])), "w2": nir.Linear(np.ones((1, 1))), "n": if_(1),
               "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("w1", "d"), ("d", "n"), ("input", "w2"), ("w2", "n"), ("n", "output")])
    assert refused(g, TRUENORTH) == (
        "projection 'input' -> 'n': its paths carry different delays [0, 2] steps; chipsim needs one delay"
        " per projection")


def test_a_delay_beyond_the_chips_range_says_its_limit():
    # truenorth: synaptic delay 1, programmable up to 15; 15 extra steps make 16
    assert refused(delayed([15.0]), TRUENORTH) == (
        "projection 'input' -> 'c': a delay of 16 steps; truenorth allows at most 15"
        " (latency.synapse_delay_max_steps)")
    assert compile_graph(delayed([14.0]), TRUENORTH, dt_s=1.0).projections[0].delay_steps == 15
    # xylo: delay 0 and no programmable delay
    assert refused(delayed([1.0]), XYLO) == (
        "projection 'input' -> 'c': a delay of 1 steps; xylo-audio2 allows only 0 (no programmable delay)"
        " (latency.synapse_delay_max_steps)")
    assert compile_graph(delayed([0.0]), XYLO, dt_s=1.0).projections[0].delay_steps == 0


def test_a_missing_file_is_a_compile_error_with_readers_message(tmp_path):
    from chipsim.compile import load_graph

    with pytest.raises(CompileError) as caught:
        load_graph(tmp_path / "none.nir")
    assert str(caught.value) == f"NIR file not found: {tmp_path / 'none.nir'}"
    assert caught.value.exit_code == 2
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # one line, no chain


def test_nested_subgraphs_name_their_nodes_outer_dot_inner():
    inner = graph({"in": nir.Input(np.array([1])), "w": nir.Linear(np.array([[2.0]])), "n": if_(1, 10.0),
                   "out": nir.Output(np.array([1]))}, [("in", "w"), ("w", "n"), ("n", "out")])
    outer = graph({"in": nir.Input(np.array([1])), "inner": inner, "out": nir.Output(np.array([1]))},
                  [("in", "inner"), ("inner", "out")])
    g = graph({"input": nir.Input(np.array([1])), "outer": outer, "output": nir.Output(np.array([1]))},
              [("input", "outer"), ("outer", "output")])
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert [p.name for p in net.populations] == ["input", "outer.inner.n"]
    assert [p.name for p in net.projections] == ["input->outer.inner.n"]
    inner.nodes["w"] = nir.Threshold(np.ones(1))
    assert refused(g) == "node 'outer.inner.w' has kind Threshold, which chipsim does not compile"
    inner.edges.append(("w", "ghost"))
    assert refused(g) == ("edge ('outer.inner.w', 'outer.inner.ghost') names a node the graph does not have: "
                          "'outer.inner.ghost'")


@pytest.mark.parametrize("field", ["r", "v_threshold", "tau", "v_leak", "v_reset"])
def test_a_lif_parameter_with_too_few_values_names_it(field):
    n = nir.LIF(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3))
    setattr(n, field, np.ones(2) if field != "v_leak" else np.zeros(2))
    assert refused(dense_if(1, 3, n)) == f"node 'b' (LIF): {field} has 2 values for 3 neurons"


def test_a_cubalif_tau_syn_with_the_wrong_count_names_it():
    c = nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                    v_threshold=np.ones(2))
    c.tau_syn = np.ones(3)  # not among the fields that size a layer
    assert refused(dense_if(1, 2, c)) == "node 'b' (CubaLIF): tau_syn has 3 values for 2 neurons"
    assert refused(dense_if(1, 2, c), SPINNAKER) == "node 'b' (CubaLIF): tau_syn has 3 values for 2 neurons"


def test_taus_a_billionth_apart_differ():
    # rtol 1e-9 and no absolute tolerance: 1 and 1 + 5e-9 are two values (numpy's defaults would merge them)
    n = nir.LIF(tau=np.array([1.0, 1.0 + 5e-9]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    assert refused(dense_if(1, 2, n)) == (
        "node 'b' (LIF): tau differs between neurons (1..1); chipsim needs one value per node")
    p = compile_graph(dense_if(1, 2, n), SPINNAKER, dt_s=1.0).populations[1].params
    assert p.tau_mem_per_neuron_s.tolist() == [1.0, 1.0 + 5e-9]
    n.tau = np.array([1.0, 1.0 + 1e-10])  # within 1e-9: one value
    p = compile_graph(dense_if(1, 2, n), SPINNAKER, dt_s=1.0).populations[1].params
    assert p.tau_mem_per_neuron_s is None


def test_a_delay_a_millionth_of_a_step_is_zero_steps():
    # |d - rint(d)| = 1e-6 is within the tolerance (> 1e-6 is refused)
    g = line(nir.Linear(np.ones((1, 1))), nir.Delay(np.array([1e-6])), if_(1), n_in=1)
    assert compile_graph(g, TRUENORTH, dt_s=1.0).projections[0].delay_steps == 1
    g.nodes["b"] = nir.Delay(np.array([2e-6]))
    assert refused(g, TRUENORTH).startswith("node 'b' (Delay): needs one delay, a whole number of steps")


def test_two_subgraphs_in_a_row_keep_both_their_edges():
    def sub(w):
        return graph({"in": nir.Input(np.array([1])), "w": nir.Linear(np.array([[w]])), "n": if_(1, 10.0),
                      "out": nir.Output(np.array([1]))}, [("in", "w"), ("w", "n"), ("n", "out")])

    g = graph({"input": nir.Input(np.array([1])), "s1": sub(2.0), "s2": sub(3.0),
               "output": nir.Output(np.array([1]))}, [("input", "s1"), ("s1", "s2"), ("s2", "output")])
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert [p.name for p in net.projections] == ["input->s1.n", "s1.n->s2.n"]
    assert [p.weights.tolist() for p in net.projections] == [[2], [3]]


def test_nodes_listed_before_their_inputs_still_get_shapes():
    # the neuron comes before its weight node in the graph's dict: shapes take a second pass
    g = graph({"input": nir.Input(np.array([2])), "n": if_(1, 10.0), "w": nir.Linear(np.array([[1.0, 2.0]])),
               "output": nir.Output(np.array([1]))}, [("input", "w"), ("w", "n"), ("n", "output")])
    net = compile_graph(g, LOIHI, dt_s=1.0)
    assert net.populations[1].shape == (1,) and net.projections[0].weights.tolist() == [1, 2]


def test_an_identity_node_is_named_identity_in_a_message():
    identity = nir.ir.graph.Identity(np.array([1]))
    g = graph({"input": nir.Input(np.array([2])), "w1": nir.Linear(np.ones((1, 2))),
               "id": identity, "n": if_(1), "output": nir.Output(np.array([1]))},
              [("input", "w1"), ("input", "id"), ("w1", "id"), ("id", "n"), ("n", "output")])
    assert refused(g) == "node 'id' (Identity) receives inputs of different sizes {1, 2}"


def test_a_layer_that_receives_no_inputs_is_one_line():
    # a conv of 0 output channels, or a Linear of 0 rows, feeds a layer of no neurons
    c = conv(np.ones((1, 1, 1, 1)))
    c.weight = np.ones((0, 1, 1, 1))
    g = line(c, if_(1), n_in=[1, 3, 3])
    assert refused(g, SPECK) == "node 'b' (IF) receives 0 inputs; expected at least one neuron"
    w = nir.Linear(np.ones((1, 2)))
    w.weight = np.ones((0, 2))
    assert refused(line(w, if_(1), n_in=2)) == "node 'b' (IF) receives 0 inputs; expected at least one neuron"
