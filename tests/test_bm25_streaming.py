"""BM25 indexing from a document stream (token ids only, chunk by chunk) equals bm25s indexing the whole corpus."""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.runners.retrieval.bm25 import BM25Params, _bm25s_corpus, _bm25s_tokenize


@pytest.fixture(scope="module")
def scifact():
    from conftest import SHARED as shared

    if not shared.exists():
        pytest.skip("../shared/data is not available")
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    ds = open_dataset(DatasetSpec(id=f"beir:{shared / 'beir-scifact'}", name="scifact"), shared)
    return list(ds.docs()), dict(list(ds.queries().items())[:40])


def _top(retriever, queries, p, k=100):
    out = {}
    for qid, text in queries.items():
        idx, scores = retriever.retrieve(_bm25s_tokenize([text], p), k=k, show_progress=False)
        out[qid] = (idx[0].tolist(), scores[0])
    return out


def test_chunked_token_ids_give_bm25s_whole_corpus_index(scifact):
    import bm25s

    docs, queries = scifact
    p = BM25Params(k1=0.9, b=0.4)
    whole = bm25s.BM25(k1=p.k1, b=p.b)
    whole.index(_bm25s_tokenize([t for _, t in docs], p), show_progress=False)
    doc_ids, token_ids, vocab = _bm25s_corpus(iter(docs), p, chunk=700)  # 8 chunks, the last one short
    assert doc_ids == [d for d, _ in docs] and set(vocab) | {""} == set(whole.vocab_dict)
    streamed = bm25s.BM25(k1=p.k1, b=p.b)
    streamed.index((token_ids, vocab), show_progress=False)
    ours, theirs = _top(streamed, queries, p), _top(whole, queries, p)
    untied = 0
    for qid in queries:
        np.testing.assert_allclose(ours[qid][1], theirs[qid][1], rtol=1e-6)
        # the same documents in the same order wherever no two scores tie to float precision (term numbering
        # changes the order in which a query's term scores are summed)
        if not np.isclose(theirs[qid][1][:-1], theirs[qid][1][1:], rtol=1e-6).any():
            assert ours[qid][0] == theirs[qid][0]
            untied += 1
    assert untied >= 20
    # perturbation: a chunk boundary that dropped a document would break the alignment of ids and tokens
    broken = bm25s.BM25(k1=p.k1, b=p.b)
    broken.index((token_ids[1:] + token_ids[:1], vocab), show_progress=False)
    assert any(_top(broken, {q: t}, p)[q][0] != theirs[q][0] for q, t in queries.items())


@pytest.mark.parametrize("stemmer,stopwords", [("english", "en"), (None, None), ("porter", "en_plus")])
def test_corpus_tokenizer_gives_bm25s_tokens(scifact, stemmer, stopwords):
    """The streaming tokenizer's ids, read back through its vocabulary, are bm25s.tokenize's token strings for
    every SciFact document, across calls that share one vocabulary."""
    from lrbench.runners.bm25_tokens import CorpusTokenizer, bm25s_tokenize

    texts = [t for _, t in scifact[0]]
    tokenize = CorpusTokenizer(stemmer, stopwords)
    ids = tokenize(texts[:2000]) + tokenize(texts[2000:])
    stems = {i: s for s, i in tokenize.vocab.items()}
    expected = bm25s_tokenize(texts, stemmer, stopwords)
    assert [[stems[i] for i in doc] for doc in ids] == expected
    assert len(tokenize.vocab) == len({t for doc in expected for t in doc})
    assert sum(map(len, ids)) > 500_000  # the corpus, not a sample of empty documents
