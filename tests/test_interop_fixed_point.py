"""The frameworks' fixtures on a fixed-point chip (Loihi): where the chip runs the graph's semantics, every
output neuron's spike count is the framework's within the budget chipfit derives from the quantization
its fit report states (chipsim.count_budget); where it does not, chipfit says why (a fit violation, a
dropped leak, a refusal), and nothing is compared. docs/interop.md has the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chipsim import nir_read
from chipsim.compile import CompileError, compile_graph
from chipsim.count_budget import count_budget, semantics_kept
from chipsim.network import pipeline_steps
from chipsim.place import place
from chipsim.simulate import simulate
from hwprofiles import load

DATA = Path(__file__).parent / "data" / "interop"
IMPORTS = sorted(
    (p.parent.name, p.stem) for p in DATA.glob("*/*.nir") if p.parent.name not in ("chipfit", "export")
)
EXPORTS = [("snntorch", "mlp"), ("snntorch", "cnn"), ("norse", "mlp"), ("norse", "cnn")]
COMPARED = {("norse", "mlp")}  # the import fixtures whose semantics Loihi runs (reset to zero, one spike)


def on_chip(graph_path: Path, source: str, x: np.ndarray, profile_name: str = "loihi"):
    """(compared, why not, chip output counts, float reference output counts, the output's budget)."""
    profile, ref_profile = load(profile_name), load("generic-45nm")
    imported = nir_read.load(graph_path, source)
    chip_import = nir_read.for_profile(imported, profile)
    net = compile_graph(chip_import.graph, profile, integrator=imported.convention.integrator)
    placement = place(net, profile)
    kept, why = semantics_kept(net, placement.fit.violations)
    steps = pipeline_steps(net)  # Loihi's one step a layer: run on until the last input reaches the output
    padded = np.concatenate([x, np.zeros((steps, x.shape[1]), x.dtype)])
    chip = simulate(net, placement, padded)
    ref_import = nir_read.for_profile(imported, ref_profile)
    ref_net = compile_graph(ref_import.graph, ref_profile, integrator=imported.convention.integrator)
    ref = simulate(ref_net, place(ref_net, ref_profile), x)
    pairs = zip(chip.spike_counts, ref.spike_counts, strict=True)
    measured = [np.abs(a.astype(float) - b.astype(float)) for a, b in pairs]
    budget = count_budget(net, ref_net, ref.spike_counts, len(padded), upstream=measured)
    out = np.asarray(chip.output_spikes)[:, 0].sum(axis=0)
    return kept, why, out, np.asarray(ref.output_spikes)[:, 0].sum(axis=0), budget[-1]


@pytest.mark.parametrize("framework,model", IMPORTS)
def test_framework_fixture_on_loihi_is_within_the_quantization_budget_or_says_why_not(framework, model):
    data = np.load(DATA / framework / f"{model}.npz")
    x = data["input"].reshape(data["input"].shape[0], -1)
    theirs = data["output"].sum(axis=0)
    try:
        kept, why, ours, _, budget = on_chip(DATA / framework / f"{model}.nir", framework, x)
    except CompileError as error:  # Spyx's default LIF: a tau per neuron, Loihi has one per compartment group
        assert error.exit_code == 2 and "\n" not in str(error) and "node '" in str(error)
        assert (framework, model) not in COMPARED
        return
    assert kept == ((framework, model) in COMPARED), why
    if not kept:
        assert why  # the fit report (or compile's notes) names what the chip does differently
        return
    assert np.all(np.abs(ours - theirs) <= budget), (ours, theirs, budget)
    assert budget.max() < max(theirs.max(), 1) + 3  # the budget says something: not all of the counts


@pytest.mark.parametrize("framework,model", EXPORTS)
def test_chipfits_model_on_loihi_is_within_the_budget_of_the_frameworks_run_of_its_export(framework, model):
    x = np.load(DATA / "chipfit" / f"{model}.npz")["input"]
    x = x.reshape(x.shape[0], -1)
    theirs = np.load(DATA / "export" / framework / f"{model}.out.npz")["output"].sum(axis=0)
    kept, why, ours, _, budget = on_chip(DATA / "chipfit" / f"{model}.nir", "auto", x)
    assert kept, why
    assert theirs.sum() > 0
    assert np.all(np.abs(ours - theirs) <= budget), (ours, theirs, budget)


def test_the_budget_grows_with_the_weight_error_the_fit_report_states():
    """Fewer weight bits, a larger max_abs_error in the report, a larger budget (and 0 where exact)."""
    import dataclasses

    profile, ref_profile = load("loihi"), load("generic-45nm")
    imported = nir_read.load(DATA / "norse" / "mlp.nir", "norse")
    net = compile_graph(imported.graph, profile)
    ref_net = compile_graph(imported.graph, ref_profile)
    x = np.load(DATA / "norse" / "mlp.npz")["input"]
    counts = simulate(ref_net, place(ref_net, ref_profile), x).spike_counts
    base = count_budget(net, ref_net, counts, 20)[-1]
    worse = dataclasses.replace(net, quantization=tuple(
        dataclasses.replace(q, max_abs_error=4 * q.max_abs_error) for q in net.quantization))
    assert np.all(count_budget(worse, ref_net, counts, 20)[-1] >= base) and base.min() >= 1


def test_a_chip_that_subtracts_at_the_spike_notes_the_graphs_subtract_after_decay():
    """snnTorch's default subtracts the threshold after the next decay; a fixed-point chip with a subtract
    reset (xylo-audio2) subtracts it at the spike: compile says so in a fit note; the float reference runs
    the graph's order and has no such note."""
    imported = nir_read.load(DATA / "snntorch" / "mlp.nir", "snntorch")
    assert imported.convention.reset_after_decay
    notes = {}
    for name in ("xylo-audio2", "generic-45nm"):
        profile = load(name)
        graph = nir_read.for_profile(imported, profile).graph
        net = compile_graph(graph, profile, integrator=imported.convention.integrator)
        notes[name] = [n for n in net.notes if "after the next decay" in n]
    assert notes["xylo-audio2"] and "xylo-audio2 subtracts it at the spike" in notes["xylo-audio2"][0]
    assert notes["generic-45nm"] == []
