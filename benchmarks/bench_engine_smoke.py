"""Speed smoke of the chipsim engine: synaptic events per second on a random recurrent int network.

Not a test (no timed assertions): prints what it measured. Run:
    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_engine_smoke.py [--neurons 10000]
        [--synapses 1000000] [--steps 100] [--batch 1] [--threshold 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from chipsim.fit import FitReport, Placement
from chipsim.network import ChipNetwork, NeuronParams, Population, Projection
from chipsim.simulate import prepare, simulate


def random_recurrent(n: int, synapses: int, n_in: int, seed: int = 0,
                     threshold: int = 1000) -> tuple[ChipNetwork, Placement]:
    """Input -> n loihi_cuba neurons with ``synapses`` random recurrent int8 synapses, 1024 per core."""
    rng = np.random.default_rng(seed)
    fan_out = synapses // n
    params = NeuronParams(model="loihi_cuba", threshold=threshold, decay_u=1024, decay_v=256, state_bits=24,
                          current_bits=24, decay_bits=12, weight_shift=6)
    rec = Projection("rec", 1, 1, "recurrent", np.arange(n + 1, dtype=np.int64) * fan_out,
                     rng.integers(0, n, n * fan_out).astype(np.int32),
                     rng.integers(-40, 44, n * fan_out).astype(np.int32))
    inp = Projection("in", 0, 1, "dense", np.arange(n_in + 1, dtype=np.int64) * 100,
                     rng.integers(0, n, n_in * 100).astype(np.int32), np.full(n_in * 100, 60, np.int32))
    pops = (Population("in", n_in, (n_in,), None, np.zeros(n_in, np.int64)),
            Population("rec", n, (n,), params, np.zeros(n, np.int64)))
    net = ChipNetwork("bench", pops, (inp, rec), 1, 1e-3, True)
    fit = FitReport("bench", True, (), 0, 0, 1)
    cores = (np.arange(n) // 1024).astype(np.int32)
    return net, Placement((np.full(n_in, -1, np.int32), cores), fit, 128, 8, 4, 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=10_000)
    ap.add_argument("--synapses", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threshold", type=int, default=1000, help="mantissa: 1000 ~6%% firing, 100 ~65%%")
    args = ap.parse_args()
    net, pl = random_recurrent(args.neurons, args.synapses, 100, threshold=args.threshold)
    x = (np.random.default_rng(1).random((args.steps, args.batch, 100)) < 0.2).astype(np.uint8)
    prep = prepare(net, pl)
    simulate(prep, None, x[:2])  # compile / load the cache
    t0 = time.perf_counter()
    act = simulate(prep, None, x)
    wall = time.perf_counter() - t0
    events = act.total("synops")
    rate = act.total("spikes_out") / (args.neurons * args.steps * args.batch)
    print(f"{args.neurons} neurons, {net.n_synapses} synapses, {args.steps} steps, batch {args.batch}: "
          f"{events} synaptic events in {wall:.3f} s = {events / wall:.3g} events/s "
          f"(firing rate {rate:.3f} per neuron per step)")


if __name__ == "__main__":
    main()
