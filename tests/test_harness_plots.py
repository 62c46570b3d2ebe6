"""The report figures: Pareto selection by hand, and each plot writes a PNG."""

import numpy as np

from harness import plots


def test_pareto_front_keeps_only_undominated_points():
    # (energy, accuracy): b dominates a (less energy, more accuracy); d is dominated by c.
    points = [(2.0, 0.80), (1.0, 0.85), (3.0, 0.95), (4.0, 0.90)]
    assert plots.pareto_front(points) == [1, 2]


def test_pareto_front_of_equal_energy_keeps_the_more_accurate():
    assert plots.pareto_front([(1.0, 0.5), (1.0, 0.7)]) == [1]


def test_plots_write_png_files(tmp_path):
    paths = [
        plots.energy_breakdown({"synapse": 1e-6, "neuron": 2e-6, "static": None}, tmp_path / "e.png"),
        plots.utilization_heatmap(np.array([0.5, 1.0]), np.array([0, 1]), np.array([0, 0]), 2, 1, 1,
                                  tmp_path / "u.png"),
        plots.spike_raster({"lif1": np.eye(4, dtype=bool)}, tmp_path / "r.png"),
        plots.pareto_plot([{"profile": "p", "method": "m", "energy_j": 1e-6, "accuracy": 0.9}],
                          tmp_path / "p.png"),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
