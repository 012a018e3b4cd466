"""Leaderboard: mean of per-query values per (dataset, system, measure), as Parquet, Markdown and rich tables."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from lrbench.evaluation.measures import canonical, higher_is_better
from lrbench.store import manifest
from lrbench.store.store import LocalStore

COLUMNS = ["dataset", "system", "measure", "value"]


def _display_names(measures: list[str], task: str) -> dict[str, str]:
    return {canonical(m, task): m for m in measures}


def collect(store: LocalStore, cells) -> tuple[pd.DataFrame, list[dict]]:
    rows, index = [], []
    for cell in cells:
        meta = store.meta(cell.key)
        names = _display_names(cell.measures, meta.get("task", "ranking"))
        scores = store.read_frame(cell.key, "scores").set_index("measure")["value"]
        perquery = store.read_frame(cell.key, "perquery")
        counts = perquery.groupby("measure")["query_id"].nunique()
        # the run's depth needs its query column only (the whole file is still checked against its checksum)
        run = store.read_frame(cell.key, "run", ["query_id"]) if meta.get("task", "ranking") == "ranking" else None
        for canon, display in names.items():
            if canon in scores:
                rows.append((cell.dataset_label, cell.system_label, display, float(scores[canon])))
        index.append({"dataset": cell.dataset_label, "system": cell.system_label, "system_name": cell.system.name,
                      "type": cell.system.type, "key": cell.key,
                      "queries": int(counts.max()) if len(counts) else 0,
                      **({"run_depth": int(run.groupby("query_id").size().max())}
                         if run is not None and len(run) else {}),
                      **_dataset_notes(meta), **_judged(cell, meta, scores),
                      "profile": meta.get("profile", {})})
    return pd.DataFrame(rows, columns=COLUMNS), index


def _dataset_notes(meta: dict) -> dict:
    """What a cell's dataset profile says the leaderboard header must show (judged documents absent from the
    corpus: relevant, never retrievable)."""
    absent = (meta.get("dataset_profile") or {}).get("absent_judged_docs")
    return {"absent_judged": int(absent)} if absent else {}


def _judged(cell, meta: dict, scores) -> dict:
    """A reranked cell's Judged@k for the cutoffs of its measures (shown beside its scores)."""
    from lrbench.evaluation.measures import judged_at

    if not cell.input_systems or meta.get("task", "ranking") != "ranking":
        return {}
    values = {m: float(scores[m]) for m in judged_at(cell.measures) if m in scores}
    return {"judged": values} if values else {}


def write_leaderboard(out_dir: Path, suite, store: LocalStore, cells, failed=()) -> pd.DataFrame:
    """`failed`: CellResults of the cells that failed, recorded so a later `lrbench gate RESULTS` sees them."""
    board, index = collect(store, cells)
    failures = [{"dataset": f.cell.dataset_label, "system": f.cell.system_label,
                 "system_name": f.cell.system.name, "error": f.error} for f in failed]
    from lrbench.suites.cells import expand_cells

    slots = {(c.dataset_label, c.system_label) for c in expand_cells(suite)}
    board = manifest.commit(store, out_dir, suite, board, index,
                            lambda merged: to_markdown(merged, suite.baseline, title=suite.name), failed=failures,
                            suite_slots=slots)
    if any(cell.compress for cell in cells) and isinstance(store, LocalStore):
        _write_pareto_plots(Path(out_dir))
    return board


def _write_pareto_plots(out_dir: Path) -> None:
    """A compression sweep gets its quality-vs-cost plots next to the leaderboard (when matplotlib is there)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    from lrbench.presentation.pareto import write_pareto

    write_pareto(out_dir)


def load(out_dir: Path) -> tuple[pd.DataFrame, dict]:
    return manifest.load(out_dir)


def tables(board: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One systems x measures table per dataset, in first-seen order."""
    out = {}
    for dataset in dict.fromkeys(board["dataset"]):
        part = board[board["dataset"] == dataset]
        table = part.pivot(index="system", columns="measure", values="value")
        table = table.reindex(index=list(dict.fromkeys(part["system"])), columns=list(dict.fromkeys(part["measure"])))
        out[dataset] = table
    return out


def best_values(table: pd.DataFrame) -> pd.Series:
    """The best value per measure column: the largest, or the smallest for perplexity-like measures."""
    return pd.Series({m: (table[m].max() if higher_is_better(m) else table[m].min()) for m in table.columns})


def _is_baseline(system: str, baseline: str | None) -> bool:
    return bool(baseline) and (system == baseline or system.startswith(baseline + "["))


#: marks a value whose measure cuts deeper than the system's run (see `deeper_than_run`)
DEEP_MARK = "†"


def deeper_than_run(board: pd.DataFrame, dataset: str, table: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(system, measure) -> the run's depth, where the measure's cutoff exceeds the most documents the system
    returned for any query: R@100 of a 20-document run is not comparable with R@100 of a 100-document one."""
    from lrbench.evaluation.measures import cutoff

    depths = board.attrs.get("run_depth", {}).get(dataset, {})
    out = {}
    for measure in table.columns:
        k = cutoff(str(measure))
        for system in table.index:
            if k is not None and system in depths and depths[system] < k and not pd.isna(table.at[system, measure]):
                out[(system, measure)] = depths[system]
    return out


def deep_footnotes(deep: dict[tuple[str, str], int]) -> list[str]:
    by_measure: dict[str, list[str]] = {}
    for (system, measure), depth in deep.items():
        by_measure.setdefault(measure, []).append(f"{system} returns at most {depth} documents per query")
    return [f"{DEEP_MARK} {measure} is deeper than the run: {'; '.join(texts)}" for measure, texts in by_measure.items()]


def formatted_rows(table: pd.DataFrame, baseline: str | None, bold: str, mark: str, quote=lambda s: s,
                   deep: dict[tuple[str, str], int] | None = None):
    """(system label, [value texts]) per row; `bold` and `mark` format the best value and the baseline's
    name, `quote` escapes names, so Markdown and the terminal share one layout; `deep` values get DEEP_MARK."""
    best = best_values(table)
    for system, row in table.iterrows():
        name = mark.format(quote(system)) if _is_baseline(system, baseline) else quote(system)
        texts = []
        for measure, value in row.items():
            text = "" if pd.isna(value) else f"{value:.4f}"
            text = bold.format(text) if text and value == best[measure] and len(table) > 1 else text
            texts.append(text + " " + DEEP_MARK if (system, measure) in (deep or {}) else text)
        yield name, texts


def judged_columns(board: pd.DataFrame, dataset: str, table: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Column "judged@k" -> {system: share}, for the reranked systems of a dataset (board.attrs["judged"]): the
    share of their top k that the qrels judge, so holes in the qrels are visible beside the scores."""
    found = board.attrs.get("judged", {}).get(dataset, {})
    columns: dict[str, dict[str, str]] = {}
    for system in table.index:
        for measure, value in found.get(system, {}).items():
            columns.setdefault(measure.replace("Judged", "judged"), {})[system] = f"{value:.2f}"
    return columns


def with_judged(table: pd.DataFrame, rows, judged: dict[str, dict[str, str]]):
    """`formatted_rows` with the judged@k columns appended (blank for first stages)."""
    systems = list(table.index)
    for system, (name, texts) in zip(systems, rows):
        yield name, texts + [judged[column].get(system, "") for column in judged]


def md_cell(text) -> str:
    """Text safe inside a Markdown table cell: a '|' in a name must not open a column."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def dataset_title(board: pd.DataFrame, dataset: str) -> str:
    """The dataset's name and, when known, how many queries its numbers average over."""
    count = board.attrs.get("queries", {}).get(dataset)
    absent = board.attrs.get("absent_judged", {}).get(dataset)
    notes = ([f"{count} queries"] if count else []) + \
        ([f"{absent} judged documents not in the corpus"] if absent else [])
    return f"{dataset} ({', '.join(notes)})" if notes else str(dataset)


def to_markdown(board: pd.DataFrame, baseline: str | None, title: str = "") -> str:
    lines = [f"# {title}", ""] if title else []
    for dataset, table in tables(board).items():
        judged = judged_columns(board, dataset, table)
        heads = [*table.columns, *judged]
        lines += [f"## {md_cell(dataset_title(board, dataset))}", "", "| system | " + " | ".join(md_cell(m) for m in heads) + " |",
                  "|---|" + "---:|" * len(heads)]
        deep = deeper_than_run(board, dataset, table)
        rows = formatted_rows(table, baseline, "**{}**", "{} (baseline)", md_cell, deep)
        for name, texts in with_judged(table, rows, judged):
            lines.append(f"| {name} | " + " | ".join(texts) + " |")
        lines.append("")
        if deep:
            lines += [md_cell(note) for note in deep_footnotes(deep)] + [""]
    return "\n".join(lines)


#: what rich.markup.escape escapes: a '[' that opens a tag, with the backslashes before it
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def escape_markup(text: str) -> str:
    """`text` safe inside rich markup, as rich.markup.escape makes it. Every run writes its terminal tables
    (rerun.json); importing rich for this one function cost more CPU than building the tables."""
    text = _MARKUP_TAG.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", text)
    return text + "\\" if text.endswith("\\") and not text.endswith("\\\\") else text


def terminal_tables(board: pd.DataFrame, baseline: str | None) -> list[dict]:
    """Per dataset: title, measure columns and rows of rich-markup cells (kept in rerun.json as they are)."""
    out = []
    for dataset, table in tables(board).items():
        deep = deeper_than_run(board, dataset, table)
        rows = formatted_rows(table, baseline, "[bold]{}[/bold]", "{} [dim](baseline)[/dim]", escape_markup, deep)
        judged = judged_columns(board, dataset, table)
        rows = with_judged(table, rows, judged)
        out.append({"title": escape_markup(dataset_title(board, dataset)),
                    "columns": [escape_markup(m) for m in [*table.columns, *judged]],
                    "rows": [[name, *texts] for name, texts in rows],
                    **({"notes": [escape_markup(n) for n in deep_footnotes(deep)]} if deep else {})})
    return out


def rich_tables(board: pd.DataFrame, baseline: str | None):
    from lrbench.presentation.terminal import rich_tables as render

    return render(terminal_tables(board, baseline))
