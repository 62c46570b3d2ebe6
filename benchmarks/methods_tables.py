"""Regenerate docs/methods.md's ablation tables from the committed per-cell JSON under docs/results/.

Each table replaces the text between ``<!-- table:SUITE begin -->`` and ``<!-- table:SUITE end -->``.
Rows are mean ± sample standard deviation over seeds; an ablated row (its name says "without") gives the
paired difference to the full method, seed by seed, and says whether it is measurable (|mean| > 2 standard
errors of the paired differences) or not.

    .venv/bin/python benchmarks/methods_tables.py          # rewrite docs/methods.md
    .venv/bin/python benchmarks/methods_tables.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import json
import math
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
DOC = ROOT / "docs" / "methods.md"
SUITES = ("pruning", "spikefit", "chip")
sys.path.insert(0, str(ROOT / "benchmarks"))

import doc_tables  # noqa: E402


def load(suite: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RESULTS / suite).glob("*.json"))]


def mean_sd(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{scale * statistics.mean(values):.{digits}f} ± {scale * sd:.{digits}f}"


def full_of(row: str) -> str:
    """'minimax without penalty ...' -> 'minimax'; 'spikefit without FSC (...), M = 4, 90%' -> the FSC row."""
    head = row.split(" without ")[0]
    if row.startswith("spikefit without FSC"):
        return "spikefit, FSC ranking" + row[row.index(")") + 1:]
    return head


def paired(cells: list[dict], full: list[dict]) -> str:
    by_seed = {c["seed"]: c["accuracy"] for c in full}
    diffs = [c["accuracy"] - by_seed[c["seed"]] for c in cells if c["seed"] in by_seed]
    if len(diffs) < 2:
        return "-"
    mean = statistics.mean(diffs)
    se = statistics.stdev(diffs) / math.sqrt(len(diffs))
    verdict = ("the part helps" if mean < -2 * se else "the part hurts" if mean > 2 * se
               else "no measurable effect")
    return f"{100 * mean:+.1f} ± {100 * se:.1f} ({verdict})"


def table(suite: str) -> str:
    cells = load(suite)
    if not cells:
        return "(no results yet: run benchmarks/exp_ablation.py)"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from exp_ablation import cells as planned

    order = list(dict.fromkeys(c["row"] for c in planned(suite)))
    rows: dict[str, list[dict]] = {}
    for c in sorted(cells, key=lambda c: (order.index(c["row"]) if c["row"] in order else len(order),
                                          c["seed"])):
        rows.setdefault(c["row"], []).append(c)
    lines = ["| row | n | accuracy % (exported) | accuracy % on chip "
             "| dynamic energy / inference on chip (nJ) | synops / inference on chip | sparsity % "
             "| budget met | Δ accuracy vs full (paired) | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row, group in rows.items():
        met = sum(all(c["budget_met"].values()) and c["chip"]["fits"] for c in group)
        ablated = " without " in row
        name = row.replace("|", "\\|")  # a pipe in a row name would end the markdown cell
        lines.append(
            f"| {name} | {len(group)} | {mean_sd([c['accuracy'] for c in group], 100)} "
            f"| {mean_sd([c['chip']['accuracy_on_chip'] for c in group], 100)} "
            f"| {mean_sd([c['chip']['dynamic_energy_j'] for c in group], 1e9, 2)} "
            f"| {mean_sd([c['chip']['synops_on_chip'] for c in group], 1, 0)} "
            f"| {mean_sd([c['sparsity'] for c in group], 100)} | {met}/{len(group)} "
            f"| {paired(group, rows.get(full_of(row), [])) if ablated else ''} "
            f"| {statistics.mean(c['cell_wall_s'] for c in group):.0f} |")
    dense = sorted({(c["seed"], c["accuracy_dense"]) for c in cells})
    lines += ["", "Dense accuracy per seed: " + ", ".join(f"seed {s}: {100 * a:.1f}%" for s, a in dense)
              + f". Cells: {len(cells)}, wall time "
              f"{sum(c['cell_wall_s'] for c in cells) / 60:.1f} min in all."]
    return "\n".join(lines)


def render(text: str) -> str:
    """Every suite's table whose markers the doc has (a suite without them is left out)."""
    for suite in SUITES:
        if doc_tables.has_table(text, suite):
            text = doc_tables.fill(text, suite, table(suite), DOC)
    return text


def main(argv=None) -> int:
    return doc_tables.main(DOC, render, __doc__, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
