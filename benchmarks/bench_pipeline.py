"""End to end at deployed size (issues 14 and 19): each stage of a run, per network.

Random weights and Bernoulli input spikes (this measures speed, not accuracy), IF neurons throughout. The
networks (``NETWORKS``): issue 19's table (MLPs of 10 and 100 layers of 1000, the MLP 784-4995-4995-10,
the 82k-neuron conv stack 3x64x64 -> 16x64x64 -> 16x32x32 (stride 2) -> 10) and a 1.18M-neuron conv net
(3x256x256 -> 16x256x256 -> 8x128x128 (stride 2) -> 10); ``vgg11`` is VGG-11's layout for 3x32x32 input
(conv 64, pool, 128, pool, 256 x2, pool, 512 x2, pool, 512 x2, pool, fc 4096, 4096, 10; ``--width`` scales
every channel count). Each network runs in its own process (so its peak RSS is its own), which times the
stages of ``harness run`` after training: compile (``compile_graph``), place (``place``, strategy auto),
simulate a batch (``simulate_stream``, 1 and then 2 worker threads, alternating, best of ``--repeats``; the
outputs must be identical) and cost; compile and place in CPU seconds of the process and wall seconds.
Numba's compilation is excluded (a warm-up on tiny networks of the same kinds runs first). Prints one JSON
object per network, then a markdown table.

    NUMBA_CACHE_DIR=$PWD/.cache/numba .venv/bin/python benchmarks/bench_pipeline.py \\
        [--networks mlp_10k,conv_82k] [--profiles loihi,speck] [--batch 8 --steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DT_S = 1e-3  # IF r = 1/dt: each weight adds itself to v
VGG11 = (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool", 512, 512, "pool")


def vgg11_graph(width: float = 1.0, hw: int = 32, classes: int = 10, fc: int = 4096, seed: int = 0):
    """VGG-11 as a NIR graph (random weights, IF neurons, sum pooling)."""
    import nir

    rng = np.random.default_rng(seed)
    shape = (3, hw, hw)
    nodes, edges, prev = {"input": nir.Input(np.array(shape))}, [], "input"

    def spiking(name, out_shape):
        nodes[f"{name}_if"] = nir.IF(r=np.full(out_shape, 1 / DT_S), v_threshold=np.ones(out_shape))
        edges.append((name, f"{name}_if"))
        return f"{name}_if"

    for i, layer in enumerate(VGG11):
        if layer == "pool":
            nodes[f"pool{i}"] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                              padding=np.array([0, 0]))
            edges.append((prev, f"pool{i}"))
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
            prev = spiking(f"pool{i}", shape)
            continue
        c_out = max(1, int(round(layer * width)))
        w = rng.normal(0, 4.0 / np.sqrt(shape[0] * 9), size=(c_out, shape[0], 3, 3))
        nodes[f"conv{i}"] = nir.Conv2d(input_shape=shape[1:], weight=w, stride=1, padding=1, dilation=1,
                                       groups=1, bias=np.zeros(c_out))
        edges.append((prev, f"conv{i}"))
        shape = (c_out, shape[1], shape[2])
        prev = spiking(f"conv{i}", shape)
    nodes["flat"] = nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array(shape)})
    edges.append((prev, "flat"))
    prev, n_in = "flat", int(np.prod(shape))
    for j, n_out in enumerate((max(1, int(round(fc * width))), max(1, int(round(fc * width))), classes)):
        nodes[f"fc{j}"] = nir.Affine(rng.normal(0, 4.0 / np.sqrt(n_in), size=(n_out, n_in)), np.zeros(n_out))
        edges.append((prev, f"fc{j}"))
        prev, n_in = spiking(f"fc{j}", (n_out,)), n_out
    nodes["output"] = nir.Output(np.array([classes]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes, edges, type_check=False, metadata={"dt_s": DT_S})


def mlp_graph(sizes, seed: int = 0, zeros: float = 0.0):
    """An MLP of IF layers (random weights, a fraction ``zeros`` of them 0) as a NIR graph."""
    import nir

    rng = np.random.default_rng(seed)
    nodes, edges, prev = {"input": nir.Input(np.array([sizes[0]]))}, [], "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        w = rng.normal(0, 4.0 / np.sqrt(a), size=(b, a))
        if zeros:
            w[rng.random(w.shape) < zeros] = 0.0
        nodes[f"fc{i}"] = nir.Affine(w, np.zeros(b))
        nodes[f"if{i}"] = nir.IF(r=np.full(b, 1 / DT_S), v_threshold=np.ones(b))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"if{i}")]
        prev = f"if{i}"
    nodes["output"] = nir.Output(np.array([sizes[-1]]))
    return nir.NIRGraph(nodes, edges + [(prev, "output")], type_check=False, metadata={"dt_s": DT_S})


def conv_graph(in_shape, layers, classes: int = 10, seed: int = 0):
    """Conv layers ``(channels, stride)`` (3x3, padding 1, IF neurons) then a dense readout, as NIR."""
    import nir

    rng = np.random.default_rng(seed)
    shape = tuple(in_shape)
    nodes, edges, prev = {"input": nir.Input(np.array(shape))}, [], "input"
    for i, (c_out, stride) in enumerate(layers):
        w = rng.normal(0, 4.0 / np.sqrt(shape[0] * 9), size=(c_out, shape[0], 3, 3))
        nodes[f"conv{i}"] = nir.Conv2d(input_shape=shape[1:], weight=w, stride=stride, padding=1, dilation=1,
                                       groups=1, bias=np.zeros(c_out))
        shape = (c_out, (shape[1] - 1) // stride + 1, (shape[2] - 1) // stride + 1)
        nodes[f"if{i}"] = nir.IF(r=np.full(shape, 1 / DT_S), v_threshold=np.ones(shape))
        edges += [(prev, f"conv{i}"), (f"conv{i}", f"if{i}")]
        prev = f"if{i}"
    n = int(np.prod(shape))
    nodes["flat"] = nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array(shape)})
    nodes["fc"] = nir.Affine(rng.normal(0, 4.0 / np.sqrt(n), size=(classes, n)), np.zeros(classes))
    nodes["out_if"] = nir.IF(r=np.full(classes, 1 / DT_S), v_threshold=np.ones(classes))
    nodes["output"] = nir.Output(np.array([classes]))
    edges += [(prev, "flat"), ("flat", "fc"), ("fc", "out_if"), ("out_if", "output")]
    return nir.NIRGraph(nodes, edges, type_check=False, metadata={"dt_s": DT_S})


NETWORKS = {  # issue 19's table, and a 10^6-neuron conv net
    "mlp_10k": lambda: mlp_graph([1000] * 11),
    "mlp_100k": lambda: mlp_graph([1000] * 101),
    "mlp_784_4995": lambda: mlp_graph([784, 4995, 4995, 10]),
    "conv_82k": lambda: conv_graph((3, 64, 64), [(16, 1), (16, 2)]),
    "conv_1m": lambda: conv_graph((3, 256, 256), [(16, 1), (8, 2)]),
}


def _timed(fn):
    """(result, wall s, CPU s of the process: every thread's)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _warm(profile, rate: float) -> None:
    """Every kernel a run of this profile uses, compiled (or loaded from Numba's cache) before timing."""
    from chipsim.compile import compile_graph
    from chipsim.place import place
    from chipsim.simulate import simulate_stream

    for tiny in (vgg11_graph(width=1 / 64, hw=32, fc=64), mlp_graph([20, 30, 10], zeros=0.3)):
        tnet = compile_graph(tiny, profile)
        tx = (np.random.default_rng(0).random((2, 2, tnet.populations[0].size)) < rate).astype(np.uint8)
        for w in (1, 2):
            simulate_stream(tnet, place(tnet, profile), tx, workers=w)


def bench(network: str, profile_name: str, batch: int, steps: int, repeats: int, rate: float,
          width: float = 1.0) -> dict:
    import numba

    import hwprofiles
    from chipsim.compile import compile_graph
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import prepare, simulate_stream

    profile = hwprofiles.load(profile_name)
    _warm(profile, rate)
    graph = vgg11_graph(width=width) if network == "vgg11" else NETWORKS[network]()
    rss_graph = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    net, compile_s, compile_cpu = _timed(lambda: compile_graph(graph, profile))
    placement, place_s, place_cpu = _timed(lambda: place(net, profile))
    prep, prepare_s, _ = _timed(lambda: prepare(net, placement))
    x = (np.random.default_rng(1).random((steps, batch, net.populations[0].size)) < rate).astype(np.uint8)
    best = {1: np.inf, 2: np.inf}
    outs = {}
    for _ in range(repeats):
        for w in (1, 2):
            act, s, _ = _timed(lambda w=w: simulate_stream(prep, None, x, workers=w, chunk_size=batch))
            best[w] = min(best[w], s)
            outs[w] = act
    identical = bool(np.array_equal(outs[1].output_spikes, outs[2].output_spikes)
                     and outs[1].total("synops") == outs[2].total("synops"))
    priced, cost_s, _ = _timed(lambda: cost(outs[2], placement, profile, net))
    fit = placement.fit
    return dict(
        network=network if network != "vgg11" else f"vgg11 x{width:g}", profile=profile_name,
        neurons=net.n_neurons, synapses=net.n_synapses,
        fits=fit.fits, strategy=fit.strategy, cores=fit.cores_used, chips=fit.chips_needed,
        violations=len(fit.violations), smallest_budget=dict(fit.smallest_budget),
        batch=batch, steps=steps, numba_threads_available=numba.config.NUMBA_NUM_THREADS,
        compile_s=round(compile_s, 3), compile_cpu_s=round(compile_cpu, 3),
        place_s=round(place_s, 3), place_cpu_s=round(place_cpu, 3), prepare_s=round(prepare_s, 3),
        simulate_1_worker_s=round(best[1], 3), simulate_2_workers_s=round(best[2], 3),
        per_sample_1_worker_s=round(best[1] / batch, 4), per_sample_2_workers_s=round(best[2] / batch, 4),
        speedup_2_vs_1=round(best[1] / best[2], 3), outputs_identical=identical,
        synaptic_events_per_sample=outs[2].total("synops") / batch,
        output_spikes_per_sample=float(outs[2].output_spikes.sum() / batch),
        cost_s=round(cost_s, 3), energy_per_inference_j=priced.to_dict().get("total_known_j"),
        rss_graph_mb=round(rss_graph, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        load_avg_1min=round(os.getloadavg()[0], 1),
    )


ROW = ("| {network} | {neurons:,} | {synapses:,} | {compile_cpu_s:.2f} ({compile_s:.2f}) | "
       "{place_cpu_s:.2f} ({place_s:.2f}) | {per_sample_1_worker_s:.4f} | {per_sample_2_workers_s:.4f} | "
       "{peak_rss_mb:,.0f} | {cores}, {fits} | {load_avg_1min} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", default="mlp_10k,mlp_100k,mlp_784_4995,conv_82k,conv_1m",
                    help=f"comma-separated, of {', '.join(sorted(NETWORKS))}, vgg11")
    ap.add_argument("--profiles", default="loihi")
    ap.add_argument("--width", type=float, default=1.0, help="vgg11's channel scale (1.0 = VGG-11)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rate", type=float, default=0.2, help="input spike probability per step")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--one", action="store_true", help="run the one network in this process (internal)")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(bench(args.networks, args.profiles, args.batch, args.steps, args.repeats, args.rate,
                               args.width)), flush=True)
        return
    rows = []
    for profile in args.profiles.split(","):
        for network in args.networks.split(","):  # one process each: its peak RSS is that network's
            cmd = [sys.executable, __file__, "--one", "--networks", network, "--profiles", profile,
                   "--width", str(args.width), "--batch", str(args.batch), "--steps", str(args.steps),
                   "--rate", str(args.rate), "--repeats", str(args.repeats)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                print(json.dumps({"network": network, "profile": profile, "error": done.stderr[-1500:]}),
                      flush=True)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| network | neurons | synapses | compile CPU s (wall) | place CPU s (wall) | simulate s/sample, "
          "1 worker | 2 workers | peak RSS MB | cores, fits | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(ROW.format(**row))


if __name__ == "__main__":
    main()
