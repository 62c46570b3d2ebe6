"""docs/methods.md's ablation tables are exactly what benchmarks/methods_tables.py makes of docs/results/."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_methods_md_tables_are_regenerated_from_the_committed_cells():
    spec = importlib.util.spec_from_file_location("methods_tables", ROOT / "benchmarks" / "methods_tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    assert tables.load("pruning") and tables.load("spikefit")  # the per-cell JSON is committed
    assert tables.main(["--check"]) == 0
