"""Dataset names users know (scifact, dl19-passage, bright-biology, glue-sst2, wikitext-2, ...) mapped to their
sources, with sizes, the measures papers report and the relevance mapping their qrels need.

Sources are `scheme:source` ids. Collections that ir_datasets cannot fetch (BRIGHT, GLUE, WikiText, PTB, and
the BEIR sets it does not carry) read local files under `$LRBENCH_DATA`: `{data}` in a source stands for that
folder, and a tuple of sources lists alternative layouts (the first that exists wins).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lrbench.errors import LrbenchError

BEIR_MEASURES = ["nDCG@10", "R@100"]
DL_MEASURES = ["nDCG@10", "RR(rel=2)@10", "AP(rel=2)", "R(rel=2)@1000"]
BRIGHT_MEASURES = ["nDCG@10", "R@100"]
LM_MEASURES = ["perplexity", "word_perplexity", "bits_per_byte"]
DATA_ENV = "LRBENCH_DATA"


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    source: str | tuple[str, ...]
    docs: int
    queries: int
    measures: list[str] = field(default_factory=lambda: list(BEIR_MEASURES))
    note: str = ""
    #: raw qrels grade -> graded relevance, applied unless the suite gives its own `relevance:`
    relevance: dict[int, int] | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return self.source if isinstance(self.source, tuple) else (self.source,)

    def resolved_source(self) -> str:
        """The `scheme:source` id, with `{data}` replaced and the first existing alternative chosen."""
        if not any("{data}" in s for s in self.sources):
            return self.sources[0]
        root = os.environ.get(DATA_ENV)
        if not root:
            raise LrbenchError(f"dataset '{self.name}' reads local files and {DATA_ENV} is not set",
                               key="datasets.id", hint=f"set {DATA_ENV} to the folder holding "
                               f"{self.sources[0].split('{data}/', 1)[1]} (see docs/datasets-catalogue.md)")
        filled = [s.replace("{data}", str(Path(root).expanduser())) for s in self.sources]
        for source in filled:
            if _local_path(source).exists():
                return source
        return filled[0]

    def availability(self) -> str:
        """Where the data is, without reading it: 'mirror', 'irds cache' or 'local files' (offline), 'download'
        (ir_datasets fetches it on first use), or 'missing' (local files that are not there)."""
        from lrbench.datasets.mirror import dataset_folder, irds_home, mirror_dir

        scheme, _, rest = self.sources[0].partition(":")
        if scheme == "trec-dl":
            root = os.environ.get(DATA_ENV)
            year = rest.split("-")[0]
            topics = Path(root or "/nonexistent").expanduser() / f"trec-dl-{year}-passage" / \
                f"topics.dl{year[2:]}-passage.txt"
            if root and topics.exists():
                return "local files"
            scheme, rest = "irds", TREC_DL_IRDS[rest]
        if scheme == "irds":
            try:
                roots = [("mirror", mirror_dir()), ("irds cache", irds_home())]
            except LrbenchError:  # LRBENCH_MIRROR names no folder: `run` reports it
                roots = [("irds cache", irds_home())]
            for where, root in roots:
                folder = dataset_folder(rest, root) if root else None
                if folder and _covers(folder, rest, root):
                    return where
            return "download"
        try:
            resolved = self.resolved_source()
        except LrbenchError:
            return "missing"
        return "local files" if _local_path(resolved).exists() else "missing"


def _covers(folder: Path, irds_id: str, root: Path) -> bool:
    """A mirror folder for `beir/cqadupstack` does not hold `beir/scifact`: the folder found must be the
    collection's own (its first two id parts), not a shared parent such as `beir/`."""
    own = root.joinpath(*irds_id.split("/")[:2]) if "/" in irds_id else root / irds_id
    return folder == own or own in folder.parents


def _local_path(source: str) -> Path:
    """The file or folder a local `scheme:source` id reads (bright: ids end in /SUBSET, a name, not a path)."""
    scheme, _, rest = source.partition(":")
    path = Path(rest)
    return path.parent if scheme == "bright" else path


#: trec-dl:<name> -> the ir_datasets id whose queries and qrels it reads
TREC_DL_IRDS = {
    "2019-passage": "msmarco-passage/trec-dl-2019/judged",
    "2020-passage": "msmarco-passage/trec-dl-2020/judged",
    "2021-passage": "msmarco-passage-v2/trec-dl-2021/judged",
    "2022-passage": "msmarco-passage-v2/trec-dl-2022/judged",
    "2023-passage": "msmarco-passage-v2/trec-dl-2023/judged",
}

_CRANFIELD_NOTE = ("grades run backwards (1 = complete answer .. 4 = minimal interest, -1 = none): the entry maps "
                   "them to 4..1 and 0")
_DL_NOTE = ("binary measures use rel=2, as TREC DL does; scores a given run or reranks candidate lists "
            "(options.candidates) without the passage collection")


def _beir(name: str, irds: str | None, docs: int, queries: int, note: str = "") -> CatalogueEntry:
    source = f"irds:beir/{irds}" if irds else f"beir:{{data}}/beir/{name}"
    return CatalogueEntry(name, source, docs, queries, list(BEIR_MEASURES),
                          note or ("" if irds else "not in ir_datasets: a local BEIR folder under $LRBENCH_DATA/beir"))


CQADUPSTACK = {"android": (22998, 699), "english": (40221, 1570), "gaming": (45301, 1595), "gis": (37637, 885),
               "mathematica": (16705, 804), "physics": (38316, 1039), "programmers": (32176, 876),
               "stats": (42269, 652), "tex": (68184, 2906), "unix": (47382, 1072), "webmasters": (17405, 506),
               "wordpress": (48605, 541)}

BRIGHT_SUBSETS = {"biology": (57359, 103), "earth-science": (121249, 116), "economics": (50220, 103),
                  "psychology": (52835, 101), "robotics": (61961, 101), "stackoverflow": (107081, 117),
                  "sustainable-living": (60792, 108), "leetcode": (413932, 142), "pony": (7894, 112),
                  "aops": (188002, 111), "theoremqa-questions": (188002, 194), "theoremqa-theorems": (23839, 76)}

#: GLUE dev sets: (file in the GLUE layout, file in the flat export layout, rows, measures)
GLUE = {"sst2": ("SST-2/dev.tsv", "SST-2.dev.tsv", 872, ["accuracy"]),
        "mrpc": ("MRPC/dev.tsv", "MRPC.dev.tsv", 408, ["accuracy", "F1"]),
        "rte": ("RTE/dev.tsv", "RTE.dev.tsv", 277, ["accuracy"]),
        "qnli": ("QNLI/dev.tsv", "QNLI.dev.tsv", 5463, ["accuracy"]),
        "mnli": ("MNLI/dev_matched.tsv", "MNLI.dev_matched.tsv", 9815, ["accuracy"]),
        "mnli-mm": ("MNLI/dev_mismatched.tsv", "MNLI.dev_mismatched.tsv", 9832, ["accuracy"]),
        "qqp": ("QQP/dev.tsv", "QQP.dev.tsv", 40430, ["accuracy", "F1"]),
        "cola": ("CoLA/dev.tsv", "CoLA.dev.tsv", 1043, ["MCC"]),
        "stsb": ("STS-B/dev.tsv", "STS-B.dev.tsv", 1500, ["Pearson", "Spearman"])}

CATALOGUE: dict[str, CatalogueEntry] = {e.name: e for e in [
    # BEIR's 18 evaluation sets (CQADupStack as its 12 forums, which BEIR averages)
    _beir("trec-covid", "trec-covid", 171332, 50),
    _beir("nfcorpus", "nfcorpus/test", 3633, 323),
    _beir("bioasq", None, 14914603, 500, "not in ir_datasets (licence): a local BEIR folder under "
          "$LRBENCH_DATA/beir/bioasq built with BEIR's scripts"),
    _beir("nq", "nq", 2681468, 3452),
    _beir("hotpotqa", "hotpotqa/test", 5233329, 7405),
    _beir("fiqa", "fiqa/test", 57638, 648),
    _beir("signal1m", None, 2866316, 97),
    _beir("trec-news", None, 594977, 57),
    _beir("robust04", None, 528155, 249),
    _beir("arguana", "arguana", 8674, 1406),
    _beir("webis-touche2020", "webis-touche2020/v2", 382545, 49),
    *[_beir(f"cqadupstack-{forum}", f"cqadupstack/{forum}", d, q, "BEIR reports the mean over the 12 forums")
      for forum, (d, q) in CQADUPSTACK.items()],
    _beir("quora", "quora/test", 522931, 10000),
    _beir("dbpedia-entity", "dbpedia-entity/test", 4635922, 400),
    _beir("scidocs", "scidocs", 25657, 1000),
    _beir("fever", "fever/test", 5416568, 6666),
    _beir("climate-fever", "climate-fever", 5416593, 1535),
    _beir("scifact", "scifact/test", 5183, 300),
    CatalogueEntry("msmarco-dev", "irds:beir/msmarco/dev", 8841823, 6980, ["RR@10", "nDCG@10", "R@1000"],
                   "BEIR's MS MARCO dev (training set of the zero-shot protocol)"),
    CatalogueEntry("cranfield", "irds:cranfield", 1400, 225, ["nDCG@10", "AP", "P@10"], _CRANFIELD_NOTE,
                   relevance={1: 4, 2: 3, 3: 2, 4: 1, -1: 0}),
    # TREC Deep Learning, passage task: queries and qrels only; documents come from candidate lists
    *[CatalogueEntry(f"dl{year % 100}-passage", f"trec-dl:{year}-passage",
                     8841823 if year < 2021 else 138364198, queries, list(DL_MEASURES), _DL_NOTE)
      for year, queries in [(2019, 43), (2020, 54), (2021, 53), (2022, 76), (2023, 82)]],
    # BRIGHT: topics, qrels and (when present) the documents, in a local BRIGHT folder
    *[CatalogueEntry(f"bright-{subset}", (f"bright:{{data}}/bright/{subset}",
                                          f"bright:{{data}}/bright-topics-qrels-only/{subset}"),
                     d, q, list(BRIGHT_MEASURES), "the .fixed qrels where BRIGHT publishes them; excluded_ids dropped")
      for subset, (d, q) in BRIGHT_SUBSETS.items()],
    # GLUE dev sets
    *[CatalogueEntry(f"glue-{task}", (f"glue:{{data}}/glue/{nested}", f"glue:{{data}}/glue-dev/{flat}"),
                     0, rows, list(measures), "GLUE dev set (test labels are not public)")
      for task, (nested, flat, rows, measures) in GLUE.items()],
    # language modelling
    CatalogueEntry("wikitext-2", "wikitext:{data}/wikitext-2/wiki.test.tokens", 0, 0, list(LM_MEASURES),
                   "WikiText-2 v1 test split, tokenized (245,569 words with line ends)"),
    CatalogueEntry("wikitext-103", "wikitext:{data}/wikitext-103/wiki.test.tokens", 0, 0, list(LM_MEASURES),
                   "WikiText-103 v1 test split (same test articles as WikiText-2)"),
    CatalogueEntry("ptb", "wikitext:{data}/ptb/ptb.test.txt", 0, 0, list(LM_MEASURES),
                   "Penn Treebank test split in Mikolov's format (one sentence a line)"),
]}


def resolve_catalogue(dataset_id: str) -> tuple[str, CatalogueEntry | None]:
    """Map a friendly name to its `scheme:source` id; ids with a scheme pass through (and keep the entry's
    measures and relevance mapping when they name a catalogue source exactly)."""
    entry = CATALOGUE.get(dataset_id)
    if entry:
        return entry.resolved_source(), entry
    for entry in CATALOGUE.values():
        if dataset_id in entry.sources:
            return dataset_id, entry
    return dataset_id, None
