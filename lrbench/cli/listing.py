"""Tables for `lrbench list`."""

from __future__ import annotations

from rich.table import Table


def runners_table() -> Table:
    from lrbench.runners.registry import RUNNERS

    table = Table(title="runner types")
    for col in ("type", "version", "tasks", "provided by", "description"):
        table.add_column(col)
    for name, entry in RUNNERS.entries().items():
        try:
            cls = entry.load()
            table.add_row(name, cls.version, ",".join(cls.task_kinds), entry.module, cls.describe())
        except Exception as exc:
            table.add_row(name, "?", "?", entry.target, f"[red]fails to import: {exc}[/red]")
    return table


_AVAILABILITY = {"download": "[dim]download[/dim]", "missing": "[red]missing[/red]"}


def datasets_table() -> Table:
    from lrbench.datasets import CATALOGUE, SCHEMES

    table = Table(title="dataset catalogue (any scheme:source id works too: " +
                  ", ".join(s + ":" for s in sorted(SCHEMES)) + "); offline: found in the mirror, the "
                  "ir_datasets cache or $LRBENCH_DATA ({data})")
    for col in ("name", "source", "docs", "queries", "default measures", "offline", "note"):
        table.add_column(col)
    for e in CATALOGUE.values():
        relevance = f"; relevance {e.relevance}" if e.relevance else ""
        table.add_row(e.name, e.sources[0], f"{e.docs:,}" if e.docs else "", str(e.queries) if e.queries else "",
                      ", ".join(e.measures), _AVAILABILITY.get(e.availability(), e.availability()), e.note + relevance)
    return table


def measures_table() -> Table:
    import ir_measures

    from lrbench.evaluation.measures import CLASSIFICATION, LANGUAGE_MODELLING

    table = Table(title="measures: ranking in ir-measures syntax (parameters such as rel=2, judged_only, cutoff @k), "
                        "mean of per-query values, higher is better")
    for col in ("measure", "task", "better", "aggregation", "description"):
        table.add_column(col)
    for name, measure in sorted(ir_measures.measures.registry.items()):
        doc = (getattr(measure, "__doc__", "") or "").strip().splitlines()
        table.add_row(name, "ranking", "higher", "mean", doc[0] if doc else "")
    for group in (CLASSIFICATION, LANGUAGE_MODELLING):
        for m in dict.fromkeys(group.values()):
            aliases = sorted(a for a, target in group.items() if target is m and a != m.name.lower())
            table.add_row(m.name, m.task, "higher" if m.higher_is_better else "lower", m.aggregation,
                          f"also: {', '.join(aliases)}" if aliases else "")
    return table


LISTINGS = {"runners": runners_table, "datasets": datasets_table, "measures": measures_table}
