"""The Dataset interface: a lazy view of one collection behind a scheme."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterator

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.fingerprints import cached_fingerprint, hash_files
from lrbench.datasets.inputs import regular_file
from lrbench.datasets.sampling import limit_ids, subset_identity, subset_profile
from lrbench.suites.schema import DatasetSpec

QRELS_COLUMNS = ["query_id", "doc_id", "relevance"]
RUN_COLUMNS = ["query_id", "doc_id", "score"]


class Dataset:
    """A ranking collection. Subclasses load lazily and cache what they read."""

    scheme: ClassVar[str]
    task: ClassVar[str] = "ranking"
    #: the keys its `options:` may hold (anything else is a typo, reported by `lrbench validate`)
    option_keys: ClassVar[tuple[str, ...]] = ()
    #: binary measures on graded qrels: the minimum grade that counts as relevant
    default_rel: int = 1

    def __init__(self, spec: DatasetSpec, base_dir: Path, source: str):
        self.spec = spec
        self.base_dir = base_dir
        self.source = source

    # -- paths -------------------------------------------------------------------
    def resolve(self, value: str, key: str) -> Path:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (self.base_dir / path).resolve()
        if not path.exists():
            raise LrbenchError(f"file not found: {path}", key=key,
                               hint="paths in a suite resolve against the suite file's folder")
        if key != "datasets.id" or not path.is_dir():  # an id may name a folder (BEIR, BRIGHT); the rest are files
            regular_file(path, key)
        return path

    # -- content (override what the scheme provides) -------------------------------
    def queries(self) -> dict[str, str]:
        raise LrbenchError(f"{self.spec.id} has no queries", hint="use a dataset with topics")

    def docs(self) -> Iterator[tuple[str, str]]:
        raise LrbenchError(f"{self.spec.id} has no document collection",
                           hint="rerank or score a 'given' run, or use a dataset with a corpus")

    def has_docs(self) -> bool:
        return False

    def docs_count(self) -> int | None:
        """How many documents `docs()` yields, when known without reading them (for progress); else None."""
        return None

    def qrels(self) -> pd.DataFrame:
        raise LrbenchError(f"{self.spec.id} has no relevance judgements", hint="add qrels: PATH")

    def candidates(self) -> pd.DataFrame | None:
        """A first-stage run shipped with the dataset (query_id, doc_id, score), if any."""
        return None

    def excluded(self) -> dict[str, set[str]]:
        """Documents to drop from each query's ranking before scoring (BRIGHT)."""
        return {}

    def doc_texts(self, doc_ids) -> dict[str, str]:
        wanted = set(doc_ids)
        return {d: t for d, t in self.docs() if d in wanted}

    def source_files(self) -> list[Path]:
        return []

    def check(self) -> None:
        """What can be checked without reading any data (local paths, ids); `lrbench validate` calls it."""
        self.source_files()

    def check_data(self) -> None:
        """What `lrbench validate` checks by reading the data, so that `run` refuses nothing validate passed
        (a corpus's duplicate document ids); raise LrbenchError."""

    # -- identity ------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Content hash of the data, cached against the files' size and mtime."""
        files = self.source_files()
        extra = repr(sorted((self.relevance_map or {}).items())) + subset_identity(self.spec, self.task) + self.identity_extra()
        return cached_fingerprint(self.scheme + ":" + self.source + extra, files,
                                  lambda: hash_files(files, extra))

    #: the catalogue entry the dataset was opened by, if any (set by open_dataset)
    catalogue = None

    @property
    def relevance_map(self) -> dict[int, int] | None:
        """Raw grade -> relevance: the suite's `relevance:`, else, for a dataset named by its catalogue name,
        the entry's (Cranfield's inversion). A `scheme:source` id reads the source's grades as they are."""
        if self.spec.relevance is not None:
            return self.spec.relevance
        if self.catalogue is not None and getattr(self.catalogue, "name", None) == self.spec.id:
            return self.catalogue.relevance
        return None

    def identity_extra(self) -> str:
        """What, besides the source files, changes the data (e.g. an option choosing which documents)."""
        return ""

    #: docs() is the whole collection the qrels judge (a candidates file holds only the retrieved passages)
    full_collection: ClassVar[bool] = True

    def profile(self) -> dict:
        """What a cell's meta.json records about the data behind its numbers: the query subset, and the
        relevant judged documents the corpus lacks (they count in recall and nDCG, and no system can find them)."""
        count, examples = self.absent_judged
        absent = {"absent_judged_docs": count, "absent_judged_examples": examples} if count else {}
        return {**subset_profile(self.spec, self.task), **absent}

    @cached_property
    def absent_judged(self) -> tuple[int, list[str]]:
        """(how many, the first five) relevant judged document ids that are not in the corpus."""
        if self.task != "ranking" or not self.full_collection or not self.has_docs():
            return 0, []
        judged = _relevant_docs(self.judged_qrels)
        # a full pass of docs() that watched for them already knows; else they are looked up in the corpus
        found = self.__dict__.get("_judged_seen")
        if found is None:
            found = self.doc_texts(judged)
        absent = [d for d in judged if d not in found]
        return len(absent), absent[:5]

    def _noting_judged(self, docs: Iterator[tuple[str, str]]) -> Iterator[tuple[str, str]]:
        """`docs` passed through. When the qrels were already read (a run reads them before it streams the
        corpus; streaming never reads them itself), it notes which relevant judged documents pass by, and a
        complete pass leaves them for `absent_judged`, which then needs no second read of the corpus."""
        qrels = self.__dict__.get("judged_qrels")
        if qrels is None or self.task != "ranking" or not self.full_collection:
            yield from docs
            return
        wanted, seen = set(_relevant_docs(qrels)), set()
        for doc_id, text in docs:
            if doc_id in wanted:
                seen.add(doc_id)
            yield doc_id, text
        self._judged_seen = seen

    def corpus_fingerprint(self) -> str:
        """Content hash of the documents alone: what corpus indexes and embeddings are keyed by, so another
        query set, qrels file or grade map over the same corpus reuses them. Hashes the (doc_id, text) stream,
        cached against the source files like `fingerprint`."""
        files = self.source_files()
        name = "corpus:" + self.scheme + ":" + self.source + self.identity_extra() + repr([str(f) for f in files])
        return cached_fingerprint(name, files, self._hash_docs)

    def _hash_docs(self) -> str:
        h = Digest("corpus")
        h.update(f"{d}\t{t}" for d, t in self.docs())
        return h.hexdigest()[:32]

    @cached_property
    def judged_qrels(self) -> pd.DataFrame:
        qrels = self.qrels()
        if self.relevance_map:
            mapping = self.relevance_map
            qrels = qrels.assign(relevance=qrels["relevance"].map(lambda g: mapping.get(int(g), int(g))))
            if len(qrels) and not (qrels["relevance"] > 0).any():
                raise LrbenchError(f"relevance: maps every grade of {self.spec.label}'s qrels to 0 or less, so "
                                   "every measure would be 0", key="datasets.relevance",
                                   hint="map the grades that count as relevant to 1 or more")
        qrels = self._within_topics(qrels)
        if self.spec.queries_limit:
            keep = limit_ids(qrels["query_id"].tolist(), self.spec, self.task)
            qrels = qrels[qrels["query_id"].isin(set(keep))]
        return qrels.reset_index(drop=True)

    def _within_topics(self, qrels: pd.DataFrame) -> pd.DataFrame:
        """Judgements of this dataset's own queries only: qrels shared by a larger collection (the full
        DL19 qrels beside a 6-query candidate file) must not count queries the dataset never asks."""
        if type(self).queries is Dataset.queries:
            return qrels  # no topics of its own (qrels-only scoring): every judged query counts
        topics = set(self.queries())
        inside = qrels[qrels["query_id"].isin(topics)]
        if len(qrels) and not len(inside):
            raise LrbenchError(f"{self.spec.id}: none of the {qrels['query_id'].nunique()} judged queries is "
                               f"among its {len(topics)} queries", key="datasets.qrels",
                               hint="the qrels belong to other topics: check the qrels file and the query ids")
        return inside

    def judged_query_ids(self) -> set[str]:
        return set(self.judged_qrels["query_id"])

    def eval_queries(self) -> dict[str, str]:
        """The queries to run: those with judgements (all of them when there are no qrels)."""
        queries = self.queries()
        try:
            judged = self.judged_query_ids()
        except LrbenchError:
            return queries
        return {q: t for q, t in queries.items() if q in judged}


def _relevant_docs(qrels: pd.DataFrame) -> list[str]:
    """The relevant judged document ids, each once, in qrels order."""
    return list(dict.fromkeys(qrels.loc[qrels["relevance"] > 0, "doc_id"].astype(str)))


class Digest:
    """sha256 over NUL-terminated string parts, fed incrementally (equal to digest(*parts))."""

    def __init__(self, *parts: str):
        self._h = hashlib.sha256()
        self.update(parts)

    def update(self, parts) -> None:
        for part in parts:
            self._h.update(part.encode())
            self._h.update(b"\0")

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def digest(*parts: str) -> str:
    return Digest(*parts).hexdigest()
