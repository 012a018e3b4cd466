"""`embedder`: dense retrieval (exact search over the corpus) or bi-encoder reranking of an input run.

Pooling and normalisation come from the sentence-transformers config when the model folder has one
(params override). Scores are cosine similarities (or dot products with similarity: dot). Corpus embeddings
are cached on disk under the run cache, keyed by model, revision, max length, pooling, prefix, dtype,
compression and the corpus fingerprint, so a second system on the same corpus does not re-encode it; each read
checks the entry against its manifest (lrbench.checked_cache), and a warm run reports the corpus cost recorded
when it was encoded (`corpus_cached: true` says it was not spent now).
As a reranker it encodes each distinct candidate document once per cell, and not at all when that corpus cache
holds it (lrbench.runners.retrieval.doc_embeddings); the profile counts `docs_encoded` and `docs_from_corpus_cache`.
`prf: k` (in the spirit of E2Rank) re-embeds the query together with its top-k candidate texts as one
enhanced query and rescores the candidates by cosine with it.
`shards: N` splits the corpus encoding into N shards of whole blocks (`block_docs` rows each) kept in the run
store (lrbench.store.blocks): parallel executors encode them on N workers before the cell merges them.
On a classification dataset the system scores STS pairs (cosine) or runs MTEB classification (embedder_tasks).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from lrbench.checked_cache import publish_checked, read_checked
from lrbench.errors import LrbenchError
from lrbench.store.blocks import Block, EmbeddingBlocks, plan_blocks, shard_blocks
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost, stored
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.batching import finished
from lrbench.runners.neural.device import select_device
from lrbench.runners.neural.profile import PeakMemory, Stopwatch, single_query_latency
from lrbench.runners.neural.search import EXACT, Searcher, SearchSettings
from lrbench.suites.cells import canonical_json
from lrbench.datasets.base import RUN_COLUMNS, digest


class EmbedderParams(NeuralParams):
    pooling: Literal["auto", "mean", "cls", "max", "lasttoken"] = "auto"
    normalize: bool | None = Field(None, description="None: from the sentence-transformers config")
    query_prefix: str = ""
    doc_prefix: str = ""
    similarity: Literal["cosine", "dot"] = "cosine"
    k: int = Field(1000, ge=1, description="first stage: documents kept per query")
    chunk_size: int = Field(65536, ge=1, description="corpus rows scored per matrix product (bounds memory)")
    query_batch_size: int = Field(64, ge=1, description="first stage: queries encoded and searched together "
                                                        "(one matrix product per batch and corpus chunk)")
    search: Literal["exact", "faiss-flat", "hnsw", "ivf"] = Field(
        "exact", description="exact (torch) or faiss-flat (exact); hnsw and ivf are approximate (faiss), "
                             "their recall against exact search goes into the profile")
    hnsw_m: int = Field(32, ge=2)
    ef_search: int = Field(128, ge=1)
    ivf_lists: int | None = Field(None, ge=1, description="default: 4 * sqrt(corpus rows)")
    ivf_probe: int = Field(16, ge=1)
    latency_sample: int = Field(32, ge=0, description="first stage: single queries timed one by one for the "
                                                      "per-query latency (the run itself is searched in batches)")
    prf: int | None = Field(None, ge=1, description="re-embed the query with its top-k candidate texts")
    block_docs: int = Field(8192, ge=1, description="corpus rows per encoding call (bucketing sorts within one); "
                                                    "the unit of shards and of their resume")
    classification: dict[str, Any] = Field(default_factory=dict, description="MTEB classification tasks: protocol "
                                           "params of mteb-classification (n_experiments, samples_per_label, seed, max_iter)")
    shards: int | None = Field(None, ge=1, description="first stage: split the corpus encoding into N shards of "
                                                       "whole blocks, kept in the run store; parallel executors run "
                                                       "them on N workers; the output equals the unsharded run's")


class EmbedderRunner(NeuralRunner):
    """Dense bi-encoder: exact search over the corpus, or reranking of an input run (cosine)."""

    type = "embedder"
    version = "3"
    model_kind = "embedder"
    task_kinds = ("ranking", "classification")  # classification: STS pairs and MTEB classification
    needs_input = False  # first stage without input, reranker with one
    Params = EmbedderParams
    schedule_params = frozenset({"shards"})

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        if inputs and self.params.shards and self.params.shards > 1:
            raise LrbenchError("shards split a first stage's corpus encoding; a reranker (with input:) has none",
                               key="params.shards", hint="drop shards from this system, or its input:")
        if dataset.task == "classification":  # STS and classification tasks: see embedder_tasks
            from lrbench.runners.tasks.embedder_tasks import run_embedder_task

            return run_embedder_task(self, dataset, ctx)
        if inputs:
            return self.rerank(dataset, inputs, ctx, self._score_with_document_memo, "embedder rerank")
        return self._first_stage(dataset, ctx)

    # -- shared ----------------------------------------------------------------------------
    def embed(self, loaded, texts, prefix, watch: Stopwatch | None = None):
        """Embeddings of `texts` (with `prefix`), ready for the configured similarity; tokens counted on `watch`."""
        stats: dict = {}
        emb = loaded.encode(texts, batch_size=self.params.batch_size, prefix=prefix, sort=self.params.bucket,
                            stats=stats)
        if watch is not None:
            watch.tokens += stats.get("tokens", 0)
        return self._for_similarity(loaded, emb)

    def _for_similarity(self, loaded, emb):
        """Unit rows for cosine when the model's pooling does not normalise already."""
        if self.params.similarity == "cosine" and not loaded.pooling.normalize:
            import numpy as np

            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        return emb

    def _enhanced_query(self, loaded, query: str, top_texts: list[str]) -> str:
        """E2Rank-style pseudo-relevance feedback: the query followed by its top-k candidate texts."""
        per_doc = max(16, (loaded.max_length - 16) // max(1, len(top_texts)))
        return " ".join([query] + [truncate_tokens(loaded.tokenizer, t, per_doc) for t in top_texts])

    def encode_queries(self, loaded, queries: list[str], watch: Stopwatch | None = None):
        """Query embeddings (with the query prefix), scaled for this runner's similarity."""
        return self.embed(loaded, queries, self.params.query_prefix, watch)

    def score_pairs(self, loaded, query: str, doc_texts: list[str], watch: Stopwatch, docs=None):
        """Scores of `doc_texts` for `query`; `docs`, when given, are their embeddings (else encoded here)."""
        p: EmbedderParams = self.params
        if docs is None:
            docs = self.embed(loaded, doc_texts, p.doc_prefix, watch)
        q = self.embed(loaded, [query], p.query_prefix, watch)[0]
        scores = docs @ q
        if p.prf:
            order = scores.argsort()[::-1][: p.prf]
            enhanced = self._enhanced_query(loaded, query, [doc_texts[i] for i in order])
            scores = docs @ self.embed(loaded, [enhanced], p.query_prefix, watch)[0]
        return scores.tolist()

    # -- reranking: each candidate document encoded once --------------------------------------
    def candidate_lists(self, dataset, inputs, ctx: RunContext):
        from lrbench.runners.retrieval.doc_embeddings import DocumentEmbeddings

        lists, texts, depth = super().candidate_lists(dataset, inputs, ctx)
        self._documents = DocumentEmbeddings(texts, lambda loaded: self._cached_corpus(loaded, dataset, ctx))
        return lists, texts, depth

    def _cached_corpus(self, loaded, dataset, ctx: RunContext):
        """(ids, embeddings memory-mapped) of the first stage's corpus cache for this model and settings, or None."""
        import numpy as np

        if not dataset.has_docs() or not (Path(ctx.cache_dir) / "embeddings").is_dir():
            return None
        folder = Path(ctx.cache_dir) / "embeddings" / self._corpus_key(loaded, dataset, ctx)
        if read_checked(folder) is None:
            return None
        return json.loads((folder / "ids.json").read_text()), np.load(folder / "emb.npy", mmap_mode="r")

    def _score_with_document_memo(self, loaded, query: str, doc_texts: list[str], watch: Stopwatch):
        docs = self._documents.matrix(loaded, doc_texts,
                                      lambda new: self.embed(loaded, new, self.params.doc_prefix, watch))
        return self.score_pairs(loaded, query, doc_texts, watch, docs=docs)

    def reset_counters(self) -> None:
        if getattr(self, "_documents", None) is not None:
            self._documents.forget_encoded()

    def extra_profile(self) -> dict:
        p: EmbedderParams = self.params
        documents = self._documents.profile() if getattr(self, "_documents", None) is not None else {}
        return {"similarity": p.similarity, "prf": p.prf, "role": "reranker", **documents}

    # -- first stage -----------------------------------------------------------------------
    def _corpus_key(self, loaded, dataset, ctx: RunContext) -> str:
        p: EmbedderParams = self.params
        parts = {"model": loaded.resolved.model_id, "revision": loaded.resolved.revision,
                 "max_length": loaded.max_length, "pooling": loaded.pooling.mode,
                 "normalize": loaded.pooling.normalize, "doc_prefix": p.doc_prefix, "dtype": str(loaded.dtype),
                 "compress": ctx.compress_json(), "block_docs": p.block_docs, "encoder": "embedder-v2"}
        return digest(canonical_json(parts), dataset.corpus_fingerprint())[:24]

    def _corpus_blocks(self, dataset):
        """(block, ids, texts) of `block_docs` consecutive corpus rows at a time, streamed from the dataset:
        the blocks of `plan_blocks`, in corpus order."""
        ids, texts, start = [], [], 0
        for doc_id, text in dataset.docs():
            ids.append(str(doc_id))
            texts.append(text)
            if len(ids) == self.params.block_docs:
                yield Block(start, start + len(ids)), ids, texts
                start, ids, texts = start + len(ids), [], []
        if ids:
            yield Block(start, start + len(ids)), ids, texts

    def _encode_block(self, loaded, texts: list[str], stats: dict):
        """One block of corpus rows; the same call whether a shard worker or the cell itself encodes it,
        so sharded and unsharded runs produce the same bits."""
        return finished(self._encode_block_steps(loaded, texts, stats))

    def _encode_block_steps(self, loaded, texts: list[str], stats: dict):
        """`_encode_block` a batch at a time: yields the rows each batch embedded, returns the embeddings."""
        import numpy as np

        emb = yield from loaded.encode_steps(texts, batch_size=self.params.batch_size, prefix=self.params.doc_prefix,
                                             sort=self.params.bucket, stats=stats)
        return self._for_similarity(loaded, emb.astype(np.float32))

    def _sharded(self, ctx: RunContext) -> bool:
        return bool(self.params.shards and self.params.shards > 1 and ctx.store is not None)

    def corpus_embeddings(self, loaded, dataset, ctx: RunContext):
        """(doc_ids, embeddings, seconds, cached, tokens, shard info, cost): from the shards in the run store
        (`shards: N`), or from the local cache (checked against its manifest), or encoded now and cached
        atomically. `cost` and `tokens` are what producing the embeddings took: read from the cache entry
        when it was there, so a warm run reports the cost of a cold one."""
        import numpy as np

        cost = Cost()  # the corpus encoding is its own stage: not a query's cost
        if self._sharded(ctx):
            with loaded.charging(cost):
                return (*self._merge_shards(loaded, dataset, ctx), cost)
        folder = Path(ctx.cache_dir) / "embeddings" / self._corpus_key(loaded, dataset, ctx)
        started = time.perf_counter()
        meta = read_checked(folder)
        stored_cost = stored((meta or {}).get("cost"))
        if stored_cost is not None:
            ids = json.loads((folder / "ids.json").read_text())
            emb = np.load(folder / "emb.npy")
            return ids, emb, time.perf_counter() - started, True, meta.get("tokens", 0), {}, stored_cost
        ids, parts, stats = [], [], {}

        def batches():  # progress advances a batch at a time: a block can take minutes on a CPU
            for _, block_ids, block_texts in self._corpus_blocks(dataset):
                ids.extend(block_ids)
                parts.append((yield from self._encode_block_steps(loaded, block_texts, stats)))

        with loaded.charging(cost):
            for _ in ctx.progress(batches(), total=dataset.docs_count(), description="encoding corpus",
                                  size=lambda rows: rows):
                pass
        emb = np.concatenate(parts) if parts else np.zeros((0, loaded.model.config.hidden_size), np.float32)

        def save(tmp: Path) -> None:
            np.save(tmp / "emb.npy", emb)
            (tmp / "ids.json").write_text(json.dumps(ids))

        tokens = stats.get("tokens", 0)
        # a process that stored the same embeddings first keeps its own; an entry without its cost is replaced
        publish_checked(folder, save, {"cost": cost.as_usage(), "tokens": tokens}, replace=meta is not None)
        return ids, emb, time.perf_counter() - started, False, tokens, {}, cost

    # -- shards ----------------------------------------------------------------------------
    def shard_count(self, has_input: bool) -> int:
        return 0 if has_input or not self.params.shards or self.params.shards < 2 else self.params.shards

    def _stored_or_encoded(self, loaded, store: EmbeddingBlocks, block, ids: list[str], texts: list[str],
                           stats: dict) -> tuple:
        """(the block's embeddings, whether they were encoded now): read from the store when a block with these
        ids is there, else encoded and written there (a damaged or stale block file is encoded again)."""
        if store.has(block):
            try:
                stored_ids, emb = store.get(block)
                if stored_ids == ids:
                    return emb, False
            except Exception:  # noqa: BLE001 - unreadable block: encode it again
                pass
        emb = self._encode_block(loaded, texts, stats)
        store.put(block, ids, emb)
        return emb, True

    def run_shard(self, dataset, ctx: RunContext, shard: int) -> dict:
        """Encode this shard's blocks of the corpus into the run store (those already there are kept); the
        corpus is streamed twice (count, then this shard's blocks), never held."""
        if ctx.store is None:
            raise ValueError("embedder shards need the run store")
        started = time.perf_counter()
        n_docs, sample = 0, []  # one pass counts the corpus and keeps the texts the model load looks at
        for _, text in dataset.docs():
            if n_docs < 64:
                sample.append(text)
            n_docs += 1
        blocks = shard_blocks(plan_blocks(n_docs, self.params.block_docs), shard, self.params.shards)
        summary = {"shard": shard, "docs": sum(b.end - b.start for b in blocks), "blocks": len(blocks)}
        if not blocks:
            return {**summary, "blocks_encoded": 0, "seconds": time.perf_counter() - started}
        mine = set(blocks)
        loaded = self.load(ctx, sample)
        store = EmbeddingBlocks(ctx.store, self._corpus_key(loaded, dataset, ctx))
        stats: dict = {}
        encoded, t0 = 0, time.perf_counter()
        for block, ids, texts in ctx.progress(self._corpus_blocks(dataset), total=len(plan_blocks(
                n_docs, self.params.block_docs)), description=f"embedding shard {shard + 1}/{self.params.shards}"):
            if block in mine:
                encoded += self._stored_or_encoded(loaded, store, block, ids, texts, stats)[1]
            elif block.start >= blocks[-1].end:
                break
        return {**summary, "blocks_encoded": encoded, "tokens": stats.get("tokens", 0),
                "encode_seconds": time.perf_counter() - t0, "seconds": time.perf_counter() - started}

    def _merge_shards(self, loaded, dataset, ctx: RunContext):
        """All shards' blocks in corpus order; blocks no shard task left in the store are encoded here."""
        import numpy as np

        started = time.perf_counter()
        store = EmbeddingBlocks(ctx.store, self._corpus_key(loaded, dataset, ctx))
        stats: dict = {}
        all_ids, parts, encoded, n_blocks = [], [], 0, 0
        for block, ids, texts in ctx.progress(self._corpus_blocks(dataset), total=dataset.docs_count(),
                                              description=f"encoding corpus ({self.params.shards} shards)",
                                              size=lambda b: len(b[1])):
            emb, fresh = self._stored_or_encoded(loaded, store, block, ids, texts, stats)
            all_ids += ids
            parts.append(emb)
            encoded += fresh
            n_blocks += 1
        emb = np.concatenate(parts) if parts else np.zeros((0, loaded.model.config.hidden_size), np.float32)
        info = {"corpus_shards": self.params.shards, "corpus_blocks": n_blocks,
                "corpus_blocks_encoded_in_cell": encoded, "corpus_store": str(store.folder)}
        return all_ids, emb, time.perf_counter() - started, encoded == 0, stats.get("tokens", 0), info

    def _first_stage(self, dataset, ctx: RunContext) -> Output:
        p: EmbedderParams = self.params
        queries = dataset.eval_queries()
        started = time.perf_counter()
        with PeakMemory(select_device(p.device)) as mem:
            sample = [t for _, t in zip(range(64), dataset.docs())]
            loaded = self.load(ctx, [t for _, t in sample])
            ids, emb, corpus_seconds, cached, corpus_tokens, shards, corpus_cost = self.corpus_embeddings(
                loaded, dataset, ctx)
            t0 = time.perf_counter()
            searcher = Searcher(emb, SearchSettings(p.search, p.chunk_size, p.hnsw_m, p.ef_search, p.ivf_lists,
                                                    p.ivf_probe))
            index_seconds = time.perf_counter() - t0
            k = min(p.k, len(ids))
            qids = list(queries)
            t0 = time.perf_counter()
            self._search_batch(loaded, dataset, ids, searcher, [queries[qids[0]]], k, Stopwatch())  # warm-up
            warmup = time.perf_counter() - t0
            latency = self._latency_sample(loaded, dataset, ids, searcher, [queries[q] for q in qids], k)
            watch, rows, recall_queries = Stopwatch(), [], []
            t0 = time.perf_counter()
            batches = [qids[i:i + p.query_batch_size] for i in range(0, len(qids), p.query_batch_size)]
            with loaded.charging(watch):
                for batch in ctx.progress(batches, total=len(batches), description="dense retrieval"):
                    with watch.timed():
                        q, scores, idx = self._search_batch(loaded, dataset, ids, searcher,
                                                            [queries[x] for x in batch], k, watch)
                    recall_queries.append(q)
                    for qid, s_row, i_row in zip(batch, scores, idx):
                        rows.extend((qid, ids[i], float(s)) for i, s in zip(i_row, s_row) if i >= 0)
            search_seconds = time.perf_counter() - t0
            search_profile = {"search": p.search, "search_index_seconds": index_seconds,
                              "search_seconds": search_seconds, "query_batch_size": p.query_batch_size,
                              "throughput_qps": len(qids) / search_seconds if search_seconds else None}
            if p.search not in EXACT:
                import numpy as np

                recall_k = min(10, k)
                search_profile[f"search_recall@{recall_k}_vs_exact"] = searcher.recall_against_exact(
                    np.concatenate(recall_queries)[:1000], recall_k)
        corpus_rate = None if cached or not corpus_seconds else len(ids) / corpus_seconds
        timed = watch.first_stage_dict(corpus_rate)
        profile = {**self.model_profile(loaded, watch, len(qids)), **corpus_cost.profile(len(qids), "corpus_"),
                   "role": "first stage", "warmup_seconds": warmup, "k": k,
                   "corpus_docs": len(ids), "corpus_seconds": corpus_seconds, "corpus_cached": cached,
                   "corpus_tokens": corpus_tokens,
                   "corpus_docs_per_second": corpus_rate,
                   "batch_size": p.batch_size, "bucketed": p.bucket, "similarity": p.similarity, "prf": p.prf,
                   "runner_seconds": time.perf_counter() - started, **shards, **timed, **search_profile,
                   "queries": len(qids), **latency, **mem.as_dict()}
        profile["docs_scored"] = len(ids) * len(qids)
        return Output(run=pd.DataFrame(rows, columns=RUN_COLUMNS), profile=profile)

    def _search_batch(self, loaded, dataset, ids, searcher: Searcher, texts: list[str], k: int, watch: Stopwatch):
        """Encode a batch of queries, search them together; with prf, rescore each query's candidates
        with its enhanced query. Returns (query vectors, scores, row indices)."""
        import numpy as np

        p: EmbedderParams = self.params
        q = self.embed(loaded, texts, p.query_prefix, watch)
        scores, idx = searcher.search(q, k)
        if p.prf:
            top_rows = [[i for i in row[: p.prf] if i >= 0] for row in idx]
            doc_text = dataset.doc_texts({ids[i] for row in top_rows for i in row})
            enhanced = [self._enhanced_query(loaded, t, [doc_text.get(ids[i], "") for i in row])
                        for t, row in zip(texts, top_rows)]
            qe = self.embed(loaded, enhanced, p.query_prefix, watch)
            scores = np.stack([searcher.matrix_np[row] @ v for row, v in zip(idx, qe)])
        return q, scores, idx

    def _latency_sample(self, loaded, dataset, ids, searcher: Searcher, texts: list[str], k: int) -> dict:
        """Per-query latency from `latency_sample` queries encoded and searched one at a time."""
        return single_query_latency(texts, self.params.latency_sample,
                                    lambda text: self._search_batch(loaded, dataset, ids, searcher, [text], k,
                                                                    Stopwatch()))
