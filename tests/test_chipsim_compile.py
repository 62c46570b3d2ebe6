"""chipsim.compile and chipsim.quantize: NIR graphs to a chip's fixed point, with hand-computed answers."""

import dataclasses

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim import quantize as q
from chipsim.compile import CompileError, compile_graph, load_graph
from chipsim.expand import expand_conv
from chipsim.network import conv_synapse_count

DT = 1e-4
LOIHI = hwprofiles.load("loihi")
TRUENORTH = hwprofiles.load("truenorth")
SPINNAKER = hwprofiles.load("spinnaker")
XYLO = hwprofiles.load("xylo-audio2")


def snntorch_lif(n, beta=0.9, threshold=1.0):
    """A LIF as snnTorch's exporter writes it: tau = dt/(1-beta), r = tau/dt, per-neuron arrays."""
    tau = DT / (1 - beta)
    return nir.LIF(
        tau=np.full(n, tau), r=np.full(n, tau / DT), v_leak=np.zeros(n), v_threshold=np.full(n, threshold)
    )


def chain(*layers, n_in):
    """Input -> layers... -> Output, names l0, l1, ..."""
    nodes = {"input": nir.Input(np.array([n_in]))}
    edges, prev = [], "input"
    for i, layer in enumerate(layers):
        nodes[f"l{i}"] = layer
        edges.append((prev, f"l{i}"))
        prev = f"l{i}"
    nodes["output"] = nir.Output(np.array([layers[-1].output_type["output"][0]]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes, edges, type_check=False)


def threshold_if_graph(w, threshold):
    """integer_if_graph with another threshold."""
    g = integer_if_graph(w)
    n = np.asarray(w).shape[0]
    g.nodes["if"] = nir.IF(r=np.ones(n), v_threshold=np.full(n, float(threshold)))
    return g


@pytest.mark.parametrize("w, exponent, mantissas", [
    # the threshold 4 x 131071 fills Loihi's 17-bit threshold mantissa at scale 4 (one LSB = 4 weight units),
    # so weights of 1 and 0.5 are a quarter and an eighth of an LSB: the finest grid that holds 1.0 is
    # exponent -8 (need 1/4/255 <= 2^-8), mantissas 1/4 * 256 = 64 and 32; 5.0 needs 5/4/255 > 2^-8, so -7:
    # 5/4 * 128 = 160 and 1/4 * 128 = 32
    ([[1.0, 0.5]], -8, [64, 32]),
    ([[5.0, 1.0]], -7, [160, 32]),
])
def test_small_loihi_weights_take_a_negative_exponent(w, exponent, mantissas):
    net = compile_graph(threshold_if_graph(w, 4 * 131071), hwprofiles.load("loihi"), dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    assert quant.scale == 4.0 and quant.exponent == exponent
    assert proj.weights.tolist() == mantissas and proj.input_shift == -exponent
    assert quant.rmse == 0.0  # both are on that grid
    assert net.populations[1].params.threshold == 131071
    # without negative exponents (weight_exponent_min null) they would round to 0 and 0 (1.0) or 1 and 0
    old = dataclasses.replace(LOIHI, core=dataclasses.replace(LOIHI.core, weight_exponent_min=None))
    flat = compile_graph(threshold_if_graph(w, 4 * 131071), old, dt_s=1.0)
    assert flat.quantization[0].exponent == 0 and flat.projections[0].input_shift == 0
    assert flat.quantization[0].rmse > 0.2


def test_a_negative_exponent_floors_the_projections_summed_input_in_the_engine():
    from chipsim.place import place
    from chipsim.simulate import simulate

    net = compile_graph(threshold_if_graph([[5.0, 1.0]], 4 * 131071), LOIHI, dt_s=1.0)  # 160, 32 at -7
    x = np.zeros((4, 1, 2), np.uint8)
    x[0, 0, 0] = 1  # step 0: 160 >> 7 = 1
    x[1, 0, :] = 1  # step 1: (160 + 32) >> 7 = 1
    x[2, 0, 1] = 1  # step 2: 32 >> 7 = 0
    act = simulate(net, place(net, LOIHI), x, record_state=True)
    u, v = act.state[1]
    # Loihi's delay: a step's input reaches u one step later; IF: u is the input, << 6; v sums u
    assert u[:, 0, 0].tolist() == [0, 64, 64, 0]
    assert v[:, 0, 0].tolist() == [0, 64, 128, 128]


def affine_lif(w, b, **lif):
    return chain(
        nir.Affine(np.asarray(w, float), np.asarray(b, float)), snntorch_lif(len(w), **lif), n_in=len(w[0])
    )


def test_snntorch_style_affine_lif_maps_with_unit_gain_on_loihi():
    w = [[0.5, -1.0], [0.25, 0.0], [1.0, 0.75]]
    net = compile_graph(affine_lif(w, [0.1, 0.0, -0.2]), LOIHI, dt_s=DT)
    scale = 1.0 / 254  # max|w| = 1 on Loihi's mixed-sign mantissa (even values up to 254, Lava)
    proj = net.projections[0]
    assert net.quantization[0].scale == pytest.approx(scale)
    # CSR over pre: input 0 -> posts 0, 1, 2; input 1 -> posts 0, 2 (the zero weight is not stored)
    assert proj.indptr.tolist() == [0, 3, 5]
    assert proj.targets.tolist() == [0, 1, 2, 0, 2]
    assert proj.weights.tolist() == [128, 64, 254, -254, 190]  # w * 254 to the nearest even value
    assert net.quantization[0].exponent == 0
    params = net.populations[1].params
    # LIF: no current (register du = 4095: u decays by du + 1 = 4096, the plain input); 1 - beta = 0.1
    assert params.decay_u == 4095 and params.decay_v == round(4096 * 0.1)
    assert params.threshold == 254  # largest m with m * scale <= 1.0, strict '>' on Loihi
    assert net.populations[1].bias.tolist() == [round(0.1 * 254 * 64), 0, round(-0.2 * 254 * 64)]


def test_nir_file_round_trip_compiles_the_same(tmp_path):
    graph = affine_lif([[0.5, -1.0], [0.25, 0.3]], [0.1, 0.0])
    nir.write(tmp_path / "g.nir", graph)
    a = compile_graph(graph, LOIHI, dt_s=DT)
    b = compile_graph(load_graph(tmp_path / "g.nir"), LOIHI, dt_s=DT)
    assert b.projections[0].weights.tolist() == a.projections[0].weights.tolist()
    assert b.populations[1].params == a.populations[1].params


def test_dt_comes_from_graph_metadata_before_the_profile():
    graph = affine_lif([[1.0]], [0.0])
    graph.metadata = {"dt_s": 2e-4}
    assert compile_graph(graph, LOIHI).dt_s == 2e-4
    assert compile_graph(graph, LOIHI, dt_s=5e-4).dt_s == 5e-4


def test_integer_weights_times_scale_are_within_half_a_grid_step_of_the_float_weights():
    """Loihi's mixed-sign grid is the even values: half a step is one LSB (scale)."""
    w = np.random.default_rng(1).normal(size=(30, 20))
    net = compile_graph(affine_lif(w, np.zeros(30)), LOIHI, dt_s=DT)
    proj, scale = net.projections[0], net.quantization[0].scale
    dense = np.zeros((20, 30))
    rows = np.repeat(np.arange(20), np.diff(proj.indptr))
    dense[rows, proj.targets] = proj.weights * scale
    assert np.all(np.abs(dense - w.T) <= scale + 1e-12)
    assert net.quantization[0].max_abs_error <= scale + 1e-12
    assert np.all(proj.weights % 2 == 0)


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    ("threshold", "scale"), [(1.0, 0.1), (1.0, 1 / 127), (0.3, 0.1), (2.5, 0.7), (0.05, 0.2)]
)
def test_threshold_mantissa_gives_the_float_spike_decision_on_every_integer_voltage(threshold, scale, strict):
    th, clipped = q.threshold_mantissa(threshold, scale, strict=strict, max_mantissa=10**6)
    assert not clipped
    for v in range(-300, 300):
        chip = v > th if strict else v >= th
        assert chip == (v * scale > threshold), (v, th)


def test_threshold_mantissa_saturates_and_says_so():
    assert q.threshold_mantissa(1e9, 1.0, strict=True, max_mantissa=131071) == (131071, True)


def test_loihi_decays_euler_and_exact():
    assert q.decay_constant(2e-3, 1e-3, "euler", 12) == 2048  # 1 - dt/tau = 0.5
    assert q.decay_constant(2e-3, 1e-3, "exact", 12) == round(4096 * (1 - np.exp(-0.5)))  # 1612
    assert q.decay_constant(np.inf, 1e-3, "euler", 12) == 0


def test_cubalif_on_loihi_gets_both_decays_and_unit_gain_from_snntorch_convention():
    beta, alpha = 0.9, 0.8
    tau_mem, tau_syn = DT / (1 - beta), DT / (1 - alpha)
    cuba = nir.CubaLIF(
        tau_syn=np.array([tau_syn] * 2),
        tau_mem=np.array([tau_mem] * 2),
        r=np.array([tau_mem / DT] * 2),
        v_leak=np.zeros(2),
        v_threshold=np.ones(2),
        w_in=np.array([tau_syn / DT] * 2),
    )
    net = compile_graph(chain(nir.Linear(np.array([[1.0, 0.5], [0.0, -1.0]])), cuba, n_in=2), LOIHI, dt_s=DT)
    params = net.populations[1].params
    # Lava's du register: the current decays by du + 1 = round(4096 * 0.2)
    assert (params.decay_u, params.decay_v) == (round(4096 * 0.2) - 1, round(4096 * 0.1))
    assert net.projections[0].weights.tolist() == [254, 128, -254]


def test_xylo_decay_is_a_bit_shift_of_log2_tau_over_dt():
    lif = nir.LIF(tau=np.array([8e-3]), r=np.array([8.0]), v_leak=np.zeros(1), v_threshold=np.ones(1))
    net = compile_graph(chain(nir.Linear(np.array([[1.0]])), lif, n_in=1), XYLO, dt_s=1e-3)
    assert net.populations[1].params.decay_v == 3 and net.populations[1].params.decay_u == 0
    assert net.populations[1].params.threshold == 128  # >= comparison: m + 1 with m = 127


def test_float_profile_keeps_weights_and_time_constants():
    w = [[0.3, -0.7]]
    net = compile_graph(affine_lif(w, [0.05]), SPINNAKER, dt_s=DT)
    assert not net.fixed_point
    assert net.projections[0].weights.tolist() == [0.3, -0.7]
    p = net.populations[1].params
    assert (p.model, p.tau_mem_s, p.r, p.threshold) == (
        "float_lif",
        pytest.approx(1e-3),
        pytest.approx(10.0),
        1.0,
    )
    assert net.quantization[0].bits is None and net.quantization[0].rmse == 0.0
    assert net.populations[1].bias.tolist() == [0.05]


def test_unknown_node_kind_is_a_compile_error_naming_the_node():
    graph = chain(nir.Affine(np.ones((2, 2)), np.zeros(2)), nir.Threshold(np.ones(2)), n_in=2)
    with pytest.raises(CompileError, match="'l1'.*Threshold"):
        compile_graph(graph, LOIHI, dt_s=DT)


def test_conv_on_a_chip_without_conv_layers_names_the_node():
    conv = nir.Conv2d(
        input_shape=(4, 4),
        weight=np.ones((1, 1, 3, 3)),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(1),
    )
    graph = chain(conv, nir.Flatten({"input": np.array([1, 2, 2])}), snntorch_lif(4), n_in=16)
    graph.nodes["input"] = nir.Input(np.array([1, 4, 4]))
    with pytest.raises(CompileError, match="'l0'.*Conv2d.*'conv'"):
        compile_graph(graph, TRUENORTH, dt_s=DT)


def test_li_is_rejected_on_a_fixed_point_chip_and_never_spikes_in_float():
    li = nir.LI(tau=np.full(2, 1e-3), r=np.full(2, 10.0), v_leak=np.zeros(2))
    graph = chain(nir.Linear(np.eye(2)), li, n_in=2)
    with pytest.raises(CompileError, match="'l1' \\(LI\\)"):
        compile_graph(graph, LOIHI, dt_s=DT)
    assert compile_graph(graph, SPINNAKER, dt_s=DT).populations[1].params.threshold == np.inf


def rleaky_graph():
    """Input -> fc -> rleaky{input -> lif <-> w_rec, lif -> output} -> Output, as snnTorch nests RLeaky."""
    sub = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([3])),
            "lif": snntorch_lif(3),
            "w_rec": nir.Linear(np.array([[0.0, 0.5, 0.0], [0.0, 0.0, 0.5], [0.5, 0.0, 0.0]])),
            "output": nir.Output(np.array([3])),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        type_check=False,
    )
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "fc": nir.Linear(np.ones((3, 2))),
            "rleaky": sub,
            "output": nir.Output(np.array([3])),
        },
        edges=[("input", "fc"), ("fc", "rleaky"), ("rleaky", "output")],
        type_check=False,
    )


def test_nested_recurrent_subgraph_becomes_a_recurrent_projection():
    net = compile_graph(rleaky_graph(), LOIHI, dt_s=DT)
    assert [p.name for p in net.populations] == ["input", "rleaky.lif"]
    rec = [p for p in net.projections if p.kind == "recurrent"]
    assert len(rec) == 1 and rec[0].pre == rec[0].post == 1
    assert rec[0].targets.tolist() == [2, 0, 1]  # lif j -> lif (j-1) mod 3, as W_rec[i, j] = 0.5 for i = j-1


def test_recurrent_graph_is_rejected_where_the_chip_has_no_recurrent_layers():
    speck = hwprofiles.load("speck")
    with pytest.raises(CompileError, match="recurrent"):
        compile_graph(rleaky_graph(), speck, dt_s=DT)


def conv_graph(weight, hw=(5, 5), stride=1, padding=0):
    c_out, c_in = weight.shape[:2]
    conv = nir.Conv2d(
        input_shape=hw,
        weight=weight,
        stride=stride,
        padding=padding,
        dilation=1,
        groups=1,
        bias=np.zeros(c_out),
    )
    ho = (hw[0] + 2 * padding - weight.shape[2]) // stride + 1
    wo = (hw[1] + 2 * padding - weight.shape[3]) // stride + 1
    n = c_out * ho * wo
    lif = nir.LIF(
        tau=np.full((c_out, ho, wo), 1e-3),
        r=np.full((c_out, ho, wo), 10.0),
        v_leak=np.zeros((c_out, ho, wo)),
        v_threshold=np.ones((c_out, ho, wo)),
    )
    graph = nir.NIRGraph(
        {
            "input": nir.Input(np.array([c_in, *hw])),
            "conv": conv,
            "lif": lif,
            "output": nir.Output(np.array([c_out, ho, wo])),
        },
        [("input", "conv"), ("conv", "lif"), ("lif", "output")],
        type_check=False,
    )
    return graph, n


def reference_conv(weight, x, stride, padding):
    """Plain-loop cross-correlation, the definition Conv2d uses."""
    c_out, c_in, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    ho, wo = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    out = np.zeros((c_out, ho, wo))
    for o in range(c_out):
        for i in range(ho):
            for j in range(wo):
                window = xp[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[o, i, j] = np.sum(weight[o] * window)
    return out


def test_conv_is_kept_as_a_kernel_where_the_chip_has_a_conv_encoding():
    weight = np.random.default_rng(2).integers(-3, 4, size=(2, 2, 3, 3)).astype(float)
    net = compile_graph(conv_graph(weight)[0], LOIHI, dt_s=1e-3)
    proj = net.projections[0]
    assert proj.conv is not None and proj.targets.size == 0
    assert proj.conv.out_shape == (2, 3, 3)
    assert proj.n_synapses == conv_synapse_count(proj.conv)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1)])
def test_conv_expanded_to_csr_equals_the_convolution(stride, padding):
    rng = np.random.default_rng(3)
    weight = rng.integers(-1, 2, size=(2, 2, 3, 3)).astype(float)  # +-1: quantizes exactly to +-127
    no_conv = dataclasses.replace(
        LOIHI, core=dataclasses.replace(LOIHI.core, synapse_encoding_bits={"dense": 8, "sparse": 18})
    )
    graph, n = conv_graph(weight, stride=stride, padding=padding)
    net = compile_graph(graph, no_conv, dt_s=1e-3)
    proj, scale = net.projections[0], net.quantization[0].scale
    assert proj.conv is None
    x = rng.integers(0, 2, size=(2, 5, 5)).astype(float)
    rows = np.repeat(np.arange(50), np.diff(proj.indptr))
    y = np.bincount(proj.targets, weights=proj.weights * x.ravel()[rows], minlength=n)
    expected = reference_conv(weight, x, stride, padding).ravel() * 10.0  # gain dt*r/tau = 1e-3*10/1e-3
    assert np.allclose(y * scale, expected)


def test_kept_kernel_expands_to_the_same_synapses_as_the_compiled_csr():
    weight = np.random.default_rng(4).integers(-3, 4, size=(3, 2, 2, 2)).astype(float)
    graph, _ = conv_graph(weight, stride=2, padding=1)
    kept = compile_graph(graph, LOIHI, dt_s=1e-3).projections[0]
    no_conv = dataclasses.replace(
        LOIHI, core=dataclasses.replace(LOIHI.core, synapse_encoding_bits={"sparse": 18})
    )
    csr = compile_graph(graph, no_conv, dt_s=1e-3).projections[0]
    pre, post, w = expand_conv(kept.conv)
    rows = np.repeat(np.arange(csr.indptr.size - 1), np.diff(csr.indptr))
    assert (pre.tolist(), post.tolist(), w.tolist()) == (
        rows.tolist(),
        csr.targets.tolist(),
        csr.weights.tolist(),
    )


def test_truenorth_clusters_each_neurons_weights_onto_four_axon_types():
    # weights [post, pre]; axons (inputs) 0..4 carry (neuron 0, neuron 1) = (1,1) (2,1) (3,2) (4,-) (5,2).
    # Axon means 1, 1.5, 2.5, 4, 3.5 split at the 3 widest gaps: {0} {1} {2} {3, 4}; type 3 of neuron 0 is
    # then mean(4, 5) = 4.5, of neuron 1 just 2 (axon 3 does not reach it). At scale 5/255 (9-bit, max 5):
    # 1 -> 51, 2 -> 102, 3 -> 153, 4.5 -> 229.5 -> 230 (half to even)
    w = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 2.0, 0.0, 2.0]])
    net = compile_graph(affine_lif(w, [0.0, 0.0]), TRUENORTH, dt_s=DT)
    proj, quant = net.projections[0], net.quantization[0]
    assert proj.weight_table_scope == "neuron"
    assert proj.weight_table.tolist() == [[51, 102, 153, 230], [51, 51, 102, 102]]
    by_axon = {int(a): set() for a in range(5)}
    for a in range(5):
        by_axon[a] = set(proj.weight_index[proj.indptr[a]:proj.indptr[a + 1]].tolist())
    assert by_axon == {0: {0}, 1: {1}, 2: {2}, 3: {3}, 4: {3}}  # one type per axon, shared by its neurons
    looked_up = proj.weight_table[proj.targets, proj.weight_index]
    assert looked_up.tolist() == proj.weights.tolist()
    assert proj.n_synapses == 9  # the zero weight is not a synapse
    assert quant.max_abs_error == pytest.approx(130 / 255)  # axon 3: 230 * 5/255 - 4
    assert quant.rmse == pytest.approx(np.sqrt((130**2 + 125**2) / 9) / 255)  # and axon 4: 5 - 230 * 5/255
    assert quant.distinct_values == 4  # 51, 102, 153, 230
    # the weights are integers (a graph quantized already) and neuron 0 has 5 of them: a fit violation
    assert [(v.constraint, v.need, v.limit) for v in net.violations] == [("weight_format", 5, 4)]


def test_varying_thresholds_fold_into_weights_so_every_neuron_keeps_its_ratio():
    lif = snntorch_lif(2)
    lif.v_threshold = np.array([1.0, 2.0])
    net = compile_graph(chain(nir.Linear(np.array([[1.0], [1.0]])), lif, n_in=1), SPINNAKER, dt_s=DT)
    assert net.populations[1].params.threshold == 2.0
    assert net.projections[0].weights.tolist() == [2.0, 1.0]  # neuron 0 scaled by 2/1


def test_time_constants_that_differ_within_a_node_are_rejected():
    lif = snntorch_lif(2)
    lif.tau = np.array([1e-3, 2e-3])
    with pytest.raises(CompileError, match="'l1'.*tau differs"):
        compile_graph(chain(nir.Linear(np.ones((2, 1))), lif, n_in=1), LOIHI, dt_s=DT)


def test_a_bias_beyond_the_state_range_is_clipped_and_noted():
    net = compile_graph(affine_lif([[1.0]], [1e3]), XYLO, dt_s=DT)  # 1e3 is 127000 LSBs at scale 1/127
    assert net.populations[1].bias.tolist() == [2**15 - 1]
    assert any("clipped" in n for n in net.notes)


def test_chips_without_multiplicative_leak_note_the_dropped_leak():
    net = compile_graph(affine_lif([[1.0]], [0.0]), TRUENORTH, dt_s=DT)
    assert any("no multiplicative leak" in n for n in net.notes)


def test_missing_and_non_hdf5_files_are_compile_errors(tmp_path):
    with pytest.raises(CompileError, match="not found"):
        load_graph(tmp_path / "missing.nir")
    (tmp_path / "text.nir").write_text("not hdf5")
    with pytest.raises(CompileError, match="not a readable NIR graph"):
        load_graph(tmp_path / "text.nir")


def test_non_positive_dt_is_rejected():
    with pytest.raises(CompileError, match="positive"):
        compile_graph(affine_lif([[1.0]], [0.0]), LOIHI, dt_s=0.0)


def integer_if_graph(w):
    """Input -> Affine(w) -> IF(r=1, threshold 10): at dt = 1 the gain is 1, weights reach v as given."""
    w = np.asarray(w, float)
    nodes = {"input": nir.Input(np.array([w.shape[1]])), "fc": nir.Affine(w, np.zeros(w.shape[0])),
             "if": nir.IF(r=np.ones(w.shape[0]), v_threshold=np.full(w.shape[0], 10.0)),
             "output": nir.Output(np.array([w.shape[0]]))}
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False)


def test_integer_weights_on_loihis_grid_compile_to_exactly_those_integers():
    # even mantissas x 2^1: 508 = 254 << 1 is beyond the 8-bit mantissa, yet exact with exponent 1
    w = [[200, -100], [508, 36]]
    net = compile_graph(integer_if_graph(w), hwprofiles.load("loihi"), dt_s=1.0)
    proj, quant = net.projections[0], net.quantization[0]
    dense = np.zeros((2, 2), int)
    for i in range(2):
        for k in range(proj.indptr[i], proj.indptr[i + 1]):
            dense[proj.targets[k], i] = proj.weights[k]
    assert dense.tolist() == w
    assert quant.scale == 1.0 and quant.exponent == 1 and quant.rmse == 0.0
    assert net.populations[1].params.threshold == 10


def test_loihi_weights_take_the_smallest_exponent_that_holds_them():
    # float weights: the largest lands on the top mixed-sign mantissa 254 at exponent 0, on even values
    net = compile_graph(integer_if_graph([[0.5, -1.0]]), hwprofiles.load("loihi"), dt_s=1.0)
    assert net.quantization[0].exponent == 0
    assert sorted(net.projections[0].weights.tolist()) == [-254, 128]  # 0.5 * 254 = 127 -> nearest even


def pooled_or_same_conv(pool: bool) -> nir.NIRGraph:
    """input (1, 4, 4) -> a 2 x 2 sum pool of stride 2 -> IF (1, 2, 2); or a 3 x 3 'same' conv to 2
    channels -> IF (2, 4, 4)."""
    if pool:
        op = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
        shape = (1, 2, 2)
    else:
        op = nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 1, 3, 3)), stride=1, padding="same",
                        dilation=1, groups=1, bias=np.zeros(2))
        shape = (2, 4, 4)
    nodes = {"input": nir.Input(np.array([1, 4, 4])), "op": op,
             "if": nir.IF(r=np.ones(shape), v_threshold=np.ones(shape)),
             "output": nir.Output(np.array(shape))}
    return nir.NIRGraph(nodes, [("input", "op"), ("op", "if"), ("if", "output")], type_check=False)


def test_a_sum_pool_sends_each_pixel_to_its_window():
    # pixel (y, x) of the 4 x 4 input is summed into output (y // 2, x // 2): 0 0 1 1 / 0 0 1 1 / 2 2 3 3 ...
    speck = hwprofiles.load("speck")
    net = compile_graph(pooled_or_same_conv(True), speck, dt_s=1.0)
    [p] = net.projections
    assert (p.kind, net.populations[1].shape) == ("sumpool", (1, 2, 2))
    assert p.indptr.tolist() == list(range(17))
    assert p.targets.tolist() == [(y // 2) * 2 + x // 2 for y in range(4) for x in range(4)]
    assert len(set(p.weights.tolist())) == 1  # every pixel counts the same


def test_a_same_padded_conv_keeps_the_image_size():
    # 3 x 3 'same': padding (3 - 1) / 2 = 1 each side, stride 1, so 4 x 4 stays 4 x 4
    speck = hwprofiles.load("speck")
    net = compile_graph(pooled_or_same_conv(False), speck, dt_s=1.0)
    [p] = net.projections
    assert net.populations[1].shape == (2, 4, 4)
    assert (p.conv.stride, p.conv.padding, p.conv.out_shape) == ((1, 1), (1, 1), (2, 4, 4))
