"""compress.models: layer names and order, recorded activity, the count readout and its tie rule."""

import pytest
import torch
from torch import nn

from compress.models import ModelConfig, SumPool2d, build_model, predict


def test_mlp_layers_are_named_and_ordered_as_nir_nodes():
    model = build_model(ModelConfig(hidden=(32, 16)), (1, 8, 8), 10)
    assert list(model.layers) == ["fc1", "lif1", "fc2", "lif2", "fc3", "lif3"]
    assert [(n, m.in_features, m.out_features) for n, m in model.synaptic_layers()] == [
        ("fc1", 64, 32), ("fc2", 32, 16), ("fc3", 16, 10)]


def test_cnn_is_conv_lif_sumpool_blocks_then_a_dense_output():
    model = build_model(ModelConfig(kind="cnn", conv_channels=(4, 6)), (1, 8, 8), 10)
    assert list(model.layers) == ["conv1", "lif1", "pool1", "conv2", "lif2", "pool2", "flat", "fc3", "lif3"]
    assert model.layers["fc3"].in_features == 6 * 2 * 2
    assert all(isinstance(m, nn.Linear | nn.Conv2d) for _, m in model.synaptic_layers())


def test_forward_records_spikes_and_weight_layer_inputs():
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="cnn"), (1, 8, 8), 10)
    x = torch.rand(5, 3, 1, 8, 8)
    out = model(x)
    assert out.shape == (5, 3, 10)
    assert set(model.last_spikes) == {"lif1", "lif2", "lif3"}
    assert torch.equal(model.last_spikes["lif3"], out)
    assert torch.equal(model.last_inputs["conv1"], x)
    assert model.last_inputs["fc3"].shape == (5, 3, 64)


def test_sum_pool_sums_windows():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    expected = [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]
    assert SumPool2d(2)(x).flatten().tolist() == expected


def test_prediction_ties_go_to_the_lowest_index():
    assert predict(torch.tensor([[3.0, 5.0, 5.0], [0.0, 0.0, 0.0]])).tolist() == [1, 0]


def test_wrong_input_shape_is_rejected():
    model = build_model(ModelConfig(), (1, 8, 8), 10)
    with pytest.raises(ValueError, match="input shape"):
        model(torch.zeros(2, 1, 1, 7, 7))


def test_unknown_model_kind_is_rejected():
    with pytest.raises(ValueError, match="mlp"):
        ModelConfig(kind="rnn")


def test_parametrize_sees_the_weight_of_a_synaptic_layer():
    from torch.nn.utils import parametrize

    class Zero(nn.Module):
        def forward(self, w):
            return w * 0

    model = build_model(ModelConfig(hidden=(8,)), (1, 8, 8), 10)
    parametrize.register_parametrization(model.synaptic_layers()[0][1], "weight", Zero())
    model(torch.ones(2, 1, 1, 8, 8))
    assert model.last_spikes["lif1"].sum() == 0
