"""Every framework's own default export, read with --from auto and its own dialect, runs in chipfit's float
reference (generic-45nm) with the framework's own output spikes, per step (fixtures: tools/interop)."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest

from chipsim import nir_read
from chipsim.compile import CompileError, compile_graph
from chipsim.place import place
from chipsim.simulate import simulate
from hwprofiles import load

DATA = Path(__file__).parent / "data" / "interop"
CASES = sorted(
    (p.parent.name, p.stem) for p in DATA.glob("*/*.nir") if p.parent.name not in ("chipfit", "export")
)
EXPECTED_DIALECT = {
    "snntorch": "snntorch",
    "norse": "norse",
    "sinabs": "sinabs",
    "rockpool": "rockpool",
    "spyx": "spyx",
}

def run_fixture(framework: str, model: str, source: str):
    profile = load("generic-45nm")
    imported = nir_read.for_profile(nir_read.load(DATA / framework / f"{model}.nir", source), profile)
    net = compile_graph(imported.graph, profile, integrator=imported.convention.integrator)
    data = np.load(DATA / framework / f"{model}.npz")
    x = data["input"].reshape(data["input"].shape[0], -1)
    act = simulate(net, place(net, profile), x)
    return imported.convention, np.asarray(act.output_spikes)[:, 0, :], data["output"]


def test_fixtures_cover_every_framework_and_model():
    frameworks = {p.name for p in DATA.iterdir() if p.is_dir()} - {"chipfit", "export", "digits"}
    assert frameworks == set(EXPECTED_DIALECT)
    for fw in frameworks:
        for model in ("mlp", "cnn"):
            info = json.loads((DATA / fw / f"{model}.json").read_text())
            assert (DATA / fw / f"{model}.nir").exists() or info.get("error"), (fw, model)


@pytest.mark.parametrize("framework,model", CASES)
@pytest.mark.parametrize("source", ["auto", "given"])
def test_float_reference_spikes_as_the_framework_per_step(framework, model, source):
    convention, out, ref = run_fixture(framework, model, "auto" if source == "auto" else framework)
    assert convention.dialect == EXPECTED_DIALECT[framework]
    assert ref.sum() > 0, "the fixture must fire, or the comparison says nothing"
    assert convention.output_delay_steps == 0  # Spyx's lag is simulated (Delay nodes), not shifted here
    np.testing.assert_array_equal(out, ref)


def test_spyx_lag_is_a_one_step_delay_on_every_projection_where_the_chip_has_delays():
    imported = nir_read.load(DATA / "spyx" / "mlp_beta09.nir", "spyx")
    assert imported.convention.output_delay_steps == 2 and imported.convention.projection_delay_steps == 1
    float_ref = nir_read.for_profile(imported, load("generic-45nm"))
    assert float_ref.convention.lag_simulated and float_ref.convention.output_delay_steps == 0
    net = compile_graph(float_ref.graph, load("generic-45nm"))
    assert [p.delay_steps for p in net.projections] == [1, 1]
    on_loihi = compile_graph(nir_read.for_profile(imported, load("loihi")).graph, load("loihi"))
    assert [p.delay_steps for p in on_loihi.projections] == [2, 2]  # Loihi's own step, then Spyx's
    speck = nir_read.for_profile(imported, load("speck"))  # no programmable delay: reported, not simulated
    assert not speck.convention.lag_simulated and speck.graph is imported.graph
    assert any("lag chipsim's by 2 step(s)" in w for w in speck.warnings)


def test_without_the_simulated_lag_spyx_is_two_steps_behind():
    """The lag is what the Delay nodes model: without them chipsim's spikes come 2 steps before Spyx's."""
    imported = nir_read.load(DATA / "spyx" / "mlp.nir", "spyx")
    profile = load("generic-45nm")
    net = compile_graph(imported.graph, profile)
    data = np.load(DATA / "spyx" / "mlp.npz")
    out = np.asarray(simulate(net, place(net, profile), data["input"]).output_spikes)[:, 0]
    ref = data["output"]
    assert not np.array_equal(out, ref)
    np.testing.assert_array_equal(out[:-2], ref[2:])


def test_per_neuron_time_constants_run_in_float_and_are_refused_in_fixed_point():
    """Spyx's default LIF draws beta per neuron: the float reference takes it, a fixed-point chip cannot."""
    imported = nir_read.load(DATA / "spyx" / "mlp.nir", "spyx")
    taus = np.asarray(imported.graph.nodes["layer_1"].tau)
    assert np.ptp(taus) > 0
    net = compile_graph(imported.graph, load("generic-45nm"))
    assert net.populations[1].params.tau_mem_per_neuron_s is not None
    with pytest.raises(CompileError, match="tau differs between neurons"):
        compile_graph(imported.graph, load("loihi"))


def test_multi_spike_fixture_fires_several_spikes_a_step():
    _, out, ref = run_fixture("sinabs", "mlp", "sinabs")
    assert ref.max() >= 2 and out.max() == ref.max()


def test_auto_says_what_it_assumed():
    convention, _, _ = run_fixture("snntorch", "mlp", "auto")
    text = convention.describe()
    assert "snntorch" in text and "dt 0.0001 s (dialect default)" in text and "after the next decay" in text


def test_graph_without_dt_warns_and_names_the_assumption():
    graph = nir_read.read_file(DATA / "snntorch" / "mlp.nir")
    imported = nir_read.import_graph(graph, "nir")
    assert imported.convention.dt_s is None
    assert any("no dt" in w and "profile's time step" in w for w in imported.warnings)


def test_dt_longer_than_tau_warns():
    graph = nir_read.read_file(DATA / "snntorch" / "mlp.nir")  # tau = 1 ms
    imported = nir_read.import_graph(graph, "snntorch", dt_s=2e-3)
    assert any("tau 0.001 s < dt 0.002 s" in w for w in imported.warnings)


def test_reset_option_overrides_the_dialect():
    graph = nir_read.read_file(DATA / "snntorch" / "mlp.nir")
    imported = nir_read.import_graph(graph, "snntorch", reset="zero")
    assert imported.convention.reset == "zero" and not imported.convention.reset_after_decay
    assert all(n.metadata["reset"] == "zero" for n in nir_read.neuron_nodes(imported.graph).values())


def test_chip_without_the_graphs_reset_gets_a_fit_violation():
    imported = nir_read.load(DATA / "sinabs" / "mlp.nir", "sinabs")  # subtract, multi-spike
    profile = load("loihi")
    net = compile_graph(imported.graph, profile)
    fit = place(net, profile).fit
    kinds = {v.constraint for v in fit.violations}
    assert not fit.fits and {"reset_mode", "spike_mode"} <= kinds
    assert any("resets by 'subtract'" in str(v) for v in fit.violations)


@pytest.mark.parametrize("framework", ["snntorch", "norse", "sinabs", "rockpool"])
def test_reading_the_export_as_plain_nir_does_not_reproduce_the_framework(framework):
    """The dialect is what makes the spikes agree: plain NIR at the profile's 1 ms step does not."""
    _, out, ref = run_fixture(framework, "mlp", "nir")
    assert not np.array_equal(out, ref)


def test_auto_that_cannot_tell_says_so_and_what_it_assumed():
    n = 3
    cell = nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))
    graph = nir.NIRGraph({"input": nir.Input(np.array([n])), "w": nir.Linear(np.eye(n)), "lif": cell,
                          "output": nir.Output(np.array([n]))},
                         [("input", "w"), ("w", "lif"), ("lif", "output")], type_check=False)
    imported = nir_read.import_graph(graph, "auto")
    assert imported.convention.dialect == "nir" and imported.convention.detected == "could not tell"
    assert any("could not tell" in w and "assumed canonical NIR" in w for w in imported.warnings)
