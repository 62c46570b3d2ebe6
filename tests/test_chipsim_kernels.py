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
    assert isinstance(routing._csr_core_counts, kernels.Kernel) or \
        isinstance(routing._csr_core_counts, CPUDispatcher)


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


def test_an_ahead_of_time_build_serves_exactly_its_signature_and_agrees_with_the_jit(tmp_path):
    folder = _small_build(tmp_path)
    manifest = json.loads((folder / aot.MANIFEST).read_text())
    name, keys, _ = next(e for e in manifest["exports"] if e[0] == "chipsim.representable._add_abs")
    targets, weights = np.array([0, 2, 2, 1], np.int32), np.array([3, -4, 5, -128], np.int8)
    args_jit = (np.zeros(3, np.int64), targets, weights)
    assert kernels.type_keys(args_jit) == tuple(keys)
    compiled = aot.lookup(name, tuple(keys), folder)
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


def test_a_stale_or_disabled_build_is_not_used(tmp_path, monkeypatch):
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
g = conv_net(10, 3, 4, 2, bias=False)
nir.write(sys.argv[1] + "/g.nir", g)
x = (np.random.default_rng(0).random((20, 200)) < 0.2).astype(np.uint8)
np.savez(sys.argv[1] + "/x.npz", spikes=x)
try:
    main(["simulate", "--nir", sys.argv[1] + "/g.nir", "--profile", "loihi", "--input",
          sys.argv[1] + "/x.npz", "--dt", "1", "--no-cache", "--no-progress", "--out",
          sys.argv[1] + "/out.npz", "--json", sys.argv[1] + "/cost.json"])
except SystemExit as stop:
    assert not stop.code, stop.code
print("numba" in sys.modules)
"""


def test_harness_simulate_of_one_sample_runs_without_numba_where_the_build_is_valid(tmp_path):
    """The shipped build (``make install``): a one-sample loihi run needs no Numba, and its output and cost
    are the JIT's exactly."""
    if aot._manifest(aot.FOLDER) is None:
        pytest.skip("no valid ahead-of-time build here: `make warm` builds it")
    (tmp_path / "aot").mkdir()
    (tmp_path / "jit").mkdir()
    with_build = _run(SIMULATE.replace("sys.argv[1]", repr(str(tmp_path / "aot"))))
    without = _run(SIMULATE.replace("sys.argv[1]", repr(str(tmp_path / "jit"))), CHIPSIM_NO_AOT="1")
    assert (with_build.splitlines()[-1], without.splitlines()[-1]) == ("False", "True")  # Numba imported?
    with np.load(tmp_path / "aot" / "out.npz") as a, np.load(tmp_path / "jit" / "out.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    cost_a = json.loads((tmp_path / "aot" / "cost.json").read_text().replace(str(tmp_path / "aot"), "T"))
    cost_b = json.loads((tmp_path / "jit" / "cost.json").read_text().replace(str(tmp_path / "jit"), "T"))
    cost_a.pop("timings_s"), cost_b.pop("timings_s")
    assert cost_a == cost_b


def test_only_a_short_one_sample_run_asks_for_the_ahead_of_time_engine(monkeypatch):
    """It holds the GIL (Ctrl-C waits for it), so a batch, or one sample of more than
    AHEAD_OF_TIME_MAX_UPDATES neuron updates, takes Numba's engine, which releases it."""
    import hwprofiles
    from chipsim import engine, simulate
    from chipsim.compile import compile_graph
    from chipsim.place import place
    from chipsim.warm import _graphs

    profile = hwprofiles.load("loihi")
    net = compile_graph(_graphs(profile)[0], profile)
    placement = place(net, profile)
    asked = []
    monkeypatch.setattr(engine.run_batch, "compiled", lambda *args: asked.append(args[2].shape))
    x = (np.random.default_rng(0).random((7, 1, 6)) < 0.5).astype(np.uint8)
    one = simulate.simulate(net, placement, x)
    assert asked == [(1, 7, 6)]  # [batch, steps, inputs]: one short sample asks
    simulate.simulate(net, placement, np.repeat(x, 3, axis=1))
    monkeypatch.setattr(simulate, "AHEAD_OF_TIME_MAX_UPDATES", 7 * net.n_neurons - 1)
    again = simulate.simulate(net, placement, x)
    assert asked == [(1, 7, 6)]  # neither the batch nor the longer sample asked
    for a, b in zip(one.spike_counts, again.spike_counts, strict=True):
        np.testing.assert_array_equal(a, b)
