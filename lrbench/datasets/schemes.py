"""The scheme registry: `scheme:` prefix -> Dataset class. Built-ins are imported on first use; a third party
adds one with `register_scheme` or the `lrbench.datasets` entry point group."""

from __future__ import annotations

from lrbench.datasets.base import Dataset
from lrbench.registry import Registry

ENTRY_POINT_GROUP = "lrbench.datasets"

#: scheme -> "module:Class" (`bright:` is BrightCorpusDataset: documents, long documents and .fixed qrels)
BUILTIN_SCHEMES = {
    "irds": "lrbench.datasets.irds:IrdsDataset",
    "beir": "lrbench.datasets.beir:BeirDataset",
    "candidates": "lrbench.datasets.files:CandidatesDataset",
    "trec": "lrbench.datasets.files:TrecDataset",
    "bright": "lrbench.datasets.bright:BrightCorpusDataset",
    "glue": "lrbench.datasets.tasks:GlueDataset",
    "mteb-classification": "lrbench.datasets.tasks:MtebClassificationDataset",
    "wikitext": "lrbench.datasets.tasks:WikitextDataset",
    "mteb": "lrbench.datasets.mteb_tasks:MtebDataset",
    "trec-dl": "lrbench.datasets.trecdl:TrecDlDataset",
}

SCHEMES: Registry[type[Dataset]] = Registry("dataset scheme", group=ENTRY_POINT_GROUP, builtins=BUILTIN_SCHEMES,
                                            key="datasets.id")


def register_scheme(cls: type[Dataset]) -> type[Dataset]:
    """Make `cls` available as `id: <cls.scheme>:...` in this process (usable as a class decorator)."""
    return SCHEMES.register(cls.scheme, cls)
