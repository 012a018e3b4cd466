"""A cell's profile as typed fields: what reports, plots, compare and gate read from meta.json's `profile`.

Runners write the names below (runners/neural/profile.py, runners/cost.py and the first-stage runners); the
hardware-independent cost (`flops`, `flops_per_query`, `tokens_per_query`, `calls_per_query`) comes from the run's
`Cost`: a reranker's counts cover its own work only, never its input's, and a first stage's corpus encoding is
reported apart (`corpus_flops`). The executor adds
`wall_seconds` and `peak_rss_mb_process` (the whole worker process, used when a runner reports no own peak).
Anything else a runner records stays readable through `get` (e.g. `gpu`). A dense first stage's index is its
corpus embeddings: `index_seconds` falls back to `corpus_seconds`, `docs_per_second` is the corpus encoding rate
(`corpus_docs_per_second`, none when the embeddings came from the cache), `index_cached` follows `corpus_cached`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(float(value)) else float(value)


@dataclass(frozen=True)
class Profile:
    wall_seconds: float | None = None
    load_seconds: float | None = None
    # stage times, each apart: building an index or encoding a corpus, first-stage search, scoring (reranking);
    # a reranker's figures never include its input cell's work
    index_seconds: float | None = None
    corpus_seconds: float | None = None
    search_seconds: float | None = None
    scoring_seconds: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    latency_ms_p99: float | None = None
    throughput_qps: float | None = None
    docs_per_second: float | None = None
    peak_rss_mb: float | None = None
    peak_cuda_mb: float | None = None
    params: float | None = None  # model parameters (after compression when compressed)
    device: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    flops: float | None = None            # forward FLOPs of the query-time work (all queries)
    flops_per_query: float | None = None
    tokens_per_query: float | None = None  # tokens read and generated
    calls_per_query: float | None = None   # forward passes, or requests to a served backend
    # a first stage's corpus encoding; when its embeddings came from the cache (index_cached), what encoding them
    # took, as recorded in the cache entry: the same cell reports the same cost cold or warm
    corpus_flops: float | None = None
    price_per_1k_queries: float | None = None  # served backends with a `price:`
    #: the index (BM25 index, corpus embeddings) was read from the cache: index_seconds is the read, not the build
    index_cached: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, profile: dict[str, Any] | None) -> "Profile":
        raw = dict(profile or {})
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in ("raw", "index_cached"):
                continue
            value = raw.get(f.name)
            if f.name in ("device", "dtype"):
                values[f.name] = str(value) if value not in (None, "") else None
            elif f.name == "batch_size":
                values[f.name] = int(value) if _number(value) is not None else None
            else:
                values[f.name] = _number(value)
        if values["peak_rss_mb"] is None:
            values["peak_rss_mb"] = _number(raw.get("peak_rss_mb_process"))
        if "corpus_docs_per_second" in raw:  # a dense first stage: its documents are the corpus it encodes (None
            values["docs_per_second"] = _number(raw["corpus_docs_per_second"])  # when read from the cache)
        if values["index_seconds"] is None:  # a dense first stage's index is its corpus embeddings
            values["index_seconds"] = _number(raw.get("corpus_seconds"))
        cached = raw.get("index_cached", raw.get("corpus_cached"))
        return cls(**values, index_cached=cached is True, raw=raw)

    @property
    def rss_is_process(self) -> bool:
        """The peak RSS is the worker process's, not a figure the runner measured around its own work."""
        return _number(self.raw.get("peak_rss_mb")) is None and self.peak_rss_mb is not None

    @property
    def qpp(self) -> float | None:
        """Queries per PetaFLOP (E2R-FLOPs): 1e15 / FLOPs per query."""
        return 1e15 / self.flops_per_query if self.flops_per_query else None

    def rpp(self, quality: float | None) -> float | None:
        """Ranking quality per PetaFLOP spent per query (E2R-FLOPs' RPP), e.g. nDCG@10 / (FLOPs per query / 1e15)."""
        return quality * 1e15 / self.flops_per_query if self.flops_per_query and quality is not None else None

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.raw
