"""The sweep's tasks are pure: a cell's result does not depend on the process that ran it (its torch threads,
the state of its random generators) nor on whether its models came through the cache folder or as files."""

import json
import re

import numpy as np
import pytest
import torch

from harness.run import RunSpec
from harness.sweep_tasks import (
    CACHE_MARK,
    CellResult,
    TaskError,
    cell_task,
    compress_task,
    dense_task,
    failure,
)

SPEC = RunSpec(profile="loihi", method="spikefit", seed=1, epochs=1, dense_epochs=1, steps=4, samples=8)


def comparable(report: dict) -> dict:
    # the notes name the compressed model's file where each run compiled it (a task: its own folder)
    report = json.loads(re.sub(r'[^"\s]*/compressed/', "CACHE/compressed/", json.dumps(report)))
    report.pop("timing_s")
    for key in ("wall_time_s", "cached_in"):
        report["compression"].pop(key)
    return report


def test_a_cell_is_the_same_in_a_disturbed_process_with_its_models_shipped_as_files(tmp_path):
    shared = str(tmp_path / "cache")
    assert dense_task(SPEC, shared) == {} and compress_task(SPEC, shared, {}) == {}
    reference = cell_task(SPEC, shared, {})
    assert reference.error is None

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # another process: more threads, generators somewhere else
    torch.manual_seed(12345)
    np.random.seed(678)  # noqa: NPY002 (the legacy global state is what is disturbed)
    torch.rand(1000)
    try:
        dense = dense_task(SPEC, None)
        assert [name.split("/")[0] for name in dense] == ["dense"]
        compressed = compress_task(SPEC, None, dense)
        assert {name.rsplit("/", 1)[1] for name in compressed} >= {"model.nir", "metrics.json"}
        shipped = cell_task(SPEC, None, compressed)
        assert torch.get_num_threads() == 2  # restored after each task
    finally:
        torch.set_num_threads(threads)
    assert shipped.error is None
    assert comparable(shipped.report) == comparable(reference.report)
    assert shipped.report["compression"]["cached_in"].startswith("compressed/spikefit-")
    assert set(shipped.files) == {"report.md", "energy.png", "utilization.png", "raster.png"}
    # nothing names the worker's temporary folder: the notes' model path stands on the cache mark
    text = json.dumps(shipped.report) + shipped.files["report.md"].decode()
    assert "chipfit-task-" not in text and f"{CACHE_MARK}/compressed/spikefit-" in text


def test_recording_a_private_cache_cell_roots_its_paths_in_the_clients_cache(tmp_path):
    from harness.sweep import record

    report = {"compression": {"cached_in": "compressed/m"},
              "notes": [f"{CACHE_MARK}/compressed/m/model.nir: read as nir"],
              "fit": {"fits": True, "cores_used": 1, "violations": []},
              "accuracy": {"float": 1.0, "exported": 1.0, "on_chip": 1.0}, "energy": {"total_j": 1.0},
              "latency": {"per_inference_s": 1.0}, "spikes": {"per_inference": 1.0}, "model": {"nonzero": 1}}
    md = f"- {CACHE_MARK}/compressed/m/model.nir\n".encode()
    result = CellResult(report=report, files={"report.md": md, "x.png": CACHE_MARK.encode()})
    record(tmp_path / "out", SPEC, result, tmp_path / "cache", private_cache=True)
    folder = next((tmp_path / "out").rglob("report.json")).parent
    cache = str(tmp_path / "cache")
    written = json.loads((folder / "report.json").read_text())
    assert written["notes"] == [f"{cache}/compressed/m/model.nir: read as nir"]
    assert written["compression"]["cached_in"] == f"{cache}/compressed/m"
    assert (folder / "report.md").read_text() == f"- {cache}/compressed/m/model.nir\n"
    assert (folder / "x.png").read_bytes() == CACHE_MARK.encode()  # a plot's bytes are left alone


def test_a_task_error_keeps_its_message_and_kind_across_pickling():
    import pickle

    with pytest.raises(TaskError) as caught:
        compress_task(RunSpec(profile="no-such-chip", method="spikefit"), None, {})
    error = pickle.loads(pickle.dumps(caught.value))
    assert error.kind == "user" and "no-such-chip" in str(error)
    recorded = failure(error)
    assert (recorded.kind, recorded.error, recorded.traceback) == ("user", str(error), None)
    bug = failure(ZeroDivisionError("division by zero"))
    assert bug.kind == "bug" and bug.error == "ZeroDivisionError: division by zero"
