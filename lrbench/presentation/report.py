"""`lrbench report`: leaderboards with 95% CIs, significance vs the baseline (Holm-corrected), per-query
win/tie/loss, efficiency from the stored profiles, plots and a reproducibility block.

The report is built once as plain tables (`Table`) and rendered as Markdown here or as one
self-contained HTML file by lrbench.presentation.html; lrbench.presentation.render writes either (with plots).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from lrbench.errors import LrbenchError
from lrbench.statistics import significance as stats
from lrbench.evaluation.measures import higher_is_better
from lrbench.store.resultsdir import CellInfo, ResultsDir

UP, DOWN = "▲", "▼"


# -- a renderer-neutral table -----------------------------------------------------------

@dataclass
class Cell:
    text: str
    sort: float | str | None = None  # numeric sort key for the HTML table; None sorts by text
    bold: bool = False
    sup: str = ""  # superscript marker
    title: str = ""  # tooltip in HTML


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    align: list[str] | None = None  # "l" or "r" per column


@dataclass
class Plot:
    title: str
    path: Path


@dataclass
class Section:
    title: str
    tables: list[Table] = field(default_factory=list)
    text: str = ""


@dataclass
class Report:
    title: str
    results_dir: Path
    test: str
    alpha: float
    baseline: str | None
    sections: list[Section] = field(default_factory=list)
    legend: str = ""
    reproducibility: list[tuple[str, str]] = field(default_factory=list)
    repro_table: Table | None = None
    plots: list[Plot] = field(default_factory=list)
    data: ResultsDir | None = None
    generated: str = ""
    #: per dataset: base cell, other cells, measures, comparison families (for plots and tests)
    stats: dict[str, dict] = field(default_factory=dict)


# -- statistics per dataset -------------------------------------------------------------

@dataclass
class BaselineComparison:
    """One system against the suite's baseline on one measure (p-value Holm-adjusted within the family)."""

    system: str
    measure: str  # canonical
    delta: float  # system - baseline, on the aggregate scores
    delta_ci: stats.MeanCI  # of the per-query differences (NaN when the score is not their mean)
    test: stats.TestResult
    adjusted: float
    wtl: stats.WinTieLoss | None  # "win" = better, whichever direction the measure runs
    higher: bool = True

    def marker(self, alpha: float) -> str:
        if math.isnan(self.adjusted) or self.adjusted >= alpha or math.isnan(self.delta) or self.delta == 0:
            return ""
        return UP if (self.delta > 0) == self.higher else DOWN


def paired_values(a: CellInfo, b: CellInfo, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-query values of two cells on their common queries (the evaluator already scores unretrieved
    judged queries as 0, so both cover the same queries when they ran on the same data)."""
    x, y = a.values(measure), b.values(measure)
    common = x.index.intersection(y.index)
    return x.loc[common].to_numpy(), y.loc[common].to_numpy()


def is_mean_of_perquery(cell: CellInfo, measure: str) -> bool:
    """True when the stored score is the mean of the stored per-query values (ranking measures, accuracy);
    False for corpus-level aggregates such as perplexity, or measures stored without per-item values."""
    values = cell.values(measure)
    stored = cell.scores.get(measure)
    if not len(values):
        return False
    return stored is None or abs(float(values.mean()) - stored) <= 1e-9 * max(1.0, abs(stored))


def compare_family(base: CellInfo, others: list[CellInfo], measure: str, test: str,
                   permutations: int = 10_000) -> list[BaselineComparison]:
    """Each system against the baseline on one measure; Holm across the family."""
    higher = higher_is_better(measure)
    rows = []
    for cell in others:
        x, y = paired_values(cell, base, measure)
        result = stats.paired_test(test, x, y, **({"permutations": permutations} if test == "randomization" else {}))
        rows.append((cell, x, y, result))
    adjusted = stats.holm([r[3].pvalue for r in rows])
    out = []
    for (cell, x, y, result), adj in zip(rows, adjusted):
        mine, theirs = cell.score(measure), base.score(measure)
        delta = mine - theirs if mine is not None and theirs is not None else math.nan
        mean_like = is_mean_of_perquery(cell, measure) and is_mean_of_perquery(base, measure)
        ci = stats.mean_ci(x - y) if mean_like else stats.MeanCI(math.nan, math.nan, math.nan, 0)
        wtl = (stats.win_tie_loss(x, y) if higher else stats.win_tie_loss(y, x)) if len(x) else None
        out.append(BaselineComparison(cell.system, measure, delta, ci, result, adj, wtl, higher))
    return out


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _fmt_delta(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:+.4f}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _num(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


# -- efficiency -------------------------------------------------------------------------

def _human(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


#: (column, Profile field, formatter)
EFFICIENCY: list[tuple[str, str, Callable[[float], str]]] = [
    ("load s", "load_seconds", lambda v: f"{v:.2f}"),
    ("index s", "index_seconds", lambda v: f"{v:.2f}"),
    ("corpus s", "corpus_seconds", lambda v: f"{v:.2f}"),
    ("search s", "search_seconds", lambda v: f"{v:.2f}"),
    ("scoring s", "scoring_seconds", lambda v: f"{v:.2f}"),
    ("p50 ms", "latency_ms_p50", lambda v: f"{v:.2f}"),
    ("p95 ms", "latency_ms_p95", lambda v: f"{v:.2f}"),
    ("p99 ms", "latency_ms_p99", lambda v: f"{v:.2f}"),
    ("queries/s", "throughput_qps", lambda v: f"{v:,.1f}"),
    ("docs/s", "docs_per_second", lambda v: f"{v:,.1f}"),
    ("peak RSS MB", "peak_rss_mb", lambda v: f"{v:,.0f}"),
    ("peak GPU MB", "peak_cuda_mb", lambda v: f"{v:,.0f}"),
    ("params", "params", _human),
    ("wall s", "wall_seconds", lambda v: f"{v:.2f}"),
    ("FLOPs/query", "flops_per_query", _human),
    ("tokens/query", "tokens_per_query", lambda v: f"{v:,.0f}"),
    ("calls/query", "calls_per_query", lambda v: f"{v:,.1f}"),
    ("price/1k queries", "price_per_1k_queries", lambda v: f"{v:,.4f}"),
]


def _pflop_columns(data: ResultsDir) -> list[tuple[str, Callable]]:
    """RPP and QPP (E2R-FLOPs) beside latency: quality (the dataset's first measure) and queries per PetaFLOP."""
    if not any(c.profile.flops_per_query for c in data.cells):
        return []

    first = {d: data.measures(d)[0][0] for d in data.datasets() if data.measures(d)}
    name = next(iter(first.values())) if len(set(first.values())) == 1 else "quality"
    return [(f"RPP ({name}/PFLOP)", data.rpp), ("QPP (queries/PFLOP)", lambda cell: cell.profile.qpp)]


def efficiency_table(data: ResultsDir) -> Table | None:
    used = [(col, name, f) for col, name, f in EFFICIENCY
            if any(getattr(c.profile, name) is not None for c in data.cells)]
    if not used:
        return None
    derived = _pflop_columns(data)
    table = Table("Efficiency (from the stored profiles)",
                  ["dataset", "system"] + [c for c, _, _ in used] + [c for c, _ in derived],
                  align=["l", "l"] + ["r"] * (len(used) + len(derived)))
    for cell in data.cells:
        row = [Cell(cell.dataset), Cell(cell.system)]
        for _, name, f in used:
            value = getattr(cell.profile, name)
            text = f(value) if value is not None else "–"
            if name == "index_seconds" and value is not None and cell.profile.index_cached:
                text += " (cached)"
            row.append(Cell(text, sort=value))
        for _, value_of in derived:
            value = value_of(cell)
            row.append(Cell(f"{value:,.1f}" if value is not None else "–", sort=value))
        table.rows.append(row)
    notes = ["Missing entries: the runner did not report that number."]
    if any(c.profile.rss_is_process for c in data.cells):
        notes.append("peak RSS is the process's when the runner reports no own figure.")
    if any(c.profile.index_cached for c in data.cells):
        notes.append("index s (cached): read from the cache, not built; a first stage's docs/s is the rate it "
                     "encoded or indexed its corpus at, none when it read them from the cache.")
    table.note = " ".join(notes)
    return table


# -- building ---------------------------------------------------------------------------

def dataset_section(data: ResultsDir, dataset: str, baseline: str | None, test: str, alpha: float,
                    permutations: int) -> tuple[Section, dict]:
    cells = data.cells_of(dataset)
    measures = data.measures(dataset)
    base_label = data.baseline_label(dataset, baseline)
    base = data.cell(dataset, base_label) if base_label else None
    others = [c for c in cells if base is None or c.system != base.system]
    families = {canon: compare_family(base, others, canon, test, permutations) if base else []
                for _, canon in measures}
    lookup = {(c.system, c.measure): c for family in families.values() for c in family}

    dataset_id = data.dataset_id(dataset)
    n_queries = max((c.queries for c in cells), default=0)
    title = dataset if dataset == dataset_id else f"{dataset} ({dataset_id})"
    section = Section(title, text=f"{n_queries} queries. Mean and 95% t-confidence interval per measure; "
                                  "best score in bold.")

    board = Table("Leaderboard", ["system"] + [d for d, _ in measures], align=["l"] + ["r"] * len(measures))
    best = {}
    for _, canon in measures:
        scores = [v for v in (c.score(canon) for c in cells) if v is not None and not math.isnan(v)]
        best[canon] = (max if higher_is_better(canon) else min)(scores) if scores else math.nan
    aggregates = set()
    for c in cells:
        name = c.system + (" (baseline)" if base is not None and c.system == base.system else "")
        row = [Cell(name, sort=c.system)]
        for display, canon in measures:
            stored = c.score(canon)
            comp = lookup.get((c.system, canon))
            sup = comp.marker(alpha) if comp else ""
            bold = len(cells) > 1 and stored is not None and stored == best[canon]
            if not is_mean_of_perquery(c, canon):
                aggregates.add(display)
                row.append(Cell(_fmt(stored), sort=_num(stored), bold=bold, sup=sup))
                continue
            ci = stats.mean_ci(c.values(canon).to_numpy())
            text = _fmt(ci.mean) + (f" ± {ci.half_width:.4f}" if not math.isnan(ci.half_width) else "")
            row.append(Cell(text, sort=ci.mean, bold=bold, sup=sup,
                            title=f"95% CI {_fmt(ci.low)}–{_fmt(ci.high)}, n={ci.n}"))
        board.rows.append(row)
    lower = [d for d, canon in measures if not higher_is_better(canon)]
    notes = []
    if lower:
        notes.append(f"Lower is better for {', '.join(lower)}.")
    if aggregates:
        notes.append(f"{', '.join(sorted(aggregates))}: corpus-level score, not a mean of per-query values, so no CI.")
    board.note = " ".join(notes)
    section.tables.append(board)

    if base is not None and others:
        vs = Table(f"Against the baseline {base.system}",
                   ["system", "measure", "Δ mean", "95% CI of Δ", "p", "p (Holm)", "win/tie/loss"],
                   align=["l", "l", "r", "r", "r", "r", "r"])
        for c in others:
            for display, canon in measures:
                comp = lookup[(c.system, canon)]
                ci = comp.delta_ci
                vs.rows.append([Cell(c.system), Cell(display),
                                Cell(_fmt_delta(comp.delta), sort=_num(comp.delta), sup=comp.marker(alpha)),
                                Cell(f"[{_fmt(ci.low)}, {_fmt(ci.high)}]" if ci.n > 1 else "–", sort=_num(ci.low)),
                                Cell(_fmt_p(comp.test.pvalue), sort=_num(comp.test.pvalue)),
                                Cell(_fmt_p(comp.adjusted), sort=_num(comp.adjusted)),
                                Cell(str(comp.wtl) if comp.wtl else "–",
                                     sort=(comp.wtl.wins - comp.wtl.losses) if comp.wtl else None,
                                     title=f"over {comp.test.n} paired queries")])
        vs.note = (f"{stats.TEST_NAMES[test]} on per-query values paired by query id; p (Holm) corrects across the "
                   f"{len(others)} system(s) compared per measure. win/tie/loss counts queries where the system is "
                   f"better than / equal to / worse than the baseline; Δ = system − baseline, the difference of the "
                   f"scores (`lrbench compare A B` uses the same sign: Δ = B − A).")
        section.tables.append(vs)
    return section, {"base": base, "others": others, "measures": measures, "families": families}


def _movers_tables(data: ResultsDir, dataset: str, info: dict, top: int) -> list[Table]:
    """Per system, the queries that moved most against the baseline on the dataset's first measure."""
    from lrbench.presentation.movers import check_top, movers, movers_table, query_texts

    if check_top(top) == 0 or info["base"] is None or not info["others"] or not info["measures"]:
        return []
    texts = query_texts(data, dataset)
    return [movers_table(movers(info["base"], cell, info["measures"][0], top, texts))
            for cell in info["others"]]


def _time_range(stamps: list[str | None]) -> str:
    stamps = sorted(s[:19].replace("T", " ") for s in stamps if s)
    if not stamps:
        return "–"
    return stamps[0] + " UTC" if stamps[0] == stamps[-1] else f"{stamps[0]} to {stamps[-1]} UTC"


def reproducibility(data: ResultsDir) -> tuple[list[tuple[str, str]], Table]:
    import lrbench.environment as environment

    def values(getter) -> str:
        seen = list(dict.fromkeys(str(v) for v in (getter(c) for c in data.cells) if v not in (None, "", {})))
        return ", ".join(seen) if seen else "–"

    versions = lambda pkg: (lambda c: c.meta.get("versions", {}).get(pkg))  # noqa: E731
    env = lambda key: (lambda c: (c.meta.get("environment") or {}).get(key))  # noqa: E731
    commit = values(env("git_commit"))
    cpu = values(env("cpu"))
    gpus = values(lambda c: ", ".join((c.meta.get("environment") or {}).get("gpus") or []) or None)
    items = [
        ("suite", data.suite_name),
        ("lrbench", values(versions("lrbench"))),
        ("lrbench git commit", commit if commit != "–" else f"{environment.git_commit() or 'not a git checkout'}"
                                                            " (at report time)"),
        ("python", values(versions("python"))),
        ("torch", values(versions("torch"))),
        ("transformers", values(versions("transformers"))),
        ("ir-measures", values(versions("ir-measures"))),
        ("ir-datasets", values(versions("ir-datasets"))),
        ("run host(s)", values(lambda c: c.meta.get("host"))),
        ("CPU", cpu if cpu != "–" else f"{environment.cpu_model()} (report host)"),
        ("GPU", gpus if gpus != "–" else values(lambda c: c.profile.get("gpu") or c.profile.get("device_name"))),
        ("devices", values(lambda c: c.profile.device or c.params.get("device"))),
        ("run started", _time_range([c.meta.get("started_at") for c in data.cells])),
    ]
    if items[10][1] == "–":
        items[10] = ("GPU", (", ".join(environment.gpu_models()) or "none") + " (report host)")
    table = Table("Cells", ["dataset", "system", "cell key", "dataset fingerprint", "dtype", "batch size", "seed",
                            "runner", "params"])
    for c in data.cells:
        get = lambda key: c.profile.get(key, c.params.get(key))  # noqa: E731  (dtype, batch_size, seed)
        params = ", ".join(f"{k}={v}" for k, v in sorted(c.params.items())
                           if k not in ("dtype", "batch_size", "seed")) or "–"
        table.rows.append([Cell(c.dataset), Cell(c.system), Cell(c.key), Cell(c.fingerprint or "–"),
                           Cell(str(get("dtype") or "–")), Cell(str(get("batch_size") or "–")),
                           Cell(str(get("seed") if get("seed") is not None else "–")),
                           Cell(f"{c.type} v{c.meta.get('config', {}).get('runner_version', '?')}"),
                           Cell(params)])
    return items, table


def build_report(results: str | Path, *, baseline: str | None = None, test: str = "t", alpha: float = 0.05,
                 permutations: int = 10_000, top: int = 5) -> Report:
    """`top`: per system, the queries that gained and lost most against the baseline (0: none)."""
    data = ResultsDir(results)
    if not data.cells:
        raise LrbenchError(f"{results} has no finished cells", hint="run `lrbench run SUITE --out DIR` first")
    if test not in stats.TESTS:
        raise LrbenchError(f"unknown test '{test}'", key="--test", hint=f"choose one of: {', '.join(stats.TESTS)}")
    name = baseline or data.baseline
    if baseline and not any(data.resolve(d, baseline) for d in data.datasets()):
        systems = sorted({c.system for c in data.cells} | {c.system_name for c in data.cells})
        raise LrbenchError(f"--baseline names unknown system '{baseline}'", key="--baseline",
                           hint=f"systems: {', '.join(systems)}")
    report = Report(f"lrbench report: {data.suite_name}", Path(results), test, alpha, name, data=data,
                    generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    for dataset in data.datasets():
        section, info = dataset_section(data, dataset, name, test, alpha, permutations)
        report.sections.append(section)
        report.stats[dataset] = info
        section.tables += _movers_tables(data, dataset, info, top)
    _add_audit(report, data)
    efficiency = efficiency_table(data)
    if efficiency:
        report.sections.append(Section("Efficiency", [efficiency]))
    correction = "Holm-Bonferroni corrected across the systems compared with the baseline per dataset and measure"
    report.legend = (f"{UP} / {DOWN}: significantly better / worse than the baseline ({name}) by a two-sided "
                     f"{stats.TEST_NAMES[test]}"
                     + (f" ({permutations:,} sign flips, exact when fewer)" if test == "randomization" else "")
                     + f", {correction}, α = {alpha:g}." if name else
                     "No baseline: significance tests need a baseline system (suite `baseline:` or --baseline).")
    report.reproducibility, report.repro_table = reproducibility(data)
    return report


def _add_audit(report: Report, data: ResultsDir) -> None:
    """Judged@k beside each dataset's reranked systems, and a section on listwise repairs (presentation.audit)."""
    from lrbench.presentation.audit import judged_table, listwise_section

    for dataset, section in zip(data.datasets(), report.sections):
        judged = judged_table(data, dataset)
        if judged:
            section.tables.insert(1, judged)
    listwise = listwise_section(data)
    if listwise:
        report.sections.append(listwise)


# -- Markdown ---------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def table_markdown(table: Table) -> list[str]:
    align = table.align or ["l"] * len(table.columns)
    lines = [f"**{table.title}**", "", "| " + " | ".join(_md_escape(c) for c in table.columns) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    for row in table.rows:
        out = []
        for cell in row:
            text = _md_escape(cell.text)
            if cell.bold:
                text = f"**{text}**"
            if cell.sup:
                text += f"<sup>{cell.sup}</sup>"
            out.append(text)
        lines.append("| " + " | ".join(out) + " |")
    if table.note:
        lines += ["", f"_{table.note}_"]
    return lines + [""]


def slug(text: str) -> str:
    """A file name for a label: unique, bounded and readable (the plot's title holds the label itself)."""
    from lrbench.safety import safe_file_name

    return safe_file_name(text)


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "",
             f"Results folder `{report.results_dir}`; generated {report.generated}. "
             f"Baseline: **{report.baseline or 'none'}**.", ""]
    if report.legend:
        lines += [f"> {report.legend}", ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        for table in section.tables:
            lines += table_markdown(table)
    if report.plots:
        lines += ["## Plots", ""]
        for plot in report.plots:
            alt = plot.title.replace("[", "(").replace("]", ")")
            lines += [f"![{alt}]({plot.path.name})", "", f"_{_md_escape(plot.title)}_", ""]
    lines += ["## Reproducibility", "", "| item | value |", "|---|---|"]
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in report.reproducibility]
    lines.append("")
    if report.repro_table:
        lines += table_markdown(report.repro_table)
    return "\n".join(lines)
