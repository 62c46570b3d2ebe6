"""chipsim.expand: the CSR expansion of weight chains compiles the same network as the COO composition it
replaced (``tests/compile_reference.py``: chipsim/compile.py before the expansion, with the same weight
formats), on small graphs: convs with strides, padding and biases, sum pools, pool then conv and conv then
pool in one chain, conv into a dense layer, two paths onto one population, a recurrent edge, per-neuron
gains on a kept kernel, every number format (Loihi's mantissa x 2^e grid, TrueNorth's axon types, Xylo,
a float profile)."""

import dataclasses

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim import expand
from chipsim.compile import CompileError, compile_graph
from tests import compile_reference

PROFILES = {name: hwprofiles.load(name) for name in
            ("loihi", "speck", "spinnaker", "akida", "generic-45nm", "truenorth", "xylo-audio2")}
CONV_PROFILES = ("loihi", "speck", "spinnaker", "akida", "generic-45nm")  # kept kernels, CSR, float
DT = 1e-3


def _if(shape, r=1 / DT):
    return nir.IF(r=np.broadcast_to(np.asarray(r, float), shape).copy(), v_threshold=np.ones(shape))


def _conv(rng, c_in, c_out, hw, k=3, stride=1, padding=1, bias=True, zeros=0.3):
    w = rng.integers(-4, 5, size=(c_out, c_in, k, k)).astype(float)
    w[rng.random(w.shape) < zeros] = 0
    b = rng.normal(0, 0.5, c_out) if bias else np.zeros(c_out)
    node = nir.Conv2d(input_shape=hw, weight=w, stride=stride, padding=padding, dilation=1, groups=1, bias=b)
    ho, wo = ((hw[i] + 2 * padding - k) // stride + 1 for i in (0, 1))
    return node, (c_out, ho, wo)


def _pool(shape, k=2, stride=2, padding=0):
    node = nir.SumPool2d(kernel_size=np.array([k, k]), stride=np.array([stride, stride]),
                         padding=np.array([padding, padding]))
    return node, (shape[0], *((shape[i] + 2 * padding - k) // stride + 1 for i in (1, 2)))


def _graph(nodes, edges):
    return nir.NIRGraph(nodes, edges, type_check=False)


def conv_stack(seed, stride, padding, k):
    """input -> conv -> IF -> pool -> conv (one chain: pool then conv) -> IF -> conv -> pool (conv then pool)
    -> IF -> flatten -> affine -> IF."""
    rng = np.random.default_rng(seed)
    s0 = (2, 14, 13)
    c1, s1 = _conv(rng, 2, 3, s0[1:], k=k, stride=stride, padding=padding)
    p1, s1p = _pool(s1)
    c2, s2 = _conv(rng, 3, 4, s1p[1:], k=3, stride=1, padding=1)
    c3, s3 = _conv(rng, 4, 3, s2[1:], k=2, stride=1, padding=1, bias=False)
    p3, s3p = _pool(s3, k=2, stride=1, padding=0)
    n3 = int(np.prod(s3p))
    fc = nir.Affine(rng.integers(-3, 4, size=(5, n3)).astype(float), rng.normal(0, 0.3, 5))
    nodes = {"input": nir.Input(np.array(s0)), "c1": c1, "if1": _if(s1), "p1": p1, "c2": c2, "if2": _if(s2),
             "c3": c3, "p3": p3, "if3": _if(s3p), "flat": nir.Flatten(start_dim=0, end_dim=-1,
                                                                     input_type={"input": np.array(s3p)}),
             "fc": fc, "if4": _if((5,)), "output": nir.Output(np.array([5]))}
    edges = [("input", "c1"), ("c1", "if1"), ("if1", "p1"), ("p1", "c2"), ("c2", "if2"), ("if2", "c3"),
             ("c3", "p3"), ("p3", "if3"), ("if3", "flat"), ("flat", "fc"), ("fc", "if4"), ("if4", "output")]
    return _graph(nodes, edges)


def skip_and_recurrent(seed):
    """Two paths from one population onto another (a dense one and a conv), a recurrent affine, and a
    per-neuron r on a kept kernel (its synapses are then expanded)."""
    rng = np.random.default_rng(seed)
    s0 = (1, 6, 6)
    c1, s1 = _conv(rng, 1, 2, s0[1:], k=3, stride=2, padding=1)
    n1 = int(np.prod(s1))
    c2, s2 = _conv(rng, 2, 2, s1[1:], k=3, stride=1, padding=1)
    n2 = int(np.prod(s2))
    r_varies = rng.uniform(0.5, 2.0, s1) / DT
    nodes = {"input": nir.Input(np.array(s0)), "c1": c1, "if1": _if(s1, r_varies),
             "c2": c2, "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array(s2)}),
             "skip": nir.Affine(rng.integers(-2, 3, size=(n2, n1)).astype(float), np.zeros(n2)),
             "if2": _if((n2,)), "rec": nir.Linear(rng.integers(-2, 3, size=(n1, n2)).astype(float)),
             "output": nir.Output(np.array([n2]))}
    edges = [("input", "c1"), ("c1", "if1"), ("if1", "c2"), ("c2", "flat"), ("flat", "if2"),
             ("if1", "skip"), ("skip", "if2"), ("if2", "rec"), ("rec", "if1"), ("if2", "output")]
    return _graph(nodes, edges)


def _same(a, b, path="net"):
    """Assert two compiled values are equal: arrays exactly (dtype too), dataclasses field by field. The one
    exception is a quantization's rmse, a sum of squares now added in one pass (numpy's mean summed it
    pairwise): equal to 1e-12 relative."""
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a, b), path
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    elif path.endswith(".rmse"):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-300), path
    else:
        assert a == b, path


CASES = [(seed, stride, padding, k) for seed, (stride, padding, k) in
         enumerate([(1, 0, 3), (1, 1, 3), (2, 1, 3), (2, 0, 2), (3, 2, 3), (1, 2, 5)])]


@pytest.mark.parametrize("profile", CONV_PROFILES)
@pytest.mark.parametrize("case", CASES)
def test_conv_stack_compiles_as_before(profile, case):
    graph, prof = conv_stack(*case), PROFILES[profile]
    _same(compile_graph(graph, prof, dt_s=DT), compile_reference.compile_graph(graph, prof, dt_s=DT))


def mlp_two_paths(seed):
    """input -> affine -> IF -> (affine, and affine . affine) -> IF, a recurrent linear: dense only."""
    rng = np.random.default_rng(seed)
    w = [rng.integers(-3, 4, size=s).astype(float) for s in ((6, 5), (4, 6), (7, 6), (4, 7), (6, 4))]
    nodes = {"input": nir.Input(np.array([5])), "a": nir.Affine(w[0], rng.normal(0, 0.2, 6)),
             "if1": _if((6,)), "b": nir.Affine(w[1], np.zeros(4)), "c1": nir.Linear(w[2]),
             "c2": nir.Affine(w[3], rng.normal(0, 0.2, 4)),
             "if2": _if((4,)), "rec": nir.Linear(w[4]), "output": nir.Output(np.array([4]))}
    edges = [("input", "a"), ("a", "if1"), ("if1", "b"), ("b", "if2"), ("if1", "c1"), ("c1", "c2"),
             ("c2", "if2"), ("if2", "rec"), ("rec", "if1"), ("if2", "output")]
    return _graph(nodes, edges)


@pytest.mark.parametrize("profile", ["loihi", "spinnaker", "generic-45nm", "truenorth", "xylo-audio2"])
@pytest.mark.parametrize("seed", [0, 1])
def test_dense_paths_compile_as_before(profile, seed):
    graph, prof = mlp_two_paths(seed), PROFILES[profile]
    _same(compile_graph(graph, prof, dt_s=DT), compile_reference.compile_graph(graph, prof, dt_s=DT))


def test_a_profile_without_conv_refuses_it_as_before():
    with pytest.raises(CompileError, match="needs layer kind 'conv', which truenorth does not run"):
        compile_graph(conv_stack(*CASES[0]), PROFILES["truenorth"], dt_s=DT)


@pytest.mark.parametrize("profile", ["loihi", "spinnaker", "generic-45nm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_paths_recurrence_and_per_neuron_gains_compile_as_before(profile, seed):
    graph = skip_and_recurrent(seed)
    _same(compile_graph(graph, PROFILES[profile], dt_s=DT),
          compile_reference.compile_graph(graph, PROFILES[profile], dt_s=DT))


@pytest.mark.parametrize("stride,padding,k", [(1, 0, 1), (1, 1, 3), (2, 1, 3), (3, 0, 2), (2, 3, 4)])
def test_conv_matrix_is_the_reference_expansion(stride, padding, k):
    rng = np.random.default_rng(k + 7 * stride)
    w = rng.integers(-3, 4, size=(3, 2, k, k)).astype(float)
    geo = expand.ConvGeometry(w, (stride, stride), (padding, padding), (2, 7, 6),
                              (3, (7 + 2 * padding - k) // stride + 1, (6 + 2 * padding - k) // stride + 1))
    m = expand.conv(geo)
    old = compile_reference.expand_conv(geo)
    assert (m.rows().tolist(), m.targets.tolist(), m.weights.tolist()) == tuple(x.tolist() for x in old)


def test_product_sums_paths_and_drops_cancellations():
    # x0 -> (y0: 1, y1: 2); x1 -> (y0: -1); then y0 -> z0 (1), y1 -> z0 (0.5), z1 (1): by hand
    a = expand.Csr(np.array([0, 2, 3]), np.array([0, 1], np.int32)[[0, 1, 0]], np.array([1.0, 2.0, -1.0]), 2)
    b = expand.Csr(np.array([0, 1, 3]), np.array([0, 0, 1], np.int32), np.array([1.0, 0.5, 1.0]), 2)
    ab = expand.product(a, b)
    assert ab.indptr.tolist() == [0, 2, 3]  # x0 -> z0: 1 + 2*0.5 = 2, z1: 2; x1 -> z0: -1
    assert ab.targets.tolist() == [0, 1, 0] and ab.weights.tolist() == [2.0, 2.0, -1.0]
    minus = expand.Csr(ab.indptr, ab.targets, -ab.weights, 2)
    zero = expand.add(ab, minus)
    assert zero.indptr.tolist() == [0, 0, 0] and zero.targets.size == 0
