"""Each chip's own weight format (chipsim.weight_formats): hand-computed quantization of small matrices, and
the fit violation where a format cannot hold a graph's integer weights."""

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim import weight_formats as wf
from chipsim.compile import compile_graph
from chipsim.place import place


def if_graph(w, threshold=10.0):
    """Input -> Affine(w) -> IF(r=1): at dt = 1 the gain is 1, the weights reach v as given."""
    w = np.asarray(w, float)
    nodes = {"input": nir.Input(np.array([w.shape[1]])), "fc": nir.Affine(w, np.zeros(w.shape[0])),
             "if": nir.IF(r=np.ones(w.shape[0]), v_threshold=np.full(w.shape[0], threshold)),
             "output": nir.Output(np.array([w.shape[0]]))}
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False)


def weights_of(net):
    proj = net.projections[0]
    return [int(proj.weights[k]) for i in range(proj.indptr.size - 1) for k in range(proj.indptr[i],
                                                                                        proj.indptr[i + 1])]


def test_every_shipped_profile_names_its_weight_format():
    formats = {name: hwprofiles.load(name).core.weight_format for name in hwprofiles.available()}
    assert formats["loihi"] == formats["loihi2"] == "mantissa_exponent"
    assert formats["truenorth"] == "axon_types"
    assert {formats[c] for c in ("speck", "xylo-audio2", "akida", "spinnaker")} == {"symmetric"}
    assert set(formats.values()) <= set(wf.FORMATS)


@pytest.mark.parametrize("chip, expected", [
    # max |w| = 1 lands on the top integer: 8-bit +-127 (0.5 -> 63.5 -> 64, half to even; 0.25 -> 31.75
    # -> 32), Akida's 4-bit +-7 (3.5 -> 4, 1.75 -> 2)
    ("speck", [64, -127, 32]),
    ("xylo-audio2", [64, -127, 32]),
    ("akida", [4, -7, 2]),
])
def test_symmetric_formats_put_the_largest_weight_on_the_top_integer(chip, expected):
    net = compile_graph(if_graph([[0.5], [-1.0], [0.25]]), hwprofiles.load(chip), dt_s=1.0)
    assert weights_of(net) == expected
    assert net.quantization[0].bits == hwprofiles.load(chip).core.weight_bits


def test_loihi_keeps_integers_on_its_grid_and_truenorth_holds_four_per_neuron():
    loihi = compile_graph(if_graph([[4, -8, 100]]), hwprofiles.load("loihi"), dt_s=1.0)  # even: mixed-sign
    assert loihi.quantization[0].scale == 1.0 and not loihi.violations
    tn = compile_graph(if_graph([[3, -7, 100, 100]]), hwprofiles.load("truenorth"), dt_s=1.0)
    # 3 values per neuron: held by 3 axon types, rescaled in proportion (100 -> 255) like a symmetric format
    assert tn.projections[0].weight_table.tolist() == [[-18, 8, 255, 0]] and not tn.violations


def test_axon_types_alone_choose_types_and_per_neuron_weights():
    # 5 axons onto 2 neurons, 2 types: axon means 1, 1, 10, 10, 11 -> widest gap between 1 and 10;
    # neuron 0's type weights: mean(1, 1) = 1 and mean(10, 10, 11) = 31/3; neuron 1: 1, mean(10, 10) = 10
    axon = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3])
    post = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    w = np.array([1.0, 1.0, 10.0, 10.0, 11.0, 1.0, 1.0, 10.0, 10.0])
    kind, table = wf.axon_types(axon, post, w, 5, 2, 2, scale=1.0 / 3, bits=9)
    assert kind.tolist() == [0, 0, 1, 1, 1]
    assert table.tolist() == [[3, 31], [3, 30]]  # in LSBs of 1/3


def test_integer_weights_beyond_four_per_neuron_are_a_truenorth_fit_violation():
    profile = hwprofiles.load("truenorth")
    net = compile_graph(if_graph([[1, 2, 3, 4, 5]]), profile, dt_s=1.0)  # 5 distinct into one neuron
    (v,) = net.violations
    assert (v.constraint, v.need, v.limit, v.population) == ("weight_format", 5, 4, "if")
    line = str(v)
    assert "\n" not in line and line.startswith("weight_format on network (layer if): needs 5, limit 4")
    assert not place(net, profile).fit.fits
    assert max(len(set(r)) for r in net.projections[0].weight_table.tolist()) <= 4  # yet clustered to 4


@pytest.mark.parametrize("chip, w, held", [
    ("akida", [[9, -3]], "signed 4-bit weights (+-7)"),
    ("speck", [[300, 1]], "signed 8-bit weights (+-127)"),
    ("loihi", [[3, -7, 100]], "8-bit mantissas x 2^e"),  # mixed-sign mantissas are even
])
def test_integer_weights_a_format_rescales_are_a_note(chip, w, held):
    net = compile_graph(if_graph(w), hwprofiles.load(chip), dt_s=1.0)
    assert not net.violations
    assert [n for n in net.notes if "integer weights" in n and held in n]


def test_float_weights_and_integers_a_format_holds_leave_no_violation_nor_note():
    for chip, w in (("akida", [[1.5, -3.0]]), ("truenorth", [[1.5, 2.5, 3.5, 4.5, 5.5]]),
                    ("loihi", [[4, -8, 100]])):
        net = compile_graph(if_graph(w), hwprofiles.load(chip), dt_s=1.0)
        assert not net.violations and not [n for n in net.notes if "integer weights" in n], chip


def test_a_negative_exponent_on_a_kept_conv_kernel_runs_the_same_in_the_engine_and_the_brian2_twin():
    from chipsim.simulate import simulate
    from harness import brian2_model

    rng = np.random.default_rng(3)
    weight = rng.uniform(-0.02, 0.1, (2, 8, 3, 3))
    conv = nir.Conv2d(input_shape=(6, 6), weight=weight, stride=1, padding=0, dilation=1, groups=1,
                      bias=np.zeros(2))
    shape = (2, 4, 4)
    graph = nir.NIRGraph({"input": nir.Input(np.array([8, 6, 6])), "conv": conv,
                          "if": nir.IF(r=np.ones(shape), v_threshold=np.full(shape, 200.0)),
                          "output": nir.Output(np.array(shape))},
                         [("input", "conv"), ("conv", "if"), ("if", "output")], type_check=False)
    loihi = hwprofiles.load("loihi")
    net = compile_graph(graph, loihi, dt_s=1.0)
    proj = net.projections[0]
    assert proj.conv is not None and proj.input_shift > 0  # threshold 200 / 131071 per LSB: 0.1 is 65 LSB
    x = (rng.random((200, 288)) < 0.6).astype(np.uint8)
    act = simulate(net, place(net, loihi), x[:, None, :], record_raster=True, record_state=True)
    twin = brian2_model.run(net, x.astype(bool), target="numpy", record_state=True)[0]
    assert np.array_equal(act.raster[1][:, 0].astype(bool), twin.spikes[1])
    u, v = act.state[1]
    assert np.array_equal(u[:, 0], twin.u[1]) and np.array_equal(v[:, 0], twin.v[1])
    assert np.any(u[:, 0] != 0) and twin.spikes[1].sum() > 0


@pytest.mark.parametrize("seed", range(12))
def test_axon_types_recover_a_shared_partition_under_noise(seed):
    # weights built in TrueNorth's own structure (each axon one of 4 types, each neuron one weight per type)
    # plus noise of std 0.05: the chosen types are the true ones (one-to-one) and the error is the noise's.
    # (Started from the mean-gap split alone, Lloyd stalls at rmse ~0.5 on 7 of these 12 seeds.)
    rng = np.random.default_rng(seed)
    n_pre, n_post = 128, 64
    levels = rng.normal(0, 1, (n_post, 4))
    true = rng.integers(0, 4, n_pre)
    w = levels[np.arange(n_post)[None, :], true[:, None]] + rng.normal(0, 0.05, (n_pre, n_post))
    axon, post = np.nonzero(w)
    vals = w[axon, post]
    scale = np.abs(vals).max() / 255
    kind, table = wf.axon_types(axon, post, vals, n_pre, n_post, 4, scale, 9)
    assert len(set(zip(true.tolist(), kind.tolist(), strict=True))) == 4
    rmse = np.sqrt(np.mean((table[post, kind[axon]] * scale - vals) ** 2))
    assert rmse < 0.06


def test_the_rescaled_integers_note_pairs_each_weight_with_its_own_neurons_gain():
    """Effective weights w x r: 1 x 1, 500 x 2 = 1000 (pre 0) and 100 x 1 (pre 1). Loihi's exponent for
    1000 drops the 1 (it rounds to 0), which once shifted the kept targets under the graph's values: the
    note then said 'up to 500' (500 x neuron 0's gain 1)."""
    w = np.array([[1.0, 100.0], [500.0, 0.0]])
    nodes = {"input": nir.Input(np.array([2])), "fc": nir.Affine(w, np.zeros(2)),
             "if": nir.IF(r=np.array([1.0, 2.0]), v_threshold=np.full(2, 10.0)),
             "output": nir.Output(np.array([2]))}
    graph = nir.NIRGraph(nodes, [("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False)
    net = compile_graph(graph, hwprofiles.load("loihi"), dt_s=1.0)
    [note] = [n for n in net.notes if "integer weights" in n]
    assert "(up to 1000)" in note
    proj = net.projections[0]  # pre 0 keeps only its synapse onto neuron 1, pre 1 its one onto neuron 0
    assert proj.indptr.tolist() == [0, 1, 2] and proj.targets.tolist() == [1, 0]
