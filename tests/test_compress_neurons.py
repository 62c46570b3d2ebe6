"""compress.neurons and compress.encoding: hand-computed LIF/CubaLIF traces, strict threshold, resets,
surrogate gradients, encodings."""

import math

import pytest
import torch

from compress.encoding import encode
from compress.neurons import LIF, CubaLIF, spike


def trace(layer, values):
    return layer(torch.tensor(values, dtype=torch.float32)[:, None]).flatten().tolist()


def test_lif_integrates_leaks_and_resets_to_zero():
    # v: 0.6, 0.9, 1.05 -> spike, reset 0; 0.6, 0.9
    assert trace(LIF(beta=0.5, threshold=1.0), [0.6] * 5) == [0, 0, 1, 0, 0]


def test_lif_threshold_is_strict():
    # v = 1.0 is not > 1.0; next step v = 0.5 + 1.0 = 1.5 spikes
    assert trace(LIF(beta=0.5, threshold=1.0), [1.0, 1.0]) == [0, 1]


def test_subtract_reset_keeps_the_excess():
    # v: 1.5 -> spike, v = 0.5; 0.5*0.5 + 0.8 = 1.05 -> spike; zero reset would give 0.8 -> no spike
    assert trace(LIF(beta=0.5, reset="subtract"), [1.5, 0.8]) == [1, 1]
    assert trace(LIF(beta=0.5, reset="zero"), [1.5, 0.8]) == [1, 0]


def test_cuba_lif_filters_input_through_the_synaptic_current():
    layer = CubaLIF(alpha=0.5, beta=0.5, threshold=0.6)
    # inputs [0.5, 0.0]: i = 0.5, 0.25; v = 0.5, 0.25 + 0.25 = 0.5 -> no spike
    assert trace(layer, [0.5, 0.0]) == [0, 0]
    # inputs [0.5, 0.5]: i = 0.5, 0.75; v = 0.5, 0.25 + 0.75 = 1.0 > 0.6 -> spike at step 2
    assert trace(layer, [0.5, 0.5]) == [0, 1]


def test_atan_surrogate_gradient_matches_fang_et_al():
    x = torch.tensor([0.0, 0.1], requires_grad=True)
    spike(x, "atan").sum().backward()
    expected = [1.0, 1.0 / (1.0 + (math.pi / 2 * 2 * 0.1) ** 2)]
    assert torch.allclose(x.grad, torch.tensor(expected))


def test_fast_sigmoid_surrogate_gradient_matches_zenke():
    x = torch.tensor([0.0, -0.1], requires_grad=True)
    spike(x, "fast_sigmoid").sum().backward()
    assert torch.allclose(x.grad, torch.tensor([1.0, 1.0 / (1.0 + 2.5) ** 2]))


def test_spike_forward_is_heaviside_strict():
    assert spike(torch.tensor([-1.0, 0.0, 1e-6])).tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("kwargs", [{"reset": "hard"}, {"surrogate": "relu"}, {"beta": 1.5},
                                    {"threshold": 0.0}])
def test_bad_neuron_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        LIF(**kwargs)


def test_direct_encoding_repeats_the_input():
    x = torch.tensor([[0.2, 0.7]])
    out = encode(x, 3, "direct")
    assert out.shape == (3, 1, 2) and torch.equal(out[2], x)


def test_rate_encoding_is_bernoulli_with_the_pixel_as_probability():
    x = torch.tensor([[0.0, 1.0, 0.25]])
    out = encode(x, 4000, "rate", torch.Generator().manual_seed(0))
    assert out[:, 0, 0].sum() == 0 and out[:, 0, 1].sum() == 4000
    assert abs(out[:, 0, 2].mean().item() - 0.25) < 0.03
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_rate_encoding_is_reproducible_for_a_seed():
    x = torch.full((2, 5), 0.5)
    a = encode(x, 8, "rate", torch.Generator().manual_seed(3))
    b = encode(x, 8, "rate", torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_unknown_encoding_is_rejected():
    with pytest.raises(ValueError, match="rate"):
        encode(torch.zeros(1, 2), 2, "latency")
