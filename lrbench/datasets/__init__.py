"""Dataset adapters behind schemes: irds:, beir:, candidates:, trec:, trec-dl:, bright:, glue:, wikitext:,
mteb-classification:, mteb: (a third party adds one with register_scheme)."""

from __future__ import annotations

from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.datasets.base import Dataset
from lrbench.datasets.catalogue import CATALOGUE, resolve_catalogue
from lrbench.datasets.schemes import SCHEMES, register_scheme
from lrbench.suites.schema import DatasetSpec


def open_dataset(spec: DatasetSpec, base_dir: Path) -> Dataset:
    full_id, entry = resolve_catalogue(spec.id)
    scheme, sep, source = full_id.partition(":")
    if not sep or scheme not in SCHEMES:
        schemes = SCHEMES.names()
        raise LrbenchError(f"unknown dataset id '{spec.id}'", key="datasets.id",
                           hint=SCHEMES.suggestion(spec.id, sorted(CATALOGUE) + [f"{s}:" for s in schemes]) +
                           f"use one of the schemes {', '.join(s + ':' for s in schemes)} "
                           f"or a catalogue name (lrbench list datasets)")
    dataset = SCHEMES.get(scheme)(spec, base_dir, source)
    dataset.catalogue = entry
    return dataset


__all__ = ["Dataset", "open_dataset", "register_scheme", "SCHEMES", "CATALOGUE"]
