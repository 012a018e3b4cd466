"""`bright:DIR/SUBSET` end to end: BRIGHT's topics, qrels, excluded ids and, when the folder has them, its
documents, so BM25 and dense retrievers run over the subset's own corpus.

DIR may be laid out as the Hugging Face dataset xlangai/BRIGHT (`examples/`, `documents/` and `long_documents/`,
each with `<subset>-00000-of-00001.parquet`; subsets spelled with underscores) and/or hold Anserini's files
(`topics.bright-<subset>-original.jsonl.gz`, `qrels.bright-<subset>[.fixed].txt`; hyphens). Subset names are
accepted in either spelling.

- `options.documents`: `documents` (default; BRIGHT's passages) or `long_documents` (whole pages, judged by each
  example's `gold_ids_long`; BRIGHT has them for its 8 StackExchange subsets).
- qrels: `qrels:` if given; else, for documents, the `.fixed` qrels where BRIGHT publishes them, then the plain
  ones, then each example's `gold_ids`; for long documents, `gold_ids_long`.
- Each query's `excluded_ids` are dropped from its ranking before scoring (BRIGHT's rule).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.base import QRELS_COLUMNS
from lrbench.datasets.files import BrightDataset, json_record, numbered_lines, parse_id_list, read_trec_qrels

DOCUMENT_KINDS = ("documents", "long_documents")


def _hf_parquet(folder: Path, kind: str, subset: str) -> Path | None:
    """xlangai/BRIGHT's file for one subset, e.g. documents/earth_science-00000-of-00001.parquet."""
    directory = folder / kind
    if not directory.is_dir():
        return None
    files = sorted(directory.glob(f"{subset.replace('-', '_')}-*.parquet"))
    return files[0] if len(files) == 1 else (files or [None])[0]


class BrightCorpusDataset(BrightDataset):
    """BRIGHT topics, qrels and excluded ids, with the subset's documents when the folder holds them."""

    scheme = "bright"
    option_keys = ("run", "documents")

    @cached_property
    def subset(self) -> str:
        return self.folder_and_subset[1].replace("_", "-")  # Anserini's spelling

    @cached_property
    def folder(self) -> Path:
        return self.folder_and_subset[0]

    @cached_property
    def document_kind(self) -> str:
        kind = self.spec.options.get("documents", "documents")
        if kind not in DOCUMENT_KINDS:
            raise LrbenchError(f"unknown BRIGHT document kind '{kind}'", key="datasets.options.documents",
                               hint="use documents or long_documents")
        return kind

    def _anserini(self, pattern: str) -> Path | None:
        path = self.folder / pattern.format(subset=self.subset)
        return path if path.exists() else None

    # -- topics ----------------------------------------------------------------------------
    def _topics_file(self) -> Path:
        path = _hf_parquet(self.folder, "examples", self.subset) or \
            self._anserini("topics.bright-{subset}-original.jsonl.gz")
        if path is None:
            raise LrbenchError(f"no BRIGHT topics for '{self.subset}' in {self.folder}", key="datasets.id",
                               hint=f"expected examples/{self.subset.replace('-', '_')}-00000-of-00001.parquet "
                                    f"or topics.bright-{self.subset}-original.jsonl.gz")
        return path

    @cached_property
    def _examples(self) -> list[dict]:
        import pandas as pd

        path = self._topics_file()
        if path.suffix == ".parquet":
            return pd.read_parquet(path).to_dict(orient="records")
        return [json_record(line, path, n, required=("id", "query")) for n, line in numbered_lines(path)
                if line.strip()]

    # -- qrels -----------------------------------------------------------------------------
    def qrels_file(self) -> Path | None:
        if self.spec.qrels:
            return self.resolve(self.spec.qrels, "datasets.qrels")
        if self.document_kind == "long_documents":
            return None
        return self._anserini("qrels.bright-{subset}.fixed.txt") or self._anserini("qrels.bright-{subset}.txt")

    def qrels(self) -> pd.DataFrame:
        import pandas as pd

        path = self.qrels_file()
        if path is not None:
            return read_trec_qrels(path)
        field = "gold_ids_long" if self.document_kind == "long_documents" else "gold_ids"
        rows = [(str(e["id"]), doc, 1) for e in self._examples for doc in parse_id_list(_as_list(e.get(field)))]
        if not rows:
            raise LrbenchError(f"BRIGHT {self.subset} has no {field} judgements", key="datasets.options.documents",
                               hint="BRIGHT has long documents only for its StackExchange subsets")
        return pd.DataFrame(rows, columns=QRELS_COLUMNS)

    def excluded(self) -> dict[str, set[str]]:
        return {str(e["id"]): set(parse_id_list(_as_list(e.get("excluded_ids")))) for e in self._examples}

    # -- documents -------------------------------------------------------------------------
    def documents_file(self) -> Path | None:
        return _hf_parquet(self.folder, self.document_kind, self.subset)

    def has_docs(self) -> bool:
        return self.documents_file() is not None

    def docs(self):
        if not self.has_docs():
            return super().docs()
        return iter(self._docs)

    @cached_property
    def _docs(self) -> list[tuple[str, str]]:
        import pandas as pd

        frame = pd.read_parquet(self.documents_file(), columns=["id", "content"])
        return list(zip(frame["id"].astype(str), frame["content"].astype(str)))

    def doc_texts(self, doc_ids) -> dict[str, str]:
        wanted = set(doc_ids)
        return {d: t for d, t in self.docs() if d in wanted}

    def source_files(self) -> list[Path]:
        files = [self._topics_file()]
        qrels = self.qrels_file()
        if qrels is not None:
            files.append(qrels)
        if self.documents_file() is not None:
            files.append(self.documents_file())
        return files

    def identity_extra(self) -> str:
        return self.document_kind  # the same files judge passages or long documents


def _as_list(value):
    """Parquet gives numpy arrays for list columns; JSON gives lists (or a list's repr)."""
    if value is None or isinstance(value, (str, list)):
        return value
    return list(value)
