"""bm25s tokenization (stopwords, PyStemmer), shared by the BM25 retriever and the in-context exemplar selector."""

from __future__ import annotations


def bm25s_tokenize(texts, stemmer: str | None = "english", stopwords: str | None = "en"):
    """bm25s.tokenize's token strings, with a PyStemmer algorithm (None: no stemming) and a stopword list (None:
    none)."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer(stemmer) if stemmer else None
    return bm25s.tokenize(texts, stopwords=stopwords or [], stemmer=stem, return_ids=False, show_progress=False)


# bm25s.tokenize's default token pattern (scikit-learn's CountVectorizer pattern)
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class _StemIds(dict):
    """word -> id of its stem; a word seen for the first time is stemmed once and its stem numbered."""

    def __init__(self, vocab: dict[str, int], stem):
        super().__init__()
        self.vocab, self.stem = vocab, stem

    def __missing__(self, word: str) -> int:
        stem = self.stem(word) if self.stem else word
        self[word] = sid = self.vocab.setdefault(stem, len(self.vocab))
        return sid


class CorpusTokenizer:
    """bm25s.tokenize's tokens (its pattern, lowercasing, stopword list and PyStemmer stems) as ids into one
    vocabulary of stems (`vocab`) that grows across calls, so that a corpus streamed in chunks is numbered once.

    One pass over each text's words with a dict lookup per word: bm25s.tokenize splits in one pass and maps
    words to stems in a second, and chunks it numbers apart need a third pass to renumber them into one
    vocabulary. `tests/test_bm25_streaming.py` holds the tokens equal to bm25s.tokenize's on real corpora."""

    def __init__(self, stemmer: str | None = "english", stopwords: str | None = "en"):
        import re

        import Stemmer
        from bm25s.tokenization import _infer_stopwords  # bm25s' own lists, so that both drop the same words

        self.vocab: dict[str, int] = {}
        self._split = re.compile(TOKEN_PATTERN).findall
        self._stop = frozenset(_infer_stopwords(stopwords or []))
        self._ids = _StemIds(self.vocab, Stemmer.Stemmer(stemmer).stemWord if stemmer else None)

    def __call__(self, texts) -> list[list[int]]:
        split, stop, ids = self._split, self._stop, self._ids
        return [[ids[word] for word in split(text.lower()) if word not in stop] for text in texts]
