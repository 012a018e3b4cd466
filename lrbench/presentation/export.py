"""`lrbench export`: the runs of a results folder as TREC, Parquet, JSON lines, ranx JSON or RankLLM candidate lists.

Every exported run carries its system label (the TREC run tag) and dataset label. TREC, ranx and RankLLM files
hold one run each, so a folder receives one file per (dataset, system); Parquet and JSON lines hold any number of
runs in one file, told apart by their `system` and `dataset` columns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from lrbench.atomic import write_text, write_with
from lrbench.errors import LrbenchError
from lrbench.safety import safe_file_name
from lrbench.store.resultsdir import CellInfo, ResultsDir

FORMATS = {"trec": ".trec", "parquet": ".parquet", "jsonl": ".jsonl", "ranx": ".ranx.json", "rankllm": ".json"}
ONE_RUN_PER_FILE = {"trec", "ranx", "rankllm"}
EXPORT_COLUMNS = ["query_id", "doc_id", "rank", "score", "system", "dataset"]
#: beside the files of a folder export: {file name: {"dataset": label, "system": label}}
LABELS = "labels.json"



def run_tag(system: str) -> str:
    """TREC run tags are one whitespace-free token."""
    return re.sub(r"\s+", "_", system)


def selected_cells(results: ResultsDir, system: str | None, dataset: str | None) -> list[CellInfo]:
    cells = [c for c in results.cells if c.task == "ranking" and (c.dir / "run.parquet").exists()]
    if dataset:
        cells = [c for c in cells if results.dataset_matches(c.dataset, dataset)]
    if system:
        cells = [c for c in cells if system in (c.system, c.system_name)]
    if not cells:
        known = sorted({f"{c.system} on {c.dataset}" for c in results.cells if c.task == "ranking"})
        raise LrbenchError(f"no ranking run in {results.root} matches"
                           f"{f' --system {system}' if system else ''}{f' --dataset {dataset}' if dataset else ''}",
                           hint="runs: " + (", ".join(known) if known else "none (the folder holds no ranking cells)"))
    return cells


def labelled_run(cell: CellInfo) -> pd.DataFrame:
    run = cell.frame("run")  # through the store: verified, and never read from outside the folder
    run = run.sort_values(["query_id", "rank"], kind="stable").reset_index(drop=True)
    return run.assign(query_id=run["query_id"].astype(str), doc_id=run["doc_id"].astype(str),
                      system=cell.system, dataset=cell.dataset)[EXPORT_COLUMNS]


def write_trec(run: pd.DataFrame, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for q, d, r, s, tag in zip(run["query_id"], run["doc_id"], run["rank"], run["score"], run["system"]):
            fh.write(f"{q} Q0 {d} {int(r)} {float(s)!r} {run_tag(tag)}\n")


def write_jsonl(run: pd.DataFrame, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for record in run.to_dict(orient="records"):
            fh.write(json.dumps({**record, "rank": int(record["rank"]), "score": float(record["score"])}) + "\n")


def write_rankllm(run: pd.DataFrame, path: Path, queries: dict[str, str], texts: dict[str, str]) -> None:
    lists = []
    for qid, part in run.groupby("query_id", sort=False):
        hits = [{"qid": qid, "docid": d, "rank": int(r), "score": float(s), "content": texts.get(d, "")}
                for d, r, s in zip(part["doc_id"], part["rank"], part["score"])]
        lists.append({"query": queries.get(qid, ""), "hits": hits})
    path.write_text(json.dumps(lists, ensure_ascii=False))


def open_cell_dataset(results: ResultsDir, dataset_label: str, suite_dir: Path):
    """The dataset a cell ran on, opened as the suite declared it (for its query and passage texts)."""
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    spec = next((s for s in results.suite_config.get("datasets", [])
                 if (s.get("name") or s.get("id")) == dataset_label), {"id": results.dataset_id(dataset_label)})
    return open_dataset(DatasetSpec(**spec), suite_dir)


def _texts_for(results: ResultsDir, cell: CellInfo, run: pd.DataFrame, suite_dir: Path):
    """Query and passage texts for a RankLLM export, from the cell's dataset (as the suite declared it)."""
    dataset = open_cell_dataset(results, cell.dataset, suite_dir)
    texts = dataset.doc_texts(set(run["doc_id"])) if dataset.has_docs() else {}
    return dataset.queries(), texts


def write_ranx(run: pd.DataFrame, path: Path) -> None:
    """ranx's run JSON, {query: {doc: score}}: what `Run.from_file(path, kind="json")` and `given` read."""
    nested: dict[str, dict[str, float]] = {}
    for q, d, s in zip(run["query_id"], run["doc_id"], run["score"]):
        nested.setdefault(q, {})[d] = float(s)
    path.write_text(json.dumps(nested, ensure_ascii=False), encoding="utf-8")


WRITERS = {"trec": write_trec, "parquet": lambda run, p: run.to_parquet(p, index=False), "jsonl": write_jsonl,
           "ranx": write_ranx}


def _write(fmt: str, run: pd.DataFrame, path: Path, texts=None) -> None:
    """Through a temporary file in the target folder (a reader never sees half an export), created with the
    user's umask like any file they write."""
    if fmt == "rankllm":
        write_with(path, lambda p: write_rankllm(run, p, *texts))
    else:
        write_with(path, lambda p: WRITERS[fmt](run, p))


def export_runs(results_dir: str | Path, fmt: str, out: str | Path | None = None, *, system: str | None = None,
                dataset: str | None = None, suite_dir: str | Path = ".") -> list[Path]:
    """Write the selected runs; returns the files written. `out` is a file (one run, or any number for
    parquet/jsonl) or a folder (one file per run); by default `<results>/export/`."""
    if fmt not in FORMATS:
        raise LrbenchError(f"unknown export format '{fmt}'", key="--format", hint=f"one of: {', '.join(FORMATS)}")
    results = ResultsDir(results_dir)
    cells = selected_cells(results, system, dataset)
    target = Path(out) if out else results.root / "export"
    as_file = target.suffix != "" and not target.is_dir()
    if as_file and fmt in ONE_RUN_PER_FILE and len(cells) > 1:
        raise LrbenchError(f"{len(cells)} runs match but a {fmt} file holds one", key="--out",
                           hint="pick one with --system/--dataset, or give --out a folder (one file per run)")
    runs = [labelled_run(c) for c in cells]
    if as_file and fmt not in ONE_RUN_PER_FILE:
        _write(fmt, pd.concat(runs, ignore_index=True), target)
        return [target]
    written, labels = [], {}
    for cell, run in zip(cells, runs):
        path = target if as_file else target / run_file_name(cell.dataset, cell.system, FORMATS[fmt])
        texts = _texts_for(results, cell, run, Path(suite_dir)) if fmt == "rankllm" else None
        _write(fmt, run, path, texts)
        written.append(path)
        labels[path.name] = {"dataset": cell.dataset, "system": cell.system}
    if not as_file and any(safe_file_name(label) != label for entry in labels.values() for label in entry.values()):
        _record_labels(target, labels)  # a hashed name: the labels themselves go beside the files
    return written


def run_file_name(dataset: str, system: str, suffix: str) -> str:
    """`<dataset>__<system><suffix>`: unique per (dataset, system), as neither part holds '__'."""
    return f"{safe_file_name(dataset)}__{safe_file_name(system)}{suffix}"


def _record_labels(folder: Path, labels: dict[str, dict]) -> None:
    """LABELS beside the exported files maps each file name back to its exact dataset and system labels
    (written when some name is a slug and hash: a plain name is its label)."""
    path = folder / LABELS
    try:
        known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        known = {}
    write_text(path, json.dumps({**(known if isinstance(known, dict) else {}), **labels}, indent=2,
                                ensure_ascii=False, sort_keys=True))
