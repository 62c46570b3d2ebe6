"""chipsim.kernels and chipsim.aot: kernels imported without Numba, Numba set up on first need, and the
ahead-of-time build used only for exactly its argument types and only while its fingerprint holds."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chipsim import aot, kernels

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _run(code: str, **env) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**ENV, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_kernel_modules_imports_no_numba():
    out = _run("import sys\n"
               "import chipsim.compile, chipsim.place, chipsim.simulate, chipsim.cost, chipsim.engine\n"
               "print('numba' in sys.modules)")
    assert out == "False"


VALUES = [
    np.zeros(3, np.int64), np.zeros((2, 3), np.int32), np.zeros((2, 3), np.float64, order="F"),
    np.zeros((4, 4), np.uint8)[:, ::2], np.zeros((2, 1, 3), np.int16), np.zeros(0, np.float64),
    np.zeros((3, 0), np.int8), np.zeros(5, np.bool_), True, np.bool_(False), 3, -(1 << 62), 2.5,
    np.int32(7), np.int64(-1), np.float32(1.5), np.uint8(3),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: f"{type(v).__name__}{getattr(v, 'shape', '')}")
def test_type_key_is_the_key_of_numbas_own_type(value):
    import numba

    assert kernels.type_key(value) == kernels.numba_type_key(numba.typeof(value))


def test_type_key_tells_read_only_arrays_apart_and_types_unaligned_ones_as_numba_does():
    import numba

    ro = np.zeros(4, np.int64)
    ro.flags.writeable = False
    unaligned = np.frombuffer(bytearray(8 * 4 + 1), np.int64, 4, offset=1)
    assert not unaligned.flags.aligned
    assert kernels.type_key(ro) != kernels.type_key(np.zeros(4, np.int64))
    for a in (ro, unaligned):
        assert kernels.type_key(a) == kernels.numba_type_key(numba.typeof(a))


@pytest.mark.parametrize("value", [None, (1, 2), [1], "x", 1 << 64, np.zeros(2, ">i8"), np.zeros(2, object),
                                   np.zeros(2, [("a", "i4")])])
def test_what_no_ahead_of_time_signature_takes_has_no_key(value):
    assert kernels.type_key(value) is None
    assert kernels.type_keys((np.zeros(1), value)) is None


@pytest.mark.parametrize("env", [{}, {"NUMBA_NUM_THREADS": "1"}])
def test_max_threads_before_numba_is_numbas_own(env):
    out = _run("from chipsim import kernels\n"
               "before = kernels.max_threads(), kernels.num_threads()\n"
               "import numba\n"
               "print(before == (numba.config.NUMBA_NUM_THREADS, numba.get_num_threads()))", **env)
    assert out == "True"


def test_materialize_puts_dispatchers_where_kernel_bodies_name_them():
    from numba.core.registry import CPUDispatcher

    from chipsim import engine, routing

    kernels.materialize()
    assert isinstance(engine._run_sample, CPUDispatcher)  # named by run_batch's body
    assert isinstance(engine.conv_tap_out, CPUDispatcher)  # another module's kernel, named by _deliver_conv
    assert not isinstance(engine.prange, kernels.Lazy) and not isinstance(engine.prefetch, kernels.Lazy)
    assert isinstance(engine.run_batch, kernels.Kernel)  # only Python calls it: compiled and jit stay
    assert isinstance(routing._csr_core_counts, kernels.Kernel)  # Python's alone (place, partition, route)
    assert isinstance(routing._csr_core_counts.jit, CPUDispatcher)


@pytest.fixture
def may_serve(monkeypatch):
    """The build may serve in this test even under ``CHIPSIM_NO_AOT=1`` (a whole run on the JIT)."""
    monkeypatch.delenv("CHIPSIM_NO_AOT", raising=False)
    aot.forget()
    yield
    aot.forget()


def _small_build(tmp_path: Path) -> Path:
    """A build of one small kernel (``representable._add_abs``, one signature) into ``tmp_path``."""
    from chipsim import representable

    kernels.materialize()
    total = np.zeros(3, np.int64)
    representable._add_abs.py_func  # noqa: B018 -- a Kernel or a dispatcher: both have it
    dispatcher = representable._add_abs if not isinstance(representable._add_abs, kernels.Kernel) \
        else representable._add_abs.jit
    dispatcher(total, np.array([0, 2, 2], np.int32), np.array([3, -4, 5], np.int8))
    folder = tmp_path / "aot"
    assert aot.build(folder, only={"chipsim.representable._add_abs"}) >= 1
    return folder


def _export_for(folder: Path, args) -> tuple[str, tuple]:
    """(kernel name, type keys) of the export for ``args`` (earlier tests in this process may have given
    Numba other signatures of the kernel too, and the build has them all)."""
    keys = kernels.type_keys(args)
    exports = json.loads((folder / aot.MANIFEST).read_text())["exports"]
    name = next(e[0] for e in exports if e[0] == "chipsim.representable._add_abs" and tuple(e[1]) == keys)
    return name, keys


def test_an_ahead_of_time_build_serves_exactly_its_signature_and_agrees_with_the_jit(tmp_path, may_serve):
    folder = _small_build(tmp_path)
    targets, weights = np.array([0, 2, 2, 1], np.int32), np.array([3, -4, 5, -128], np.int8)
    args_jit = (np.zeros(3, np.int64), targets, weights)
    name, keys = _export_for(folder, args_jit)
    compiled = aot.lookup(name, keys, folder)
    assert compiled is not None and "numba" not in type(compiled).__module__
    from chipsim import representable

    jit = representable._add_abs.jit if isinstance(representable._add_abs, kernels.Kernel) \
        else representable._add_abs
    jit(*args_jit)
    args_aot = (np.zeros(3, np.int64), targets, weights)
    compiled(*args_aot)
    np.testing.assert_array_equal(args_aot[0], args_jit[0])
    assert args_aot[0].tolist() == [3, 128, 9]
    other = kernels.type_keys((np.zeros(3, np.int64), targets, weights.astype(np.int16)))
    assert aot.lookup(name, other, folder) is None  # another weight dtype: the JIT's


def test_an_ahead_of_time_function_releases_the_gil(tmp_path, may_serve):
    """The main thread keeps running while a compiled kernel runs on another (pycc's flags with
    ``release_gil``, chipsim.aot): the engine's blocks run on threads at once, and Ctrl-C gets in."""
    import threading

    folder = _small_build(tmp_path)
    n = 1 << 25
    args = (np.zeros(3, np.int64), np.zeros(n, np.int32), np.ones(n, np.int8))
    compiled = aot.lookup(*_export_for(folder, args), folder)
    worker = threading.Thread(target=compiled, args=args)
    beside = 0
    worker.start()
    while worker.is_alive():
        beside += 1
    worker.join()
    assert args[0][0] == n
    assert beside > 1000  # holding the GIL, the loop above could not run while the call did


def test_a_stale_or_disabled_build_is_not_used(tmp_path, monkeypatch, may_serve):
    folder = _small_build(tmp_path)
    manifest = json.loads((folder / aot.MANIFEST).read_text())
    name, keys, _ = manifest["exports"][0]
    aot.forget()
    monkeypatch.setenv("CHIPSIM_NO_AOT", "1")
    assert aot.lookup(name, tuple(keys), folder) is None
    monkeypatch.delenv("CHIPSIM_NO_AOT")
    aot.forget()
    assert aot.lookup(name, tuple(keys), folder) is not None
    for field in ("sources", "cpu", "numba"):
        stale = json.loads(json.dumps(manifest))
        stale["fingerprint"][field] = "other"
        (folder / aot.MANIFEST).write_text(json.dumps(stale))
        aot.forget()
        assert aot.lookup(name, tuple(keys), folder) is None, field
    aot.forget()


def test_the_fingerprint_changes_with_any_source(tmp_path):
    package = tmp_path / "chipsim"
    (package / "dialects").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "dialects" / "b.py").write_text("y = 1\n")
    first = aot.fingerprint(package)["sources"]
    (package / "dialects" / "b.py").write_text("y = 2\n")
    assert aot.fingerprint(package)["sources"] != first


SIMULATE = """
import sys, numpy as np, nir
sys.path.insert(0, "benchmarks")
from bench_sanafe import conv_net
from harness.cli import main
folder, samples, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
g = conv_net(10, 3, 4, 2, bias=False)
nir.write(folder + "/g.nir", g)
x = (np.random.default_rng(0).random((20, samples, 200)) < 0.2).astype(np.uint8)
np.savez(folder + "/x.npz", spikes=x[:, 0] if samples == 1 else x)
try:
    main(["simulate", "--nir", folder + "/g.nir", "--profile", "loihi", "--input", folder + "/x.npz",
          "--dt", "1", "--no-cache", "--no-progress", "--out", folder + "/out.npz", "--json",
          folder + "/cost.json", "--workers", workers])
except SystemExit as stop:
    assert not stop.code, stop.code
print("numba" in sys.modules)
"""


@pytest.mark.parametrize("samples, workers", [(1, 1), (5, 2)])
def test_harness_simulate_runs_without_numba_where_the_build_is_valid(tmp_path, samples, workers):
    """The shipped build (``make install``): a loihi run needs no Numba, one sample or a batch on two
    threads, and its output and cost are the JIT's exactly."""
    if not aot.available():
        pytest.skip("no valid ahead-of-time build here (`make warm` builds it), or CHIPSIM_NO_AOT=1")
    imported = {}
    for mode, env in (("aot", {}), ("jit", {"CHIPSIM_NO_AOT": "1"})):
        (tmp_path / mode).mkdir()
        code = SIMULATE.replace("sys.argv[1], int(sys.argv[2]), sys.argv[3]",
                                f"{str(tmp_path / mode)!r}, {samples}, {str(workers)!r}")
        imported[mode] = _run(code, **env).splitlines()[-1]
    assert imported == {"aot": "False", "jit": "True"}  # Numba imported?
    with np.load(tmp_path / "aot" / "out.npz") as a, np.load(tmp_path / "jit" / "out.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        assert a["spike_counts_1"].shape[0] == samples and a["spike_counts_1"].sum() > 0
    cost_a = json.loads((tmp_path / "aot" / "cost.json").read_text().replace(str(tmp_path / "aot"), "T"))
    cost_b = json.loads((tmp_path / "jit" / "cost.json").read_text().replace(str(tmp_path / "jit"), "T"))
    cost_a.pop("timings_s"), cost_b.pop("timings_s")
    assert cost_a == cost_b


@pytest.mark.parametrize("batch, parts", [(1, 1), (5, 2), (2, 2), (7, 3), (3, 1)])
def test_engine_blocks_cover_every_sample_once(batch, parts):
    from chipsim.simulate import _blocks

    blocks = _blocks(batch, parts)
    assert [i for lo, hi in blocks for i in range(lo, hi)] == list(range(batch))
    sizes = [hi - lo for lo, hi in blocks]
    assert len(blocks) == min(batch, parts) and max(sizes) - min(sizes) <= 1


def test_a_sample_block_traces_only_the_traced_samples_of_it():
    from chipsim.simulate import _sample_block

    out = {k: np.zeros((6, 4), np.int32) for k in ("counters", "pop_counters", "spike_count", "out_spikes",
                                                  "raster", "state_rec")}
    out["pair_packets"] = np.zeros((3, 4, 5), np.int32)  # samples 0..2 traced
    first, second = _sample_block(out, 0, 2, 3), _sample_block(out, 2, 6, 3)
    assert first[-1].shape == (2, 4, 5) and second[-1].shape == (1, 4, 5)
    second[-1][0] += 1
    assert out["pair_packets"][2].sum() == 20 and out["pair_packets"][:2].sum() == 0
    assert _sample_block(out, 3, 6, 3)[-1].shape == (1, 4, 0)  # past the traced ones: none
    second[2][1] = 7  # the views write into the whole batch's arrays
    assert out["spike_count"][3].tolist() == [7, 7, 7, 7]
