"""Candidate-document embeddings of a bi-encoder reranker, each document encoded at most once per cell.

A document in several queries' candidate lists is encoded the first time a query needs it and reused after;
a document the first stage already stored in the corpus embedding cache (same model, text and settings) is read
from there and never encoded. Entries are keyed by the text the reranker scores, so a candidate whose text is
missing (scored as "") is encoded as "" and never takes the cached embedding of its id.
"""

from __future__ import annotations

import time
from typing import Callable


class DocumentEmbeddings:
    def __init__(self, texts_by_id: dict[str, str], corpus_cache: Callable[[object], tuple[list[str], object] | None]):
        """`texts_by_id`: the candidates' texts; `corpus_cache(loaded)`: (ids, embeddings) of the corpus cache of
        this model and settings, or None; read on first use (its key needs the loaded model)."""
        self.texts_by_id = texts_by_id
        self.corpus_cache = corpus_cache
        self.vectors: dict[str, object] | None = None  # text -> embedding row
        self.encoded_texts: set[str] = set()
        self.from_cache = 0
        self.cache_seconds = 0.0

    def _load_cache(self, loaded) -> None:
        import numpy as np

        started = time.perf_counter()
        self.vectors = {}
        cached = self.corpus_cache(loaded)
        if cached is not None:
            ids, emb = cached
            rows = {doc_id: row for row, doc_id in enumerate(ids)}
            hits = [(text, rows[doc_id]) for doc_id, text in self.texts_by_id.items() if doc_id in rows]
            for text, row in hits:
                self.vectors[text] = np.asarray(emb[row], dtype=np.float32)
            self.from_cache = len(hits)
        self.cache_seconds = time.perf_counter() - started

    def matrix(self, loaded, doc_texts: list[str], encode: Callable[[list[str]], object]):
        """Embeddings of `doc_texts` (rows in order); `encode(texts)` embeds the ones not seen before."""
        import numpy as np

        if self.vectors is None:
            self._load_cache(loaded)
        new = [t for t in dict.fromkeys(doc_texts) if t not in self.vectors]
        if new:
            for text, vector in zip(new, encode(new)):
                self.vectors[text] = vector
            self.encoded_texts.update(new)
        return np.stack([self.vectors[t] for t in doc_texts])

    def forget_encoded(self) -> None:
        """Drop what was encoded so far (the warm-up's documents), so the timed run encodes and counts them."""
        if self.vectors is not None:
            for text in self.encoded_texts:
                self.vectors.pop(text, None)
        self.encoded_texts = set()

    def profile(self) -> dict:
        return {"docs_encoded": len(self.encoded_texts), "docs_from_corpus_cache": self.from_cache,
                "corpus_cache_seconds": self.cache_seconds}
