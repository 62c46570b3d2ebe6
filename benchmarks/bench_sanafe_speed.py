"""`harness simulate` as a whole command vs SANA-FE 2.2.9 on the same ~20k-neuron conv net (issue 12).

The network (``bench_sanafe.conv_net``: input (2, 34, 34) -> conv 14x3x3 s1 pad 1 -> IF -> conv 16 s2 -> IF
-> fc 10 -> IF; 20,290 neurons, no biases) and a Bernoulli input are written to a temporary folder; then,
in the same run:

1. ``harness simulate --nir g.nir --profile loihi --input x.npz --dt 1 --no-cache --no-progress --out ..
   --json ..`` in a subprocess, timed from launch to exit (Python start-up, imports, reading the graph,
   chipfit's compile, placement, the simulation, pricing and writing), after one untimed run that fills
   Numba's on-disk cache and Python's bytecode cache (``__pycache__``: the command runs without
   ``PYTHONDONTWRITEBYTECODE``, which some shells set), as any installed chipfit has after its first run;
   ``--repeats N`` times it N times (best and all kept). Its own ``timings_s`` (``--json``: wall seconds
   per stage, :mod:`harness.stopwatch`) give the breakdown; "start-up and exit" is the rest of the whole
   command's time (interpreter start-up, the imports before the command runs, exit);
2. the command's stages one by one in this process (start-up and imports in a subprocess of their own;
   compile, ``chipsim.place``, the simulation, pricing), as a second view of where its time goes;
3. SANA-FE on the same network and core mapping (``harness.sanafe_model.run``): building its network and
   its simulation timed apart, and its per-neuron spike counts compared with the command's.

Speed-up = SANA-FE's simulation alone / the whole command. The machine is shared (2 cores): the load
average before and after is recorded; run it with ``nice -n 10``.

    PYTHONPATH=. nice -n 10 python benchmarks/bench_sanafe_speed.py --steps 1000 --rate 0.05
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import nir
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_sanafe import RESULTS, ROOT, conv_net  # noqa: E402


def cpu_model() -> str:
    """This machine's CPU model name and core count (Linux ``/proc/cpuinfo``; else ``platform``)."""
    import platform

    try:
        lines = pathlib.Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        family = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("cpu family"))
        return f"{names[0]}, family {family}, {len(names)} cores"
    except (OSError, IndexError, StopIteration):
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=34)
    parser.add_argument("--c1", type=int, default=14)
    parser.add_argument("--c2", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of the whole command (best kept)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="default: docs/results/sanafe/speed-conv-20k-rate{RATE}.json")
    args = parser.parse_args()
    args.out = args.out or RESULTS / f"speed-conv-20k-rate{args.rate:g}.json"

    load_before = os.getloadavg()[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed chipfit has its bytecode cached
    start = time.perf_counter()  # the command's start-up: interpreter and the modules it imports
    subprocess.run([sys.executable, "-c", "import harness.cli, harness.commands.simulate, chipsim.simulate, "
                    "chipsim.place, chipsim.cost, chipsim.nir_read"], check=True, env=env)
    imports_s = time.perf_counter() - start

    import hwprofiles
    from chipsim import aot
    from chipsim.compile import compile_graph
    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate_stream
    from harness import sanafe_model

    graph = conv_net(args.side, args.c1, args.c2, args.seed, bias=False)
    profile = hwprofiles.load("loihi")
    start = time.perf_counter()
    net = compile_graph(graph, profile, dt_s=1.0)
    compile_s = time.perf_counter() - start
    x = np.random.default_rng(args.seed + 1).random((args.steps, net.populations[0].size)) < args.rate
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        nir.write(tmp / "g.nir", graph)
        np.savez(tmp / "x.npz", spikes=x.astype(np.uint8))
        harness = str(pathlib.Path(sys.executable).parent / "harness")
        command = [harness, "simulate", "--nir", str(tmp / "g.nir"), "--profile", "loihi", "--input",
                   str(tmp / "x.npz"), "--dt", "1", "--no-cache", "--no-progress", "--out",
                   str(tmp / "out.npz"), "--json", str(tmp / "cost.json")]
        subprocess.run(command, check=True, capture_output=True, env=env)  # warm Numba's and Python's caches
        runs = []
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            whole = time.perf_counter() - start
            stages = json.loads((tmp / "cost.json").read_text())["timings_s"]
            runs.append({"whole_s": round(whole, 4),
                         "stages_s": {"start_up_and_exit": round(whole - sum(stages.values()), 4), **stages}})
        best = min(runs, key=lambda r: r["whole_s"])
        whole_s = best["whole_s"]
        with np.load(tmp / "out.npz") as data:
            counts = [data[f"spike_counts_{i}"].reshape(-1) for i in range(len(net.populations))]
        report = json.loads((tmp / "cost.json").read_text())
    start = time.perf_counter()
    placement = place(net, profile)
    place_s = time.perf_counter() - start
    start = time.perf_counter()
    activity = simulate_stream(net, placement, x.astype(np.uint8))
    simulate_s = time.perf_counter() - start
    start = time.perf_counter()
    cost(activity, placement, profile, net)
    cost_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = sanafe_model.run(net, placement.core_of_neuron, x)
    sanafe_total_s = time.perf_counter() - start
    identical = all(np.array_equal(a, b) for a, b in zip(counts[1:], theirs.spike_counts[1:], strict=True))
    result = {
        "network": f"conv {args.c1}x{args.side}x{args.side} -> conv {args.c2} s2 -> fc 10, IF, input rate "
                   f"{args.rate}",
        "neurons": net.n_neurons, "synapses": net.n_synapses, "cores": int(placement.fit.cores_used),
        "fits": bool(placement.fit.fits), "steps": args.steps,
        "command": " ".join(["harness", *command[1:]]).replace(str(tmp), "$TMP"),
        "harness_simulate_s": whole_s, "harness_simulate_stages_s": best["stages_s"],
        "harness_simulate_runs": runs, "place_s": place_s,
        "stages_in_process_s": {"start_up_and_imports": imports_s, "compile": compile_s, "place": place_s,
                                "simulate": simulate_s, "cost": cost_s},
        "sanafe_build_s": sanafe_total_s - theirs.wall_s, "sanafe_sim_s": theirs.wall_s,
        "speedup_sim_only": theirs.wall_s / whole_s,
        "spikes": {"chipsim": int(sum(c.sum() for c in counts[1:])),
                   "sanafe": int(sum(c.sum() for c in theirs.spike_counts[1:]))},
        "spike_counts_identical": identical,
        "chipsim_cores_reported": report["cores_used"],
        "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        "cpu": cpu_model(), "ahead_of_time_kernels": aot.available(),
        "run": "PYTHONPATH=. nice -n 10 python benchmarks/bench_sanafe_speed.py "
               f"--steps {args.steps} --rate {args.rate}" + (f" --repeats {args.repeats}" if args.repeats > 1
                                                             else ""),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(f"\nharness simulate, whole command: {whole_s:.3f} s (best of {len(runs)}); its stages (wall s):")
    for name, seconds in best["stages_s"].items():
        print(f"  {name:18s} {seconds:7.3f}")
    print(f"SANA-FE simulation {theirs.wall_s:.2f} s: {theirs.wall_s / whole_s:.1f}x")


if __name__ == "__main__":
    main()
