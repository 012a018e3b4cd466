"""`embedder`: dense retrieval (exact search over the corpus) or bi-encoder reranking of an input run.

Pooling and normalisation come from the sentence-transformers config when the model folder has one
(params override). Scores are cosine similarities (or dot products with similarity: dot). Corpus embeddings
are cached on disk under the run cache, keyed by model, revision, max length, pooling, prefix, dtype,
compression and the corpus fingerprint, so a second system on the same corpus does not re-encode it.
`prf: k` (in the spirit of E2Rank) re-embeds the query together with its top-k candidate texts as one
enhanced query and rescores the candidates by cosine with it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, truncate_tokens
from lrbench.runners.neural.device import select_device
from lrbench.runners.neural.profile import PeakMemory, Stopwatch
from lrbench.suites.cells import canonical_json
from lrbench.suites.datasets.base import RUN_COLUMNS, digest


class EmbedderParams(NeuralParams):
    pooling: Literal["auto", "mean", "cls", "max", "lasttoken"] = "auto"
    normalize: bool | None = Field(None, description="None: from the sentence-transformers config")
    query_prefix: str = ""
    doc_prefix: str = ""
    similarity: Literal["cosine", "dot"] = "cosine"
    k: int = Field(1000, ge=1, description="first stage: documents kept per query")
    chunk_size: int = Field(65536, ge=1, description="corpus rows scored per matrix product (bounds memory)")
    prf: int | None = Field(None, ge=1, description="re-embed the query with its top-k candidate texts")


class EmbedderRunner(NeuralRunner):
    """Dense bi-encoder: exact search over the corpus, or reranking of an input run (cosine)."""

    type = "embedder"
    version = "1"
    model_kind = "embedder"
    needs_input = False  # first stage without input, reranker with one
    Params = EmbedderParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        if inputs:
            return self.rerank(dataset, inputs, ctx, self._score_query, "embedder rerank")
        return self._first_stage(dataset, ctx)

    # -- shared ----------------------------------------------------------------------------
    def _encode(self, loaded, texts, prefix, watch: Stopwatch | None = None):
        stats: dict = {}
        emb = loaded.encode(texts, batch_size=self.params.batch_size, prefix=prefix, sort=self.params.bucket,
                            stats=stats)
        if watch is not None:
            watch.tokens += stats.get("tokens", 0)
        if self.params.similarity == "cosine" and not loaded.pooling.normalize:
            import numpy as np

            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        return emb

    def _enhanced_query(self, loaded, query: str, top_texts: list[str]) -> str:
        """E2Rank-style pseudo-relevance feedback: the query followed by its top-k candidate texts."""
        per_doc = max(16, (loaded.max_length - 16) // max(1, len(top_texts)))
        return " ".join([query] + [truncate_tokens(loaded.tokenizer, t, per_doc) for t in top_texts])

    def _score_query(self, loaded, query: str, doc_texts: list[str], watch: Stopwatch):
        p: EmbedderParams = self.params
        docs = self._encode(loaded, doc_texts, p.doc_prefix, watch)
        q = self._encode(loaded, [query], p.query_prefix, watch)[0]
        scores = docs @ q
        if p.prf:
            order = scores.argsort()[::-1][: p.prf]
            enhanced = self._enhanced_query(loaded, query, [doc_texts[i] for i in order])
            scores = docs @ self._encode(loaded, [enhanced], p.query_prefix, watch)[0]
        return scores.tolist()

    def extra_profile(self) -> dict:
        p: EmbedderParams = self.params
        return {"similarity": p.similarity, "prf": p.prf, "role": "reranker"}

    # -- first stage -----------------------------------------------------------------------
    def _corpus_key(self, loaded, dataset, ctx: RunContext) -> str:
        p: EmbedderParams = self.params
        parts = {"model": loaded.resolved.model_id, "revision": loaded.resolved.revision,
                 "max_length": loaded.max_length, "pooling": loaded.pooling.mode,
                 "normalize": loaded.pooling.normalize, "doc_prefix": p.doc_prefix, "dtype": str(loaded.dtype),
                 "compress": ctx.compress, "encoder": "embedder-v1"}
        return digest(canonical_json(parts), dataset.fingerprint())[:24]

    def corpus_embeddings(self, loaded, dataset, ctx: RunContext):
        """(doc_ids, embeddings, seconds, cached): read from the cache or encode and store atomically."""
        import numpy as np

        folder = Path(ctx.cache_dir) / "embeddings" / self._corpus_key(loaded, dataset, ctx)
        started = time.perf_counter()
        if (folder / "ids.json").exists():
            ids = json.loads((folder / "ids.json").read_text())
            emb = np.load(folder / "emb.npy")
            return ids, emb, time.perf_counter() - started, True, 0
        ids, texts = [], []
        for doc_id, text in ctx.progress(dataset.docs(), description="reading corpus"):
            ids.append(str(doc_id))
            texts.append(text)
        stats: dict = {}
        parts = []
        step = max(self.params.batch_size * 256, 8192)  # chunks only for progress; sorting is per chunk
        for start in ctx.progress(range(0, len(texts), step), total=(len(texts) + step - 1) // step,
                                  description="embedding corpus"):
            parts.append(loaded.encode(texts[start:start + step], batch_size=self.params.batch_size,
                                       prefix=self.params.doc_prefix, sort=self.params.bucket, stats=stats))
        emb = np.concatenate(parts).astype(np.float32)
        if self.params.similarity == "cosine" and not loaded.pooling.normalize:
            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".emb-", dir=folder.parent))
        np.save(tmp / "emb.npy", emb)
        (tmp / "ids.json").write_text(json.dumps(ids))
        try:
            os.replace(tmp, folder)
        except OSError:  # another process stored the same embeddings first
            shutil.rmtree(tmp, ignore_errors=True)
        return ids, emb, time.perf_counter() - started, False, stats.get("tokens", 0)

    def _first_stage(self, dataset, ctx: RunContext) -> Output:
        import numpy as np
        import torch

        p: EmbedderParams = self.params
        queries = dataset.eval_queries()
        started = time.perf_counter()
        with PeakMemory(select_device(p.device)) as mem:
            sample = [t for _, t in zip(range(64), dataset.docs())]
            loaded = self.load(ctx, [t for _, t in sample])
            ids, emb, corpus_seconds, cached, corpus_tokens = self.corpus_embeddings(loaded, dataset, ctx)
            matrix = torch.from_numpy(np.ascontiguousarray(emb))
            k = min(p.k, len(ids))
            qids = list(queries)
            doc_text = dict(dataset.docs()) if p.prf else {}
            t0 = time.perf_counter()
            self._search(loaded, [queries[qids[0]]], matrix, k, Stopwatch())  # warm-up, not timed
            warmup = time.perf_counter() - t0
            watch = Stopwatch()
            rows = []
            for qid in ctx.progress(qids, total=len(qids), description="dense retrieval"):
                with watch.timed():
                    scores, idx = self._search(loaded, [queries[qid]], matrix, k, watch)
                    if p.prf:
                        top = [doc_text.get(ids[i], "") for i in idx[0][: p.prf]]
                        enhanced = self._enhanced_query(loaded, queries[qid], top)
                        q = self._encode(loaded, [enhanced], p.query_prefix, watch)[0]
                        scores = [matrix[torch.as_tensor(idx[0])].numpy() @ q]
                rows.extend((qid, ids[i], float(s)) for i, s in zip(idx[0], scores[0]))
        profile = {**loaded.info(), "role": "first stage", "warmup_seconds": warmup, "k": k,
                   "corpus_docs": len(ids), "corpus_seconds": corpus_seconds, "corpus_cached": cached,
                   "corpus_tokens": corpus_tokens,
                   "corpus_docs_per_second": None if cached or not corpus_seconds else len(ids) / corpus_seconds,
                   "batch_size": p.batch_size, "bucketed": p.bucket, "similarity": p.similarity, "prf": p.prf,
                   "runner_seconds": time.perf_counter() - started, **watch.as_dict(), **mem.as_dict()}
        profile["docs_scored"] = len(ids) * len(qids)
        if loaded.compression is not None:
            profile["compression"] = loaded.compression
        return Output(run=pd.DataFrame(rows, columns=RUN_COLUMNS), profile=profile)

    def _search(self, loaded, query_texts, matrix, k, watch: Stopwatch):
        """Exact top-k by inner product, `chunk_size` corpus rows at a time."""
        import torch

        q = torch.from_numpy(self._encode(loaded, query_texts, self.params.query_prefix, watch))
        best_s = best_i = None
        for start in range(0, matrix.shape[0], self.params.chunk_size):
            chunk = matrix[start:start + self.params.chunk_size]
            s = q @ chunk.T
            kk = min(k, s.shape[1])
            vals, idx = torch.topk(s, kk, dim=1)
            idx = idx + start
            if best_s is None:
                best_s, best_i = vals, idx
            else:
                both_s, both_i = torch.cat([best_s, vals], 1), torch.cat([best_i, idx], 1)
                vals, pos = torch.topk(both_s, min(k, both_s.shape[1]), dim=1)
                best_s, best_i = vals, torch.gather(both_i, 1, pos)
        return best_s.numpy(), best_i.numpy()
