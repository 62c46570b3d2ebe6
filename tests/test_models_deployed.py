"""compress.architectures and their NIR export: VGG-11, the spiking ResNet (residual adds) and the
recurrent LIF network (a NIR cycle); BatchNorm folded at export without changing a spike."""

import nir
import numpy as np
import pytest
import torch

from compress.architectures import ModelConfigError, model_config
from compress.fold import fold_batchnorm
from compress.models import build_model
from compress.nir_io import from_nir, to_nir


def _with_trained_bn(model, seed=0):
    """Running statistics and affine parameters away from their defaults, then eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
                module.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                module.weight.copy_(torch.randn(n, generator=g))  # some gammas negative
                module.bias.copy_(torch.randn(n, generator=g) * 0.5)
    return model.eval()


def test_vgg11_has_eight_conv_layers_five_pools_and_the_published_widths():
    model = build_model(model_config("vgg11"), (2, 32, 32), 10)
    convs = [m.out_channels for _, m in model.synaptic_layers() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [64, 128, 256, 256, 512, 512, 512, 512]
    assert [n for n in model.layers if n.startswith("pool")] == ["pool1", "pool2", "pool4", "pool6", "pool8"]
    assert model.layers["fc9"].in_features == 512  # 32 / 2^5 = 1
    neurons = 64 * 32**2 + 128 * 16**2 + 2 * 256 * 8**2 + 2 * 512 * 4**2 + 2 * 512 * 2**2 + 10
    x = torch.zeros(1, 1, 2, 32, 32)
    model(x)
    assert sum(s[0, 0].numel() for s in model.last_spikes.values()) == neurons == 151_562


def test_vgg11_on_48x48_input_flattens_512_channels():
    model = build_model(model_config("vgg11"), (2, 48, 48), 11)
    assert model.layers["fc9"].in_features == 512 * 1 * 1  # 48 -> 24 -> 12 -> 6 -> 3 -> 1


def test_fold_batchnorm_matches_conv_then_bn_in_eval_mode():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1, bias=True)
    bn = _with_trained_bn(torch.nn.Sequential(torch.nn.BatchNorm2d(5)))[0]
    x = torch.rand(2, 3, 6, 6)
    w, b = fold_batchnorm(conv, bn)
    folded = torch.nn.functional.conv2d(x, w, b, padding=1)
    assert torch.allclose(bn(conv(x)), folded, atol=1e-5)


@pytest.mark.parametrize("preset", ["vgg11", "resnet"])
def test_exported_graph_has_no_batchnorm_and_spikes_as_before_folding(preset):
    cfg = model_config(preset, conv_channels=(8, 8, 16, 16, 16, 16, 16, 16) if preset == "vgg11" else (8, 16))
    torch.manual_seed(1)
    model = _with_trained_bn(build_model(cfg, (2, 16, 16), 10))
    graph = to_nir(model)
    assert not any("BatchNorm" in type(n).__name__ for n in graph.nodes.values())
    assert not any(name.startswith("bn") for name in graph.nodes)
    back = from_nir(graph)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in back.modules())
    x = (torch.rand(6, 4, 2, 16, 16, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    with torch.no_grad():
        out, out_back = model(x), back(x)
        spikes = {k: v.clone() for k, v in model.last_spikes.items()}
    total = sum(float(s.sum()) for s in spikes.values())
    assert total > 0
    mismatched = sum(float((spikes[k] != back.last_spikes[k]).sum()) for k in spikes)
    assert mismatched <= 1e-4 * total  # float rounding may flip a spike sitting exactly at threshold
    assert torch.equal(out, out_back)


def test_resnet_block_adds_its_input_spikes_before_its_last_lif():
    model = build_model(model_config("resnet", conv_channels=(8, 16)), (2, 16, 16), 10)
    graph = to_nir(model)
    into = {}
    for src, dst in graph.edges:
        into.setdefault(dst, []).append(src)
    residual = {dst: srcs for dst, srcs in into.items() if len(srcs) == 2}
    assert residual == {"lif3": ["conv3", "lif1"], "lif6": ["conv6", "lif4"]}
    assert isinstance(graph.nodes["lif1"], nir.LIF) and isinstance(graph.nodes["conv3"], nir.Conv2d)


def test_recurrent_lif_exports_a_cycle_and_reads_its_own_spikes_one_step_late():
    torch.manual_seed(0)
    model = build_model(model_config("rlif", hidden=(6,)), (4,), 3)
    graph = to_nir(model)
    assert ("lif1", "rec1") in graph.edges and ("rec1", "lif1") in graph.edges
    with torch.no_grad():
        model.layers["fc1"].weight.zero_()
        model.layers["fc1"].weight[0, 0] = 2.0  # input 0 drives neuron 0 over threshold
        model.layers["rec1"].weight.zero_()
        model.layers["rec1"].weight[1, 0] = 2.0  # neuron 0 drives neuron 1, one step later
    x = torch.zeros(4, 1, 4)
    x[0, 0, 0] = 1.0
    model(x)
    lif1 = model.last_spikes["lif1"][:, 0]
    assert lif1[:, 0].tolist() == [1, 0, 0, 0] and lif1[:, 1].tolist() == [0, 1, 0, 0]
    back = from_nir(graph)
    back.load_state_dict(model.state_dict())
    assert torch.equal(back(x), model(x))


def test_chipsim_compiles_the_residual_and_recurrent_graphs():
    import hwprofiles
    from chipsim.compile import compile_graph

    loihi = hwprofiles.load("loihi")
    resnet = build_model(model_config("resnet", conv_channels=(4, 8)), (2, 8, 8), 10)
    res = compile_graph(to_nir(resnet), loihi)
    assert {"lif1->lif3", "lif4->lif6"} <= {p.name for p in res.projections}
    rec = compile_graph(to_nir(build_model(model_config("rlif", hidden=(8,)), (5,), 3)), loihi)
    assert "lif1->lif1" in {p.name for p in rec.projections}


def test_model_config_reads_a_json_file_and_rejects_unknown_fields(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"kind": "vgg", "conv_channels": [8, 16], "pool_after": [1, 2], "batchnorm": true}')
    cfg = model_config(str(path))
    assert cfg.kind == "vgg" and cfg.conv_channels == (8, 16) and cfg.batchnorm
    path.write_text('{"kind": "vgg", "widths": [8]}')
    with pytest.raises(ModelConfigError, match="widths"):
        model_config(str(path))


def test_vgg11_maps_onto_loihi_across_more_than_one_chip():
    """Full VGG-11 widths (9.2M weights) on a 2x8x8 input: the synapses need more than Loihi's 128 cores.
    Random weights. Slow today (about a minute on a loaded 2-core machine, mostly in chipsim's place)."""
    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.place import place

    torch.manual_seed(0)
    model = _with_trained_bn(build_model(model_config("vgg11"), (2, 8, 8), 10))
    loihi = hwprofiles.load("loihi")
    net = compile_graph(to_nir(model), loihi)
    placement = place(net, loihi)
    assert placement.fit.chips_needed >= 2 and placement.fit.cores_used > 128
    assert placement.fit.chips_needed == -(-placement.fit.cores_used // 128)  # loihi.yaml: 128 cores a chip


def test_a_method_compresses_the_folded_network_so_the_export_stays_on_its_grid(tmp_path):
    import nir as nir_lib

    from compress.method import Budget
    from compress.pipeline import run_method
    from compress.train import TrainConfig

    cfg = model_config("vgg11", conv_channels=(4, 6), pool_after=(1, 2))
    train = TrainConfig(epochs=1, steps=3, device="cpu")
    metrics = run_method("ptq", dataset="digits", budget=Budget(weight_bits=4), model_cfg=cfg,
                         train_cfg=train, seed=0, out_dir=tmp_path / "m", cache_dir=tmp_path / "dense",
                         progress=False)
    assert metrics["budget_met"]["weight_bits"]  # measured on the folded weights the chip gets
    graph = nir_lib.read(str(tmp_path / "m" / "model.nir"))
    assert not any(name.startswith("bn") for name in graph.nodes)
    w = np.asarray(graph.nodes["conv1"].weight)
    assert len(np.unique(w)) <= 2 * 7 + 1  # a 4-bit symmetric grid: at most 15 values
