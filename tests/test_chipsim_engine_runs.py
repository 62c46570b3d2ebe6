"""chipsim engine's per-model update loops over same-core runs: random nets against a pure-Python reference
of network.py's equations, active/idle counts on interleaved cores, zero steps."""

import numpy as np
import pytest

from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.simulate import simulate


def _sat(x, bits):
    return min(max(x, -(1 << (bits - 1))), (1 << (bits - 1)) - 1)


def _wrap(x, bits):
    half = 1 << (bits - 1)
    return x - 2 * half if x > half else x + 2 * half if x <= -half else x


def _rz(x, d):
    return x >> d if x >= 0 else -((-x) >> d)


def reference(prm: NeuronParams, w: np.ndarray, bias: np.ndarray, x: np.ndarray, cores: np.ndarray):
    """Pure-Python update of network.py's docstring: (spikes [steps, n], active [steps, cores])."""
    n = w.shape[1]
    u, v, ref = [0] * n, [0] * n, [0] * n
    one = 1 << (prm.decay_bits or 0)
    shift = prm.weight_shift
    thr = prm.threshold << shift
    u_bits = prm.current_bits or prm.state_bits
    spikes = np.zeros((x.shape[0], n), np.int64)
    active = np.zeros((x.shape[0], cores.max() + 1), np.int64)
    for t, row in enumerate(x):
        ins = [int(w[row == 1, j].sum()) for j in range(n)]
        for j in range(n):
            xi, uo, vo, b = ins[j], u[j], v[j], int(bias[j])
            if prm.model == "loihi_cuba":  # Lava: du + 1, u wraps once, v >= -(2^(b-1) - 1)
                u[j] = _wrap(_rz(uo * (one - prm.decay_u - 1), prm.decay_bits) + (xi << shift), u_bits)
            elif prm.model == "xylo_shift":
                u[j] = _sat(uo - (uo >> prm.decay_u) + xi, u_bits)
            fired = False
            if ref[j] > 0:
                ref[j] -= 1
            else:
                if prm.model == "loihi_cuba":
                    vc = max(_sat(_rz(vo * (one - prm.decay_v), prm.decay_bits) + u[j] + b, prm.state_bits),
                             -(2 ** (prm.state_bits - 1)) + 1)
                    fired = vc > thr
                elif prm.model == "xylo_shift":
                    vc = _sat(vo - (vo >> prm.decay_v) + u[j] + b, prm.state_bits)
                elif prm.model == "truenorth_lif":
                    vc = _sat(vo + xi + b - prm.decay_v, prm.state_bits)
                else:
                    vc = _sat(vo + xi + b, prm.state_bits)
                if prm.model != "loihi_cuba":
                    fired = vc >= thr
                if fired:
                    vc = _sat(vc - thr, prm.state_bits) if prm.reset == "subtract" else 0
                    ref[j] = prm.refractory_steps
                v[j] = vc
            spikes[t, j] = fired
            active[t, cores[j]] += bool(xi or uo or vo or b or fired)
    return spikes, active


PARAMS = {
    "loihi_cuba": dict(decay_u=700, decay_v=300, decay_bits=12, weight_shift=3, current_bits=12),
    "xylo_shift": dict(decay_u=2, decay_v=3, current_bits=10),
    "truenorth_lif": dict(decay_v=2),
    "speck_iaf": dict(),
}


def random_case(model: str, seed: int):
    rng = np.random.default_rng(seed)
    n_in, n, steps = 12, 23, 30
    reset = str(rng.choice(["zero", "subtract"]))
    prm = NeuronParams(model=model, threshold=int(rng.integers(20, 60)), reset=reset,
                       refractory_steps=int(rng.integers(0, 3)), state_bits=10, **PARAMS[model])
    w = rng.integers(-40, 90, (n_in, n)) * (rng.random((n_in, n)) < 0.5)
    bias = rng.integers(-20, 30, n) * (rng.random(n) < 0.4)
    rows, cols = np.nonzero(w)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_in))]).astype(np.int64)
    proj = Projection("w", 0, 1, "dense", indptr, cols.astype(np.int32), w[rows, cols].astype(np.int32))
    pops = (Population("in", n_in, (n_in,), None, np.zeros(n_in, np.int64)),
            Population("out", n, (n,), prm, bias.astype(np.int64)))
    net = ChipNetwork("t", pops, (proj,), 1, 1e-3, True)
    cores = rng.integers(0, 3, n).astype(np.int32)  # interleaved: many short same-core runs
    pl = Placement((np.full(n_in, -1, np.int32), cores), FitReport("t", True, (), 0, 0, 1), 128, 4, 4, 4)
    x = (rng.random((steps, n_in)) < 0.3).astype(np.uint8)
    return net, pl, x, prm, w, bias, cores


@pytest.mark.parametrize("model", sorted(PARAMS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_models_match_reference_spikes_and_active_counts(model, seed):
    net, pl, x, prm, w, bias, cores = random_case(model, seed)
    act = simulate(net, pl, x, record_raster=True)
    spikes, active = reference(prm, w, bias, x, cores)
    assert spikes.sum() > 0  # the case exercises firing
    np.testing.assert_array_equal(act.raster[1][:, 0], spikes)
    compact = np.searchsorted(act.cores, np.arange(cores.max() + 1))
    np.testing.assert_array_equal(act.neuron_updates_active[0][:, compact], active)
    per_core = np.bincount(cores, minlength=cores.max() + 1)
    np.testing.assert_array_equal(act.neuron_updates_idle[0][:, compact], per_core - active)


def test_zero_steps_give_empty_counters():
    net, pl, x, *_ = random_case("loihi_cuba", 0)
    act = simulate(net, pl, x, steps=0)
    assert act.synops.shape[:2] == (1, 0)
    assert act.output_spikes.shape == (0, 1, 23)
