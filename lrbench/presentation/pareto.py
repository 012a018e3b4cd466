"""Pareto plots of quality vs cost (FLOPs, parameters, latency) for a compression sweep (matplotlib, PNG)."""

from __future__ import annotations

from pathlib import Path

from lrbench.presentation.plots import pareto_front
from lrbench.evaluation.measures import higher_is_better


def plot_pareto(rows: list[dict], path: Path, quality: str, costs: list[tuple[str, str]], title: str = "") -> Path:
    """rows: dicts with 'label', 'method', the quality key and each cost key; one panel per cost.

    costs: [(key, axis label)], e.g. [("params", "parameters"), ("latency_ms", "CPU ms per text")].
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(costs), figsize=(6 * len(costs), 4.5), squeeze=False)
    methods = list(dict.fromkeys(r.get("method", "") for r in rows))
    markers = "osD^v<>Px*"
    for ax, (key, label) in zip(axes[0], costs):
        usable = [r for r in rows if r.get(key) is not None and r.get(quality) is not None]
        for m, method in enumerate(methods):
            part = [r for r in usable if r.get("method", "") == method]
            ax.scatter([r[key] for r in part], [r[quality] for r in part], marker=markers[m % len(markers)],
                       label=method or "model", s=40)
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
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_pareto(results_dir: Path, measure: str | None = None, dataset: str | None = None) -> list[Path]:
    """One PNG per dataset next to a results folder's leaderboard: quality vs forward FLOPs per query (when every
    cell counted them), vs parameters and vs latency.

    Parameters come from each cell's profile (`params`), latency from its profile's throughput
    (`texts_per_second`, `tokens_per_second`, `examples_per_second`) or its wall time.
    """
    from lrbench.safety import safe_file_name
    from lrbench.store.manifest import load

    results_dir = Path(results_dir)
    board, info = load(results_dir)
    written = []
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
                         wanted: float(hit["value"].iloc[0]), "params": prof.get("params"), "latency": latency,
                         "flops": prof.get("flops_per_query")})
        if rows:
            costs = [("params", "parameters"), ("latency", "ms per item (or s per cell)")]
            if all(r["flops"] for r in rows):  # hardware-independent: comparable across machines
                costs.insert(0, ("flops", "forward FLOPs per query (or example)"))
            written.append(plot_pareto(rows, results_dir / f"pareto-{safe_file_name(name)}.png", wanted, costs,
                                       title=f"{info.get('suite', '')}: {name}"))
    return written
