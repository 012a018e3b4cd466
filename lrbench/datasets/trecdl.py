"""`trec-dl:2019-passage` (catalogue: dl19-passage .. dl23-passage): TREC Deep Learning passage topics and qrels,
without the passage collection.

Scoring a `given` run needs only queries and qrels; reranking needs only the candidates' texts. So this
dataset never reads the 8.8M (v2: 138M) passages: queries and qrels come from `topics:`/`qrels:` files, else from
the Anserini-named files under `$LRBENCH_DATA/trec-dl-<year>-passage/`, else from ir_datasets (which then fetches
those two small files only). Documents come from `options.candidates` (a RankLLM list with passage texts, or
any run file) and `options.passages` (`docid<TAB>text`).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.base import QRELS_COLUMNS, Dataset, digest
from lrbench.datasets.catalogue import DATA_ENV, TREC_DL_IRDS
from lrbench.datasets.fingerprints import hash_files


class TrecDlDataset(Dataset):
    scheme = "trec-dl"
    option_keys = ("candidates", "passages")

    @cached_property
    def year(self) -> str:
        if self.source not in TREC_DL_IRDS:
            raise LrbenchError(f"unknown TREC DL track 'trec-dl:{self.source}'", key="datasets.id",
                               hint=f"one of: {', '.join('trec-dl:' + k for k in TREC_DL_IRDS)}")
        return self.source.split("-")[0]

    def _shared_file(self, kind: str) -> Path | None:
        """Anserini's file names, e.g. $LRBENCH_DATA/trec-dl-2019-passage/topics.dl19-passage.txt."""
        root = os.environ.get(DATA_ENV)
        if not root:
            return None
        short = f"dl{self.year[2:]}-passage"
        path = Path(root).expanduser() / f"trec-dl-{self.year}-passage" / f"{kind}.{short}.txt"
        return path if path.exists() else None

    def _file(self, spec_value: str | None, key: str, kind: str) -> Path | None:
        self.year  # noqa: B018 - validates the id
        if spec_value:
            return self.resolve(spec_value, key)
        return self._shared_file(kind)

    @cached_property
    def _irds(self):
        from lrbench.datasets.irds import IrdsDataset
        from lrbench.suites.schema import DatasetSpec

        return IrdsDataset(DatasetSpec(id="irds:" + TREC_DL_IRDS[self.source]), self.base_dir, TREC_DL_IRDS[self.source])

    def queries(self) -> dict[str, str]:
        from lrbench.datasets.files import read_trec_topics

        path = self._file(self.spec.topics, "datasets.topics", "topics")
        return read_trec_topics(path) if path else self._irds.queries()

    def qrels(self) -> pd.DataFrame:
        from lrbench.datasets.files import read_trec_qrels

        path = self._file(self.spec.qrels, "datasets.qrels", "qrels")
        return read_trec_qrels(path) if path else self._irds.qrels()[QRELS_COLUMNS]

    # -- documents: only those of the candidate lists --------------------------------------
    @cached_property
    def _candidates(self):
        value = self.spec.options.get("candidates")
        if not value:
            return None
        path = self.resolve(value, "datasets.options.candidates")
        from lrbench.datasets.runfiles import detect_format, read_run

        if detect_format(path) == "rankllm":
            from lrbench.datasets.files import CandidatesDataset
            from lrbench.suites.schema import DatasetSpec

            lists = CandidatesDataset(DatasetSpec(id=f"candidates:{path}"), self.base_dir, str(path))
            return lists.candidates(), lists.doc_texts(set(lists.candidates()["doc_id"]))
        return read_run(path), {}

    @cached_property
    def _passages(self) -> dict[str, str]:
        texts = dict(self._candidates[1]) if self._candidates else {}
        value = self.spec.options.get("passages")
        if value:
            path = self.resolve(value, "datasets.options.passages")
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    doc_id, sep, text = line.rstrip("\n").partition("\t")
                    if sep:
                        texts[doc_id] = text
        return texts

    def candidates(self) -> pd.DataFrame | None:
        return self._candidates[0] if self._candidates else None

    def has_docs(self) -> bool:
        return False  # no collection to search: rerank candidates or score a given run

    def doc_texts(self, doc_ids) -> dict[str, str]:
        texts = self._passages
        return {d: texts[d] for d in doc_ids if d in texts}

    def _document_files(self) -> list[Path]:
        return [self.resolve(self.spec.options[option], f"datasets.options.{option}")
                for option in ("candidates", "passages") if self.spec.options.get(option)]

    def source_files(self) -> list[Path]:
        files = [self._file(self.spec.topics, "datasets.topics", "topics"),
                 self._file(self.spec.qrels, "datasets.qrels", "qrels")]
        return [f for f in files if f] + self._document_files()

    def fingerprint(self) -> str:
        # queries and qrels are small: hash their content, whichever source they came from
        queries = [f"{q}\t{t}" for q, t in sorted(self.queries().items())]
        qrels = self.judged_qrels.astype(str).agg("\t".join, axis=1).tolist()
        documents = self._document_files()
        return digest(self.source, *queries, *qrels, hash_files(documents) if documents else "")[:32]
