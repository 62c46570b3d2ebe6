"""README's headline table is the report `make run` writes, not figures typed by hand.

``docs/default-run.md`` is the ``runs/default/report.md`` of a `make run` on a fresh clone, committed. The
README's table must show exactly its summary figures (fast: two text files). Where `make run` has been run
in this checkout, its report must still give those figures, or the code has moved and both need
regenerating:

    make run && cp runs/default/report.md docs/default-run.md   # then paste the printed table into README
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "default-run.md"
FRESH = ROOT / "runs" / "default" / "report.md"


def readme_rows() -> dict[str, str]:
    """label -> value of the box-drawn table in README's quick start (rich's │ separators; a label rich
    wrapped onto a second line, with an empty value cell, continues the row above)."""
    text = (ROOT / "README.md").read_text()
    text = text.split("## Quick start", 1)[-1].split("\n## ", 1)[0]  # other sections show other runs
    rows: dict[str, str] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) != 4 or not cells[1]:
            continue
        if not cells[2] and rows:
            label, value = rows.popitem()
            rows[f"{label} {cells[1]}"] = value
        else:
            rows[cells[1]] = cells[2]
    return rows


def report_rows(path: Path) -> dict[str, str]:
    """label -> value of the summary table (the first ``| figure | value |`` table) of a report.md."""
    rows, inside = {}, False
    for line in path.read_text().splitlines():
        if line.startswith("| figure | value |"):
            inside = True
            continue
        if inside and line.startswith("|---"):
            continue
        if inside and line.startswith("|"):
            label, value = (c.strip() for c in line.strip().strip("|").split("|", 1))
            rows[label] = value.strip()
        elif inside:
            break
    return rows


def test_readme_shows_the_committed_default_run():
    committed = report_rows(COMMITTED)
    assert len(committed) >= 10 and "energy per inference" in committed
    assert readme_rows() == committed


def test_make_run_here_still_gives_the_committed_figures():
    if not FRESH.exists():
        pytest.skip("no runs/default/report.md: `make run` has not been run in this checkout")
    assert report_rows(FRESH) == report_rows(COMMITTED), (
        "`make run` now prints other figures: regenerate docs/default-run.md and README's table")


def test_readme_sweep_table_is_generated_from_the_committed_sweep_of_the_command_it_shows():
    """The README's sweep table is benchmarks/readme_sweep_table.py's rendering of the committed sweep.json,
    and that sweep ran the command the README prints (profiles, methods, 2 seeds, sparsity 0.8)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "benchmarks/readme_sweep_table.py", "--check"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    specs = json.loads((root / "docs/results/sweep-digits/sweep.json").read_text())["specs"]
    assert {s["profile"] for s in specs} == {"loihi", "truenorth", "spinnaker", "generic-45nm"}
    assert {s["method"] for s in specs} == {"spikefit", "kmeans", "magnitude", "qat"}
    assert {s["seed"] for s in specs} == {0, 1} and {s["sparsity"] for s in specs} == {0.8}
    assert len(specs) == 32
