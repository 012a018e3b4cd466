"""`sparse-encoder`: learned sparse retrieval (SPLADE) over a masked-language-model head.

A text's vector has one weight per vocabulary term: w_t = max over its tokens i of log(1 + relu(logit_i,t)), the
MLM logits of padding tokens masked out (Formal et al., SPLADE v2, 2021; `pooling: sum` is SPLADE v1). Most
weights are zero, so documents go into an inverted index (one postings list per vocabulary term, a scipy CSR
matrix) and a query's score for a document is the dot product of their sparse vectors, accumulated over the
query's terms' postings. First stage: each query's `k` best documents among those sharing a term with it (a
document that shares none has no score and is not returned, as in any inverted index). Reranker (`input:`): the
dot product of the query and each candidate. The corpus vectors are cached on disk under the run cache, keyed by
model, revision, max length, pooling, dtype, compression and the corpus fingerprint.
The profile counts non-zero weights per document and per query and the index's total postings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from lrbench.checked_cache import publish_checked, read_checked
from lrbench.runners.cost import Cost, stored
from lrbench.datasets.base import RUN_COLUMNS, digest
from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner
from lrbench.runners.neural.batching import finished, length_batches, pad_batch
from lrbench.runners.neural.device import select_device
from lrbench.runners.neural.profile import PeakMemory, Stopwatch, single_query_latency
from lrbench.suites.cells import canonical_json


class SparseEncoderParams(NeuralParams):
    pooling: Literal["max", "sum"] = Field("max", description="max over tokens (SPLADE v2 and later) or sum (v1)")
    k: int = Field(1000, ge=1, description="first stage: documents kept per query")
    query_max_length: int | None = Field(None, ge=8, description="default: max_length")
    token_budget: int = Field(8192, ge=64, description="padded tokens per forward pass: a batch's MLM logits are "
                                                       "tokens x vocabulary floats (8192 x 30522 x 4 B = 1 GB)")
    query_batch_size: int = Field(64, ge=1, description="first stage: queries encoded and searched together")
    block_docs: int = Field(8192, ge=1, description="corpus rows per encoding call (bucketing sorts within one)")
    latency_sample: int = Field(32, ge=0, description="first stage: single queries encoded and searched one at a "
                                                      "time for the per-query latency")


def splade_pool(logits, attention_mask, mode: str = "max"):
    """[batch, tokens, vocab] MLM logits -> [batch, vocab] weights: log(1 + relu(logits)) with padding masked,
    max (or sum) over tokens. Works in place on `logits`. For max, log1p(relu(.)) is monotone, so it is applied
    after the max, to [batch, vocab] instead of every token's logits: the same numbers, less work."""
    mask = attention_mask.unsqueeze(-1).to(logits.dtype)
    if mode == "max":
        return logits.mul_(mask).amax(dim=1).relu_().log1p_()  # a padding logit of 0 is never above relu's 0
    return logits.mul_(mask).relu_().log1p_().sum(dim=1)


class SparseIndex:
    """Document vectors as an inverted index: a CSR matrix with one row (postings list) per vocabulary term."""

    def __init__(self, docs):
        self.n_docs, self.vocab = docs.shape
        self.postings = docs.T.tocsr()
        self.scored = 0  # (query, document) pairs that shared a term, over the searches so far

    @property
    def total_postings(self) -> int:
        return int(self.postings.nnz)

    def search(self, queries, k: int):
        """Per query row: (doc indices, scores) of its k best documents (score, then index, decide ties)."""
        import numpy as np

        scores = (queries @ self.postings).tocsr()
        self.scored += int(scores.nnz)
        out = []
        for row in range(scores.shape[0]):
            lo, hi = scores.indptr[row], scores.indptr[row + 1]
            docs, vals = scores.indices[lo:hi], scores.data[lo:hi]
            keep = vals > 0
            docs, vals = docs[keep], vals[keep]
            order = np.lexsort((docs, -vals))[:k]
            out.append((docs[order], vals[order]))
        return out


class SparseEncoderRunner(NeuralRunner):
    """SPLADE learned sparse retrieval: an inverted index over MLM term weights, or reranking of an input run."""

    type = "sparse-encoder"
    version = "2"  # 2: the first stage records its FLOPs, calls and tokens (corpus and queries)
    model_kind = "masked-lm"
    needs_input = False  # first stage without input, reranker with one
    Params = SparseEncoderParams

    def __init__(self, params):
        super().__init__(params)
        self.reset_counters()

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        if inputs:
            self.reset_counters()
            return self.rerank(dataset, inputs, ctx, self.score_pairs, "sparse rerank")
        if not dataset.has_docs():
            raise LrbenchError(f"{dataset.spec.label} has no document collection for a sparse index",
                               hint="use a dataset with a corpus, or rerank an input run (input:)")
        return self._first_stage(dataset, ctx)

    # -- encoding --------------------------------------------------------------------------
    def encode(self, loaded, texts: list[str], max_length: int | None = None, stats: dict | None = None):
        """Sparse vectors of `texts` (scipy CSR float32, one row per text, input order); `stats` gets `tokens`."""
        return finished(self.encode_steps(loaded, texts, max_length, stats))

    def encode_steps(self, loaded, texts: list[str], max_length: int | None = None, stats: dict | None = None):
        """`encode` one batch at a time: yields the number of texts each batch encoded (progress within a long
        call) and returns the vectors."""
        import numpy as np
        import scipy.sparse as sp
        import torch

        p: SparseEncoderParams = self.params
        vocab = loaded.model.config.vocab_size
        if not texts:
            return sp.csr_matrix((0, vocab), dtype=np.float32)
        enc = loaded.tokenize(list(texts), max_length)
        ids = enc["input_ids"]
        extra_keys = [k for k in ("token_type_ids",) if k in enc and k in loaded.tokenizer.model_input_names]
        parts, order = [], []
        for batch in length_batches([len(x) for x in ids], p.batch_size, p.bucket, token_budget=p.token_budget):
            with torch.inference_mode():  # not held across the yield: the caller's code runs in between
                tensors = pad_batch([ids[i] for i in batch], loaded.pad_id, "right",
                                    {k: [enc[k][i] for i in batch] for k in extra_keys})
                tensors = {k: v.to(loaded.device) for k, v in tensors.items()}
                logits = loaded.model(**tensors).logits
                weights = splade_pool(logits, tensors["attention_mask"], p.pooling).float().cpu().numpy()
                tokens = int(tensors["attention_mask"].sum())
            parts.append(sp.csr_matrix(weights))
            order += batch
            if stats is not None:
                stats["tokens"] = stats.get("tokens", 0) + tokens
            yield len(batch)
        return sp.vstack(parts, format="csr")[np.argsort(order)]

    def _encode_queries(self, loaded, queries: list[str], watch: Stopwatch | None = None):
        stats: dict = {}
        vectors = self.encode(loaded, queries, self.params.query_max_length, stats)
        self.query_nnz += int(vectors.nnz)
        self.query_count += vectors.shape[0]
        if watch is not None:
            watch.tokens += stats.get("tokens", 0)
        return vectors

    def score_pairs(self, loaded, query: str, doc_texts: list[str], watch: Stopwatch | None = None):
        stats: dict = {}
        docs = self.encode(loaded, doc_texts, stats=stats)
        self.doc_nnz += int(docs.nnz)
        self.doc_count += docs.shape[0]
        if watch is not None:
            watch.tokens += stats.get("tokens", 0)
        q = self._encode_queries(loaded, [query], watch)
        return (docs @ q.T).toarray().ravel().tolist()

    def reset_counters(self) -> None:
        self.query_nnz = self.query_count = self.doc_nnz = self.doc_count = 0

    def _nnz_profile(self) -> dict:
        return {"query_nonzero_mean": self.query_nnz / self.query_count if self.query_count else None,
                "doc_nonzero_mean": self.doc_nnz / self.doc_count if self.doc_count else None}

    def extra_profile(self) -> dict:
        return {"role": "reranker", "pooling": self.params.pooling, **self._nnz_profile()}

    # -- first stage -----------------------------------------------------------------------
    def _corpus_key(self, loaded, dataset, ctx: RunContext) -> str:
        p: SparseEncoderParams = self.params
        parts = {"model": loaded.resolved.model_id, "revision": loaded.resolved.revision,
                 "max_length": loaded.max_length, "pooling": p.pooling, "dtype": str(loaded.dtype),
                 "compress": ctx.compress, "block_docs": p.block_docs, "encoder": "sparse-encoder-v1"}
        return digest(canonical_json(parts), dataset.corpus_fingerprint())[:24]

    def corpus_vectors(self, loaded, dataset, ctx: RunContext):
        """(doc ids, CSR document vectors, seconds, cached, tokens, cost): from the cache (checked against its
        manifest; tokens and cost as when it was encoded, so a warm run reports a cold one's), or encoded now
        and cached."""
        import itertools

        import numpy as np
        import scipy.sparse as sp

        folder = Path(ctx.cache_dir) / "sparse" / self._corpus_key(loaded, dataset, ctx)
        started = time.perf_counter()
        meta = read_checked(folder)
        cost = stored((meta or {}).get("cost"))
        if cost is not None:
            with np.load(folder / "vectors.npz") as z:
                docs = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                return [str(x) for x in z["ids"]], docs, time.perf_counter() - started, True, meta["tokens"], cost
        ids, parts, stats, cost = [], [], {}, Cost()
        stream = iter(dataset.docs())
        blocks = iter(lambda: list(itertools.islice(stream, self.params.block_docs)), [])
        def batches():  # progress advances a batch at a time: a block can take minutes on a CPU
            for block in blocks:
                ids.extend(str(doc_id) for doc_id, _ in block)
                parts.append((yield from self.encode_steps(loaded, [text for _, text in block], stats=stats)))

        with loaded.charging(cost):
            for _ in ctx.progress(batches(), total=dataset.docs_count(), description="encoding corpus (sparse)",
                                  size=lambda rows: rows):
                pass
        docs = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, loaded.model.config.vocab_size),
                                                                            dtype=np.float32)

        def save(tmp: Path) -> None:
            with open(tmp / "vectors.npz", "wb") as fh:
                np.savez(fh, data=docs.data, indices=docs.indices, indptr=docs.indptr,
                         shape=np.asarray(docs.shape), ids=np.asarray(ids))

        # an entry another process stored first is kept; one stored without its cost is replaced
        publish_checked(folder, save, {"tokens": stats.get("tokens", 0), "cost": cost.as_usage()},
                        replace=meta is not None, supersedes=(f"{folder.name}.npz",))  # the former layout
        return ids, docs, time.perf_counter() - started, False, stats.get("tokens", 0), cost

    def _first_stage(self, dataset, ctx: RunContext) -> Output:
        p: SparseEncoderParams = self.params
        queries = dataset.eval_queries()
        qids = list(queries)
        started = time.perf_counter()
        with PeakMemory(select_device(p.device)) as mem:
            sample = [t for _, (_, t) in zip(range(64), dataset.docs())]
            loaded = self.load(ctx, sample)
            ids, docs, corpus_seconds, cached, corpus_tokens, corpus_cost = self.corpus_vectors(loaded, dataset, ctx)
            t0 = time.perf_counter()
            index = SparseIndex(docs)
            index_seconds = time.perf_counter() - t0
            k = min(p.k, len(ids))
            t0 = time.perf_counter()
            index.search(self._encode_queries(loaded, [queries[qids[0]]]), k)  # warm-up, not timed
            warmup = time.perf_counter() - t0
            latency = self._latency_sample(loaded, index, [queries[q] for q in qids], k)
            self.reset_counters()
            index.scored = 0
            watch, rows = Stopwatch(), []
            t0 = time.perf_counter()
            batches = [qids[i:i + p.query_batch_size] for i in range(0, len(qids), p.query_batch_size)]
            with loaded.charging(watch):
                for batch in ctx.progress(batches, total=len(batches), description="sparse retrieval"):
                    with watch.timed():
                        hits = index.search(self._encode_queries(loaded, [queries[q] for q in batch], watch), k)
                    for qid, (doc_rows, scores) in zip(batch, hits):
                        rows.extend((qid, ids[i], float(s)) for i, s in zip(doc_rows, scores))
            search_seconds = time.perf_counter() - t0
        corpus_rate = None if cached or not corpus_seconds else len(ids) / corpus_seconds
        timed = watch.first_stage_dict(corpus_rate)
        nnz_per_doc = docs.getnnz(axis=1) if docs.shape[0] else [0]
        profile = {**self.model_profile(loaded, watch, len(qids)), **corpus_cost.profile(len(qids), "corpus_"),
                   "role": "first stage", "pooling": p.pooling, "warmup_seconds": warmup, "k": k,
                   "corpus_docs": len(ids), "corpus_seconds": corpus_seconds, "corpus_cached": cached,
                   "corpus_tokens": corpus_tokens,
                   "corpus_docs_per_second": corpus_rate,
                   "index_seconds": index_seconds, "index_postings": index.total_postings,
                   "index_terms": int((index.postings.getnnz(axis=1) > 0).sum()),
                   "doc_nonzero_mean": float(sum(nnz_per_doc) / max(1, len(ids))),
                   "doc_nonzero_max": int(max(nnz_per_doc)),
                   "query_nonzero_mean": self._nnz_profile()["query_nonzero_mean"],
                   "query_nonzero_total": self.query_nnz,
                   "batch_size": p.batch_size, "bucketed": p.bucket, "search_seconds": search_seconds,
                   "query_batch_size": p.query_batch_size,
                   "throughput_qps": len(qids) / search_seconds if search_seconds else None,
                   "runner_seconds": time.perf_counter() - started, **timed, "queries": len(qids), **latency,
                   **mem.as_dict()}
        profile["docs_scored"] = index.scored
        if loaded.compression is not None:
            profile["compression"] = loaded.compression
        return Output(run=pd.DataFrame(rows, columns=RUN_COLUMNS), profile=profile)

    def _latency_sample(self, loaded, index: SparseIndex, texts: list[str], k: int) -> dict:
        """Per-query latency (encode + search) of `latency_sample` queries, one at a time."""
        return single_query_latency(texts, self.params.latency_sample,
                                    lambda text: index.search(self._encode_queries(loaded, [text]), k))
