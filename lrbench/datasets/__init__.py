"""Dataset adapters behind schemes: irds:, beir:, candidates:, trec:, trec-dl:, bright:, glue:, wikitext:,
mteb-classification:, mteb: (a third party adds one with register_scheme)."""

from __future__ import annotations

import difflib
from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.datasets.base import Dataset
from lrbench.datasets.catalogue import CATALOGUE, resolve_catalogue
from lrbench.datasets.beir import BeirDataset
from lrbench.datasets.bright import BrightCorpusDataset
from lrbench.datasets.files import CandidatesDataset, TrecDataset
from lrbench.datasets.irds import IrdsDataset
from lrbench.datasets.mteb_tasks import MtebDataset
from lrbench.datasets.schemes import SCHEMES, register_scheme
from lrbench.datasets.tasks import GlueDataset, MtebClassificationDataset, WikitextDataset
from lrbench.datasets.trecdl import TrecDlDataset
from lrbench.suites.schema import DatasetSpec

# BrightCorpusDataset is `bright:` with documents, long documents and .fixed qrels (it extends BrightDataset)
for _cls in (IrdsDataset, BeirDataset, CandidatesDataset, TrecDataset, BrightCorpusDataset, GlueDataset,
             MtebClassificationDataset, WikitextDataset, MtebDataset, TrecDlDataset):
    register_scheme(_cls)


def open_dataset(spec: DatasetSpec, base_dir: Path) -> Dataset:
    full_id, entry = resolve_catalogue(spec.id)
    scheme, sep, source = full_id.partition(":")
    if not sep or scheme not in SCHEMES:
        names = sorted(SCHEMES) + sorted(CATALOGUE)
        near = difflib.get_close_matches(spec.id, names + [f"{s}:" for s in SCHEMES], n=2)
        raise LrbenchError(f"unknown dataset id '{spec.id}'", key="datasets.id",
                           hint=(f"did you mean {' or '.join(near)}? " if near else "") +
                           f"use one of the schemes {', '.join(s + ':' for s in sorted(SCHEMES))} "
                           f"or a catalogue name (lrbench list datasets)")
    dataset = SCHEMES[scheme](spec, base_dir, source)
    dataset.catalogue = entry
    return dataset


__all__ = ["Dataset", "open_dataset", "register_scheme", "SCHEMES", "CATALOGUE"]
