"""`harness export`: write a NIR graph in one framework's conventions, for that framework's own importer.

``harness export --nir IN --to snntorch|norse|sinabs|rockpool|spyx --out OUT [--from auto] [--dt S]``
reads IN through its import dialect (canonical NIR: explicit dt, reset, spike mode), then rewrites it
for the target (chipsim.dialects.<target>.export). A graph the target's importer cannot run as chipfit
runs it (snnTorch and Norse reset to zero only; sinabs' importer is a multi-spike LIF with subtract,
Rockpool's a multi-spike CubaLIF with subtract, Spyx's a LIF subtracting after the decay) is one line on
stderr, naming the node, and exit 2. Which targets are checked against the framework, and how:
docs/interop.md.
"""

from __future__ import annotations

import argparse

from chipsim.dialect_names import EXPORT_TARGETS
from harness import nir_input
from harness import options as opts

OPTIONS = (
    opts.NIR.but(help="NIR graph file to read"),
    opts.Opt("--to", opts.Choice(EXPORT_TARGETS), "the framework whose importer reads OUT", required=True),
    opts.Opt("--out", opts.OutFile(), "NIR file to write", required=True),
    *nir_input.OPTIONS,
)
TO = opts.Opt("--to", opts.Choice(EXPORT_TARGETS),
              "also write model.FRAMEWORK.nir for that framework's importer", repeat=True)
"""``--to`` for the commands that write a model.nir (compress, train)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="write a NIR graph for a framework's importer", description=__doc__.split("\n\n")[0]
    )
    opts.add(p, OPTIONS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    export_file(args.nir, args.to, args.out, source=getattr(args, "from"), dt_s=args.dt, reset=args.reset)
    return 0


def check_targets(model_cfg, targets) -> None:
    """Refuse a ``--to`` whose importer cannot run ``model_cfg``'s neurons before any training, in one line
    (the export's own reason): a two-neuron MLP with those neurons is exported and dropped."""
    if not targets:
        return
    import dataclasses

    from chipsim import dialects, nir_read
    from compress.models import build_model
    from compress.nir_io import to_nir

    probe = build_model(dataclasses.replace(model_cfg, kind="mlp", hidden=(2,)), (2,), 2)
    imported = nir_read.import_graph(to_nir(probe), "nir")
    for target in targets:
        try:
            dialects.export(imported.graph, target, imported.convention.dt_s)
        except nir_read.NIRReadError as error:
            raise opts.OptionError(
                f"--to {target}: the model's neurons ({model_cfg.neuron}, reset {model_cfg.reset}, one spike"
                f" a step) do not run in {target}'s importer: {error}"
            ) from None


def export_file(path, target: str, out, *, source: str = "auto", dt_s=None, reset=None) -> None:
    """Read ``path`` through its dialect and write it for ``target``'s importer to ``out``."""
    from chipsim import dialects, nir_read

    imported = nir_read.load(path, source, dt_s=dt_s, reset=reset)
    print(f"{path}: {imported.convention.describe()}")
    for warning in imported.warnings:
        print(f"warning: {warning}")
    dt = imported.convention.dt_s
    if dt is None:
        raise nir_read.NIRReadError(f"{path}: no dt in the graph and none given: pass --dt")
    write_nir(out, dialects.export(imported.graph, target, dt))
    dialects.after_write(out, target)
    print(f"wrote {out} for {target}")


def write_nir(path, graph) -> None:
    """nir.write, uncompressed (h5py cannot gzip the 0-d parameters some exporters leave)."""
    import nir

    try:
        nir.write(path, graph, compression=None)
    except TypeError:  # nir without the compression argument
        nir.write(path, graph)
