"""RunReport rendering: report.json (schema in docs/report.md), report.md with its PNG plots, and the
terminal table. The report itself is plain JSON-able data built by :func:`harness.run.run`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from compress.files import write_json_atomic, write_text_atomic
from harness import plots


def energy_si(value: float | None) -> str:
    """Energy in J with an SI prefix, or 'unknown'."""
    if value is None:
        return "unknown"
    for scale, unit in ((1, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} J"


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0 s (no latency figures in the profile)"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} s"


def summary_rows(report: dict) -> list[tuple[str, str]]:
    """The figures a user came for, as (label, value) rows: shared by the terminal and report.md."""
    acc, fit, lat, energy = report["accuracy"], report["fit"], report["latency"], report["energy"]
    model = report["model"]
    rows = [
        (
            "accuracy: float / exported / on chip",
            " / ".join("unknown" if acc[k] is None else f"{acc[k]:.4f}"
                       for k in ("float", "exported", "on_chip"))
            + (f" ({acc['unknown']})" if acc.get("unknown") else ""),
        ),
        ("fits", "yes" if fit["fits"] else f"NO ({len(fit['violations'])} violations)"),
        ("cores used / total", f"{fit['cores_used']} / {fit['cores_total']} ({fit['chips_needed']} chip(s))"),
        ("latency per inference", _s(lat["per_inference_s"])),
        ("throughput", "-" if lat["throughput_per_s"] is None else f"{lat['throughput_per_s']:.4g} /s"),
        ("spikes per inference", f"{report['spikes']['per_inference']:.1f}"),
        ("synaptic ops per inference (chip)", f"{report['synops']['per_inference_on_chip']:.1f}"),
        (
            "energy per inference",
            energy_si(energy["total_j"])
            + ("" if energy["total_j"] is not None
               else f" (known parts {energy_si(energy['total_known_j'])})"),
        ),
    ]
    if "dynamic_j" in energy:
        static_model = energy["static_model"] or {}
        rows += [
            ("  dynamic (synapse + neuron + spike + routing + mac)", energy_si(energy["dynamic_j"])
             + ("" if energy["dynamic_j"] is not None
                else f" (known {energy_si(energy['dynamic_known_j'])})")),
            (f"  static ({static_model.get('chips_powered', '?')} chip(s) powered x latency)",
             energy_si(energy["static_j"])),
        ]
    rows += [(f"  energy: {name}", energy_si(value)) for name, value in energy["per_inference_j"].items()]
    rows += [
        (
            "weights: nonzero / all",
            f"{model['nonzero']} / {model['parameters']} (sparsity {model['sparsity']:.3f})",
        ),
        ("distinct values per group (max)", str(model["distinct_per_group_max"])),
        ("weight storage", f"{model['weight_storage_bits']} bits ({model['weight_bits']}-bit)"),
    ]
    return rows


def print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    spec = report["spec"]
    table = Table(
        title=f"{spec['method']} on {report['profile']['name']} ({spec['dataset']}, seed {spec['seed']})"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in summary_rows(report):
        table.add_row(label, value)
    console = Console()
    console.print(table)
    for v in report["fit"]["violations"][:10]:
        console.print(f"  [red]violation[/red] {v['message']}")
    nearest = report["fit"].get("nearest_budget")
    if nearest:
        needs = ", ".join(
            f"{k} {v['need']:g} (limit {v['limit']:g})" for k, v in nearest["resources"].items()
        )
        console.print(
            f"  would need: {needs}; {nearest['cores_needed']} cores on {nearest['chips_needed']} chip(s)"
        )


def markdown(report: dict, figures: dict[str, str]) -> str:
    """report.md: the summary table, the per-layer figures, violations, notes and the plots."""
    spec = report["spec"]
    lines = [
        f"# chipfit run: {spec['method']} on {report['profile']['name']}",
        "",
        f"Dataset `{spec['dataset']}`, model `{spec['model']}`, seed {spec['seed']}, "
        f"{report['accuracy']['samples']} test samples x {report['accuracy']['steps']} input steps on chip"
        f" (+ {report['accuracy'].get('pipeline_steps', 0)} steps of the chip's synaptic delays).",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {label.strip()} | {value} |" for label, value in summary_rows(report)]
    lines += ["", "## Spikes per inference by layer", "", "| layer | spikes |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in report["spikes"]["per_inference_by_layer"].items()]
    if "counters" in report:
        lines += ["", "## Counters per inference by population", "",
                  "| population | spikes | synaptic events | updates active | updates idle | packets | hops "
                  "| activation sparsity |", "|---|---|---|---|---|---|---|---|"]
        for r in report["counters"]["per_population"]:
            lines.append(f"| {r['population']} | {r['spikes']:.4g} | {r['synops']:.4g} | "
                         f"{r['neuron_updates_active']:.4g} | {r['neuron_updates_idle']:.4g} | "
                         f"{r['packets']:.4g} | {r['hops']:.4g} | "
                         f"{r['neurobench']['activation_sparsity']:.4f} |")
        nb = report["counters"]["neurobench"]
        lines += ["", "NeuroBench (per inference): " + ", ".join(f"{k} {v:.6g}" for k, v in nb.items())]
    energy = report["energy"]
    if energy.get("static_model"):
        m = energy["static_model"]
        lines += ["", f"Static energy: {m['charges']}: {m['power_w_per_chip']} W x {m['chips_powered']} "
                  f"chip(s) x {m['latency_s']:.4g} s. Source: {m['source']}."]
    lines += ["", "## Fit", "", "| resource | max per core | limit |", "|---|---|---|"]
    for name, r in report["fit"]["resources"].items():
        lines.append(f"| {name} | {r['max']:g} | {'-' if r['limit'] is None else format(r['limit'], 'g')} |")
    if report["fit"]["violations"]:
        lines += ["", "Violations:", ""] + [f"- {v['message']}" for v in report["fit"]["violations"][:50]]
    lines += [
        "",
        "## Quantization",
        "",
        "| projection | bits | exponent | scale | distinct | rmse | max error |",
        "|---|---|---|---|---|---|---|",
    ]
    for q in report["quantization"]:
        lines.append(
            f"| {q['projection']} | {q['bits']} | {'-' if q.get('exponent') is None else q['exponent']} | "
            f"{q['scale']:.4g} | {q['distinct_values']} | "
            f"{q['rmse']:.4g} | {q['max_abs_error']:.4g} |"
        )
    if report["notes"] or report["fit"]["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"] + report["fit"]["notes"]]
    lines += ["", "## Figures", ""] + [f"![{name}]({path})" for name, path in figures.items()]
    return "\n".join(lines) + "\n"


def write(
    report: dict, out: Path, *, placement, utilization: np.ndarray, raster: dict[str, np.ndarray]
) -> None:
    """report.json, the plots and report.md into ``out`` (each atomically; report.json last, so its
    presence means the run finished)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = report["profile"]["name"]
    figures = {
        "energy breakdown": "energy.png",
        "core utilization": "utilization.png",
        "spike raster": "raster.png",
    }
    plots.energy_breakdown(
        report["energy"]["per_inference_j"], out / "energy.png", f"Energy per inference on {name}"
    )
    cores = np.arange(len(utilization))
    x, y = placement.core_xy(cores)
    chips = max(1, report["fit"]["chips_needed"])
    plots.utilization_heatmap(
        utilization,
        x,
        y,
        placement.mesh_width * chips,
        placement.mesh_height,
        placement.cores_per_tile,
        out / "utilization.png",
        f"Core utilization: {name}",
    )
    plots.spike_raster(raster, out / "raster.png", f"Spike raster of test sample 0 on {name}")
    report["artifacts"] = {"report_md": "report.md", "figures": list(figures.values())}
    write_text_atomic(out / "report.md", markdown(report, figures))
    write_json_atomic(out / "report.json", report)
