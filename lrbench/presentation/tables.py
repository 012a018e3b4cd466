"""Benchmark tables generated from results folders, written between marker comments in Markdown files.

    <!-- lrbench-table results=benchmarks/results/dl19-rerank-ci columns=nDCG@10,latency_ms_p50 -->
    (generated: one row per cell, the measures and profile fields named in columns; rpp and qpp are E2R-FLOPs'
    quality and queries per PetaFLOP)
    <!-- /lrbench-table -->

`lrbench tables FILE.md...` rewrites every such block from the folders it names (paths relative to the
repository root, i.e. the working folder); `--check` only reports stale blocks. `summarize` copies the small
part of a results folder (leaderboard, cells.json, each cell's meta.json, scores and per-query values; never the
run files) so the folder a table came from can be committed beside it.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.evaluation.measures import canonical, higher_is_better
from lrbench.store.resultsdir import ResultsDir

BLOCK = re.compile(r"(<!-- lrbench-table (?P<options>[^\n]*?) -->\n)(?P<body>.*?)(<!-- /lrbench-table -->)", re.S)
SUMMARY_FILES = ("cells.json", "leaderboard.parquet", "leaderboard.md")
CELL_FILES = ("meta.json", "scores.parquet", "perquery.parquet")

#: headers of the profile fields runners report (others are shown under their own name)
PROFILE_HEADERS = {
    "latency_ms_p50": "p50 ms / query", "latency_ms_p95": "p95 ms", "latency_ms_p99": "p99 ms",
    "peak_rss_mb": "peak RSS MB", "peak_cuda_mb": "peak CUDA MB", "wall_seconds": "wall s",
    "load_seconds": "load s", "docs_per_second": "docs/s", "corpus_docs_per_second": "corpus docs/s",
    "generated_tokens_per_query": "generated tokens / query",
    "batch_size": "batch", "dtype": "dtype", "device": "device", "threads": "threads",
    "flops_per_query": "FLOPs / query", "tokens_per_query": "tokens / query", "calls_per_query": "calls / query",
    "rpp": "RPP (quality/PFLOP)", "qpp": "QPP (queries/PFLOP)",
    "scorer_calls_per_query": "scorer calls / query", "index_scorer_calls": "index scorer calls",
    "corpus_flops": "corpus FLOPs", "postings_scored_per_query": "postings / query",
}


@dataclass
class TableSpec:
    results: list[str] | None = None
    columns: list[str] | None = None
    systems: list[str] | None = None
    summary: list[str] | None = None  # a timing benchmark's summary JSON instead (lrbench.presentation.summaries)


def parse_options(text: str, file: str, line: int) -> TableSpec:
    options = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or key not in ("results", "columns", "systems", "summary"):
            raise LrbenchError(f"bad table option '{item}'", file=file, line=line,
                               hint="options: results=DIR[,DIR] columns=MEASURE|PROFILE_KEY,... systems=NAME,... "
                                    "or summary=FILE.json columns=KEY,...")
        options[key] = value.split(",")
    if ("results" in options) == ("summary" in options):
        raise LrbenchError("a table block names one source: results=DIR or summary=FILE.json", file=file,
                           line=line, hint="add results=DIR (a results folder) or summary=FILE (a benchmark summary)")
    if "summary" in options and (len(options["summary"]) != 1 or "systems" in options):
        raise LrbenchError("summary= takes one file and no systems=", file=file, line=line,
                           hint="one block per summary file")
    return TableSpec(**options)


def _number(value, measure: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if measure:
        return f"{value:.4f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def render(spec: TableSpec, root: Path = Path(".")) -> str:
    if spec.summary:
        from lrbench.presentation.summaries import render_summary

        return render_summary(spec.summary[0], spec.columns, root)
    missing = [r for r in spec.results if not (root / r / "cells.json").exists()]
    if missing:  # a table waiting for its run says so, rather than keeping numbers of unknown origin
        return f"_No results yet: {', '.join(f'`{r}`' for r in missing)} not found; run the suite and " \
               "`lrbench summarize` it there, then `lrbench tables` this file._\n"
    folders = [ResultsDir(root / r) for r in spec.results]
    cells = [(d, c) for d in folders for c in d.cells
             if not spec.systems or c.system in spec.systems or c.system_name in spec.systems]
    datasets = list(dict.fromkeys(c.dataset for _, c in cells))
    wanted = spec.columns or list(dict.fromkeys(m for d in folders for ds in d.datasets() for m, _ in d.measures(ds)))
    measures = {c: canonical(c) for d in folders for ds in d.datasets() for c, _ in d.measures(ds) if c in wanted}
    header = (["dataset"] if len(datasets) > 1 else []) + ["system"] + \
        [c if c in measures else PROFILE_HEADERS.get(c, c) for c in wanted]
    rows, best = [], {}
    for folder, cell in cells:
        values = [_value(folder, cell, c, measures) for c in wanted]
        rows.append((cell, values))
        for column, value in zip(wanted, values):
            if column in measures and isinstance(value, (int, float)):
                better = max if higher_is_better(measures[column]) else min
                key = (cell.dataset, column)
                best[key] = better(best.get(key, value), value)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if h in ("dataset", "system") else "---:" for h in header) + "|"]
    for cell, values in rows:
        shown = []
        for column, value in zip(wanted, values):
            text = _number(value, column in measures)
            if column in measures and text and len(cells) > 1 and value == best.get((cell.dataset, column)):
                text = f"**{text}**"
            shown.append(text)
        lines.append("| " + " | ".join(([cell.dataset] if len(datasets) > 1 else []) + [cell.system] + shown) + " |")
    sources = "; ".join(f"`{r}` (suite {d.suite_name}, {len(d.cells)} cells{_machine(d)})"
                        for r, d in zip(spec.results, folders))
    lines += ["", f"Generated by `lrbench tables` from {sources}."]
    return "\n".join(lines) + "\n"


def _value(folder: ResultsDir, cell, column: str, measures: dict):
    """A measure's score, a profile field, or E2R-FLOPs' rpp (on the dataset's first measure) and qpp."""
    if column in measures:
        return cell.score(measures[column])
    if column == "rpp":
        return folder.rpp(cell)
    if column == "qpp":
        return cell.profile.qpp
    return cell.profile.get(column)


def _machine(data: ResultsDir) -> str:
    metas = [c.meta for c in data.cells if c.meta]
    if not metas:
        return ""
    env = metas[0].get("environment") or {}
    machine = ", ".join(env.get("gpus") or []) or env.get("cpu") or ""
    commit = env.get("git_commit")
    return (f", {machine}" if machine else "") + (f", commit {commit}" if commit else "")


def regenerate(path: Path, root: Path = Path(".")) -> tuple[str, int]:
    """The file's text with every table block rebuilt, and the number of blocks."""
    text = path.read_text(encoding="utf-8")
    count = 0

    def rebuild(match: re.Match) -> str:
        nonlocal count
        count += 1
        line = text[:match.start()].count("\n") + 1
        spec = parse_options(match.group("options"), str(path), line)
        try:
            body = render(spec, root)
        except LrbenchError as exc:
            raise LrbenchError(exc.message, file=str(path), line=line, hint=exc.hint) from None
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(rebuild, text), count


def summarize(source: str | Path, dest: str | Path) -> list[Path]:
    """Copy the small files of a results folder (no run files) to `dest`, replacing what was there."""
    data = ResultsDir(source)
    dest = Path(dest)
    if dest.exists():
        if not (dest / "cells.json").exists():
            raise LrbenchError(f"{dest} exists and is not a results summary", hint="choose an empty or new folder")
        shutil.rmtree(dest)
    written = []
    for name in SUMMARY_FILES:
        if (data.root / name).exists():
            (dest).mkdir(parents=True, exist_ok=True)
            shutil.copy2(data.root / name, dest / name)
            written.append(dest / name)
    for cell in data.cells:
        for name in CELL_FILES:
            if (cell.dir / name).exists():
                target = dest / "cells" / cell.key / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(cell.dir / name, target)
                written.append(target)
    return written


__all__ = ["TableSpec", "parse_options", "regenerate", "render", "summarize"]
