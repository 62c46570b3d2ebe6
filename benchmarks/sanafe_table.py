"""Regenerate docs/validation.md's SANA-FE tables from the committed per-cell JSON under docs/results/sanafe/.

``<!-- table:sanafe begin -->`` .. ``<!-- table:sanafe end -->``: one row per network cell written by
``benchmarks/bench_sanafe.py``; ``<!-- table:sanafe-speed begin -->`` .. ``end``: the whole-command
timing of ``benchmarks/bench_sanafe_speed.py`` (``speed-*.json``).

    python benchmarks/sanafe_table.py          # rewrite docs/validation.md
    python benchmarks/sanafe_table.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "sanafe"
DOC = ROOT / "docs" / "validation.md"
sys.path.insert(0, str(ROOT / "benchmarks"))

import doc_tables  # noqa: E402


def load(pattern: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(RESULTS.glob(pattern))]


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}%"


def cells_table(cells: list[dict]) -> str:
    head = ("| cell | network | neurons | cores | steps | spikes chipsim = SANA-FE | synaptic events | "
            "packets (+ host) | synapse energy | soma energy | network energy | latency chipsim / SANA-FE | "
            "wall chipsim / SANA-FE |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for r in sorted(cells, key=lambda r: (r["neurons"], r["cell"])):
        e, lat = r["energy_j"], r["latency_s"]
        same = "identical per neuron" if r["spike_counts_identical"] else "DIFFER"
        ev, pk, hp = r["synaptic_events"], r["packets"], r["host_packets"]
        eq = "=" if ev["chipsim"] == ev["sanafe"] and pk["chipsim"] == pk["sanafe"] \
            and hp["chipsim"] == hp["sanafe"] else "!="
        rows.append(
            f"| {r['cell']} | {r['network']} | {r['neurons']:,} | {r['cores']} | {r['steps']} | "
            f"{r['spikes']['chipsim']:,} = {r['spikes']['sanafe']:,} ({same}) | {ev['chipsim']:,} {eq} "
            f"{ev['sanafe']:,} | {pk['chipsim']:,} (+ {hp['chipsim']:,}) {eq} | "
            f"{pct(e['synapse']['relative_error'], 3)} | {pct(e['soma']['relative_error'], 3)} | "
            f"{pct(e['network']['relative_error'], 3)} | "
            f"{lat['chipsim'] * 1e6:.1f} / {lat['sanafe'] * 1e6:.1f} us "
            f"({pct(lat['relative_error'])}) | {r['chipsim_s']:.2f} s / {r['wall_s']['sanafe']:.1f} s |")
    return "\n".join([head, *rows])


def stages(r: dict) -> str:
    st = r.get("stages_in_process_s")
    if not st:
        return "-"
    names = ("start_up_and_imports", "compile", "place", "simulate", "cost")
    return " / ".join(f"{st[k]:.2f}" for k in names) + " s"


COMMAND_STAGES = (("start_up_and_exit",), ("import",), ("numba_set_up",),
                  ("read_input", "read_graph", "compile", "place", "route", "prepare", "cache_lookup",
                   "cache_store"),
                  ("simulate",), ("cost", "write_out", "print"))
"""The command's own ``timings_s`` (bench_sanafe_speed's ``harness_simulate_stages_s``), summed per column."""


def command_stages(r: dict) -> str:
    st = r.get("harness_simulate_stages_s")
    if not st:
        return "-"
    return " / ".join(f"{sum(st.get(k, 0.0) for k in names):.2f}" for names in COMMAND_STAGES) + " s"


def speed_table(runs: list[dict]) -> str:
    head = ("| network | neurons | cores | steps | `harness simulate` (whole command) | "
            "placement alone (`chipsim.place`) | SANA-FE build + sim | SANA-FE sim | speed-up (sim only) | "
            "spikes identical | load | in-process stages: start-up / compile / place / simulate / cost | "
            "the command's stages: start-up and exit / imports / Numba set-up / input, graph, compile, "
            "place, route / simulate / cost, write, print | CPU | ahead-of-time kernels |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for r in runs:
        rows.append(
            f"| {r['network']} | {r['neurons']:,} | {r['cores']} | {r['steps']} | "
            f"{r['harness_simulate_s']:.1f} s"
            f" | {r['place_s']:.2f} s | {r['sanafe_build_s'] + r['sanafe_sim_s']:.1f} s | "
            f"{r['sanafe_sim_s']:.1f} s | {r['speedup_sim_only']:.1f}x | {r['spike_counts_identical']} | "
            f"{r['load_average_before']:.1f} -> {r['load_average_after']:.1f} | {stages(r)} | "
            f"{command_stages(r)} | {r.get('cpu', '-')} | "
            f"{ {True: 'yes', False: 'no'}.get(r.get('ahead_of_time_kernels'), '-')} |")
    return "\n".join([head, *rows])


def render(doc: str) -> str:
    cells = [r for r in load("*.json") if "cell" in r]
    for name, table in (("sanafe", cells_table(cells)),
                        ("sanafe-speed", speed_table(load("speed-*.json")))):
        doc = doc_tables.fill(doc, name, table, DOC)
    return doc


def main(argv=None) -> int:
    return doc_tables.main(DOC, render, __doc__, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
