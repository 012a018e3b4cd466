"""Seed the datasets cache with an MTEB task's data, at the task's pinned revision, from local files.

`lrbench data seed mteb:NAME --from DIR` takes DIR as one of:
- a folder laid out as a Hugging Face datasets cache (`DIR/mteb___scifact/...`): its entries are copied;
- retrieval / reranking: a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), written as the Hub repo's
  configs `corpus`, `queries` and `default` (`query-id, corpus-id, score`), as mteb's retrieval loader reads them;
- classification: train.csv and <split>.csv with `text,category` (Banking77's source files), written as the
  `default` config with `text, label, label_text` (label ids: categories.json order, else sorted names);
- STS: <split>.tsv with `sentence1 sentence2 score` columns (GLUE STS-B layout), written as `sentence1,
  sentence2, score`.
The result is what an online `load_dataset` of the pinned revision leaves in the cache, so mteb's loaders read it
with HF_DATASETS_OFFLINE=1.
"""

from __future__ import annotations

import json
from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.datasets.hf_cache import repo_folder, seed_from_hf_mirror, write_config


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise LrbenchError(f"{path} not found", file=str(path), hint=f"--from must hold {what}")
    return path


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _retrieval_tables(folder: Path, splits: list[str]) -> dict[str, dict]:
    import pyarrow as pa

    from lrbench.datasets.files import read_trec_qrels

    what = "a BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv"
    corpus = _jsonl(_require(folder / "corpus.jsonl", what))
    queries = _jsonl(_require(folder / "queries.jsonl", what))
    string = pa.string()
    qrels = {}
    for split in splits:
        frame = read_trec_qrels(_require(folder / "qrels" / f"{split}.tsv", what))
        qrels[split] = pa.table({"query-id": pa.array(frame["query_id"], string),
                                 "corpus-id": pa.array(frame["doc_id"], string),
                                 "score": pa.array(frame["relevance"], pa.int64())})
    return {
        "corpus": {"corpus": pa.table({"_id": pa.array([str(d["_id"]) for d in corpus], string),
                                       "title": pa.array([d.get("title") or "" for d in corpus], string),
                                       "text": pa.array([d.get("text") or "" for d in corpus], string)})},
        "queries": {"queries": pa.table({"_id": pa.array([str(q["_id"]) for q in queries], string),
                                         "text": pa.array([q.get("text") or "" for q in queries], string)})},
        "default": qrels,
    }


def _classification_tables(folder: Path, splits: list[str]) -> dict[str, dict]:
    import pandas as pd
    import pyarrow as pa

    what = "train.csv and test.csv with columns text,category"
    frames = {s: pd.read_csv(_require(folder / f"{s}.csv", what), keep_default_na=False) for s in splits}
    for split, frame in frames.items():
        if {"text", "category"} - set(frame.columns):
            raise LrbenchError(f"{split}.csv needs columns text,category", file=str(folder / f"{split}.csv"))
    cats = folder / "categories.json"
    names = json.loads(cats.read_text()) if cats.exists() else sorted(set(frames["train"]["category"]))
    index = {name: i for i, name in enumerate(names)}
    out = {}
    for split, frame in frames.items():
        unknown = set(frame["category"]) - set(index)
        if unknown:
            raise LrbenchError(f"{split}.csv has categories not in the training split: {sorted(unknown)[:3]}",
                               file=str(folder / f"{split}.csv"))
        out[split] = pa.table({"text": pa.array(frame["text"].astype(str), pa.string()),
                               "label": pa.array(frame["category"].map(index), pa.int64()),
                               "label_text": pa.array(frame["category"].astype(str), pa.string())})
    return {"default": out}


def _sts_tables(folder: Path, splits: list[str]) -> dict[str, dict]:
    import pyarrow as pa

    from lrbench.datasets.tasks import GLUE_TASKS, read_glue_tsv

    out = {}
    for split in splits:
        path = _require(folder / f"{split}.tsv", "<split>.tsv files with sentence1, sentence2 and score columns")
        frame = read_glue_tsv(path, GLUE_TASKS["stsb"])
        if frame["label"].isna().any():
            raise LrbenchError(f"{path.name} has pairs without a score", file=str(path),
                               hint="an STS split needs gold scores")
        out[split] = pa.table({"sentence1": pa.array(frame["text"], pa.string()),
                               "sentence2": pa.array(frame["text_pair"], pa.string()),
                               "score": pa.array(frame["label"].astype(float), pa.float64())})
    return {"default": out}


def _check_split_sizes(task_name: str, metadata, revision: str, splits: dict, source: Path) -> None:
    """Refuse a file that is not the split it would be cached as: the cache entry claims to be the pinned
    revision's split, so 1,500 GLUE STS-B dev pairs written as STSBenchmark's 1,379-pair test split would be read
    back as the test split, silently. MTEB's metadata states each split's size."""
    expected = getattr(metadata, "n_samples", None) or {}
    for split, table in splits.items():
        want = expected.get(split)
        if want is not None and table.num_rows != want:
            raise LrbenchError(f"{split} split from {source} has {table.num_rows:,} rows, and {task_name}'s {split} "
                               f"split at revision {revision[:12]} has {want:,}: it is another split or another "
                               "version of the data", file=str(source),
                               hint=f"give the task's own {split} split (nothing was written to the cache); evaluate "
                                    "another file directly, e.g. a GLUE dev set as glue:PATH")


def seed_mteb_task(task_name: str, source: Path, cache: Path) -> list[Path]:
    """Write (or copy) the task's configs into `cache` at its pinned revision; returns the entries written."""
    from lrbench.datasets.mteb_tasks import get_mteb_task, task_kind

    if not source.is_dir():
        raise LrbenchError(f"--from {source} is not a folder", hint="a BEIR/CSV/TSV folder or a datasets cache")
    task = get_mteb_task(task_name)
    repo, revision = task.metadata.dataset["path"], task.metadata.dataset["revision"]
    if repo_folder(repo, source).is_dir():
        return seed_from_hf_mirror(repo, source, cache)
    kind = task_kind(task)
    splits = list(task.metadata.eval_splits)
    if kind == "ranking":
        tables = _retrieval_tables(source, splits)
    elif kind == "classification":
        tables = _classification_tables(source, list(dict.fromkeys([task.train_split] + splits)))
    else:
        tables = _sts_tables(source, splits)
    if kind != "ranking":
        _check_split_sizes(task_name, task.metadata, revision, tables["default"], source)
    return [write_config(repo, config, revision, split_tables, cache) for config, split_tables in tables.items()]
