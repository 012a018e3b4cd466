"""The per-query view: the queries that gained and lost most between two systems (`lrbench compare --top N`
and the report's per-system sections against the baseline).

Δ = B − A (compare: the second minus the first; report: system − baseline). "Gained" is direction-aware: for a
lower-is-better measure (perplexity) a query gains when its value falls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.evaluation.measures import higher_is_better
from lrbench.presentation.report import Cell, Table
from lrbench.store.resultsdir import CellInfo, ResultsDir

TEXT_CHARS = 80  # query text shown per row; the id names the whole query


@dataclass(frozen=True)
class QueryDelta:
    query_id: str
    text: str | None
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a


@dataclass
class Movers:
    """The top queries by gain and by loss of B against A on one measure."""

    dataset: str
    label_a: str
    label_b: str
    measure: str  # display
    gains: list[QueryDelta] = field(default_factory=list)
    losses: list[QueryDelta] = field(default_factory=list)
    paired: int = 0
    higher: bool = True
    system: str = ""  # what compare pairs (a system, or "A vs B"); empty in the report


def movers(cell_a: CellInfo, cell_b: CellInfo, measure: tuple[str, str], top: int,
           texts: dict[str, str] | None = None, labels: tuple[str, str] | None = None,
           system: str = "") -> Movers:
    """The `top` queries B gained most on and lost most on against A (paired by query id; unchanged queries
    are neither)."""
    display, canon = measure
    x, y = cell_a.values(canon), cell_b.values(canon)
    common = x.index.intersection(y.index)
    texts = texts or {}
    rows = [QueryDelta(str(q), texts.get(str(q)), float(x[q]), float(y[q])) for q in common]
    rows = [r for r in rows if not (math.isnan(r.a) or math.isnan(r.b))]
    sign = 1.0 if higher_is_better(canon) else -1.0
    label_a, label_b = labels or (cell_a.system, cell_b.system)
    out = Movers(cell_a.dataset, label_a, label_b, display, paired=len(rows), higher=sign > 0, system=system)
    out.gains = sorted((r for r in rows if sign * r.delta > 0), key=lambda r: (-sign * r.delta, r.query_id))[:top]
    out.losses = sorted((r for r in rows if sign * r.delta < 0), key=lambda r: (sign * r.delta, r.query_id))[:top]
    return out


def check_top(top: int) -> int:
    if top < 0:
        raise LrbenchError(f"must be 0 or more, not {top}", key="--top", hint="e.g. --top 5; 0 lists none")
    return top


def query_texts(data: ResultsDir, dataset: str, suite_dir: str | Path = ".") -> dict[str, str]:
    """Query id -> text of a dataset, or {} when its dataset cannot be opened here or has no texts."""
    from lrbench.presentation.export import open_cell_dataset

    try:
        return {str(k): str(v) for k, v in open_cell_dataset(data, dataset, Path(suite_dir)).queries().items()}
    except (LrbenchError, FileNotFoundError, NotImplementedError):
        return {}


def short(text: str | None) -> str:
    if not text:
        return "–"
    text = " ".join(text.split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"


def movers_table(m: Movers, title: str | None = None) -> Table:
    """Gains then losses as one renderer-neutral table (Markdown, HTML and the terminal draw it)."""
    with_text = any(r.text for r in m.gains + m.losses)
    columns = ["", "query"] + (["text"] if with_text else []) + [m.label_a, m.label_b, "Δ"]
    table = Table(title or f"Queries that moved most: {m.label_b} against {m.label_a} on {m.dataset}, {m.measure}",
                  columns, align=["l", "l"] + (["l"] if with_text else []) + ["r", "r", "r"])
    for kind, rows in (("gain", m.gains), ("loss", m.losses)):
        for r in rows:
            table.rows.append([Cell(kind), Cell(r.query_id)] + ([Cell(short(r.text), title=r.text or "")]
                                                               if with_text else [])
                              + [Cell(f"{r.a:.4f}", sort=r.a), Cell(f"{r.b:.4f}", sort=r.b),
                                 Cell(f"{r.delta:+.4f}", sort=r.delta)])
    table.note = (f"Δ = {m.label_b} − {m.label_a} per query on {m.measure}; the {len(m.gains)} largest gains and "
                  f"{len(m.losses)} largest losses of {m.paired} paired queries"
                  + ("" if m.higher else " (lower is better: a gain is a fall)") + ".")
    return table


__all__ = ["QueryDelta", "Movers", "movers", "check_top", "query_texts", "movers_table"]
