"""Friendly dataset names mapped to their sources, with sizes and the measures papers report."""

from __future__ import annotations

from dataclasses import dataclass, field

BEIR_MEASURES = ["nDCG@10", "R@100"]
DL_MEASURES = ["nDCG@10", "RR(rel=2)@10", "AP(rel=2)", "R(rel=2)@1000"]


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    source: str
    docs: int
    queries: int
    measures: list[str] = field(default_factory=lambda: list(BEIR_MEASURES))
    note: str = ""


CATALOGUE: dict[str, CatalogueEntry] = {e.name: e for e in [
    CatalogueEntry("scifact", "irds:beir/scifact/test", 5183, 300),
    CatalogueEntry("nfcorpus", "irds:beir/nfcorpus/test", 3633, 323),
    CatalogueEntry("arguana", "irds:beir/arguana", 8674, 1406),
    CatalogueEntry("scidocs", "irds:beir/scidocs", 25657, 1000),
    CatalogueEntry("fiqa", "irds:beir/fiqa/test", 57638, 648),
    CatalogueEntry("trec-covid", "irds:beir/trec-covid", 171332, 50),
    CatalogueEntry("cranfield", "irds:cranfield", 1400, 225, ["nDCG@10", "AP", "P@10"],
                   "ir_datasets passes the original grades through (1 = complete answer .. 4 = minimal "
                   "interest, -1 = none); invert them with relevance: {1: 4, 2: 3, 3: 2, 4: 1, -1: 0}"),
    CatalogueEntry("dl19-passage", "irds:msmarco-passage/trec-dl-2019/judged", 8841823, 43, DL_MEASURES,
                   "binary measures use rel=2, as TREC DL does"),
    CatalogueEntry("dl20-passage", "irds:msmarco-passage/trec-dl-2020/judged", 8841823, 54, DL_MEASURES,
                   "binary measures use rel=2, as TREC DL does"),
]}


def resolve_catalogue(dataset_id: str) -> tuple[str, CatalogueEntry | None]:
    """Map a friendly name to its `scheme:source` id; ids with a scheme pass through."""
    entry = CATALOGUE.get(dataset_id)
    if entry:
        return entry.source, entry
    for entry in CATALOGUE.values():
        if entry.source == dataset_id:
            return dataset_id, entry
    return dataset_id, None
