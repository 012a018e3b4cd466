"""`beir:DIR`: a BEIR/MTEB folder: corpus, queries and qrels/<split> as JSON lines, gzipped JSON lines or Parquet.

Accepted layouts (the first match wins):
- corpus: corpus.jsonl | corpus.jsonl.gz | corpus.parquet | corpus/*.parquet
- queries: queries.jsonl | queries.jsonl.gz | queries.parquet | queries/*.parquet
- qrels: qrels/<split>.tsv | qrels/<split>.tsv.gz | qrels/<split>.parquet | qrels/<split>-*.parquet |
  data/<split>-*.parquet (MTEB's default config)
The corpus is streamed for indexing and encoding; a reranker's candidates are read through an offset index
(lrbench.datasets.beir_index), so the collection is never held in memory.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.base import QRELS_COLUMNS, Dataset
from lrbench.datasets.beir_index import CorpusFiles, DocIndex, doc_text, parquet_records
from lrbench.datasets.files import read_trec_qrels, read_trec_topics

LAYOUT_HINT = "expected corpus.jsonl[.gz] or corpus/*.parquet, queries.jsonl[.gz] or queries/*.parquet, qrels/<split>.tsv"


def _first_existing(folder: Path, names: list[str], globs: list[str]) -> list[Path]:
    for name in names:
        if (folder / name).is_file():
            return [folder / name]
    for pattern in globs:
        found = sorted(folder.glob(pattern))
        if found:
            return found
    return []


def read_parquet_qrels(files: list[Path]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    cols = {"query-id": "query_id", "corpus-id": "doc_id", "score": "relevance"}
    if not set(cols) <= set(frame.columns):
        raise LrbenchError(f"Parquet qrels lack columns {', '.join(sorted(set(cols) - set(frame.columns)))}",
                           file=str(files[0]), hint="MTEB qrels have columns query-id, corpus-id, score")
    frame = frame.rename(columns=cols)[QRELS_COLUMNS]
    return frame.astype({"query_id": str, "doc_id": str, "relevance": int})


class BeirDataset(Dataset):
    """`beir:DIR`: BEIR's GenericDataLoader layout, plain, gzipped or as MTEB Parquet files."""

    scheme = "beir"

    @cached_property
    def folder(self) -> Path:
        return self.resolve(self.source, "datasets.id")

    def _missing(self, what: str) -> LrbenchError:
        return LrbenchError(f"BEIR folder lacks {what}", file=str(self.folder), hint=LAYOUT_HINT)

    @cached_property
    def corpus(self) -> CorpusFiles:
        corpus = CorpusFiles.find(self.folder)
        if corpus is None:
            raise self._missing("corpus.jsonl")
        return corpus

    @cached_property
    def queries_files(self) -> list[Path]:
        files = _first_existing(self.folder, ["queries.jsonl", "queries.jsonl.gz", "queries.parquet"],
                                ["queries/*.parquet"])
        if not files:
            raise self._missing("queries.jsonl")
        return files

    def qrels_files(self) -> list[Path]:
        if self.spec.qrels:
            return [self.resolve(self.spec.qrels, "datasets.qrels")]
        split = self.spec.split or "test"
        files = _first_existing(self.folder, [f"qrels/{split}.tsv", f"qrels/{split}.tsv.gz", f"qrels/{split}.parquet"],
                                [f"qrels/{split}-*.parquet", f"data/{split}-*.parquet"])
        if not files:
            raise self._missing(f"qrels/{split}.tsv")
        return files

    def qrels_file(self) -> Path:
        return self.qrels_files()[0]

    def source_files(self) -> list[Path]:
        return [*self.corpus.files, *self.queries_files, *self.qrels_files()]

    def has_docs(self) -> bool:
        return True

    def check_data(self) -> None:
        self.doc_index  # noqa: B018 -- built once (and kept for reranking); refuses duplicate ids, empty corpora

    def docs(self):
        """(doc_id, text) streamed from the files."""
        return self._noting_judged((r["_id"], doc_text(r)) for r in self.corpus.records())

    def corpus_fingerprint(self) -> str:
        return self.corpus.fingerprint()

    @cached_property
    def doc_index(self) -> DocIndex:
        return DocIndex.open(self.corpus)

    def doc_texts(self, doc_ids) -> dict[str, str]:
        return {d: doc_text(r) for d, r in self.doc_index.get_many(doc_ids).items()}

    def queries(self) -> dict[str, str]:
        files = self.queries_files
        if files[0].suffix == ".parquet":
            return {r["_id"]: r["text"] for r in parquet_records(files)}
        return read_trec_topics(files[0])

    def qrels(self) -> pd.DataFrame:
        files = self.qrels_files()
        if files[0].suffix == ".parquet":
            return read_parquet_qrels(files)
        return read_trec_qrels(files[0])
