"""The report figures: Pareto selection by hand, and what each plot draws (read back from the figure)."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from harness import plots


def test_pareto_front_keeps_only_undominated_points():
    # (energy, accuracy): b dominates a (less energy, more accuracy); d is dominated by c.
    points = [(2.0, 0.80), (1.0, 0.85), (3.0, 0.95), (4.0, 0.90)]
    assert plots.pareto_front(points) == [1, 2]


def test_pareto_front_of_equal_energy_keeps_the_more_accurate():
    assert plots.pareto_front([(1.0, 0.5), (1.0, 0.7)]) == [1]


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Each plot's figure, kept open instead of saved, so the test reads what was drawn."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return Path(path)

    monkeypatch.setattr(plots, "_save", keep)
    yield figures
    for fig in figures:
        plt.close(fig)


def test_energy_breakdown_draws_each_component_in_microjoules_and_labels_unknown(drawn, tmp_path):
    plots.energy_breakdown({"synapse": 1e-6, "neuron": 2.5e-6, "static": None}, tmp_path / "e.png")
    ax = drawn[0].axes[0]
    assert [b.get_height() for b in ax.patches] == pytest.approx([1.0, 2.5, 0.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["synapse", "neuron", "static"]
    assert [a.get_text() for a in ax.texts] == ["1", "2.5", "unknown"]


def test_utilization_heatmap_puts_the_busiest_core_of_each_tile_on_its_tile(drawn, tmp_path):
    # cores (x, y): two cores on tile (0, 0) at 0.2 and 0.7, one on (2, 1) at 1.0; the rest unused (blank)
    plots.utilization_heatmap(np.array([0.2, 0.7, 1.0]), np.array([0, 0, 2]), np.array([0, 0, 1]), 3, 2, 2,
                              tmp_path / "u.png")
    grid = np.ma.filled(drawn[0].axes[0].images[0].get_array(), np.nan)
    expected = np.array([[0.7, np.nan, np.nan], [np.nan, np.nan, 1.0]])
    assert np.array_equal(np.isnan(grid), np.isnan(expected))
    assert grid[0, 0] == pytest.approx(0.7) and grid[1, 2] == pytest.approx(1.0)


def test_spike_raster_stacks_layers_with_a_gap(drawn, tmp_path):
    lif1 = np.zeros((3, 2), bool)
    lif1[0, 1] = lif1[2, 0] = True
    lif2 = np.zeros((3, 1), bool)
    lif2[1, 0] = True
    plots.spike_raster({"lif1": lif1, "lif2": lif2}, tmp_path / "r.png")
    ax = drawn[0].axes[0]
    points = [c.get_offsets().tolist() for c in ax.collections]
    assert points == [[[0, 1], [2, 0]], [[1, 4]]]  # lif2 starts at 2 neurons + a gap of 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lif1", "lif2"]


def test_pareto_plot_draws_the_front_per_profile_and_says_when_energy_is_unknown(drawn, tmp_path):
    cells = [{"profile": "a", "method": "m1", "energy_j": 2e-6, "accuracy": 0.8},
             {"profile": "a", "method": "m2", "energy_j": 1e-6, "accuracy": 0.85},
             {"profile": "a", "method": "m3", "energy_j": 3e-6, "accuracy": 0.95},
             {"profile": "b", "method": "m1", "energy_j": None, "accuracy": 0.9}]
    plots.pareto_plot(cells, tmp_path / "p.png")
    ax_a, ax_b = drawn[0].axes[:2]
    [front] = ax_a.get_lines()
    assert front.get_xdata().tolist() == pytest.approx([1.0, 3.0])  # µJ: m2 then m3; m1 is dominated
    assert front.get_ydata().tolist() == pytest.approx([85.0, 95.0])
    assert sum(len(c.get_offsets()) for c in ax_a.collections) == 3
    assert ax_b.get_title() == "b (energy unknown)" and not ax_b.collections


def test_plots_write_the_file_they_return(tmp_path):
    path = plots.energy_breakdown({"synapse": 1e-6}, tmp_path / "e.png")
    assert path == tmp_path / "e.png"
    image = plt.imread(path)
    assert image.ndim == 3 and len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 10
