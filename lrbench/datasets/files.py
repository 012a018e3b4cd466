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
from lrbench.datasets.base import QRELS_COLUMNS, RUN_COLUMNS, Dataset
from lrbench.datasets.inputs import MAX_LINE_BYTES, bounded_lines, regular_file


def numbered_lines(path: Path, limit: int | None = MAX_LINE_BYTES):
    """(line number, text) of a UTF-8 text file (optionally gzipped); bytes that are not UTF-8, a file
    that is not text or not a regular file, or a line over `limit` bytes are one error naming the file
    and line."""
    opener = gzip.open if path.suffix == ".gz" else open
    regular_file(path)
    n = 0
    try:
        with opener(path, "rb") as fh:
            for n, raw in bounded_lines(fh, path, limit):
                if n == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                if b"\x00" in raw:
                    raise LrbenchError("binary data, not a text file", file=str(path), line=n,
                                       hint="give a UTF-8 text file")
                try:
                    yield n, raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise LrbenchError("not UTF-8 text", file=str(path), line=n, hint="save the file as UTF-8") from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile, truncated archives
        raise LrbenchError(f"cannot read ({type(exc).__name__}: {exc})", file=str(path), line=n + 1 if n else None,
                           hint="check that the file is complete and in the expected format") from None


def quoted_prefix(text: str, limit: int = 60) -> str:
    """At most `limit` characters of file content, escaped (repr), for an error line: a line of a file
    that is not what we expect may be long or hold control characters."""
    quoted = repr(text)
    return quoted if len(quoted) <= limit else quoted[:limit - 4] + "...'"


def _number(text: str, path: Path, n: int, what: str, integer: bool) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise LrbenchError(f"{what} {quoted_prefix(text)} is not {kind}", file=str(path), line=n,
                           hint="relevance grades are integers (0, 1, 2 ...)" if integer else
                           "scores are numbers") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise LrbenchError(f"{what} {quoted_prefix(text)} is not a finite number", file=str(path), line=n,
                           hint="remove or fix the NaN/inf score")
    return value


_HEADER_WORDS = {"score", "rel", "relevance", "label", "grade", "corpus-id", "query-id", "qid", "docid"}


def read_trec_qrels(path: Path) -> pd.DataFrame:
    """TREC qrels (`qid iter docid rel`), or BEIR TSV with a `query-id corpus-id score` header."""
    import pandas as pd

    rows, seen = [], {}
    for n, line in numbered_lines(path):
        parts = line.split()
        if not parts:
            continue
        if len(parts) == 4:
            qid, _, docid, rel = parts
        elif len(parts) == 3:
            qid, docid, rel = parts
        else:
            raise LrbenchError(f"expected 'qid 0 docid rel', got {quoted_prefix(line.strip())}", file=str(path), line=n,
                               hint="qrels have 4 columns (TREC) or 3 (BEIR TSV with a header)")
        if not rows and not seen and rel.lower() in _HEADER_WORDS:
            seen[None] = n
            continue  # a header row: its last column names the grade
        grade = _number(rel, path, n, "grade", integer=True)
        if (qid, docid) in seen:
            raise LrbenchError(f"query {qid} judges document {docid} twice (first on line {seen[(qid, docid)]})",
                               file=str(path), line=n, hint="keep one judgement per query and document")
        seen[(qid, docid)] = n
        rows.append((qid, docid, grade))
    if not rows:
        raise LrbenchError("no judgements in the qrels file", file=str(path), hint="give a non-empty qrels file")
    return pd.DataFrame(rows, columns=QRELS_COLUMNS)


def json_record(line: str, path: Path, n: int, required: tuple[str, ...] = ()) -> dict:
    """Line `n` of a JSON-lines file as a dict with the `required` keys, else one error naming path:n."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise LrbenchError(f"not a JSON line ({exc.msg})", file=str(path), line=n,
                           hint="one JSON object per line") from None
    if not isinstance(record, dict):
        raise LrbenchError(f"a JSON {type(record).__name__}, not an object", file=str(path), line=n,
                           hint='one JSON object per line, e.g. {"_id": "1", "text": "..."}')
    for key in required:
        if key not in record:
            raise LrbenchError(f"the record lacks '{key}'", file=str(path), line=n, key=key,
                               hint=f"every line needs {', '.join(repr(k) for k in required)}")
    return record


def read_trec_topics(path: Path) -> dict[str, str]:
    """Topics as `qid<TAB>text` (optionally gzipped), or BEIR queries.jsonl."""
    topics = {}
    jsonl = path.name.endswith((".jsonl", ".jsonl.gz"))
    for n, line in numbered_lines(path):
        if jsonl:
            if line.strip():
                record = json_record(line, path, n)
                if "_id" not in record and "id" not in record:
                    raise LrbenchError("the record lacks '_id'", file=str(path), line=n, key="_id",
                                       hint="every query line needs '_id' and 'text'")
                topics[str(record.get("_id", record.get("id")))] = record.get("text", record.get("query", ""))
        elif "\t" in line:
            qid, text = line.rstrip("\n").split("\t", 1)
            topics[qid] = text
    if not topics:
        raise LrbenchError("no topics in the file", file=str(path),
                           hint="topics are 'qid<TAB>text' lines, or JSON lines with _id and text")
    return topics


def read_trec_run(path: Path) -> pd.DataFrame:
    import pandas as pd

    from lrbench.datasets.runfiles import checked_run

    rows, lines = [], []
    for n, line in numbered_lines(path):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 6:
            raise LrbenchError("expected 'qid Q0 docid rank score tag'", file=str(path), line=n,
                               hint="a TREC run has 6 columns")
        rows.append((parts[0], parts[2], _number(parts[4], path, n, "score", integer=False)))
        lines.append(n)
    if not rows:
        raise LrbenchError("the run is empty", file=str(path), hint="give a run with at least one ranked document")
    return checked_run(pd.DataFrame(rows, columns=RUN_COLUMNS), str(path), lines, "line")


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
            with open(regular_file(self.path, "datasets.id"), encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, list):
                raise TypeError("the top level is not a list")
            queries, run, texts = {}, [], {}
            for n, entry in enumerate(data):
                hits = entry["hits"]
                if not hits:
                    continue
                qid = str(hits[0]["qid"])
                queries[qid] = entry["query"]
                for hit in hits:
                    docid, score = str(hit["docid"]), float(hit["score"])
                    run.append((qid, docid, score))
                    texts[docid] = hit.get("content", "")
            if not run:
                raise ValueError("no candidates in the file")
        except (ValueError, KeyError, TypeError) as exc:
            raise LrbenchError(f"not a RankLLM candidate list ({type(exc).__name__}: {exc})", file=str(self.path),
                               hint='expected [{"query": ..., "hits": [{"qid", "docid", "score", "content"}]}]') from None
        from lrbench.datasets.runfiles import checked_run

        return queries, checked_run(pd.DataFrame(run, columns=RUN_COLUMNS), str(self.path), unit="hit"), texts

    def queries(self) -> dict[str, str]:
        return self._lists[0]

    def candidates(self) -> pd.DataFrame:
        return self._lists[1]

    def has_docs(self) -> bool:
        return True

    #: its passages are the retrieved candidates, not the collection: judged passages outside them are expected
    full_collection = False

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
        path = self._file("topics.bright-{subset}-original.jsonl.gz")
        return [json_record(line, path, n, required=("id", "query")) for n, line in numbered_lines(path) if line.strip()]

    def queries(self) -> dict[str, str]:
        return {str(e["id"]): e["query"] for e in self._examples}

    def qrels(self) -> pd.DataFrame:
        return read_trec_qrels(self.qrels_file())

    def excluded(self) -> dict[str, set[str]]:
        return {str(e["id"]): set(parse_id_list(e.get("excluded_ids"))) for e in self._examples}

    def candidates(self) -> pd.DataFrame | None:
        run = self.spec.options.get("run")
        return read_trec_run(self.resolve(run, "datasets.options.run")) if run else None
