"""Random access to a BEIR corpus without loading it: a byte-offset index over one JSON-lines file.

The index is built once per corpus content (keyed by the corpus files' fingerprint) under the lrbench cache:
`keys.npy` (a 64-bit hash of each doc id, sorted), `offsets.npy` (the matching line offsets) and, for gzipped
and Parquet corpora, `corpus.jsonl` (a plain copy to seek in), checked against their manifest
(lrbench.checked_cache) when opened. Both arrays are memory-mapped, so a lookup
touches only the pages of the ids it asks for and the memory it needs does not grow with the corpus;
each line read back is checked against the id asked for (hash collisions cost one extra read).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Iterator

from lrbench.checked_cache import publish_checked, read_checked
from lrbench.errors import LrbenchError
from lrbench.paths import cache_dir
from lrbench.datasets.files import json_record, numbered_lines
from lrbench.datasets.fingerprints import cached_fingerprint, hash_files


def id_key(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "little") >> 1


def doc_text(record: dict) -> str:
    """BEIR's GenericDataLoader text: title and text joined by a space when there is a title."""
    title = record.get("title") or ""
    text = record.get("text") or ""
    return f"{title} {text}".strip() if title else text


def _parse(line: str, path: Path, n: int) -> dict:
    record = json_record(line, path, n, required=("_id",))
    record["_id"] = str(record["_id"])
    return record


class _Unique:
    """Each document id once per corpus: the error names both lines."""

    def __init__(self, path: Path):
        self.path = path
        self.first: dict[str, int] = {}

    def add(self, doc_id: str, n: int) -> None:
        if doc_id in self.first:
            raise LrbenchError(f"document id {doc_id} appears twice (first on line {self.first[doc_id]})",
                               file=str(self.path), line=n, hint="give every document a unique _id")
        self.first[doc_id] = n

    def done(self) -> None:
        if not self.first:
            raise LrbenchError("the corpus is empty", file=str(self.path), hint="one JSON object per document")


def parquet_records(files: list[Path], batch_rows: int = 8192) -> Iterator[dict]:
    """Rows of MTEB-style Parquet files (columns _id or id, title, text), in file order, streamed by batch."""
    import pyarrow.parquet as pq

    for path in files:
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        id_col = "_id" if "_id" in names else "id"
        if id_col not in names or "text" not in names:
            raise LrbenchError(f"Parquet corpus lacks an _id/id or text column (has {', '.join(sorted(names))})",
                               file=str(path), hint="MTEB/BEIR corpora have columns _id, title, text")
        columns = [c for c in (id_col, "title", "text") if c in names]
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            cols = batch.to_pydict()
            for i, doc_id in enumerate(cols[id_col]):
                yield {"_id": str(doc_id), "title": (cols.get("title") or [""] * len(cols[id_col]))[i] or "",
                       "text": cols["text"][i] or ""}


class CorpusFiles:
    """A BEIR corpus: `corpus.jsonl`, `corpus.jsonl.gz`, `corpus.parquet` or `corpus/*.parquet`."""

    def __init__(self, files: list[Path]):
        self.files = files
        self.kind = ("parquet" if files[0].suffix == ".parquet" else
                     "gzip" if files[0].suffix == ".gz" else "jsonl")

    @classmethod
    def find(cls, folder: Path) -> "CorpusFiles | None":
        for name in ("corpus.jsonl", "corpus.jsonl.gz", "corpus.parquet"):
            if (folder / name).is_file():
                return cls([folder / name])
        parts = sorted((folder / "corpus").glob("*.parquet")) if (folder / "corpus").is_dir() else []
        return cls(parts) if parts else None

    def records(self) -> Iterator[dict]:
        """Every record, streamed (never the whole corpus in memory), checked line by line."""
        for record, _ in self._numbered():
            yield record

    def _numbered(self) -> Iterator[tuple[dict, int]]:
        unique = _Unique(self.files[0])
        if self.kind == "parquet":
            for n, record in enumerate(parquet_records(self.files), 1):
                unique.add(record["_id"], n)
                yield record, n
        else:
            for n, line in numbered_lines(self.files[0]):
                if line.strip():
                    record = _parse(line, self.files[0], n)
                    unique.add(record["_id"], n)
                    yield record, n
        unique.done()

    def fingerprint(self) -> str:
        return cached_fingerprint("beir-corpus:" + ",".join(map(str, self.files)), self.files,
                                  lambda: hash_files(self.files))


class DocIndex:
    """Offsets of each record in one seekable JSON-lines file; `get_many` reads only the lines asked for."""

    def __init__(self, folder: Path, lines_file: Path):
        import numpy as np

        self.folder = folder
        self.lines_file = lines_file
        self.keys = np.load(folder / "keys.npy", mmap_mode="r")
        self.offsets = np.load(folder / "offsets.npy", mmap_mode="r")
        self.reads = 0  # records read back through the index (what tests count)

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def open(cls, corpus: CorpusFiles, root: Path | None = None) -> "DocIndex":
        folder = (root or cache_dir() / "doc-index") / corpus.fingerprint()
        if read_checked(folder) is None:  # none yet, or damaged (then removed): built again
            _build(corpus, folder)
        lines = folder / "corpus.jsonl" if corpus.kind != "jsonl" else corpus.files[0]
        return cls(folder, lines)

    def get_many(self, doc_ids: Iterable[str]) -> dict[str, dict]:
        import numpy as np

        wanted = list(dict.fromkeys(str(d) for d in doc_ids))
        if not wanted:
            return {}
        keys = np.fromiter((id_key(d) for d in wanted), dtype=np.int64, count=len(wanted))
        lo = np.searchsorted(self.keys, keys, side="left")
        hi = np.searchsorted(self.keys, keys, side="right")
        jobs = sorted((int(self.offsets[j]), d) for d, a, b in zip(wanted, lo, hi) for j in range(a, b))
        found: dict[str, dict] = {}
        with open(self.lines_file, "rb") as fh:
            for offset, doc_id in jobs:
                if doc_id in found:
                    continue
                fh.seek(offset)
                record = json.loads(fh.readline())  # checked when the index was built
                record["_id"] = str(record["_id"])
                self.reads += 1
                if record["_id"] == doc_id:
                    found[doc_id] = record
        return found


def _build(corpus: CorpusFiles, folder: Path) -> None:
    """Scan the corpus once; write keys/offsets (and a plain copy for gzip/Parquet) atomically."""
    import numpy as np

    def build(tmp: Path) -> None:
        keys, offsets = [], []
        if corpus.kind == "jsonl":  # offsets into the file itself: lines are checked as records() checks them
            path = corpus.files[0]
            with open(path, "rb") as fh:
                raw_offsets = [0]
                for raw in fh:
                    raw_offsets.append(raw_offsets[-1] + len(raw))
            for record, n in corpus._numbered():
                keys.append(id_key(record["_id"]))
                offsets.append(raw_offsets[n - 1])
        else:
            with open(tmp / "corpus.jsonl", "wb") as out:
                for record in corpus.records():
                    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
                    keys.append(id_key(record["_id"]))
                    offsets.append(out.tell())
                    out.write(line)
        order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
        np.save(tmp / "keys.npy", np.asarray(keys, dtype=np.int64)[order])
        np.save(tmp / "offsets.npy", np.asarray(offsets, dtype=np.int64)[order])

    # False: another process published the index first (theirs is kept)
    if not publish_checked(folder, build) and not (folder / "offsets.npy").exists():
        raise LrbenchError("the corpus index folder is damaged (no offsets.npy)", file=str(folder),
                           hint="delete the folder; the next run rebuilds it")
