"""`harness validate`: run one network in chipsim and in an independent Brian2 model, compare the rasters.

Fixed-point profiles must give identical rasters; float (``float_lif`` profiles, or ``--float``) must agree
on spike counts within the tolerance of docs/validation.md. Exit 0 when it passes, 1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile

from harness import nir_input
from harness import options as opts
from hwprofiles.errors import UserError

DEFAULT_STEPS = 200
INPUT_RATE = 0.1  # Bernoulli spike probability per input and step of --random-net


class ValidateInputError(UserError):
    pass


OPTIONS = (
    opts.PROFILE,
    opts.NIR.but(help="a NIR graph file (fed rate-encoded digits test samples)", group="source"),
    opts.METHOD.but(help="compress the default digits model with this method, then validate", group="source"),
    opts.Opt("--random-net", opts.Int(8, opts.MAX_RANDOM_NET), "a random recurrent network of N neurons",
             metavar="N", group="source"),
    opts.SIM_STEPS.but(default=DEFAULT_STEPS, help="time steps"),
    opts.SAMPLES.but(default=2, help="input samples (--random-net: 1)"),
    opts.SEED,
    opts.Opt("--float", None, "compare the float NIR reference on any profile"),
    opts.Opt("--target", opts.Choice(("cython", "numpy")), "Brian2 code target", default="cython"),
    opts.Opt("--against", opts.Choice(("brian2", "sanafe")),
             "the reference: the Brian2 twin, or SANA-FE's Loihi with chipfit's core mapping",
             default="brian2"),
    *nir_input.OPTIONS,
    opts.JSON_OUT.but(help="write the figures to this JSON file"),
    opts.Opt("--plot", opts.OutFile((".png",)), "write a raster PNG of both simulators, divergences marked"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="cross-validate chipsim against Brian2, neuron by neuron",
                              description=__doc__.split("\n\n")[0])
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def _profile(args):
    import hwprofiles
    from harness.validate import float_profile

    profile = hwprofiles.load(args.profile)
    return float_profile(profile) if args.float and profile.fixed_point else profile


def _network(args, profile):
    """(ChipNetwork, input spikes [steps, batch, n_in], description)."""
    from harness.random_net import poisson_input, random_network

    if args.random_net is not None:
        net = random_network(profile, args.random_net, args.seed)
        x = poisson_input(args.steps, net.populations[0].size, INPUT_RATE, args.seed)
        return net, x, f"random network, {args.random_net} neurons, seed {args.seed}"
    path = args.nir if args.nir else _compress(args, profile)
    net, _ = nir_input.read(args, path, profile, quiet=not args.nir)
    return net, _digits_input(net, args), f"NIR graph {path}"


def _compress(args, profile) -> str:
    """model.nir of the default digits model compressed with --method (needs compress.pipeline)."""
    from compress import methods
    from compress.budget import budget_from_profile
    from compress.models import ModelConfig
    from compress.pipeline import run_method, train_configs

    methods.require(args.method)
    dense_cfg, train_cfg = train_configs(args.seed)
    out = pathlib.Path(tempfile.mkdtemp(prefix="chipfit-validate-"))
    run_method(args.method, dataset="digits", budget=budget_from_profile(profile), model_cfg=ModelConfig(),
               train_cfg=train_cfg, dense_cfg=dense_cfg, seed=args.seed, out_dir=out, progress=False)
    return str(out / "model.nir")


def _digits_input(net, args):
    """The first --samples digits test images, rate-encoded over --steps (Bernoulli(pixel) per step)."""
    import numpy as np

    from compress.data import load_dataset

    data = load_dataset("digits", seed=args.seed)
    n_in = net.populations[0].size
    if int(np.prod(data.input_shape)) != n_in:
        raise ValidateInputError(f"the graph takes {n_in} inputs; the digits samples have "
                                 f"{int(np.prod(data.input_shape))}")
    if args.samples > len(data.x_test):
        raise ValidateInputError(f"--samples {args.samples}: the digits test set has {len(data.x_test)}")
    images = data.x_test[: args.samples].reshape(args.samples, n_in)
    rng = np.random.default_rng(args.seed)
    return rng.random((args.steps, args.samples, n_in)) < images[None]


def run(args: argparse.Namespace) -> int:
    from harness import validate

    profile = _profile(args)
    net, x, what = _network(args, profile)
    if args.against == "sanafe":
        return _against_sanafe(args, net, profile, x, what)
    comparisons = validate.validate(net, profile, x, target=args.target)
    figures = validate.report(net, comparisons, profile=profile.name, network=what, steps=args.steps,
                              samples=int(x.shape[1]), seed=args.seed, brian2_target=args.target)
    _print(figures)
    if args.json:
        from compress.files import write_json_atomic

        write_json_atomic(pathlib.Path(args.json), figures)
    if args.plot:
        validate.plot(net, comparisons[0], args.plot)
    return 0 if figures["passed"] else 1


SANAFE_ENERGY_TOLERANCE = 0.02  # relative, per SANA-FE unit compared (synapse, soma, network)


def _against_sanafe(args, net, profile, x, what) -> int:
    """Every sample in chipsim and SANA-FE on chipfit's placement; pass = identical per-neuron spike counts,
    equal synaptic events, packets and host packets, synapse, soma and network energy within
    SANAFE_ENERGY_TOLERANCE (latency is reported: chipsim adds a core's send and receive work where SANA-FE
    overlaps them, docs/validation.md)."""
    import numpy as np

    from chipsim.cost import cost
    from chipsim.place import place
    from chipsim.simulate import simulate
    from harness import sanafe_model

    sanafe_model.check(net)
    placement = place(net, profile)
    steps = x.shape[0]
    samples = []
    for s in range(x.shape[1]):
        xs = np.asarray(x[:, s]).astype(bool)
        activity = simulate(net, placement, xs[:, None].astype(np.uint8), steps=steps + 1, record_raster=True)
        priced = cost(activity, placement, profile, net)
        theirs = sanafe_model.run(net, placement.core_of_neuron, xs)
        samples.append(sanafe_model.compare(net, activity, priced, theirs, profile, steps))
    passed = all(r["spike_counts_identical"]
                 and all(r[c]["chipsim"] == r[c]["sanafe"]
                         for c in ("synaptic_events", "packets", "host_packets"))
                 and all(r["energy_j"][u]["relative_error"] <= SANAFE_ENERGY_TOLERANCE
                         for u in ("synapse", "soma", "network"))
                 for r in samples)
    figures = {"against": "sanafe", "profile": profile.name, "network": what, "neurons": net.n_neurons,
               "cores_used": int(placement.fit.cores_used), "steps": steps, "passed": passed,
               "energy_tolerance": SANAFE_ENERGY_TOLERANCE, "samples": samples}
    from rich.console import Console

    console = Console()
    for i, r in enumerate(samples):
        console.print(f"sample {i}: spikes chipsim {r['spikes']['chipsim']} / SANA-FE "
                      f"{r['spikes']['sanafe']} (per neuron identical: {r['spike_counts_identical']}); "
                      "synaptic events "
                      f"{r['synaptic_events']['chipsim']} / {r['synaptic_events']['sanafe']}; packets "
                      f"{r['packets']['chipsim']} / {r['packets']['sanafe']}")
        for unit, e in r["energy_j"].items():
            console.print(f"  energy {unit}: {e['chipsim']:.4g} / {e['sanafe']:.4g} J "
                          f"({100 * e['relative_error']:.2f}%)")
        lat = r["latency_s"]
        console.print(f"  latency {lat['chipsim']:.4g} / {lat['sanafe']:.4g} s "
                      f"({100 * lat['relative_error']:.1f}%)")
    console.print("PASSED" if passed else "FAILED")
    print(json.dumps({"passed": passed}))
    if args.json:
        from compress.files import write_json_atomic

        write_json_atomic(pathlib.Path(args.json), figures)
    return 0 if passed else 1


def _print(figures: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for run in figures["runs"]:
        how = f", {run['integrator']} integrator" if run["integrator"] else ""
        table = Table(title=f"chipsim vs Brian2 on {figures['profile']} ({figures['mode']}{how}): "
                            f"{figures['network']}, {figures['steps']} steps")
        for col in ("population", "neurons", "chipsim spikes", "Brian2 spikes", "identical",
                    "count agreement", "spike-time error (steps)"):
            table.add_column(col, justify="left" if col == "population" else "right")
        for p in run["populations"]:
            table.add_row(p["name"], str(p["size"]), str(p["chipsim_spikes"]), str(p["brian2_spikes"]),
                          f"{100 * p['identical_fraction']:.3f}%", f"{100 * p['count_agreement']:.2f}%",
                          f"{p['spike_time_error_steps']:.3f}")
        console.print(table)
        console.print(f"identical spikes: {100 * run['identical_fraction']:.4f}%")
        d = run["first_divergence"]
        if d:
            console.print(f"first divergence: population {d['population']}, neuron {d['neuron']}, "
                          f"step {d['step']}, sample {d['sample']}: "
                          f"chipsim spiked={d['chipsim_spiked']}, Brian2 spiked="
                          f"{d['brian2_spiked']}; Brian2 v {d['brian2_v_before']} -> {d['brian2_v_after']}, "
                          f"u {d['brian2_u_before']} -> {d['brian2_u_after']}")
    console.print("PASSED" if figures["passed"] else "FAILED")
    print(json.dumps({"passed": figures["passed"]}))
