"""loihi_cuba's update with 32 x 32 -> 64-bit decay products (issue 19): where u, v and the decay factors
fit int32 it gives exactly the 64-bit loop's state, spikes and active count (random states over the
whole range, the range's ends, refractory and bias), and where the state is wider the engine keeps the
64-bit products (there the narrow ones would be wrong)."""

import numpy as np
import pytest

from chipsim import engine
from chipsim.network import ChipNetwork, NeuronParams, Population
from chipsim.simulate import _pop_rows


def _prm(state_bits, current_bits, decay_u=1234, decay_v=77, reset="zero", weight_shift=6):
    params = NeuronParams(model="loihi_cuba", threshold=900, decay_u=decay_u, decay_v=decay_v,
                          refractory_steps=2, state_bits=state_bits, current_bits=current_bits, decay_bits=12,
                          weight_shift=weight_shift, reset=reset)
    pops = (Population("in", 1, (1,), None, np.zeros(1, np.int64)),
            Population("h", 4, (4,), params, np.zeros(4, np.int64)))
    return _pop_rows(ChipNetwork("t", pops, (), 1, 1e-3, True))[0][1]


def _state(prm, n, seed):
    """Random u, v over their whole range (ends included), input sums, refractory counts and biases."""
    rng = np.random.default_rng(seed)
    keys = (engine.P_U_LO, engine.P_U_HI, engine.P_V_LO, engine.P_V_HI)
    u_lo, u_hi, v_lo, v_hi = (int(prm[k]) for k in keys)
    u = rng.integers(u_lo, u_hi, n, endpoint=True)
    v = rng.integers(v_lo, v_hi, n, endpoint=True)
    u[:4], v[:4] = [u_lo, u_hi, 0, u_hi], [v_lo, v_hi, v_hi, 0]
    acc = rng.integers(-2**15, 2**15, n).astype(np.int32)
    ref = rng.integers(0, 3, n)
    bias = rng.integers(-500, 500, n) * (rng.random(n) < 0.3)
    return acc, u, v, ref, bias


def _loop(prm, state, narrow):
    acc, u, v, ref, bias = (a.copy() for a in state)
    fired = np.zeros(acc.size, np.uint8)
    active = engine._loihi_loop(prm, acc, u, v, ref, bias, fired, narrow)
    return active, u, v, ref, fired


@pytest.mark.parametrize(("state_bits", "current_bits", "reset"), [(24, 24, "zero"), (24, 16, "subtract"),
                                                                   (31, 31, "subtract")])
@pytest.mark.parametrize("decay", [(0, 0), (1234, 77), (4095, 4096)])
def test_narrow_products_equal_the_64_bit_loop(state_bits, current_bits, reset, decay):
    prm = _prm(state_bits, current_bits, *decay, reset=reset, weight_shift=0 if state_bits == 31 else 6)
    state = _state(prm, 5000, seed=state_bits + decay[0])
    wide = _loop(prm, state, False)
    narrow = _loop(prm, state, True)
    assert wide[0] == narrow[0]
    for w, n in zip(wide[1:], narrow[1:], strict=True):
        np.testing.assert_array_equal(w, n)
    fired_bits = wide[4] & engine.FLAG_FIRED
    assert 0 < fired_bits.sum() < fired_bits.size  # some fire, not all
    # the engine's entry point picks the narrow loop here and gives the same
    acc, u, v, ref, bias = (a.copy() for a in state)
    fired = np.zeros(acc.size, np.uint8)
    assert engine._update_loihi(prm, acc, u, v, ref, bias, fired) == wide[0]
    np.testing.assert_array_equal(u, wide[1])
    np.testing.assert_array_equal(v, wide[2])


def test_wide_state_keeps_the_64_bit_products():
    prm = _prm(40, 40, weight_shift=0)  # u, v up to 2^39: past int32
    state = _state(prm, 5000, seed=7)
    wide = _loop(prm, state, False)
    assert not np.array_equal(_loop(prm, state, True)[1], wide[1])  # narrow products would be wrong here
    acc, u, v, ref, bias = (a.copy() for a in state)
    fired = np.zeros(acc.size, np.uint8)
    assert engine._update_loihi(prm, acc, u, v, ref, bias, fired) == wide[0]
    np.testing.assert_array_equal(u, wide[1])
    np.testing.assert_array_equal(v, wide[2])
    np.testing.assert_array_equal(fired, wide[4])
