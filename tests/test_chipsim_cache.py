"""chipsim.cache: the same graph, profile and options compile and place once; anything else is a miss."""

import numpy as np
import pytest
from test_cli_map import write_mlp

import chipsim.compile
import hwprofiles
from chipsim.cache import compiled_and_placed, compiled_placed_and_routed

LOIHI = hwprofiles.load("loihi")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_second_call_loads_the_first_result_without_compiling(tmp_path, cache, monkeypatch):
    nir_path = write_mlp(tmp_path / "mlp.nir", sizes=(16, 40, 4))
    net, placement, hit = compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)
    assert not hit and len(list(cache.glob("*.pkl"))) == 1

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(chipsim.compile, "compile_graph", no_compile)
    net2, placement2, hit2 = compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)
    assert hit2 and net2.n_synapses == net.n_synapses
    for a, b in zip(placement.core_of_neuron, placement2.core_of_neuron, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_hit_on_a_copy_of_the_graph_names_the_copy_in_its_notes(tmp_path, cache):
    (tmp_path / "a").mkdir()
    first = write_mlp(tmp_path / "a" / "mlp.nir", sizes=(16, 40, 4))
    copy = tmp_path / "b" / "other.nir"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    net, _, hit = compiled_and_placed(first, LOIHI, dt_s=1e-4)
    assert not hit and net.notes[0].startswith(f"{first}: ")
    for call in (compiled_and_placed, compiled_placed_and_routed, compiled_placed_and_routed):
        net2, *_, hit = call(copy, LOIHI, dt_s=1e-4)  # a hit; the second one finds the routes stored
        assert hit and net2.notes[0] == f"{copy}: {net.notes[0][len(f'{first}: '):]}"
        assert str(first) not in " ".join(net2.notes)
    net3, *_ = compiled_placed_and_routed(first, LOIHI, dt_s=1e-4)
    assert net3.notes == net.notes


@pytest.mark.parametrize(
    "change",
    [dict(dt_s=2e-4), dict(integrator="exact"), dict(strategy="hops"), dict(profile="truenorth")],
)
def test_another_option_or_profile_is_a_miss(tmp_path, cache, change):
    nir_path = write_mlp(tmp_path / "mlp.nir", sizes=(16, 40, 4))
    base = dict(dt_s=1e-4, integrator="euler", strategy="auto")
    compiled_and_placed(nir_path, LOIHI, **base)
    profile = hwprofiles.load(change.pop("profile", "loihi"))
    _, _, hit = compiled_and_placed(nir_path, profile, **(base | change))
    assert not hit


def test_a_changed_graph_is_a_miss_and_a_corrupt_entry_is_recomputed(tmp_path, cache):
    nir_path = write_mlp(tmp_path / "mlp.nir", sizes=(16, 40, 4))
    compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)
    [entry] = cache.glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    _, _, hit = compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)
    assert not hit
    write_mlp(nir_path, sizes=(16, 41, 4))
    net, _, hit = compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)
    assert not hit and net.n_neurons == 45


def test_a_cached_harness_map_imports_neither_numba_nir_torch_nor_sklearn(tmp_path):
    import os
    import subprocess
    import sys

    nir_path = write_mlp(tmp_path / "mlp.nir", sizes=(16, 40, 4))
    code = ("import sys\nfrom harness.cli import main\n"
            f"main(['map', '--nir', {str(nir_path)!r}, '--profile', 'loihi'])\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'numba', 'nir', 'scipy') if m in sys.modules))")
    env = os.environ | {"CHIPFIT_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    from chipsim import aot

    # the first places: on the ahead-of-time kernels where their build is valid here (make install), else
    # on Numba's (which imports scipy's BLAS module)
    placed = "['nir']" if aot.available() else "['nir', 'numba', 'scipy']"
    assert first.stdout.strip().splitlines()[-1] == placed
    assert second.stdout.strip().splitlines()[-1] == "[]"


def test_simulate_keeps_the_routes_in_the_entry_and_loads_them_back(tmp_path, cache, monkeypatch):
    import chipsim.routing
    from chipsim.cache import compiled_placed_and_routed

    nir_path = write_mlp(tmp_path / "mlp.nir", sizes=(16, 40, 4))
    compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)  # as harness map leaves it: no routes yet
    net, placement, routes, hit = compiled_placed_and_routed(nir_path, LOIHI, dt_s=1e-4)
    assert hit  # compile and place came from the entry; the routes were added to it
    expected = chipsim.routing.route(net, placement)

    def no_route(*args, **kwargs):
        raise AssertionError("routed again")

    monkeypatch.setattr(chipsim.routing, "route", no_route)
    net2, placement2, routes2, hit2 = compiled_placed_and_routed(nir_path, LOIHI, dt_s=1e-4)
    assert hit2
    for name in ("cores", "core_of_neuron", "dest_indptr", "dest_core", "dest_pair", "hops_ew", "hops_ns",
                 "pairs"):
        np.testing.assert_array_equal(getattr(routes2, name), getattr(expected, name))
    for a, b in zip(routes2.syn_count, expected.syn_count, strict=True):
        np.testing.assert_array_equal(a, b)
    net3, _, hit3 = compiled_and_placed(nir_path, LOIHI, dt_s=1e-4)  # map still reads the same entry
    assert hit3 and net3.n_synapses == net.n_synapses
