"""`harness simulate`: NIR + profile + spikes in; output spikes, counts and cost out; bad input exit 2."""

import json

import nir
import numpy as np
import pytest

import hwprofiles
from chipsim.compile import compile_graph
from chipsim.place import place
from chipsim.simulate import simulate
from harness.cli import main

DT = 1e-3


def write_mlp(path, sizes=(8, 20, 4)):
    rng = np.random.default_rng(0)
    nodes, edges, prev = {"input": nir.Input(np.array([sizes[0]]))}, [], "input"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        tau = DT / (1 - 0.9)
        nodes[f"fc{i}"] = nir.Affine(rng.uniform(-0.2, 0.8, size=(b, a)), np.zeros(b))
        nodes[f"lif{i}"] = nir.LIF(tau=np.full(b, tau), r=np.full(b, tau / DT), v_leak=np.zeros(b),
                                   v_threshold=np.ones(b))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(np.array([sizes[-1]]))
    graph = nir.NIRGraph(nodes, edges + [(prev, "output")], type_check=False)
    nir.write(path, graph)
    return path, graph


def spikes(shape, seed=1):
    return (np.random.default_rng(seed).random(shape) < 0.4).astype(np.uint8)


def run_cli(tmp_path, x, profile="loihi", extra=()):
    nir_path, graph = write_mlp(tmp_path / "mlp.nir")
    np.savez(tmp_path / "in.npz", spikes=x)
    argv = ["simulate", "--nir", str(nir_path), "--profile", profile, "--input", str(tmp_path / "in.npz"),
            "--dt", str(DT), "--out", str(tmp_path / "out.npz"), "--json", str(tmp_path / "cost.json"),
            *extra]
    return main(argv), graph


@pytest.mark.parametrize("profile", ["loihi", "generic-45nm"])
def test_simulate_writes_the_engines_output_spikes_and_cost(tmp_path, capsys, profile):
    x = spikes((25, 3, 8))
    code, graph = run_cli(tmp_path, x, profile)
    assert code == 0
    prof = hwprofiles.load(profile)
    net = compile_graph(graph, prof, dt_s=DT)
    expected = simulate(net, place(net, prof), x)
    with np.load(tmp_path / "out.npz") as out:
        assert out["spikes"].shape == (25, 3, 4)
        assert np.array_equal(out["spikes"], expected.output_spikes)
        assert out["spikes"].sum() > 0
        assert np.array_equal(out["spike_counts_1"], expected.spike_counts[1])
        assert out["population_names"].tolist() == [p.name for p in net.populations]
    report = json.loads((tmp_path / "cost.json").read_text())
    # synaptic events of the engine's own run x the profile's figure (loihi.yaml 35.5 pJ, generic-45nm 0.9 pJ)
    per_event = {"loihi": 35.5e-12, "generic-45nm": 0.9e-12}[profile]
    assert expected.total("synops") > 0
    assert report["cost"]["energy_j"]["synapse"] == pytest.approx(expected.total("synops") * per_event / 3)
    assert len(report["cost"]["latency_step_s"]) == 25
    assert "energy per inference" in capsys.readouterr().out


def test_simulate_reports_counters_per_population_and_energy_dynamic_and_static(tmp_path, capsys):
    x = spikes((25, 3, 8))
    code, graph = run_cli(tmp_path, x)
    assert code == 0
    report = json.loads((tmp_path / "cost.json").read_text())
    rows = report["counters"]["per_population"]
    prof = hwprofiles.load("loihi")
    net = compile_graph(graph, prof, dt_s=DT)
    expected = simulate(net, place(net, prof), x)
    assert [r["population"] for r in rows] == [p.name for p in net.populations]
    assert rows[0]["spikes"] == pytest.approx(x.sum() / 3)  # the host's input spikes
    for p in range(1, len(rows)):
        assert rows[p]["spikes"] == pytest.approx(expected.spike_counts[p].sum() / 3)
    assert sum(r["synops"] for r in rows) == pytest.approx(expected.total("synops") / 3)
    assert report["counters"]["neurobench"]["effective_acs"] == pytest.approx(expected.total("synops") / 3)
    c = report["cost"]
    assert c["total_j"] == pytest.approx(c["dynamic_j"] + c["static_j"])
    out = capsys.readouterr().out
    assert "counters per inference" in out and "dynamic" in out and "static" in out


def test_two_dimensional_input_gives_two_dimensional_output(tmp_path):
    code, _ = run_cli(tmp_path, spikes((10, 8)), extra=("--steps", "12"))
    assert code == 0
    with np.load(tmp_path / "out.npz") as out:
        assert out["spikes"].shape == (12, 4)


@pytest.mark.parametrize(("contents", "message"), [
    ({"other": np.ones((5, 8), np.uint8)}, "no 'spikes'"),
    ({"spikes": np.ones((5, 7), np.uint8)}, "7 channels"),
    ({"spikes": np.ones((5, 1, 1, 8), np.uint8)}, "shape"),
    ({"spikes": np.full((5, 8), 3, np.uint8)}, "binary"),
])
def test_bad_input_file_is_one_line_and_exit_2(tmp_path, capsys, contents, message):
    nir_path, _ = write_mlp(tmp_path / "mlp.nir")
    np.savez(tmp_path / "in.npz", **contents)
    code = main(["simulate", "--nir", str(nir_path), "--profile", "loihi",
                 "--input", str(tmp_path / "in.npz"), "--out", str(tmp_path / "out.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and "\n" not in err
    assert not (tmp_path / "out.npz").exists()


def test_missing_input_file_is_exit_2(tmp_path, capsys):
    nir_path, _ = write_mlp(tmp_path / "mlp.nir")
    code = main(["simulate", "--nir", str(nir_path), "--profile", "loihi",
                 "--input", str(tmp_path / "no.npz"), "--out", str(tmp_path / "out.npz")])
    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_json_gives_the_wall_seconds_of_every_stage(tmp_path):
    code, _ = run_cli(tmp_path, spikes((5, 2, 8)), extra=("--no-progress", "--no-cache"))
    assert code == 0
    timings = json.loads((tmp_path / "cost.json").read_text())["timings_s"]
    assert list(timings) == ["import", "read_input", "numba_set_up", "read_graph", "compile", "place",
                             "route", "prepare", "simulate", "cost", "write_out", "print"]
    assert all(isinstance(s, float) and s >= 0 for s in timings.values())
    assert timings["simulate"] > 0


def test_a_cache_hit_times_the_lookup_instead_of_compile_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "cache"))
    run_cli(tmp_path, spikes((5, 2, 8)), extra=("--no-progress",))
    run_cli(tmp_path, spikes((5, 2, 8)), extra=("--no-progress",))
    timings = json.loads((tmp_path / "cost.json").read_text())["timings_s"]
    assert "cache_lookup" in timings
    assert not {"read_graph", "compile", "place", "route"} & set(timings)


def test_a_command_imports_only_its_own_module():
    import subprocess
    import sys

    probe = ("import contextlib, io, sys\nfrom harness.cli import main\n"
             "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
             "    main(['simulate', '--help'])\n"
             "print(sorted(m for m in sys.modules if m.startswith('harness.commands.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['harness.commands.map', 'harness.commands.simulate']"
