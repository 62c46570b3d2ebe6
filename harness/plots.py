"""The report's figures (PNG, matplotlib Agg): energy breakdown, core utilization on the mesh, a spike
raster of one sample, and accuracy-vs-energy Pareto fronts for sweeps. Each takes plain data, writes one
file atomically, and returns its path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from compress.files import write_atomic  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return out


def energy_breakdown(energy_j: Mapping[str, float | None], path: str | Path, title: str = "") -> Path:
    """Bar chart of energy per inference by component (J): the dynamic components in blue, static apart in
    grey, and the two totals (dynamic, static) beside them; unknown components are labelled, not drawn."""
    dynamic = [n for n in energy_j if n != "static"]
    parts = [energy_j[n] for n in dynamic]
    names = [*dynamic]
    values = [*parts]
    colors = ["#4477aa"] * len(dynamic)
    if "static" in energy_j:
        total = None if None in parts else float(sum(parts))
        names += ["static", "dynamic\ntotal", "static\ntotal"]
        values += [energy_j["static"], total, energy_j["static"]]
        colors += ["#999999", "#224466", "#666666"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    known = [v if v is not None else 0.0 for v in values]
    bars = ax.bar(names, np.asarray(known) * 1e6, color=colors)
    for bar, value in zip(bars, values, strict=True):
        label = "unknown" if value is None else f"{value * 1e6:.3g}"
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=8)
    ax.set_ylabel("energy per inference (µJ)")
    ax.set_title(title or "Energy per inference by component")
    return _save(fig, path)


def utilization_heatmap(
    use_per_core: np.ndarray, core_x: np.ndarray, core_y: np.ndarray, width: int, height: int,
    cores_per_tile: int, path: str | Path, title: str = "",
) -> Path:
    """Per-tile utilization on the mesh: the busiest resource of each core (0..1), max over the tile."""
    grid = np.full((height, width), np.nan)
    for use, x, y in zip(use_per_core, core_x, core_y, strict=True):
        if 0 <= x < width and 0 <= y < height:
            grid[y, x] = np.nanmax([grid[y, x], use]) if not np.isnan(grid[y, x]) else use
    fig, ax = plt.subplots(figsize=(max(3.0, width * 0.55), max(2.2, height * 0.55)))
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="lower")
    fig.colorbar(image, ax=ax, label="utilization of the binding resource")
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    ax.set_title(title or f"Core utilization ({cores_per_tile} cores/tile; blank = unused)")
    return _save(fig, path)


def spike_raster(
    spikes_by_layer: Mapping[str, np.ndarray], path: str | Path, title: str = "",
) -> Path:
    """Raster of one sample: ``spikes_by_layer[name]`` is bool [steps, neurons]; layers stacked upward."""
    fig, ax = plt.subplots(figsize=(6, 4))
    offset = 0
    ticks, labels = [], []
    for index, (name, raster) in enumerate(spikes_by_layer.items()):
        steps, neurons = np.nonzero(np.asarray(raster))
        ax.scatter(steps, neurons + offset, s=3, marker="|", color=f"C{index % 10}")
        ticks.append(offset + raster.shape[1] / 2)
        labels.append(name)
        offset += raster.shape[1] + 2
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("time step")
    ax.set_title(title or "Spike raster of one sample")
    return _save(fig, path)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of points (energy, accuracy) not dominated: no other point has <= energy and >= accuracy
    with one strictly better. Sorted by energy."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best_accuracy = [], -np.inf
    for i in order:
        if points[i][1] > best_accuracy:
            front.append(i)
            best_accuracy = points[i][1]
    return front


def pareto_plot(
    cells: Sequence[Mapping], path: str | Path, title: str = "",
) -> Path:
    """Accuracy on chip vs energy per inference, one panel per profile, Pareto front marked.

    ``cells``: mappings with 'profile', 'method', 'energy_j' (None when unknown), 'accuracy'.
    """
    profiles = sorted({c["profile"] for c in cells})
    fig, axes = plt.subplots(1, len(profiles), figsize=(4.4 * len(profiles), 3.6), squeeze=False,
                             layout="constrained")
    methods = sorted({c["method"] for c in cells})
    for ax, profile in zip(axes[0], profiles, strict=True):
        mine = [c for c in cells if c["profile"] == profile and c.get("energy_j") is not None
                and c.get("accuracy") is not None]
        for c in mine:
            ax.scatter(c["energy_j"] * 1e6, c["accuracy"] * 100, color=f"C{methods.index(c['method']) % 10}",
                       label=c["method"], s=28)
        front = pareto_front([(c["energy_j"], c["accuracy"]) for c in mine])
        if front:
            xs = [mine[i]["energy_j"] * 1e6 for i in front]
            ys = [mine[i]["accuracy"] * 100 for i in front]
            ax.step(xs, ys, where="post", color="black", linewidth=1, label="Pareto front")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        if unique:
            ax.legend(unique.values(), unique.keys(), fontsize=7)
        else:
            ax.text(0.5, 0.5, "energy unknown:\nthe profile has no published\nper-operation figures",
                    ha="center", va="center", transform=ax.transAxes, fontsize=9)
        ax.set_xlabel("energy per inference (µJ)")
        ax.set_ylabel("accuracy on chip (%)")
        ax.set_title(profile if mine else f"{profile} (energy unknown)")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
