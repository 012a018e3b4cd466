"""bm25s tokenization (stopwords, PyStemmer), shared by the BM25 retriever and the in-context exemplar selector."""

from __future__ import annotations


def bm25s_tokenize(texts, stemmer: str | None = "english", stopwords: str | None = "en", ids: bool = False):
    """bm25s.tokenize with a PyStemmer algorithm (None: no stemming) and a stopword list (None: none)."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer(stemmer) if stemmer else None
    return bm25s.tokenize(texts, stopwords=stopwords or [], stemmer=stem, return_ids=ids, show_progress=False)
