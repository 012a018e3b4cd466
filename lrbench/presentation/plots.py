"""PNG plots for the report (matplotlib, Agg backend): per-query delta vs baseline, quality vs latency,
and the Pareto front of quality vs cost when a dataset has a sweep (e.g. compress.ratio)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lrbench.presentation.report import Plot, Report, paired_values, slug
from lrbench.evaluation.measures import higher_is_better

MAX_DELTA_PANELS = 6
#: (axis label, Profile field, log scale): the first one every point reports is the Pareto plot's cost axis
COST_KEYS = [("forward FLOPs per query", "flops_per_query", True), ("parameters", "params", False),
             ("p50 latency (ms)", "latency_ms_p50", True)]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        from lrbench.errors import LrbenchError

        raise LrbenchError("matplotlib is not installed, so the report cannot draw its plots",
                           hint="pip install 'lrbench[report]', or pass --no-plots") from None

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)


def _axis_scale(ax, log: bool) -> None:
    if log:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())


def delta_plot(report: Report, dataset: str, out: Path) -> Plot | None:
    info = report.stats.get(dataset) or {}
    base, others, measures = info.get("base"), info.get("others") or [], info.get("measures") or []
    if base is None or not others or not measures:
        return None
    display, canon = measures[0]
    higher = higher_is_better(canon)
    shown = others[:MAX_DELTA_PANELS]
    plt = _pyplot()
    fig, axes = plt.subplots(len(shown), 1, figsize=(7.5, 1.9 * len(shown) + 0.6), squeeze=False, sharey=True)
    for ax, cell in zip(axes[:, 0], shown):
        x, y = paired_values(cell, base, canon)
        d = np.sort(x - y)[::-1]
        better, worse = (d > 0, d < 0) if higher else (d < 0, d > 0)
        colors = np.where(better, "#2a9d4b", np.where(worse, "#c8423b", "#999999"))
        ax.bar(np.arange(len(d)), d, width=1.0, color=colors, linewidth=0)
        ax.axhline(0, color="black", linewidth=0.6)
        wins, losses = int(better.sum()), int(worse.sum())
        ax.set_title(f"{cell.system}: mean Δ {d.mean():+.4f}, {wins} better / {len(d) - wins - losses} equal / "
                     f"{losses} worse", fontsize=9, loc="left")
        ax.set_xlim(-0.5, max(len(d), 1) - 0.5)
        ax.set_ylabel(f"Δ {display}", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("queries, sorted by difference", fontsize=8)
    fig.suptitle(f"{dataset}: per-query {display} difference vs {base.system}", fontsize=10)
    fig.tight_layout()
    path = out / f"delta-{slug(dataset)}.png"
    _save(fig, path)
    title = f"Per-query {display} difference against {base.system} on {dataset}"
    if len(others) > len(shown):
        title += f" (first {len(shown)} of {len(others)} systems)"
    return Plot(title, path)


def quality_latency_plot(report: Report, out: Path) -> Plot | None:
    data = report.data
    datasets = [d for d in data.datasets()
                if any(c.profile.latency_ms_p50 for c in data.cells_of(d))]
    if not datasets:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets), 3.8), squeeze=False)
    systems = list(dict.fromkeys(c.system for c in data.cells))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, dataset in zip(axes[0], datasets):
        display, canon = data.measures(dataset)[0]
        xs = []
        for cell in data.cells_of(dataset):
            latency = cell.profile.latency_ms_p50
            score = cell.score(canon)
            if latency is None or score is None:
                continue
            xs.append(latency)
            ax.scatter([latency], [score], s=36, zorder=3, color=colors[systems.index(cell.system) % len(colors)])
            ax.annotate(cell.system, (latency, score), textcoords="offset points", xytext=(4, 4), fontsize=7)
        log = bool(xs) and min(xs) > 0 and max(xs) / min(xs) > 20
        _axis_scale(ax, log)
        ax.margins(x=0.3, y=0.2)
        ax.set_xlabel("p50 latency per query (ms" + (", log" if log else "") + ")", fontsize=8)
        ax.set_ylabel(display, fontsize=8)
        ax.set_title(dataset, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    fig.suptitle("Quality vs latency (left is faster)", fontsize=10)
    fig.tight_layout()
    path = out / "quality-latency.png"
    _save(fig, path)
    return Plot("Quality against p50 latency per system", path)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated (lower cost and higher quality), by increasing cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _sweep_value(cell) -> float | None:
    for value in cell.point.values():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def pareto_plot(report: Report, dataset: str, out: Path) -> Plot | None:
    data = report.data
    cells = data.cells_of(dataset)
    if not any(c.point for c in cells):
        return None
    display, canon = data.measures(dataset)[0]
    label, log = None, False
    for name, attr, is_log in COST_KEYS:
        if all(getattr(c.profile, attr) is not None for c in cells if c.point):
            label, log = name, is_log
            cost = lambda c, attr=attr: getattr(c.profile, attr)  # noqa: E731
            break
    if label is None:
        key = next(iter(next(c for c in cells if c.point).point))
        label, cost = f"sweep value ({key})", _sweep_value
        cells = [c for c in cells if c.point]
    pts, used = [], []
    for c in cells:
        x, y = cost(c), c.score(canon)
        if x is not None and y is not None:
            pts.append((x, y))
            used.append(c)
    if len(pts) < 2:
        return None
    sign = 1.0 if higher_is_better(canon) else -1.0
    front = pareto_front([(x, sign * y) for x, y in pts])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in dict.fromkeys(c.system_name for c in used):
        idx = [i for i, c in enumerate(used) if c.system_name == name]
        ax.scatter([pts[i][0] for i in idx], [pts[i][1] for i in idx], s=30, zorder=3, label=name)
    for i, c in enumerate(used):
        tag = ",".join(f"{k.split('.')[-1]}={v}" for k, v in c.point.items()) if c.point else c.system
        ax.annotate(tag, pts[i], textcoords="offset points", xytext=(4, 4), fontsize=7)
    fx, fy = [pts[i][0] for i in front], [pts[i][1] for i in front]
    ax.step(fx, fy, where="post", color="black", linewidth=1.0, zorder=2, label="Pareto front")
    _axis_scale(ax, log and min(p[0] for p in pts) > 0 and max(p[0] for p in pts) / min(p[0] for p in pts) > 20)
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel(label, fontsize=8)
    ax.set_ylabel(display, fontsize=8)
    ax.set_title(f"{dataset}: {display} vs {label} ({'up' if sign > 0 else 'down'} and left is better)",
                 fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    path = out / f"pareto-{slug(dataset)}.png"
    _save(fig, path)
    on_front = ", ".join(used[i].system for i in front)
    return Plot(f"Pareto front of {display} vs {label} on {dataset}; on the front: {on_front}", path)


def draw_plots(report: Report, out: Path, prefix: str = "") -> list[Plot]:
    out.mkdir(parents=True, exist_ok=True)
    plots: list[Plot] = []
    for dataset in report.data.datasets():
        plot = delta_plot(report, dataset, out)
        if plot:
            plots.append(plot)
    plot = quality_latency_plot(report, out)
    if plot:
        plots.append(plot)
    for dataset in report.data.datasets():
        plot = pareto_plot(report, dataset, out)
        if plot:
            plots.append(plot)
    if prefix:
        for plot in plots:
            target = plot.path.with_name(prefix + plot.path.name)
            plot.path.replace(target)
            plot.path = target
    return plots
