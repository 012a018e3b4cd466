"""`lrbench compare`: side-by-side deltas with significance, for PR descriptions.

Two forms:
- DIR_A DIR_B: each system present in both results folders, A against B, per dataset and measure
  (e.g. results of main vs results of a branch); per-query values paired by query id.
- DIR SYSTEM_A SYSTEM_B: two systems of one folder, on every dataset both ran on.
Holm-Bonferroni corrects across the systems compared per dataset and measure. After the table, the queries
that gained and lost most (B against A, on each dataset's first measure; `--top N`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


from lrbench.errors import LrbenchError
from lrbench.statistics import significance as stats
from lrbench.presentation.movers import Movers, check_top, movers, movers_table, query_texts
from lrbench.presentation.report import UP, DOWN, paired_values, table_markdown
from lrbench.evaluation.measures import higher_is_better
from lrbench.store.resultsdir import CellInfo, ResultsDir


@dataclass
class Row:
    dataset: str
    system: str
    measure: str  # display
    a: float | None
    b: float | None
    n: int = 0
    delta: float | None = None
    pvalue: float = math.nan
    adjusted: float = math.nan
    wtl: stats.WinTieLoss | None = None
    note: str = ""
    higher: bool = True

    def marker(self, alpha: float) -> str:
        if self.delta is None or math.isnan(self.adjusted) or self.adjusted >= alpha or self.delta == 0:
            return ""
        return UP if (self.delta > 0) == self.higher else DOWN


@dataclass
class ResultsComparison:
    """Two results folders (or two systems of one folder) compared cell by cell (`lrbench compare`)."""

    label_a: str
    label_b: str
    test: str
    alpha: float
    rows: list[Row] = field(default_factory=list)
    latency: list[tuple[str, str, float, float]] = field(default_factory=list)  # dataset, system, p50 a, p50 b
    warnings: list[str] = field(default_factory=list)
    movers: list[Movers] = field(default_factory=list)  # per (dataset, system): the queries that moved most


def _pairs_dirs(a: ResultsDir, b: ResultsDir) -> list[tuple[str, str, CellInfo, CellInfo]]:
    pairs = []
    for dataset in a.datasets():
        for cell in a.cells_of(dataset):
            other = b.cell(dataset, cell.system)
            if other is not None:
                pairs.append((dataset, cell.system, cell, other))
    return pairs


def _pairs_systems(data: ResultsDir, sys_a: str, sys_b: str) -> list[tuple[str, str, CellInfo, CellInfo]]:
    pairs = []
    for dataset in data.datasets():
        left, right = data.resolve(dataset, sys_a), data.resolve(dataset, sys_b)
        if len(left) == 1 and len(right) == 1:
            pairs.append((dataset, f"{sys_a} vs {sys_b}", left[0], right[0]))
        elif len(left) > 1 or len(right) > 1:
            name = sys_a if len(left) > 1 else sys_b
            raise LrbenchError(f"'{name}' is a sweep on {dataset}", hint="name one sweep point, e.g. "
                               + (left if len(left) > 1 else right)[0].system)
    return pairs


def compare(pairs, label_a: str, label_b: str, test: str = "t", alpha: float = 0.05,
            measures_of=None, top: int = 0, texts_of=None) -> ResultsComparison:
    result = ResultsComparison(label_a, label_b, test, alpha)
    for dataset, system, cell_a, cell_b in pairs:
        if top > 0 and measures_of(dataset):
            result.movers.append(movers(cell_a, cell_b, measures_of(dataset)[0], top,
                                        texts_of(dataset) if texts_of else None, labels=("A", "B"), system=system))
        if cell_a.fingerprint and cell_b.fingerprint and cell_a.fingerprint != cell_b.fingerprint:
            result.warnings.append(f"{dataset}: dataset fingerprints differ ({cell_a.fingerprint} vs "
                                   f"{cell_b.fingerprint}); the queries or judgments are not the same")
        for display, canon in measures_of(dataset):
            score_a, score_b = cell_a.score(canon), cell_b.score(canon)
            row = Row(dataset, system, display, score_a, score_b, higher=higher_is_better(canon))
            x, y = paired_values(cell_a, cell_b, canon)
            row.n = len(x)
            if score_a is not None and score_b is not None:
                row.delta = score_b - score_a  # DELTA: the second against the first
            if len(x):
                row.pvalue = stats.paired_test(test, x, y).pvalue
                row.wtl = stats.win_tie_loss(y, x) if row.higher else stats.win_tie_loss(x, y)
                if len(x) != max(len(cell_a.values(canon)), len(cell_b.values(canon))):
                    row.note = f"paired on {len(x)} common queries"
            result.rows.append(row)
        p_a, p_b = cell_a.profile.latency_ms_p50, cell_b.profile.latency_ms_p50
        if isinstance(p_a, (int, float)) and isinstance(p_b, (int, float)):
            result.latency.append((dataset, system, float(p_a), float(p_b)))
    # Holm across the systems compared per dataset and measure
    families: dict[tuple[str, str], list[Row]] = {}
    for row in result.rows:
        families.setdefault((row.dataset, row.measure), []).append(row)
    for rows in families.values():
        for row, adj in zip(rows, stats.holm([r.pvalue for r in rows])):
            row.adjusted = adj
    return result


def _texts_of(data: ResultsDir):
    """dataset -> its query texts, each dataset opened once."""
    cache: dict[str, dict[str, str]] = {}

    def texts(dataset: str) -> dict[str, str]:
        if dataset not in cache:
            cache[dataset] = query_texts(data, dataset)
        return cache[dataset]
    return texts


def compare_targets(targets: list[str], test: str = "t", alpha: float = 0.05, top: int = 0) -> ResultsComparison:
    """`top`: also list the queries that gained and lost most per pair (0: none)."""
    check_top(top)
    if len(targets) == 2:
        a, b = (ResultsDir(t) for t in targets)
        pairs = _pairs_dirs(a, b)
        if not pairs:
            raise LrbenchError(f"{targets[0]} and {targets[1]} share no (dataset, system) pair",
                               hint="compare folders of the same suite, or use DIR SYSTEM_A SYSTEM_B")
        return compare(pairs, targets[0], targets[1], test, alpha, measures_of=a.measures, top=top,
                       texts_of=_texts_of(a))
    if len(targets) == 3:
        data = ResultsDir(targets[0])
        names = {c.system for c in data.cells} | {c.system_name for c in data.cells}
        for name in targets[1:]:
            if name not in names:
                raise LrbenchError(f"unknown system '{name}' in {targets[0]}",
                                   hint=f"systems: {', '.join(sorted(names))}")
        pairs = _pairs_systems(data, targets[1], targets[2])
        if not pairs:
            raise LrbenchError(f"{targets[1]} and {targets[2]} ran on no common dataset in {targets[0]}")
        return compare(pairs, targets[1], targets[2], test, alpha, measures_of=data.measures, top=top,
                       texts_of=_texts_of(data))
    raise LrbenchError(f"compare takes 2 or 3 arguments, got {len(targets)}",
                       hint="lrbench compare DIR_A DIR_B, or lrbench compare DIR SYSTEM_A SYSTEM_B")


#: one sign convention with the report's "system − baseline": A (the first) is the reference, B the one judged
DELTA = "Δ = B − A (the second minus the first, as the report's system − baseline)"


def ratio_text(numerator: float, denominator: float) -> str:
    """B / A with three significant digits, however far apart (0.54 ms against 20,992 ms is 2.57e-05x)."""
    return f"{numerator / denominator:.3g}x" if denominator else "–"


def _f(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4f}"


def _p(value: float) -> str:
    return "–" if math.isnan(value) else ("<0.0001" if value < 1e-4 else f"{value:.4f}")


def to_markdown(c: ResultsComparison) -> str:
    lines = [f"**{c.label_a}** (A) vs **{c.label_b}** (B): {DELTA}, {stats.TEST_NAMES[c.test]} on per-query "
             f"values, Holm-corrected p; {UP}/{DOWN}: B significantly better/worse than A at α = {c.alpha:g}; "
             f"win/tie/loss counts queries where B is better/equal/worse.", "",
             "| dataset | system | measure | A | B | Δ | p (Holm) | B win/tie/loss |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in c.rows:
        delta = "–" if r.delta is None else f"{r.delta:+.4f}" + (f"<sup>{r.marker(c.alpha)}</sup>"
                                                                   if r.marker(c.alpha) else "")
        lines.append(f"| {r.dataset} | {r.system} | {r.measure} | {_f(r.a)} | {_f(r.b)} | {delta} | "
                     f"{_p(r.adjusted)} | {r.wtl or '–'} |")
    if c.latency:
        lines += ["", "| dataset | system | p50 ms A | p50 ms B | B / A |", "|---|---|---:|---:|---:|"]
        for dataset, system, pa, pb in c.latency:
            lines.append(f"| {dataset} | {system} | {pa:.2f} | {pb:.2f} | {ratio_text(pb, pa)} |")
    for moved in c.movers:
        lines += [""] + table_markdown(movers_table(moved, _movers_title(moved)))[:-1]
    for warning in c.warnings:
        lines += ["", f"> warning: {warning}"]
    return "\n".join(lines) + "\n"


def rich_table(c: ResultsComparison):
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"A = {escape(c.label_a)}  vs  B = {escape(c.label_b)}  ({stats.TEST_NAMES[c.test]}, "
                        f"Holm, α = {c.alpha:g})", title_justify="left")
    for name in ("dataset", "system", "measure", "A", "B", "Δ", "p (Holm)", "W/T/L"):
        table.add_column(name, justify="right" if name in ("A", "B", "Δ", "p (Holm)", "W/T/L") else "left")
    for r in c.rows:
        marker = r.marker(c.alpha)
        style = "green" if marker == UP else ("red" if marker == DOWN else "")
        delta = "–" if r.delta is None else f"{r.delta:+.4f}{marker}"
        table.add_row(escape(r.dataset), escape(r.system), escape(r.measure), _f(r.a), _f(r.b),
                      f"[{style}]{delta}[/]" if style else delta, _p(r.adjusted), str(r.wtl or "–"))
    parts = [DELTA, table]
    if c.latency:
        lat = Table(title="p50 latency (ms)", title_justify="left")
        for name in ("dataset", "system", "A", "B", "B / A"):
            lat.add_column(name, justify="left" if name in ("dataset", "system") else "right")
        for dataset, system, pa, pb in c.latency:
            lat.add_row(escape(dataset), escape(system), f"{pa:.2f}", f"{pb:.2f}", ratio_text(pb, pa))
        parts.append(lat)
    parts += [_rich(movers_table(m, _movers_title(m))) for m in c.movers]
    parts += [f"[yellow]warning:[/yellow] {escape(w)}" for w in c.warnings]
    return Group(*parts)


def _movers_title(m: Movers) -> str:
    return f"Queries that moved most: {m.system} on {m.dataset}, {m.measure} (B against A)"


def _rich(table):
    """A renderer-neutral table (lrbench.presentation.report.Table) for the terminal."""
    from rich.markup import escape
    from rich.table import Table

    out = Table(title=escape(table.title), title_justify="left", caption=escape(table.note) or None,
                caption_justify="left")
    for name, align in zip(table.columns, table.align or ["l"] * len(table.columns)):
        out.add_column(escape(name), justify="right" if align == "r" else "left",
                       overflow="fold" if name == "text" else "ellipsis")
    for row in table.rows:
        out.add_row(*(escape(cell.text) for cell in row))
    return out


__all__ = ["ResultsComparison", "Row", "compare", "compare_targets", "to_markdown", "rich_table"]
