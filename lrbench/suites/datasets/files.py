"""File-based datasets: RankLLM candidate lists, TREC topics/qrels/runs, BRIGHT (BEIR folders: beir.py)."""

from __future__ import annotations

import ast
import gzip
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.suites.datasets.base import QRELS_COLUMNS, RUN_COLUMNS, Dataset


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8-sig")


def read_trec_qrels(path: Path) -> pd.DataFrame:
    """TREC qrels (`qid iter docid rel`), or BEIR TSV with a `query-id corpus-id score` header."""
    import pandas as pd

    rows = []
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) == 4:
                qid, _, docid, rel = parts
            elif len(parts) == 3:
                qid, docid, rel = parts
            else:
                raise LrbenchError(f"line {n}: expected 'qid 0 docid rel', got {line.strip()!r}", file=str(path))
            if n == 1 and not rel.lstrip("-").isdigit():
                continue  # header row
            rows.append((qid, docid, int(rel)))
    return pd.DataFrame(rows, columns=QRELS_COLUMNS)


def read_trec_topics(path: Path) -> dict[str, str]:
    """Topics as `qid<TAB>text` (optionally gzipped), or BEIR queries.jsonl."""
    topics = {}
    with _open_text(path) as fh:
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            for line in fh:
                if line.strip():
                    record = json.loads(line)
                    topics[str(record.get("_id", record.get("id")))] = record.get("text", record.get("query", ""))
            return topics
        for line in fh:
            if "\t" in line:
                qid, text = line.rstrip("\n").split("\t", 1)
                topics[qid] = text
    return topics


def read_trec_run(path: Path) -> pd.DataFrame:
    import pandas as pd

    rows = []
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 6:
                raise LrbenchError(f"line {n}: expected 'qid Q0 docid rank score tag'", file=str(path))
            rows.append((parts[0], parts[2], float(parts[4])))
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


class CandidatesDataset(Dataset):
    """`candidates:FILE.json`: RankLLM first-stage lists with passage text, plus `qrels:`."""

    scheme = "candidates"

    @cached_property
    def path(self) -> Path:
        return self.resolve(self.source, "datasets.id")

    def source_files(self) -> list[Path]:
        files = [self.path]
        if self.spec.qrels:
            files.append(self.resolve(self.spec.qrels, "datasets.qrels"))
        return files

    @cached_property
    def _lists(self):
        import pandas as pd

        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            queries, run, texts = {}, [], {}
            for entry in data:
                hits = entry["hits"]
                if not hits:
                    continue
                qid = str(hits[0]["qid"])
                queries[qid] = entry["query"]
                for hit in hits:
                    run.append((qid, str(hit["docid"]), float(hit["score"])))
                    texts[str(hit["docid"])] = hit.get("content", "")
        except (ValueError, KeyError, TypeError) as exc:
            raise LrbenchError(f"not a RankLLM candidate list ({type(exc).__name__}: {exc})", file=str(self.path),
                               hint='expected [{"query": ..., "hits": [{"qid", "docid", "score", "content"}]}]') from None
        return queries, pd.DataFrame(run, columns=RUN_COLUMNS), texts

    def queries(self) -> dict[str, str]:
        return self._lists[0]

    def candidates(self) -> pd.DataFrame:
        return self._lists[1]

    def has_docs(self) -> bool:
        return True

    def docs(self):
        return iter(self._lists[2].items())

    def doc_texts(self, doc_ids) -> dict[str, str]:
        texts = self._lists[2]
        return {d: texts[d] for d in doc_ids if d in texts}

    def qrels(self) -> pd.DataFrame:
        if not self.spec.qrels:
            return super().qrels()
        return read_trec_qrels(self.resolve(self.spec.qrels, "datasets.qrels"))


class TrecDataset(Dataset):
    """`trec:TOPICS`: a TREC topics file with `qrels:` and optionally a run to score (`options.run`)."""

    scheme = "trec"
    option_keys = ("run",)

    def source_files(self) -> list[Path]:
        files = [self.resolve(self.source, "datasets.id")]
        if self.spec.qrels:
            files.append(self.resolve(self.spec.qrels, "datasets.qrels"))
        if self.spec.options.get("run"):
            files.append(self.resolve(self.spec.options["run"], "datasets.options.run"))
        return files

    def queries(self) -> dict[str, str]:
        return read_trec_topics(self.resolve(self.source, "datasets.id"))

    def qrels(self) -> pd.DataFrame:
        if not self.spec.qrels:
            return super().qrels()
        return read_trec_qrels(self.resolve(self.spec.qrels, "datasets.qrels"))

    def candidates(self) -> pd.DataFrame | None:
        run = self.spec.options.get("run")
        return read_trec_run(self.resolve(run, "datasets.options.run")) if run else None


def parse_id_list(value) -> list[str]:
    """BRIGHT stores id lists either as JSON lists or as the Python repr of a list."""
    if isinstance(value, str):
        value = ast.literal_eval(value) if value.strip().startswith("[") else [value]
    return [str(v) for v in value or [] if v and v != "N/A"]


class BrightDataset(Dataset):
    """`bright:DIR/SUBSET`: BRIGHT topics and qrels; each query's `excluded_ids` are dropped before scoring."""

    scheme = "bright"
    option_keys = ("run",)

    @cached_property
    def folder_and_subset(self) -> tuple[Path, str]:
        folder, _, subset = self.source.rpartition("/")
        if not folder:
            raise LrbenchError(f"expected bright:FOLDER/SUBSET, got bright:{self.source}", key="datasets.id",
                               hint="e.g. bright:data/bright-topics-qrels-only/biology")
        return self.resolve(folder, "datasets.id"), subset

    def _file(self, pattern: str) -> Path:
        folder, subset = self.folder_and_subset
        return self.resolve(str(folder / pattern.format(subset=subset)), "datasets.id")

    def source_files(self) -> list[Path]:
        return [self._file("topics.bright-{subset}-original.jsonl.gz"), self.qrels_file()]

    def qrels_file(self) -> Path:
        if self.spec.qrels:
            return self.resolve(self.spec.qrels, "datasets.qrels")
        return self._file("qrels.bright-{subset}.txt")

    @cached_property
    def _examples(self) -> list[dict]:
        with _open_text(self._file("topics.bright-{subset}-original.jsonl.gz")) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def queries(self) -> dict[str, str]:
        return {str(e["id"]): e["query"] for e in self._examples}

    def qrels(self) -> pd.DataFrame:
        return read_trec_qrels(self.qrels_file())

    def excluded(self) -> dict[str, set[str]]:
        return {str(e["id"]): set(parse_id_list(e.get("excluded_ids"))) for e in self._examples}

    def candidates(self) -> pd.DataFrame | None:
        run = self.spec.options.get("run")
        return read_trec_run(self.resolve(run, "datasets.options.run")) if run else None
