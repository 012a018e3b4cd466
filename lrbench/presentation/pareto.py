"""Pareto plots of quality vs cost (parameters, latency) for a compression sweep (matplotlib, PNG)."""

from __future__ import annotations

from pathlib import Path

from lrbench.presentation.plots import pareto_front
from lrbench.evaluation.measures import higher_is_better


def _panel(ax, rows: list[dict], quality: str, key: str, label: str, group: str = "method") -> None:
    """One scatter per group (marker), every point labelled, the Pareto front (lower cost, better quality) dashed."""
    usable = [r for r in rows if r.get(key) is not None and r.get(quality) is not None]
    markers = "osD^v<>Px*"
    for m, name in enumerate(dict.fromkeys(r.get(group, "") for r in rows)):
        part = [r for r in usable if r.get(group, "") == name]
        ax.scatter([r[key] for r in part], [r[quality] for r in part], marker=markers[m % len(markers)],
                   label=name or "model", s=40)
        for r in part:
            ax.annotate(str(r.get("label", "")), (r[key], r[quality]), fontsize=7, alpha=0.7,
                        xytext=(3, 3), textcoords="offset points")
    sign = 1.0 if higher_is_better(quality) else -1.0
    front = pareto_front([(r[key], sign * r[quality]) for r in usable])
    if front:
        ax.plot([usable[i][key] for i in front], [usable[i][quality] for i in front], "k--", lw=1,
                label="Pareto front")
    ax.set_xlabel(label)
    ax.set_ylabel(quality)
    ax.grid(alpha=0.3)
    if "perplexity" in quality:  # spans orders of magnitude under compression
        ax.set_yscale("log")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_pareto(rows: list[dict], path: Path, quality: str, costs: list[tuple[str, str]], title: str = "") -> Path:
    """rows: dicts with 'label', 'method', the quality key and each cost key; one panel per cost.

    costs: [(key, axis label)], e.g. [("params", "parameters"), ("latency_ms", "CPU ms per text")].
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(costs), figsize=(6 * len(costs), 4.5), squeeze=False)
    for ax, (key, label) in zip(axes[0], costs):
        _panel(ax, rows, quality, key, label)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def pareto_rows(results_dir: Path, measure: str | None = None, dataset: str | None = None) -> dict[str, tuple]:
    """Per dataset of a results folder: (quality measure, rows) with each cell's label, method, system (its name
    without the sweep point), quality, parameters (the profile's `params`) and latency."""
    from lrbench.store.manifest import load

    board, info = load(Path(results_dir))
    out = {}
    for name in ([dataset] if dataset else list(dict.fromkeys(board["dataset"]))):
        part = board[board["dataset"] == name]
        wanted = measure or part["measure"].iloc[0]
        rows = []
        for cell in info["cells"]:
            if cell["dataset"] != name:
                continue
            hit = part[(part["system"] == cell["system"]) & (part["measure"] == wanted)]
            if hit.empty:
                continue
            prof = cell.get("profile", {})
            rate = next((prof[k] for k in ("texts_per_second", "tokens_per_second", "examples_per_second",
                                           "docs_per_second") if prof.get(k)), None)
            latency = 1000.0 / rate if rate else prof.get("wall_seconds")
            comp = prof.get("compression") or {}
            rows.append({"label": cell["system"], "method": comp.get("method", "dense"),
                         "system": cell["system"].split("[")[0], wanted: float(hit["value"].iloc[0]),
                         "params": prof.get("params"), "latency": latency, "flops": prof.get("flops_per_query")})
        if rows:
            out[name] = (wanted, rows)
    return out


def write_pareto(results_dir: Path, measure: str | None = None, dataset: str | None = None) -> list[Path]:
    """One PNG per dataset next to a results folder's leaderboard: quality vs forward FLOPs per query (when every
    cell counted them), vs parameters and vs latency.

    Parameters come from each cell's profile (`params`), latency from its profile's throughput
    (`texts_per_second`, `tokens_per_second`, `examples_per_second`) or its wall time.
    """
    from lrbench.safety import safe_file_name
    from lrbench.store.manifest import load

    results_dir = Path(results_dir)
    suite = load(results_dir)[1].get("suite", "")
    return [plot_pareto(rows, results_dir / f"pareto-{safe_file_name(name)}.png", wanted, _costs(rows),
                        title=f"{suite}: {name}")
            for name, (wanted, rows) in pareto_rows(results_dir, measure, dataset).items()]


def _costs(rows: list[dict]) -> list[tuple[str, str]]:
    costs = [("params", "parameters"), ("latency", "ms per item (or s per cell)")]
    if all(r.get("flops") for r in rows):  # hardware-independent: comparable across machines
        costs.insert(0, ("flops", "forward FLOPs per query (or example)"))
    return costs


def write_combined_pareto(results_dirs: list[Path], path: Path, measure: str | None = None) -> Path:
    """One PNG for several results folders: a quality-vs-parameters panel per (folder, dataset), one marker per
    system, so sweeps of different models and measures sit side by side in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrbench.store.manifest import load

    panels = []
    for folder in results_dirs:
        suite = load(Path(folder))[1].get("suite", "")
        panels += [(f"{suite}: {name}", wanted, rows)
                   for name, (wanted, rows) in pareto_rows(Path(folder), measure).items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5), squeeze=False)
    for ax, (title, wanted, rows) in zip(axes[0], panels):
        _panel(ax, rows, wanted, "params", "parameters (sparse indices included)", group="system")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    return _save(fig, path)
