"""Bad input as a careful user gives it: every class of issue 16 exits 2 with one line and leaves nothing.

Each test runs the CLI (``harness.cli.main``, what the console script calls) and asserts the exit code,
that stderr is exactly one line with no traceback, and that no file appeared where output was asked for.
Everything here is refused before any training or simulation, so the tests take milliseconds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nir
import numpy as np
import pytest

import hwprofiles
from harness.cli import main

DT = 1e-3
LOIHI_YAML = Path(hwprofiles.PROFILES_DIR / "loihi.yaml").read_text()


def refused(argv: list[str], capsys) -> str:
    """Run the CLI; assert exit 2 and a single-line stderr; return that line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def write_graph(path: Path, weight=None, bias=None, threshold=1.0, n_out=4, n_in=3) -> Path:
    """Input -> Affine -> LIF -> Output, snnTorch's export convention (gain 1)."""
    w = np.full((n_out, n_in), 0.5) if weight is None else np.asarray(weight, float)
    b = np.zeros(n_out) if bias is None else np.asarray(bias, float)
    tau = DT / (1 - 0.9)
    nodes = {"input": nir.Input(np.array([n_in])), "fc": nir.Affine(w, b),
             "lif": nir.LIF(tau=np.full(n_out, tau), r=np.full(n_out, tau / DT), v_leak=np.zeros(n_out),
                            v_threshold=np.full(n_out, threshold)),
             "output": nir.Output(np.array([n_out]))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    nir.write(path, nir.NIRGraph(nodes, edges, type_check=False))
    return path


def profile_with(tmp_path: Path, key: str, value: str, name: str = "loihi", **more: str) -> Path:
    """loihi.yaml with the value of ``key`` (and of each of ``more``) replaced."""
    text = LOIHI_YAML
    for k, v in {key: value, **more}.items():
        text, n = re.subn(rf"(\n  {k}:\s*\{{?\s*(?:\n\s*)?value:\s*)[^,\n}}]+", rf"\g<1>{v}", text, count=1)
        assert n == 1, k
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("keep me\n")
    return path


@pytest.fixture
def graph(tmp_path):
    return write_graph(tmp_path / "g.nir")


@pytest.fixture
def spikes_npz(tmp_path):
    path = tmp_path / "in.npz"
    np.savez(path, spikes=np.zeros((5, 1, 3), np.uint8))
    return path


def _readonly_folder(tmp_path: Path) -> Path | None:
    """A folder this process cannot create files in (a chmod'ed one; root ignores that, so /proc/sys)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    for candidate in (folder, Path("/proc/sys")):
        try:
            (candidate / ".probe").touch()
        except OSError:
            return candidate
        (candidate / ".probe").unlink()
    return None


# ------------------------------------------------------------------ 1. output paths, before any work

def output_cases(tmp_path: Path, afile: Path, graph: Path, spikes_npz: Path):
    """(argv, flag) of every command that writes, with its output at a place that cannot take it."""
    folder = tmp_path / "adir"
    folder.mkdir()
    sim = ["simulate", "--nir", str(graph), "--profile", "loihi", "--input", str(spikes_npz)]
    return [
        (["run", "--profile", "loihi", "--method", "spikefit", "--out", str(afile)], "--out"),
        (["run", "--profile", "loihi", "--method", "spikefit", "--cache-dir", str(afile)], "--cache-dir"),
        (["run", "--profile", "loihi", "--method", "spikefit", "--out", str(afile / "sub")], "--out"),
        (["sweep", "--profiles", "loihi", "--methods", "ptq", "--out", str(afile)], "--out"),
        (["train", "--dataset", "digits", "--out", str(afile)], "--out"),
        (["compress", "--method", "ptq", "--dataset", "digits", "--out", str(afile)], "--out"),
        (["map", "--nir", str(graph), "--profile", "loihi", "--json", str(folder)], "--json"),
        ([*sim, "--out", str(folder)], "--out"),
        ([*sim, "--out", str(tmp_path / "o.npz"), "--json", str(folder)], "--json"),
        (["validate", "--profile", "loihi", "--random-net", "20", "--json", str(folder)], "--json"),
        (["validate", "--profile", "loihi", "--random-net", "20", "--plot", str(afile / "p.png")], "--plot"),
    ]


def test_every_output_option_at_an_unwritable_place_is_refused_before_any_work(
        tmp_path, afile, graph, spikes_npz, capsys):
    for argv, flag in output_cases(tmp_path, afile, graph, spikes_npz):
        before = files_under(tmp_path)
        line = refused(argv, capsys)
        assert flag in line and ("folder" in line or "file" in line), line
        assert files_under(tmp_path) == before, argv  # nothing written, no cache, no probe left
        assert afile.read_text() == "keep me\n"


@pytest.mark.parametrize("command", ["run", "map", "simulate", "train"])
def test_an_output_in_a_read_only_folder_is_refused(tmp_path, graph, spikes_npz, capsys, command):
    ro = _readonly_folder(tmp_path)
    if ro is None:
        pytest.skip("no folder here is read-only to this user")
    argv = {"run": ["run", "--profile", "loihi", "--method", "spikefit", "--out", str(ro / "r")],
            "map": ["map", "--nir", str(graph), "--profile", "loihi", "--json", str(ro / "f.json")],
            "simulate": ["simulate", "--nir", str(graph), "--profile", "loihi", "--input", str(spikes_npz),
                         "--out", str(ro / "o.npz")],
            "train": ["train", "--dataset", "digits", "--out", str(ro / "t")]}[command]
    line = refused(argv, capsys)
    assert "cannot write in" in line and str(ro) in line


def test_an_existing_output_file_is_replaced_not_refused(tmp_path, graph, capsys):
    out = tmp_path / "fit.json"
    out.write_text("old")
    assert main(["map", "--nir", str(graph), "--profile", "loihi", "--json", str(out)]) == 0
    assert out.read_text().startswith("{")


def test_results_are_written_with_the_umask_not_0600(tmp_path):
    from compress.files import write_json_atomic

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
        os.umask(0o077)
        write_json_atomic(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600


def test_a_write_that_fails_is_one_line_and_leaves_no_temporary(tmp_path):
    from compress.files import WriteError, write_atomic

    def fails(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteError, match="cannot write .*out.json: No space left"):
        write_atomic(tmp_path / "out.json", fails)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ 2. numbers a chip cannot hold

@pytest.mark.parametrize(("weight", "bias", "field"), [
    ([[np.nan, 0.5, 0.5]] + [[0.5] * 3] * 3, None, "'weight' holds NaN"),
    ([[np.inf, 0.5, 0.5]] + [[0.5] * 3] * 3, None, "'weight' holds inf"),
    (None, [0.0, -np.inf, 0.0, 0.0], "'bias' holds -inf"),
])
def test_nan_or_inf_parameters_are_refused_naming_node_and_field(tmp_path, capsys, weight, bias, field):
    path = write_graph(tmp_path / "bad.nir", weight=weight, bias=bias)
    for profile in ("loihi", "generic-45nm"):  # fixed point and float alike
        line = refused(["map", "--nir", str(path), "--profile", profile, "--json", str(tmp_path / "f.json")],
                       capsys)
        assert "node 'fc'" in line and field in line, line
    assert not (tmp_path / "f.json").exists()


def test_a_threshold_beyond_the_chips_range_is_an_error_not_a_note(tmp_path, capsys):
    # weights of 1e-6 put the LSB at 1e-6/127: threshold 1 needs mantissa ~1.3e8, xylo holds 0..65535
    path = write_graph(tmp_path / "g.nir", weight=np.full((4, 3), 1e-6))
    line = refused(["map", "--nir", str(path), "--profile", "xylo-audio2"], capsys)
    assert "node 'lif'" in line and "threshold" in line and "0..65535" in line


def test_a_threshold_the_state_can_never_reach_is_an_error():
    from chipsim.representable import RepresentationError, check_threshold

    # xylo: 16-bit threshold mantissa, but a 16-bit signed state tops out at 32767
    with pytest.raises(RepresentationError, match="never fire"):
        check_threshold("lif", 1.0, 1 / 40000, 40000, False, 65535, strict=False, state_bits=16,
                        weight_shift=0, chip="xylo-audio2")
    check_threshold("lif", 1.0, 1 / 32767, 32767, False, 65535, strict=False, state_bits=16,
                    weight_shift=0, chip="xylo-audio2")  # v >= 32767 is reachable


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("weight_bits", "33", "<= 32"), ("weight_bits", "64", "<= 32"), ("state_bits", "64", "<= 48"),
    ("decay_bits", "20", "<= 15"), ("weight_bits", ".nan", "an integer"),
])
def test_profile_bits_chipsim_cannot_compute_exactly_are_refused(tmp_path, capsys, key, value, expected):
    path = profile_with(tmp_path, key, value)
    line = refused(["profiles", "show", str(path)], capsys)
    assert key in line and expected in line, line
    line = refused(["map", "--nir", str(write_graph(tmp_path / "g.nir")), "--profile", str(path)], capsys)
    assert key in line


def test_32_bit_weights_are_quantized_exactly(tmp_path):
    from chipsim.compile import compile_graph, load_graph

    # a threshold of 1 at scale 1/(2^31-1) needs > 32 threshold bits and (with Loihi's shift of 6) 39 bits
    # of state; fan-in 1, so one step's input stays inside the engine's int32 sum
    # weight_exponent_max null: a plain 32-bit weight grid, not Loihi's 8-bit mantissa x 2^e
    profile = hwprofiles.load(profile_with(tmp_path, "weight_bits", "32", threshold_bits="40",
                                           state_bits="48", current_bits="48", weight_exponent_max="null"))
    w = np.array([[1.0], [-0.5], [0.25], [1.0]])
    net = compile_graph(load_graph(write_graph(tmp_path / "g.nir", weight=w, n_in=1)), profile, dt_s=DT)
    top = 2**31 - 1
    assert net.projections[0].weights.tolist() == [top, -round(top / 2), round(top / 4), top]
    assert net.populations[1].params.threshold == top  # largest m with m * scale <= 1, strict compare


def test_an_input_sum_beyond_int32_is_refused(tmp_path, capsys):
    path = profile_with(tmp_path, "weight_bits", "32", threshold_bits="40", state_bits="48",
                        current_bits="48", weight_exponent_max="null")
    line = refused(["map", "--nir", str(write_graph(tmp_path / "g.nir")), "--profile", str(path)], capsys)
    assert "population 'lif'" in line and "int32" in line


# ------------------------------------------------------------------ 3. values the CLI used to accept

RUN = ["run", "--profile", "loihi", "--method", "magnitude"]


@pytest.mark.parametrize(("argv", "words"), [
    ([*RUN, "--seed", "-1"], ["--seed", "0..4294967295", "-1"]),
    (["train", "--dataset", "digits", "--seed", "-1"], ["--seed"]),
    (["compress", "--method", "ptq", "--dataset", "digits", "--seed", "4294967296"], ["--seed"]),
    (["validate", "--profile", "loihi", "--random-net", "20", "--seed", "-3"], ["--seed"]),
    (["sweep", "--profiles", "loihi", "--methods", "ptq", "--seeds", "0"], ["--seeds", "1..1000"]),
    (["sweep", "--profiles", "loihi", "--methods", "ptq", "--workers", "0"], ["--workers"]),
    (["sweep", "--profiles", " , ", "--methods", "ptq"], ["--profiles", "at least one"]),
    ([*RUN, "--option", "rounds=abc"], ["rounds", "an integer", "'abc'"]),
    ([*RUN, "--option", "rounds=2.5"], ["rounds", "an integer"]),
    ([*RUN, "--option", "colour=3"], ["colour", "magnitude", "rounds"]),
    ([*RUN, "--option", "noequals"], ["KEY=VALUE"]),
    (["compress", "--method", "spikefit", "--dataset", "digits", "--out", "o", "--option", "prune_until=2"],
     ["prune_until"]),
    (["sweep", "--profiles", "loihi", "--methods", "ptq,magnitude", "--option", "rounds=3"],
     ["rounds", "ptq"]),
    ([*RUN, "--steps", "10000000000"], ["--steps", "1..10000"]),
    (["train", "--dataset", "digits", "--steps", "1e10"], ["--steps", "'1e10'"]),
    (["train", "--dataset", "digits", "--epochs", "-1"], ["--epochs"]),
    ([*RUN, "--samples", "0"], ["--samples"]),
    ([*RUN, "--sparsity", "1.5"], ["--sparsity", ">= 0 and < 1"]),
    (["compress", "--method", "ptq", "--dataset", "digits", "--out", "o", "--sparsity", "1"], ["< 1"]),
    ([*RUN, "--unique", "70000"], ["--unique", "1..65536"]),
    ([*RUN, "--sparsity", "nan"], ["--sparsity"]),
    ([*RUN, "--bits", "64"], ["--bits", "1..32"]),
    ([*RUN, "--model", "rnn"], ["--model", "mlp, cnn"]),
    (["validate", "--profile", "loihi", "--random-net", "10000000"], ["--random-net", "8..10000"]),
    (["validate", "--profile", "loihi", "--random-net", "7"], ["--random-net"]),
    (["validate", "--profile", "loihi", "--random-net", "20", "--steps", "100000000"], ["--steps"]),
    (["validate", "--profile", "loihi", "--random-net", "20", "--samples", "0"], ["--samples"]),
    (["validate", "--profile", "loihi"], ["one of the arguments"]),
    (["validate", "--profile", "loihi", "--random-net", "20", "--plot", "r.jpg"], ["--plot", ".png"]),
    (["map", "--nir", "g.nir", "--profile", "loihi", "--dt", "-1"], ["--dt", "> 0"]),
    (["map", "--nir", "g.nir", "--profile", "loihi", "--dt", "inf"], ["--dt"]),
    (["map", "--nir", "g.nir", "--profile", "loihi", "--strategy", "best"], ["--strategy"]),
    (["map", "--nir", "g.nir"], ["--profile"]),
    (["map", "--nir", "g.nir", "--profile", "loihi", "--frobnicate"], ["--frobnicate"]),
    (["nosuchcommand"], ["nosuchcommand"]),
])
def test_out_of_range_values_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)  # default outputs (runs/, .cache/) would land here
    line = refused(argv, capsys)
    for word in words:
        assert word in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("steps", ["100000000", "10000000000"])
def test_simulate_refuses_steps_beyond_its_guard(tmp_path, graph, spikes_npz, capsys, steps):
    out = tmp_path / "o.npz"
    line = refused(["simulate", "--nir", str(graph), "--profile", "loihi", "--input", str(spikes_npz),
                    "--out", str(out), "--steps", steps], capsys)
    assert "--steps" in line and "1..10000000" in line
    assert not out.exists()


def test_help_shows_the_range_the_check_enforces(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--seed SEED random seed" in text and "0..4294967295" in text
    assert "an integer in 1..10000" in text  # --steps


def test_random_networks_of_every_small_size_build_in_brian2():
    brian2 = pytest.importorskip("brian2")
    from harness import brian2_model
    from harness.random_net import random_network

    brian2.BrianLogger.suppress_name("unused_brian_object")  # built, never run: that is the point here
    profile = hwprofiles.load("loihi")
    for n in (8, 12, 16, 20, 24, 28):  # these drew a projection with no synapses: Brian2 cannot connect it
        brian2_model.build(random_network(profile, n, seed=0))


# ------------------------------------------------------------------ 4. files that are not what was asked

def test_a_profile_that_is_not_utf8_is_one_line(tmp_path, graph, capsys):
    path = tmp_path / "loihi.yaml"
    path.write_bytes(LOIHI_YAML.encode().replace(b"Loihi", b"Lo\xefhi", 1))
    for argv in (["profiles", "show", str(path)], ["map", "--nir", str(graph), "--profile", str(path)]):
        line = refused(argv, capsys)
        assert "UTF-8" in line and str(path) in line and "0xef" in line


@pytest.mark.parametrize(("write", "found"), [
    (lambda p: np.save(open(p, "wb"), np.zeros((5, 3))), "a .npy array file"),
    (lambda p: p.write_text("spikes = [0, 1, 0]\n"), "a text file"),
    (lambda p: p.write_bytes(b""), "an empty file"),
    (lambda p: p.write_bytes(b"PK\x03\x04garbage"), "zip archive"),
])
def test_an_input_that_is_not_an_npz_says_what_it_is(tmp_path, graph, capsys, write, found):
    bad = tmp_path / "in.npz"
    write(bad)
    out = tmp_path / "o.npz"
    line = refused(["simulate", "--nir", str(graph), "--profile", "loihi", "--input", str(bad),
                    "--out", str(out)], capsys)
    assert found in line and ".npz" in line and str(bad) in line, line
    assert not out.exists()


def test_a_nir_layer_of_zero_neurons_is_one_line_naming_it(tmp_path, capsys):
    path = write_graph(tmp_path / "empty.nir", weight=np.zeros((0, 3)), bias=np.zeros(0), n_out=0)
    line = refused(["map", "--nir", str(path), "--profile", "loihi"], capsys)
    assert "0 neurons" in line and "'lif'" in line


def test_a_text_file_given_as_nir_is_one_line(tmp_path, capsys):
    path = tmp_path / "g.nir"
    path.write_text("not a graph\n")
    line = refused(["map", "--nir", str(path), "--profile", "loihi"], capsys)
    assert str(path) in line and "NIR" in line


def test_a_missing_data_folder_says_it_does_not_exist(tmp_path, capsys):
    line = refused(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "nope"), "--out",
                    str(tmp_path / "o")], capsys)
    assert "does not exist" in line and "lacks" not in line


# ------------------------------------------------------------------ 5. degenerate runs

@pytest.mark.parametrize(("shape", "what"), [((0, 1, 3), "no steps"), ((5, 0, 3), "no samples"),
                                             ((0, 3), "no steps")])
def test_simulate_refuses_zero_steps_or_zero_samples(tmp_path, graph, capsys, shape, what):
    path = tmp_path / "in.npz"
    np.savez(path, spikes=np.zeros(shape, np.uint8))
    out, cost = tmp_path / "o.npz", tmp_path / "c.json"
    line = refused(["simulate", "--nir", str(graph), "--profile", "loihi", "--input", str(path),
                    "--out", str(out), "--json", str(cost)], capsys)
    assert what in line and str(shape).replace(" ", "") in line.replace(" ", "")
    assert not out.exists() and not cost.exists()


def test_simulate_refuses_zero_steps_given_as_a_flag(tmp_path, graph, spikes_npz, capsys):
    line = refused(["simulate", "--nir", str(graph), "--profile", "loihi", "--input", str(spikes_npz),
                    "--out", str(tmp_path / "o.npz"), "--steps", "0"], capsys)
    assert "--steps" in line


def test_model_names_checked_at_parse_time_are_the_presets():
    from compress.architectures import PRESETS
    from harness.options import PRESET_NAMES

    assert PRESET_NAMES == tuple(PRESETS)


def test_a_bad_profile_is_refused_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom harness.cli import main\n"
            "rc = main(['run', '--profile', 'nope', '--method', 'spikefit', '--out', sys.argv[1]])\n"
            "print(rc, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, "/nonexistent/out"], capture_output=True, text=True)
    assert done.stdout.split() == ["2", "False"], done.stderr


def test_method_names_read_from_source_are_the_methods_found_by_import():
    from compress import methods

    assert methods.names() == set(methods.available())


def test_an_unknown_method_is_refused_without_importing_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom harness.cli import main\n"
            "rc = main(['run', '--profile', 'loihi', '--method', 'spikefitt', '--out', sys.argv[1]])\n"
            "print(rc, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert "unknown method 'spikefitt'; known: criticality," in done.stderr
