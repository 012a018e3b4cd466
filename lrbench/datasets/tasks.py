"""Non-ranking datasets: GLUE TSVs (`glue:`), WikiText/PTB text (`wikitext:`), MTEB classification (`mteb-classification:`).

Task kinds: `classification` (glue, mteb-classification) and `lm` (wikitext). No torch here.

Paths resolve against the suite file's folder:
    - id: glue:../../shared/data/glue-dev/SST-2.dev.tsv          # task from the file name, or options: {task: sst2}
    - id: wikitext:../../shared/data/wikitext-2/wiki.test.tokens  # options: {format: tokens | raw | ptb}
    - id: mteb-classification:../../shared/data/banking77        # train.csv + test.csv (text, category)
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.base import Dataset
from lrbench.datasets.sampling import limit_rows, subset_identity
from lrbench.datasets.fingerprints import cached_fingerprint, hash_files

EXAMPLE_COLUMNS = ["id", "text", "text_pair", "label"]


@dataclass(frozen=True)
class _Measures:
    """Stands in for a catalogue entry: the measures a task reports by default."""

    measures: list[str] = field(default_factory=list)
    name: str = ""
    note: str = ""


class _TaskDataset(Dataset):
    """Shared: one or more local files, default measures per task, content fingerprint."""

    default_measures: list[str] = []

    @property
    def catalogue(self):
        return self._catalogue or _Measures(list(self.default_measures))

    @catalogue.setter
    def catalogue(self, value):
        self._catalogue = value

    _catalogue = None

    def fingerprint(self) -> str:
        files = self.source_files()
        extra = self.scheme + repr(sorted(self.spec.options.items())) + subset_identity(self.spec, self.task)
        return cached_fingerprint(self.scheme + ":" + str(files) + extra, files, lambda: hash_files(files, extra))

    def eval_queries(self) -> dict[str, str]:
        return {}


class SplitExamples:
    """`examples()`: the evaluation split's examples (`_split_examples`), the first `queries_limit` of them when
    the suite sets it, numbered from 0."""

    def _split_examples(self) -> pd.DataFrame:
        raise NotImplementedError

    @cached_property
    def _test(self) -> pd.DataFrame:
        return limit_rows(self._split_examples(), self.spec, self.task).reset_index(drop=True)

    def examples(self) -> pd.DataFrame:
        return self._test


# -- GLUE ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GlueTask:
    name: str
    file_names: tuple[str, ...]
    text: str | int
    pair: str | int | None
    label: str | int | None
    labels: tuple[str, ...] | None  # label names in id order; None for regression (STS-B)
    measures: tuple[str, ...]
    header: bool = True
    #: raw label strings as they appear in the files -> label id
    label_map: dict[str, int] | None = None


GLUE_TASKS: dict[str, GlueTask] = {t.name: t for t in [
    GlueTask("sst2", ("sst-2", "sst2"), "sentence", None, "label", ("negative", "positive"), ("accuracy",)),
    GlueTask("mrpc", ("mrpc",), "#1 String", "#2 String", "Quality", ("not_equivalent", "equivalent"),
             ("accuracy", "F1")),
    GlueTask("rte", ("rte",), "sentence1", "sentence2", "label", ("entailment", "not_entailment"), ("accuracy",),
             label_map={"entailment": 0, "not_entailment": 1}),
    GlueTask("qnli", ("qnli",), "question", "sentence", "label", ("entailment", "not_entailment"), ("accuracy",),
             label_map={"entailment": 0, "not_entailment": 1}),
    GlueTask("mnli", ("mnli",), "sentence1", "sentence2", "gold_label", ("entailment", "neutral", "contradiction"),
             ("accuracy",), label_map={"entailment": 0, "neutral": 1, "contradiction": 2}),
    GlueTask("qqp", ("qqp",), "question1", "question2", "is_duplicate", ("not_duplicate", "duplicate"),
             ("accuracy", "F1")),
    # CoLA's train/dev files have no header: source, label, original mark, sentence
    GlueTask("cola", ("cola",), 3, None, 1, ("unacceptable", "acceptable"), ("MCC",), header=False),
    GlueTask("stsb", ("sts-b", "stsb"), "sentence1", "sentence2", "score", None, ("Pearson", "Spearman")),
]}


def glue_task_for(path: Path, option: str | None) -> GlueTask:
    if option:
        key = option.lower().replace("-", "")
        if key not in GLUE_TASKS:
            raise LrbenchError(f"unknown GLUE task '{option}'", key="datasets.options.task",
                               hint=f"use one of {', '.join(GLUE_TASKS)}")
        return GLUE_TASKS[key]
    # SST-2.dev.tsv, mrpc_dev.tsv, or the original GLUE layout MNLI/dev_matched.tsv
    for name in (path.name.lower(), path.parent.name.lower() + "."):
        for task in GLUE_TASKS.values():
            if any(re.match(re.escape(prefix) + r"[._]", name) for prefix in task.file_names):
                return task
    raise LrbenchError(f"cannot tell the GLUE task from the file name {path.name}", key="datasets.options.task",
                       hint=f"add options: {{task: NAME}} with NAME one of {', '.join(GLUE_TASKS)}")


def read_glue_tsv(path: Path, task: GlueTask) -> pd.DataFrame:
    """A GLUE TSV (original or export layout) -> id, text, text_pair, label (int id, or float for STS-B)."""
    import pandas as pd

    with open(path, encoding="utf-8-sig", newline="") as fh:  # utf-8-sig drops MRPC's BOM
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise LrbenchError(f"{path.name} is empty", file=str(path))
    if task.header:
        header = [h.strip() for h in rows[0]]
        body = rows[1:]

        def col(spec, required=True):
            if spec is None:
                return None
            if spec not in header:
                if not required:
                    return None
                raise LrbenchError(f"column '{spec}' not in the header of {path.name} ({', '.join(header)})",
                                   file=str(path), line=1, hint=f"is this a GLUE {task.name} file?")
            return header.index(spec)
        text_i, pair_i = col(task.text), col(task.pair)
        label_i = col(task.label, required=False)
        id_i = col("idx", False)
        if id_i is None:
            id_i = col("index", False)
        if id_i is None:
            id_i = col("id", False)
        first_line = 2
    else:
        body, text_i, pair_i, label_i, id_i, first_line = rows, task.text, None, task.label, None, 1
    out = []
    for n, row in enumerate(body):
        line = n + first_line
        try:
            text = row[text_i]
            pair = row[pair_i] if pair_i is not None else None
            raw = row[label_i].strip() if label_i is not None and label_i < len(row) else None
        except IndexError:
            raise LrbenchError(f"line {line}: expected more tab-separated columns, got {len(row)}",
                               file=str(path), line=line, hint="GLUE files are tab-separated without quoting")
        if raw is None or raw == "":
            label = None
        elif task.labels is None:
            label = float(raw)
        elif raw in (task.label_map or {}):
            label = task.label_map[raw]
        else:
            try:
                label = int(raw)
            except ValueError:
                raise LrbenchError(f"line {line}: unexpected label {raw!r}", file=str(path), line=line,
                                   hint=f"{task.name} labels are {', '.join(task.labels)} or their ids") from None
        example_id = row[id_i].strip() if id_i is not None else str(n)
        out.append((example_id, text, pair, label))
    frame = pd.DataFrame(out, columns=EXAMPLE_COLUMNS)
    if frame["id"].duplicated().any():
        frame["id"] = [str(i) for i in range(len(frame))]
    return frame


class GlueDataset(_TaskDataset):
    """`glue:PATH`: a GLUE task's TSV (SST-2, MRPC, RTE, CoLA, STS-B, QNLI, MNLI, QQP)."""

    scheme = "glue"
    option_keys = ("task",)
    task = "classification"

    @cached_property
    def path(self) -> Path:
        return self.resolve(self.source, "datasets.id")

    @cached_property
    def glue_task(self) -> GlueTask:
        return glue_task_for(self.path, self.spec.options.get("task"))

    @property
    def default_measures(self) -> list[str]:
        return list(self.glue_task.measures)

    def source_files(self) -> list[Path]:
        return [self.path]

    @cached_property
    def _examples(self) -> pd.DataFrame:
        return limit_rows(read_glue_tsv(self.path, self.glue_task), self.spec, self.task).reset_index(drop=True)

    def examples(self) -> pd.DataFrame:
        return self._examples

    @property
    def label_names(self) -> tuple[str, ...] | None:
        return self.glue_task.labels

    @property
    def regression(self) -> bool:
        return self.glue_task.labels is None


# -- MTEB classification ------------------------------------------------------------------

class MtebClassificationDataset(SplitExamples, _TaskDataset):
    """`mteb-classification:DIR`: train.csv and test.csv with `text,category` (e.g. Banking77)."""

    scheme = "mteb-classification"
    task = "classification"
    default_measures = ["accuracy", "macro-F1"]

    @cached_property
    def folder(self) -> Path:
        return self.resolve(self.source, "datasets.id")

    def _file(self, split: str) -> Path:
        path = self.folder / f"{split}.csv"
        if not path.exists():
            raise LrbenchError(f"{path} not found", key="datasets.id",
                               hint="an mteb-classification folder holds train.csv and test.csv (text,category)")
        return path

    def source_files(self) -> list[Path]:
        return [self._file("train"), self._file(self.spec.split or "test")]

    @cached_property
    def label_names(self) -> tuple[str, ...]:
        import pandas as pd

        cats = self.folder / "categories.json"
        if cats.exists():
            return tuple(json.loads(cats.read_text()))
        train = pd.read_csv(self._file("train"))
        return tuple(sorted(set(train["category"])))

    regression = False

    def _read(self, split: str) -> pd.DataFrame:
        import pandas as pd

        frame = pd.read_csv(self._file(split), keep_default_na=False)
        missing = {"text", "category"} - set(frame.columns)
        if missing:
            raise LrbenchError(f"{split}.csv lacks column(s) {', '.join(sorted(missing))}", key="datasets.id",
                               hint="columns must be text,category")
        index = {name: i for i, name in enumerate(self.label_names)}
        unknown = set(frame["category"]) - set(index)
        if unknown:
            raise LrbenchError(f"{split}.csv has categories not in categories.json: {sorted(unknown)[:3]}",
                               key="datasets.id")
        return pd.DataFrame({"id": [f"{split}-{i}" for i in range(len(frame))], "text": frame["text"],
                             "text_pair": None, "label": frame["category"].map(index).astype(int)})

    def _split_examples(self) -> pd.DataFrame:
        return self._read(self.spec.split or "test")

    def train_examples(self) -> pd.DataFrame:
        return self._read("train")


# -- WikiText / PTB -----------------------------------------------------------------------

class WikitextDataset(_TaskDataset):
    """`wikitext:FILE`: running text for perplexity (WikiText .tokens, raw text, or PTB-format lines).

    options: format (tokens | raw | ptb; guessed from the name), chars (keep the first N characters).
    Word counts follow the LSTM-LM convention for tokens/ptb files (whitespace tokens plus one
    end-of-line marker per line: 245,569 for wiki.test.tokens) and whitespace tokens for raw text.
    """

    scheme = "wikitext"
    option_keys = ("format", "chars")
    task = "lm"
    default_measures = ["perplexity", "word_perplexity", "bits_per_byte"]

    @cached_property
    def path(self) -> Path:
        return self.resolve(self.source, "datasets.id")

    def source_files(self) -> list[Path]:
        return [self.path]

    @cached_property
    def format(self) -> str:
        fmt = self.spec.options.get("format")
        if fmt is None:
            name = self.path.name.lower()
            fmt = "tokens" if name.endswith(".tokens") else "ptb" if name.startswith("ptb") else "raw"
        if fmt not in ("tokens", "raw", "ptb"):
            raise LrbenchError(f"unknown text format '{fmt}'", key="datasets.options.format",
                               hint="use tokens, raw or ptb")
        return fmt

    @cached_property
    def _text(self) -> str:
        text = self.path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        if self.format == "ptb":
            # PTB lines: one sentence each, <unk> for rare words, no end-of-sentence token
            text = "\n".join(line.strip() for line in text.split("\n") if line.strip()) + "\n"
        chars = self.spec.options.get("chars")
        if chars:
            text = text[: int(chars)]
        return text

    def text(self) -> str:
        return self._text

    def word_count(self) -> int:
        text = self._text
        words = len(text.split())
        if self.format in ("tokens", "ptb"):
            words += text.count("\n")
        return words

    def byte_count(self) -> int:
        return len(self._text.encode("utf-8"))

    def describe(self) -> dict:
        return {"file": self.path.name, "format": self.format, "chars": len(self._text),
                "words": self.word_count(), "bytes": self.byte_count(),
                "word_rule": "whitespace tokens + line ends" if self.format != "raw" else "whitespace tokens"}

