"""The int16 input sums of large fixed-point networks (issue 19): ``simulate.accumulator_dtype`` picks int16
only where no neuron's summed |weights| can leave int16, and the engine then gives exactly what it gives
with int32 sums (every output: counters, spikes, recorded state), on the random networks of
test_chipsim_engine_prefetch (delays, recurrence, several projections into one population, interleaved
cores, a batch), on a weight-shifted projection and on a kept conv kernel, with the threshold lowered so
that these small networks take the int16 path."""

import dataclasses

import numpy as np
import pytest
from test_chipsim_engine_prefetch import random_case

from chipsim import simulate as sim
from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, ConvKernel, NeuronParams, Population, Projection

LOIHI = dict(model="loihi_cuba", threshold=300, decay_u=2048, decay_v=600, refractory_steps=1, state_bits=24,
             current_bits=24, decay_bits=12, weight_shift=0)


def _flat(name, value, out):
    """Every array under ``value`` (arrays, tuples of them, dicts of them) into ``out``, keyed by its path."""
    if isinstance(value, np.ndarray):
        out[name] = value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flat(f"{name}[{i}]", v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{name}[{k}]", v, out)
    return out


def _outputs(act):
    """Every array an Activity holds, by field path."""
    out = {}
    for f in dataclasses.fields(act):
        _flat(f.name, getattr(act, f.name), out)
    return out


def _same_with_int32(net, pl, x):
    """Simulate with the chosen (int16) sums and with int32 sums; assert every output equal."""
    prep = sim.prepare(net, pl)
    assert prep.acc_dtype == np.int16
    got = _outputs(sim.simulate(prep, None, x, record_raster=True, record_state=True))
    want = _outputs(sim.simulate(dataclasses.replace(prep, acc_dtype=np.int32), None, x, record_raster=True,
                                 record_state=True))
    assert got.keys() == want.keys()
    assert {"synops", "state[1][0]", "population[synops]"} <= got.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    return got


def _one_core(net):
    cores = tuple(np.full(p.size, -1 if i == 0 else 0, np.int32) for i, p in enumerate(net.populations))
    return Placement(cores, FitReport("t", True, (), 1, 1, 1), 1, 1, 1, 1)


def _chain(weights_in, n_post=3, shift=0, conv=None):
    """input (len(weights_in) rows of an all-to-all projection) -> one loihi population of ``n_post``."""
    w = np.asarray(weights_in, np.int64)
    n_in = w.shape[0]
    if conv is None:
        rows, cols = np.nonzero(w)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_in))]).astype(np.int64)
        proj = Projection("in", 0, 1, "dense", indptr, cols.astype(np.int32), w[rows, cols].astype(np.int32),
                          input_shift=shift)
    else:
        proj = Projection("conv", 0, 1, "conv", np.zeros(n_in + 1, np.int64), np.zeros(0, np.int32),
                          np.zeros(0, np.int32), conv=conv)
    pops = (Population("in", n_in, (n_in,), None, np.zeros(n_in, np.int64)),
            Population("h", n_post, (n_post,), NeuronParams(**LOIHI), np.zeros(n_post, np.int64)))
    return ChipNetwork("t", pops, (proj,), 1, 1e-3, True)


def test_small_and_float_networks_keep_their_accumulator():
    net, *_ = random_case("loihi_cuba", np.int8, 0)
    assert sim.accumulator_dtype(net) == np.int32  # 370 neurons: below ACC16_MIN_NEURONS
    fnet, *_ = random_case("float_lif", np.float64, 0)
    assert sim.accumulator_dtype(fnet) == np.float64


def test_int16_exactly_up_to_the_largest_sum_that_fits(monkeypatch):
    monkeypatch.setattr(sim, "ACC16_MIN_NEURONS", 0)
    # neuron 0's fan-in: 32767 in |weights| (mixed signs), so int16; one more unit and it is int32
    fits = np.array([[30000, 5], [-2767, 7], [0, -9]])
    assert sim.accumulator_dtype(_chain(fits, 2)) == np.int16
    over = fits.copy()
    over[2, 0] = 1
    assert sim.accumulator_dtype(_chain(over, 2)) == np.int32
    # a kept conv kernel: its output channel's summed |weights| (channel 1: 3 * 9 * 1213 = 32751, fits)
    w = np.zeros((2, 3, 3, 3), np.int32)
    w[0] = 7
    w[1] = -1213
    conv = ConvKernel(w, (1, 1), (1, 1), (3, 4, 4), (2, 4, 4))
    assert sim.accumulator_dtype(_chain(np.zeros((48, 32)), 32, conv=conv)) == np.int16
    w[1, 0, 0, 0] = -1230  # 32768
    assert sim.accumulator_dtype(_chain(np.zeros((48, 32)), 32, conv=conv)) == np.int32


def test_sum_at_the_int16_limit_is_delivered_exactly(monkeypatch):
    monkeypatch.setattr(sim, "ACC16_MIN_NEURONS", 0)
    # every input fires every step: neuron 0 gets 32767 (positive weights only), neuron 1 -32767
    w = np.array([[16384, -16384], [16383, -16383]])
    net = _chain(w, 2)
    x = np.ones((6, 1, 2), np.uint8)
    got = _same_with_int32(net, _one_core(net), x)
    # the current after step 0 is the step's input (u starts at 0): the sums themselves, unwrapped
    np.testing.assert_array_equal(got["state[1][0]"][0, 0], [32767, -32767])


CASES = [("loihi_cuba", np.int8, 0), ("loihi_cuba", np.int16, 1), ("xylo_shift", np.int8, 2)]


@pytest.mark.parametrize(("model", "wdtype", "seed"), CASES)
def test_random_networks_equal_with_int16_and_int32_sums(monkeypatch, model, wdtype, seed):
    monkeypatch.setattr(sim, "ACC16_MIN_NEURONS", 0)
    net, pl, x, *_ = random_case(model, wdtype, seed)
    got = _same_with_int32(net, pl, x)
    assert got["synops"].sum() > 0 and got["raster[2]"].any()


def test_shifted_and_conv_projections_equal_with_int16_and_int32_sums(monkeypatch):
    monkeypatch.setattr(sim, "ACC16_MIN_NEURONS", 0)
    rng = np.random.default_rng(3)
    x = (rng.random((12, 2, 48)) < 0.4).astype(np.uint8)
    shifted = _chain(rng.integers(-400, 500, (48, 5)), 5, shift=3)  # the floor of a negative sum too
    _same_with_int32(shifted, _one_core(shifted), x)
    conv = ConvKernel(rng.integers(-300, 400, (2, 3, 3, 3)).astype(np.int32), (1, 1), (1, 1), (3, 4, 4),
                      (2, 4, 4))
    conv_net = _chain(np.zeros((48, 32)), 32, conv=conv)
    _same_with_int32(conv_net, _one_core(conv_net), x)
