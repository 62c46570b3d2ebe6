"""chipsim's loihi_cuba against Lava 0.10.0's bit-accurate Loihi model, bit for bit, every step.

The fixtures (tests/fixtures/lava/*.npz) were made by Lava itself (``make lava-fixtures`` runs
tests/fixtures/lava/generate.py in a Python 3.10 side venv): Dense (``PyDenseModelBitAcc``) into LIF
(``PyLifModelBitAcc``), with biases, mixed-sign and out-of-range weights, positive and negative weight
exponents (Lava floors a step's summed input by 2^-weight_exp), two layers, and inputs that drive u past
2^23 (it wraps) and v to its floor. Here the same network is built as a
ChipNetwork from Lava's parameters the way a user would state them (du, dv, vth, bias_mant << bias_exp,
the raw weights through :func:`chipsim.quantize.loihi_weights`, Loihi's one-step delay per projection) and
run by the engine and by the Brian2 twin: spikes, u and v must equal Lava's at every step.
"""

from pathlib import Path

import numpy as np
import pytest

import hwprofiles
from chipsim import quantize as q
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.simulate import simulate
from harness import brian2_model
from harness.validate import single_core_placement

FIXTURES = Path(__file__).parent / "fixtures" / "lava"
CASES = ("bias_decay", "two_layers", "saturate", "negative_exponent")
LOIHI = hwprofiles.load("loihi")


def network(d) -> ChipNetwork:
    """The fixture's chain as a ChipNetwork in Loihi's number format, from Lava's own parameters."""
    n_in = d["input"].shape[1]
    pops = [Population("input", n_in, (n_in,), None, np.zeros(n_in, np.int64))]
    projs = []
    for k in range(int(d["layers"])):
        e = int(d[f"weight_exp_{k}"])  # >= 0: the mantissas << e; < 0: each step's sum >> -e (input_shift)
        w = q.loihi_weights(d[f"weights_{k}"]).astype(np.int64) << max(e, 0)  # [post, pre]
        n_post, n_pre = w.shape
        params = NeuronParams(model="loihi_cuba", threshold=int(d[f"vth_{k}"]), decay_u=int(d[f"du_{k}"]),
                              decay_v=int(d[f"dv_{k}"]), state_bits=24, current_bits=24, decay_bits=12,
                              weight_shift=6)
        bias = np.asarray(d[f"bias_mant_{k}"], np.int64) << np.asarray(d[f"bias_exp_{k}"], np.int64)
        pops.append(Population(f"lif{k}", n_post, (n_post,), params, np.broadcast_to(bias, n_post).copy()))
        pre, post = np.nonzero(w.T)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n_pre))]).astype(np.int64)
        projs.append(Projection(f"dense{k}", k, k + 1, "dense", indptr, post.astype(np.int32),
                                w.T[pre, post].astype(np.int32),
                                delay_steps=LOIHI.latency.synapse_delay_steps, input_shift=max(-e, 0)))
    return ChipNetwork("loihi", tuple(pops), tuple(projs), len(pops) - 1, 1e-3, True)


def load(case):
    return dict(np.load(FIXTURES / f"{case}.npz"))


@pytest.mark.parametrize("case", CASES)
def test_engine_matches_lava_spikes_u_and_v_every_step(case):
    d = load(case)
    net = network(d)
    x = d["input"][:, None, :]
    act = simulate(net, single_core_placement(net, LOIHI), x, record_raster=True, record_state=True)
    for k in range(int(d["layers"])):
        assert np.array_equal(act.raster[k + 1][:, 0], d[f"spikes_{k}"]), f"spikes of layer {k}"
        u, v = act.state[k + 1]
        assert np.array_equal(u[:, 0], d[f"u_{k}"]), f"u of layer {k}"
        assert np.array_equal(v[:, 0], d[f"v_{k}"]), f"v of layer {k}"


@pytest.mark.parametrize("case", CASES)
def test_brian2_twin_matches_lava_spikes_u_and_v_every_step(case):
    d = load(case)
    net = network(d)
    run = brian2_model.run(net, d["input"].astype(bool), target="numpy", record_state=True)[0]
    for k in range(int(d["layers"])):
        assert np.array_equal(run.spikes[k + 1], d[f"spikes_{k}"].astype(bool)), f"spikes of layer {k}"
        assert np.array_equal(run.u[k + 1], d[f"u_{k}"]), f"u of layer {k}"
        assert np.array_equal(run.v[k + 1], d[f"v_{k}"]), f"v of layer {k}"


def test_the_fixtures_cover_biases_wrapping_u_and_the_floor_of_v():
    bias, sat = load("bias_decay"), load("saturate")
    assert np.any(bias["bias_mant_0"] != 0) and bias["spikes_0"].sum() > 0
    u, v = sat["u_0"], sat["v_0"]
    assert np.any(np.diff(u[:, 0]) < 0) and np.any(np.diff(u[:, 1]) > 0)  # u wrapped both ways
    assert v.min() == -(2**23) + 1  # v's floor
    neg = load("negative_exponent")
    assert int(neg["weight_exp_0"]) == -3 and int(neg["weight_exp_1"]) == -7
    sums = neg["input"][:-1].astype(np.int64) @ q.loihi_weights(neg["weights_0"]).T  # a step's summed input
    assert np.any(sums % 8 != 0) and np.any(sums < 0)  # the floor of a negative sum and of a remainder act


def test_loihi_weights_follow_lavas_sign_modes():
    assert q.loihi_weights(np.array([57, -33, 255, -300])).tolist() == [56, -34, 254, -256]  # mixed: even
    assert q.loihi_weights(np.array([57, 3, 300])).tolist() == [57, 3, 255]  # excitatory: all 8 bits
    assert q.loihi_weights(np.array([-57, -300])).tolist() == [-57, -255]  # inhibitory
