"""`mteb:NAME`: an MTEB task by name, read through the mteb package's own metadata and loaders.

    - id: mteb:SciFact                     # retrieval: ranks with any ranking system
    - id: mteb:SciDocsRR                   # reranking: candidates() holds the task's top-ranked lists
    - id: mteb:Banking77Classification     # classification: mteb-classification or embedder systems
    - id: mteb:STSBenchmark                # STS: Spearman/Pearson of an embedder's cosine
      split: test                          # default: the task's first eval split; options: {subset: NAME}

The task's Hub repo and revision pin come from mteb's TaskMetadata. Its data is read from the Hugging Face
datasets cache (`hf_cache.py`): when the pinned revision is cached (seeded from `LRBENCH_HF_MIRROR`, or by
`lrbench data seed mteb:NAME --from DIR`), datasets runs offline; otherwise mteb downloads it as usual.
Retrieval and reranking tasks are ranking datasets; classification and STS use the classification task kind
(STS as regression: the prediction is the similarity, scored by Spearman and Pearson).
"""

from __future__ import annotations

import difflib
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.base import QRELS_COLUMNS, Dataset
from lrbench.datasets.tasks import EXAMPLE_COLUMNS, SplitExamples, _Measures
from lrbench.datasets.fingerprints import cached_fingerprint, hash_files
from lrbench.datasets.sampling import subset_identity
from lrbench.datasets.hf_cache import cached_revisions, hf_datasets_cache, offline, repo_folder, seed_from_hf_mirror

#: mteb's main scores -> the measure lrbench reports by default
MAIN_SCORES = {"ndcg_at_10": "nDCG@10", "map_at_1000": "AP@1000", "map": "AP", "mrr_at_10": "RR@10",
               "recall_at_100": "R@100", "accuracy": "accuracy", "cosine_spearman": "Spearman"}
KINDS = {"Retrieval": "ranking", "Reranking": "ranking", "Classification": "classification", "STS": "sts"}


def get_mteb_task(name: str):
    """The mteb task object for a name (mteb's own registry, aliases included)."""
    try:
        import mteb
    except ImportError:
        raise LrbenchError("mteb: datasets need the mteb package", key="datasets.id",
                           hint="pip install 'lrbench[mteb]'") from None

    try:
        return mteb.get_task(name)
    except Exception:
        names = [t.metadata.name for t in mteb.get_tasks()]
        near = difflib.get_close_matches(name, names, n=3)
        raise LrbenchError(f"unknown MTEB task '{name}'", key="datasets.id",
                           hint=(f"did you mean {', '.join(near)}? " if near else "") +
                           "names as mteb.get_task knows them, e.g. mteb:SciFact") from None


def task_kind(task) -> str:
    kind = KINDS.get(task.metadata.type)
    if kind is None:
        raise LrbenchError(f"MTEB task {task.metadata.name} is of type {task.metadata.type}", key="datasets.id",
                           hint=f"lrbench runs MTEB tasks of type {', '.join(KINDS)}")
    return kind


def beir_text(title, text) -> str:
    """A BEIR document as one string: title and text, as ir_datasets' BEIR docs give it."""
    return f"{title} {text or ''}".strip() if title else (text or "")


class MtebDataset(SplitExamples, Dataset):
    """`mteb:NAME`: an MTEB task (retrieval, reranking, classification, STS) from the datasets cache."""

    scheme = "mteb"
    option_keys = ("subset",)

    # -- the task and its data ---------------------------------------------------------------
    @cached_property
    def mteb_task(self):
        return get_mteb_task(self.source)

    @property
    def task(self) -> str:  # the task kind picks the evaluator; STS is scored as regression
        return "classification" if self.kind == "sts" else self.kind

    @cached_property
    def kind(self) -> str:
        return task_kind(self.mteb_task)

    @property
    def repo(self) -> str:
        return self.mteb_task.metadata.dataset["path"]

    @property
    def revision(self) -> str:
        return self.mteb_task.metadata.dataset["revision"]

    @cached_property
    def split(self) -> str:
        splits = list(self.mteb_task.metadata.eval_splits)
        split = self.spec.split or splits[0]
        if split not in splits and not (self.kind == "classification" and split == self.mteb_task.train_split):
            raise LrbenchError(f"MTEB task {self.source} has no eval split '{split}'", key="datasets.split",
                               hint=f"use one of {', '.join(splits)}")
        return split

    @cached_property
    def cache(self) -> Path:
        cache = hf_datasets_cache()
        seed_from_hf_mirror(self.repo, cache=cache)
        return cache

    def _pinned_entries(self) -> list[Path]:
        root = repo_folder(self.repo, self.cache)
        return sorted(p for p in root.glob(f"*/*/{self.revision}") if (p / "dataset_info.json").exists())

    @cached_property
    def _loaded(self) -> dict:
        """mteb's loaded split: {corpus, queries, relevant_docs, top_ranked} or a datasets.DatasetDict."""
        import datasets

        datasets.disable_progress_bars()  # the CLI shows its own progress; cache notices are not errors
        datasets.utils.logging.set_verbosity_error()
        task = self.mteb_task
        entries = self._pinned_entries()
        if entries:
            for entry in entries:  # offline, datasets takes the newest cached revision of a config: make it ours
                os.utime(entry)
            with offline(self.cache):
                task.load_data()
        else:
            others = cached_revisions(self.repo, self.cache)
            if others:
                raise LrbenchError(f"the datasets cache holds {self.repo} at revision(s) {', '.join(sorted(others))}, "
                                   f"but mteb's {self.source} pins {self.revision}", key="datasets.id",
                                   hint=f"seed the pinned revision: lrbench data seed mteb:{self.source} --from DIR")
            try:
                task.load_data()
            except Exception as exc:
                raise LrbenchError(f"cannot load MTEB task {self.source} ({self.repo}@{self.revision[:12]}): "
                                   f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", key="datasets.id",
                                   hint=f"offline, seed the datasets cache first: lrbench data seed "
                                        f"mteb:{self.source} --from DIR (or set LRBENCH_HF_MIRROR)") from None
        data = task.dataset
        if not task.metadata.is_multilingual and set(task.metadata.eval_splits) & set(data):
            return data  # a monolingual task's splits, not keyed by subset
        subset = self.spec.options.get("subset") or ("default" if "default" in data else next(iter(data)))
        if subset not in data:
            raise LrbenchError(f"MTEB task {self.source} has no subset '{subset}'", key="datasets.options.subset",
                               hint=f"use one of {', '.join(data)}")
        return data[subset]

    def source_files(self) -> list[Path]:
        name = self.repo.split("/")[-1]
        files = []
        for entry in self._pinned_entries():
            files += [entry / "dataset_info.json"] + sorted(entry.glob(f"{name}-*.arrow"))
        return files

    def fingerprint(self) -> str:
        files = self.source_files()
        if not files:
            self._loaded  # noqa: B018 -- downloads (online) or raises the seeding hint
            files = self.source_files()
        extra = (f"{self.source}@{self.revision}/{self.split}" + repr(sorted(self.spec.options.items())) +
                 repr(sorted((self.spec.relevance or {}).items())) + subset_identity(self.spec, self.task))
        return cached_fingerprint("mteb:" + self.source + extra, files, lambda: hash_files(files, extra))

    @property
    def catalogue(self):
        if self._catalogue is not None:
            return self._catalogue
        main = MAIN_SCORES.get(self.mteb_task.metadata.main_score)
        measures = {"ranking": ["nDCG@10", "R@100"], "classification": ["accuracy", "macro-F1"],
                    "sts": ["Spearman", "Pearson"]}[self.kind]
        if main and main not in measures:
            measures = [main] + measures
        return _Measures(measures, self.source, f"MTEB {self.mteb_task.metadata.type} task {self.source}")

    @catalogue.setter
    def catalogue(self, value):
        self._catalogue = value

    _catalogue = None

    def _need(self, *kinds: str) -> None:
        if self.kind not in kinds:
            raise LrbenchError(f"MTEB task {self.source} is a {self.mteb_task.metadata.type} task", key="datasets.id",
                               hint="use a system of the matching kind")

    # -- ranking -----------------------------------------------------------------------------
    def _retrieval(self) -> dict:
        self._need("ranking")
        return self._loaded[self.split]

    def has_docs(self) -> bool:
        return self.kind == "ranking"

    def docs(self):
        return iter(self._docs)

    @cached_property
    def _docs(self) -> list[tuple[str, str]]:
        corpus = self._retrieval()["corpus"]
        titles = corpus["title"] if "title" in corpus.column_names else [None] * len(corpus)
        return [(str(i), beir_text(t, x)) for i, t, x in zip(corpus["id"], titles, corpus["text"])]

    def queries(self) -> dict[str, str]:
        queries = self._retrieval()["queries"]
        return {str(i): t for i, t in zip(queries["id"], queries["text"])}

    def qrels(self) -> pd.DataFrame:
        import pandas as pd

        rows = [(q, d, int(s)) for q, docs in self._retrieval()["relevant_docs"].items() for d, s in docs.items()]
        return pd.DataFrame(rows, columns=QRELS_COLUMNS).sort_values(["query_id", "doc_id"], ignore_index=True)

    def candidates(self) -> pd.DataFrame | None:
        """A reranking task's top-ranked lists, scored by their order in the task."""
        import pandas as pd

        if self.kind != "ranking":
            return None
        top = self._retrieval().get("top_ranked")
        if not top:
            return None
        rows = [(q, d, float(len(ids) - r)) for q, ids in top.items() for r, d in enumerate(ids)]
        return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])

    def eval_queries(self) -> dict[str, str]:
        if self.kind != "ranking":
            return {}
        return super().eval_queries()

    # -- classification and STS ---------------------------------------------------------------
    @property
    def regression(self) -> bool:
        return self.kind == "sts"

    @cached_property
    def label_names(self) -> tuple[str, ...] | None:
        if self.kind != "classification":
            return None
        train = self._loaded[self.mteb_task.train_split]
        feature = train.features.get(self.mteb_task.label_column_name)
        if getattr(feature, "names", None):
            return tuple(feature.names)
        labels = sorted(set(train[self.mteb_task.label_column_name]))
        if "label_text" in train.column_names:
            names = dict(zip(train[self.mteb_task.label_column_name], train["label_text"]))
            return tuple(str(names[label]) for label in labels)
        return tuple(str(label) for label in labels)

    def _examples(self, split: str) -> pd.DataFrame:
        import pandas as pd

        self._need("classification", "sts")
        data = self._loaded[split]
        if self.kind == "sts":
            first, second = self.mteb_task.column_names
            return pd.DataFrame({"id": [f"{split}-{i}" for i in range(len(data))], "text": data[first],
                                 "text_pair": data[second], "label": [float(s) for s in data["score"]]})
        labels = data[self.mteb_task.label_column_name]
        return pd.DataFrame({"id": [f"{split}-{i}" for i in range(len(data))],
                             "text": data[self.mteb_task.input_column_name], "text_pair": None,
                             "label": [int(x) for x in labels]})[EXAMPLE_COLUMNS]

    def _split_examples(self) -> pd.DataFrame:
        return self._examples(self.split)

    def train_examples(self) -> pd.DataFrame:
        self._need("classification")
        return self._examples(self.mteb_task.train_split)
