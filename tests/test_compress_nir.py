"""compress.nir_io: node names and NIR parameters, and a write/read round trip that spikes identically."""

import json

import nir
import numpy as np
import pytest
import torch

from compress.models import ModelConfig, build_model
from compress.nir_io import NIRImportError, from_nir, load_nir, save_nir, to_nir


def model_of(**changes):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**changes), (1, 8, 8), 10)
    with torch.no_grad():
        for _, layer in model.synaptic_layers():
            layer.weight.mul_(4.0)  # enough drive that every layer spikes
    return model


def spikes_equal_after_round_trip(model, tmp_path):
    save_nir(model, tmp_path / "m.nir")
    back = load_nir(tmp_path / "m.nir")
    x = (torch.rand(8, 6, 1, 8, 8, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    out, out_back = model(x), back(x)
    assert out.sum() > 0
    return torch.equal(out, out_back) and all(
        torch.equal(model.last_spikes[k], back.last_spikes[k]) for k in model.last_spikes), back


def test_mlp_graph_has_named_nodes_in_a_chain():
    graph = to_nir(model_of(hidden=(16,)))
    assert list(graph.nodes) == ["input", "flat", "fc1", "lif1", "fc2", "lif2", "output"]
    assert graph.edges == [("input", "flat"), ("flat", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"),
                           ("fc2", "lif2"), ("lif2", "output")]
    assert isinstance(graph.nodes["fc1"], nir.Linear) and graph.nodes["fc1"].weight.shape == (16, 64)


def test_lif_parameters_follow_snntorch_export_convention_in_seconds():
    lif = to_nir(model_of(hidden=(16,), beta=0.75, dt_s=1e-3, threshold=1.5)).nodes["lif1"]
    assert np.allclose(lif.tau, 4e-3) and np.allclose(lif.r, 4.0)  # tau = dt/(1-beta), r = tau/dt
    assert np.allclose(lif.v_threshold, 1.5) and np.allclose(lif.v_leak, 0) and np.allclose(lif.v_reset, 0)
    assert lif.tau.shape == (16,) and "reset" not in lif.metadata


def test_cuba_lif_parameters_and_subtract_reset_metadata():
    node = to_nir(model_of(neuron="cuba", alpha=0.5, beta=0.75, reset="subtract")).nodes["lif1"]
    assert isinstance(node, nir.CubaLIF)
    assert np.allclose(node.tau_syn, 2e-3) and np.allclose(node.tau_mem, 4e-3)
    assert np.allclose(node.w_in, 2.0) and np.allclose(node.r, 4.0)
    assert node.metadata["reset"] == "subtract"


def test_cnn_graph_uses_conv_sumpool_flatten_and_affine_with_bias():
    graph = to_nir(model_of(kind="cnn", bias=True))
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds == {"input": "Input", "conv1": "Conv2d", "lif1": "LIF", "pool1": "SumPool2d",
                     "conv2": "Conv2d", "lif2": "LIF", "pool2": "SumPool2d", "flat": "Flatten",
                     "fc3": "Affine", "lif3": "LIF", "output": "Output"}
    assert tuple(graph.nodes["conv2"].input_shape) == (4, 4) and graph.nodes["lif2"].tau.shape == (16, 4, 4)


@pytest.mark.parametrize("changes", [dict(hidden=(16,)), dict(hidden=(12, 8), reset="subtract"),
                                     dict(kind="cnn", neuron="cuba", bias=True)])
def test_round_trip_through_nir_file_spikes_identically(tmp_path, changes):
    same, back = spikes_equal_after_round_trip(model_of(**changes), tmp_path)
    assert same and back.config == ModelConfig(**changes)


def test_layer_metadata_rides_on_its_node(tmp_path):
    model = model_of(hidden=(16,))
    model.layers["fc1"].nir_metadata = {"codebook": np.array([-1.0, 0.0, 1.0])}
    save_nir(model, tmp_path / "m.nir", metadata={"fc2": {"bits": 4}})
    graph = nir.read(str(tmp_path / "m.nir"))
    assert np.array_equal(graph.nodes["fc1"].metadata["codebook"], [-1.0, 0.0, 1.0])
    assert int(graph.nodes["fc2"].metadata["bits"]) == 4


def test_graph_without_chipfit_metadata_imports_with_dt_from_tau_over_r():
    model = model_of(hidden=(16,), beta=0.8, dt_s=1e-4)
    graph = to_nir(model)
    graph.metadata = {}
    back = from_nir(graph)
    assert back.config.beta == pytest.approx(0.8) and back.config.dt_s == pytest.approx(1e-4)
    x = (torch.rand(6, 3, 1, 8, 8, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    assert torch.equal(model(x), back(x))


def test_graph_metadata_holds_the_model_config():
    graph = to_nir(model_of(hidden=(16,)))
    assert json.loads(graph.metadata["chipfit_model_config"])["hidden"] == [16]


def test_per_neuron_thresholds_are_refused():
    graph = to_nir(model_of(hidden=(16,)))
    graph.nodes["lif1"].v_threshold = np.linspace(1, 2, 16)
    with pytest.raises(NIRImportError, match="lif1"):
        from_nir(graph)


def test_branching_graph_is_refused():
    graph = to_nir(model_of(hidden=(16,)))
    graph.edges.append(("lif1", "output"))
    with pytest.raises(NIRImportError, match="feed-forward"):
        from_nir(graph)


def test_missing_or_foreign_file_is_a_one_line_error(tmp_path):
    with pytest.raises(NIRImportError, match="no NIR file"):
        load_nir(tmp_path / "absent.nir")
    (tmp_path / "junk.nir").write_text("not hdf5")
    with pytest.raises(NIRImportError, match="not a readable NIR file"):
        load_nir(tmp_path / "junk.nir")
