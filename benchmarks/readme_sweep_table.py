"""Regenerate the README's sweep table from the committed ``docs/results/sweep-digits/sweep.json``.

That file is the ``sweep.json`` of the command the README shows (``harness sweep --profiles
loihi,truenorth,spinnaker,generic-45nm --methods spikefit,kmeans,magnitude,qat --seeds 2 --sparsity 0.8``);
each cell of the table is the mean over seeds of the accuracy on chip and the energy per inference (the
report's ``energy.total_j``: dynamic + static), with "does not fit" where a seed's placement broke a limit.

    python benchmarks/readme_sweep_table.py          # rewrite README.md between the table markers
    python benchmarks/readme_sweep_table.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "sweep-digits" / "sweep.json"
DOC = ROOT / "README.md"
sys.path.insert(0, str(ROOT / "benchmarks"))

import doc_tables  # noqa: E402

sys.path.insert(0, str(ROOT))
from harness.report import energy_si  # noqa: E402


def mean(values: list[float]) -> float | None:
    return None if any(v is None for v in values) else sum(values) / len(values)


def table(cells: list[dict]) -> str:
    profiles = list(dict.fromkeys(c["profile"] for c in cells))
    methods = list(dict.fromkeys(c["method"] for c in cells))
    rows = [f"| profile | {' | '.join(methods)} |", "|---" * (len(methods) + 1) + "|"]
    for profile in profiles:
        row = []
        for method in methods:
            mine = [c for c in cells if (c["profile"], c["method"]) == (profile, method)]
            text = (f"{100 * mean([c['accuracy'] for c in mine]):.1f}% / "
                    f"{energy_si(mean([c['energy_j'] for c in mine]))}")
            if not all(c["fits"] for c in mine):
                text += ", **does not fit**"
            row.append(text)
        rows.append(f"| {profile} | {' | '.join(row)} |")
    return "\n".join(rows)


def render(doc: str) -> str:
    cells = json.loads(RESULTS.read_text())["cells"]
    return doc_tables.fill(doc, "sweep-digits", table(cells), DOC)


def main(argv=None) -> int:
    return doc_tables.main(DOC, render, __doc__, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
