"""late-interaction (ColBERT MaxSim) with all-MiniLM-L6-v2 on real DL19 BM25 candidates (2 queries, top 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrbench.runners.cost import Cost
from lrbench.runners.retrieval.late_interaction import LateInteractionRunner, maxsim
from neural_helpers import MINILM, bm25_run, ctx, dl19


@pytest.fixture
def ds(shared):
    return dl19(shared, queries_limit=2)


def _reference_scores(query: str, docs: list[str]) -> list[float]:
    """MaxSim computed independently with plain transformers: no markers, no punctuation filter."""
    import transformers

    from lrbench.models import resolve

    path = resolve(MINILM).path
    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()

    def embed(text):
        enc = tok(text, return_tensors="pt", truncation=True, max_length=256)
        with torch.inference_mode():
            h = model(**enc).last_hidden_state[0]
        return torch.nn.functional.normalize(h, dim=-1)

    q = embed(query)
    return [float((q @ embed(d).T).max(dim=1).values.sum()) for d in docs]


def test_maxsim_matches_plain_transformers_and_cache_is_reused(ds, tmp_path):
    inputs = {"bm25": bm25_run(ds)}
    params = {"model": MINILM, "skip_punctuation": False, "batch_size": 3}
    first = LateInteractionRunner(params).run(ds, inputs, ctx(tmp_path, depth=5))
    run = first.run.sort_values(["query_id", "doc_id"]).reset_index(drop=True)
    assert len(run) == 10 and run["score"].std() > 0
    qid = run["query_id"].iloc[0]
    docs = list(run[run["query_id"] == qid]["doc_id"])
    texts = ds.doc_texts(docs)
    ref = _reference_scores(ds.eval_queries()[qid], [texts[d] for d in docs])
    np.testing.assert_allclose(run[run["query_id"] == qid]["score"], ref, rtol=1e-4, atol=1e-4)
    p = first.profile
    # the warm-up runs uncharged, so what it encoded is not stored (its cost is unknown): the timed pass encodes
    # and stores all 10 passages
    assert p["token_cache_misses"] == 10 and p["token_cache_hits"] == 0
    assert len(list((tmp_path / "cache" / "token-embeddings").rglob("emb.npy"))) == 10
    second = LateInteractionRunner(params).run(ds, inputs, ctx(tmp_path, depth=5))
    assert second.profile["token_cache_hits"] == 10 and second.profile["token_cache_misses"] == 0
    np.testing.assert_allclose(second.run.sort_values(["query_id", "doc_id"])["score"], run["score"], rtol=1e-6)
    # a cached passage is charged the cost stored with it: the same cost cold and warm
    for key in ("flops", "model_calls", "tokens_in", "flops_per_query"):
        assert second.profile[key] == p[key] > 0, key
    # a different doc marker is a different cache entry
    marked = LateInteractionRunner({**params, "doc_marker": "[unused1]"}).run(ds, inputs, ctx(tmp_path, depth=5))
    assert marked.profile["token_cache_hits"] == 0 and marked.profile["token_cache_misses"] == 10


def test_markers_single_token_inserted_after_cls_text_prepended(ds, tmp_path):
    runner = LateInteractionRunner({"model": MINILM, "query_marker": "[unused0]", "doc_marker": "D:",
                                    "query_augment": 16})
    runner._ctx = ctx(tmp_path)
    loaded = runner.load(runner._ctx)
    runner.prepare(loaded)
    tok = loaded.tokenizer
    plain = tok("what is x")["input_ids"]
    q_ids = runner._ids(loaded, ["what is x"], runner._qmark, 64)[0]
    assert q_ids == plain[:1] + [tok.convert_tokens_to_ids("[unused0]")] + plain[1:]
    d_ids = runner._ids(loaded, ["what is x"], runner._dmark, 64)[0]
    assert d_ids == tok("D: what is x")["input_ids"]
    emb, n = runner._query(loaded, "what is x")
    assert n == 16 and emb.shape == (16, loaded.model.config.hidden_size)  # padded with [MASK] to 16 tokens
    # punctuation tokens are dropped from passages
    with_punct = runner.documents(loaded, ["yes , no ."], Cost())[0]
    assert with_punct.shape[0] == len(tok("D: yes , no .")["input_ids"]) - 3  # ':' ',' '.'


def test_maxsim_definition():
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    d = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    assert maxsim(q, d) == pytest.approx(1.0 + 0.8)
