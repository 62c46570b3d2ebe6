"""`harness simulate` over a test set: --workers, --samples, labels and --ci, --placement."""

import json
import math

import numpy as np
import pytest
from test_cli_simulate import DT, spikes, write_mlp

from harness.cli import main
from harness.commands.simulate import MIN_CI_SAMPLES, wilson_interval


def run(tmp_path, x, labels=None, extra=(), name="out"):
    nir_path, _ = write_mlp(tmp_path / "mlp.nir")
    data = {"spikes": x} | ({} if labels is None else {"labels": labels})
    np.savez(tmp_path / "in.npz", **data)
    code = main(["simulate", "--nir", str(nir_path), "--profile", "loihi",
                 "--input", str(tmp_path / "in.npz"), "--dt", str(DT), "--out", str(tmp_path / f"{name}.npz"),
                 "--json", str(tmp_path / f"{name}.json"), "--no-progress", *extra])
    return code, json.loads((tmp_path / f"{name}.json").read_text()) if code == 0 else None


def test_one_and_two_workers_write_the_same_spikes_and_cost(tmp_path):
    x = spikes((20, 9, 8))
    _, one = run(tmp_path, x, extra=["--workers", "1"], name="one")
    _, two = run(tmp_path, x, extra=["--workers", "2"], name="two")
    with np.load(tmp_path / "one.npz") as a, np.load(tmp_path / "two.npz") as b:
        assert np.array_equal(a["spikes"], b["spikes"])
        assert np.array_equal(a["spike_counts_2"], b["spike_counts_2"])
    assert one["cost"] == two["cost"]


def test_samples_takes_the_first_n(tmp_path):
    x = spikes((20, 9, 8))
    code, report = run(tmp_path, x, extra=["--samples", "4"])
    assert code == 0 and report["samples"] == 4
    with np.load(tmp_path / "out.npz") as out:
        assert out["spikes"].shape == (20, 4, 4)


def test_wilson_interval_matches_the_hand_computed_one():
    # 8 of 10: centre (0.8 + 1.96^2/20) / (1 + 1.96^2/10), half 1.96 sqrt(0.016 + 1.96^2/400) / (same)
    z2 = 1.96**2
    centre, half = (0.8 + z2 / 20) / (1 + z2 / 10), 1.96 * math.sqrt(0.016 + z2 / 400) / (1 + z2 / 10)
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(centre - half) and hi == pytest.approx(centre + half)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)


def test_labels_give_accuracy_and_ci_stops_early(tmp_path):
    x = spikes((20, 200, 8))
    full_code, full = run(tmp_path, x, labels=np.zeros(200, np.int64), name="full")
    acc = full["accuracy"]
    assert full_code == 0 and acc["samples"] == 200 and not acc["stopped_early"]
    assert acc["ci95"][0] <= acc["value"] <= acc["ci95"][1]
    _, early = run(tmp_path, x, labels=np.zeros(200, np.int64), extra=["--ci", "0.2"], name="early")
    a = early["accuracy"]
    assert a["stopped_early"] and MIN_CI_SAMPLES <= a["samples"] < 200
    assert (a["ci95"][1] - a["ci95"][0]) / 2 <= 0.2


@pytest.mark.parametrize(
    ("extra", "labels", "message"),
    [
        (["--workers", "0"], None, "argument --workers: expected an integer in 1.."),
        (["--samples", "0"], None, "argument --samples: expected an integer in 1.."),
        (["--ci", "0.7"], np.zeros(3, np.int64), "argument --ci: expected a number > 0 and <= 0.5"),
        (["--ci", "0.1"], None, "--ci needs 'labels'"),
        ([], np.zeros(5, np.int64), "'labels' must be integers [batch] = [3]"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, extra, labels, message):
    code, _ = run(tmp_path, spikes((5, 3, 8)), labels=labels, extra=extra)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.npz").exists()


def test_simulate_takes_a_placement_file(tmp_path):
    (tmp_path / "p.yaml").write_text("lif0: {cores: [3, 5], neurons: [10, 10]}\n"
                                     "lif1: {cores: [9], neurons: 4}\n")
    code, report = run(tmp_path, spikes((10, 2, 8)), extra=["--placement", str(tmp_path / "p.yaml")])
    assert code == 0 and report["cores_used"] == 3


def test_an_interrupted_simulate_says_nothing_was_written_and_offers_no_resume(tmp_path, capsys, monkeypatch):
    import chipsim.simulate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(chipsim.simulate, "simulate_stream", interrupted)
    code, _ = run(tmp_path, spikes((5, 3, 8)))
    err = capsys.readouterr().err
    assert code == 2 and "interrupted; nothing was written" in err and "resume" not in err
    assert not (tmp_path / "out.npz").exists()


def test_ctrl_c_reaches_the_caller_while_the_engine_still_runs():
    import signal
    import threading
    import time

    from chipsim.simulate import interruptible

    # Python's own SIGINT handler, as a harness process has (Brian2, imported by an earlier test in this
    # worker, installs one that cannot chain to it)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    release = threading.Event()
    timer = threading.Timer(0.2, lambda: __import__("_thread").interrupt_main())
    timer.start()
    began = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            interruptible(lambda: release.wait(30))  # stands in for a long kernel that releases the GIL
        assert time.perf_counter() - began < 5
    finally:
        release.set()
        signal.signal(signal.SIGINT, previous)


def test_the_engine_releases_the_gil_so_the_waiting_thread_sees_ctrl_c():
    """Numba's engine releases the GIL (the ahead-of-time one too: tests/test_chipsim_kernels.py)."""
    from chipsim import engine

    assert engine.run_batch.jit.targetoptions.get("nogil") is True


def test_compressed_and_plain_inputs_write_the_same_per_sample_counts(tmp_path):
    x = spikes((20, 9, 8))
    _, plain = run(tmp_path, x, name="plain")
    nir_path, _ = write_mlp(tmp_path / "mlp.nir")
    np.savez_compressed(tmp_path / "in_c.npz", spikes=x)
    code = main(["simulate", "--nir", str(nir_path), "--profile", "loihi", "--input",
                 str(tmp_path / "in_c.npz"), "--dt", str(DT), "--out", str(tmp_path / "c.npz"),
                 "--no-progress"])
    assert code == 0
    with np.load(tmp_path / "plain.npz") as a, np.load(tmp_path / "c.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            assert np.array_equal(a[name], b[name]), name
        names = a["population_names"]
        out_pop = len(names) - 1
        counts = a[f"spike_counts_{out_pop}"]  # per sample, written from disk; spikes kept in memory
        assert counts.shape == (9, 4) and np.array_equal(counts, a["spikes"].sum(axis=0))
        assert a["spike_counts_0"].shape == (9, 8)
    assert not list(tmp_path.glob(".spool-*"))
