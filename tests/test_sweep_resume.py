"""A sweep interrupted in the middle of a cell, then resumed: finished cells are kept, the broken cell is
redone, and the result is the same as a sweep that was never interrupted.

No method training: both cells use the hand-made compressed model of tests/handmade.py, cached where
``harness.run`` looks (the sweep still trains its 1-epoch dense model once, as it always does first).
"""

import json

import numpy as np
import pytest
from handmade import cache_model

from harness import plots
from harness import run as runs
from harness import sweep as sweeps

TINY = {"steps": 4, "samples": 12, "epochs": 1, "dense_epochs": 1}
SPECS = [runs.RunSpec(profile="loihi", method="spikefit", **TINY),
         runs.RunSpec(profile="truenorth", method="spikefit", **TINY)]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    for spec in SPECS:
        cache_model(spec, folder)
    return folder


def test_interrupted_cell_is_redone_and_finished_ones_are_kept(cache, tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    loihi, truenorth = (sweeps.cell_dir(out, s) for s in SPECS)
    # 1. the TrueNorth cell runs to the end
    runs.run(SPECS[1], truenorth, cache=cache, progress=False)
    finished = (truenorth / "report.json").stat().st_mtime_ns

    # 2. the Loihi cell is interrupted after it simulated and priced, while it writes its figures
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(plots, "spike_raster", interrupted)
        with pytest.raises(KeyboardInterrupt):
            runs.run(SPECS[0], loihi, cache=cache, progress=False)
    assert (loihi / "energy.png").exists()  # the cell had started writing ...
    assert not (loihi / "report.json").exists()  # ... and is not finished

    # 3. resume: only the Loihi cell runs again
    rows = sweeps.sweep(SPECS, out, cache=cache, workers=1, progress=False)
    assert (truenorth / "report.json").stat().st_mtime_ns == finished
    assert (loihi / "report.json").exists()
    assert [(r["profile"], "error" in r) for r in rows] == [("loihi", False), ("truenorth", False)]

    # 4. the resumed cell equals the same cell run without interruption
    clean = runs.run(SPECS[0], tmp_path / "clean", cache=cache, progress=False)
    resumed = json.loads((loihi / "report.json").read_text())
    for section in ("accuracy", "energy", "spikes", "synops", "fit", "latency"):
        assert resumed[section] == json.loads(json.dumps(clean[section])), section
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["cells"] == json.loads(json.dumps(rows))
    loihi_row = rows[0]
    assert loihi_row["accuracy"] == clean["accuracy"]["on_chip"]
    assert loihi_row["accuracy_exported"] == 0.25  # the cached model's, so nothing was retrained
    assert np.isclose(loihi_row["energy_j"], clean["energy"]["total_j"])
