"""Cross-encoder mechanics with the MiniLM encoder plus a freshly initialised head.

Offline there is no trained cross-encoder, so these scores are meaningless and never reported as quality;
the tests check the plumbing (pairs, truncation, bucketing, logit vs log-softmax, order restore) against
a direct AutoModelForSequenceClassification forward.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrbench.errors import LrbenchError
from lrbench.runners.rerankers.cross_encoder import CrossEncoderRunner
from neural_helpers import MINILM, bm25_run, ctx, dl19


def _direct_scores(ds, run, num_labels, seed):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lrbench.models import resolve

    path = resolve(MINILM).path
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels).eval()
    tok = AutoTokenizer.from_pretrained(path)
    queries = ds.queries()
    texts = ds.doc_texts(run["doc_id"])
    out = []
    with torch.inference_mode():
        for row in run.itertuples():
            enc = tok(queries[row.query_id], texts[row.doc_id], truncation=True, max_length=256, return_tensors="pt")
            logits = model(**enc).logits[0]
            out.append(float(logits[0]) if num_labels == 1 else float(torch.log_softmax(logits, -1)[1]))
    return np.array(out)


@pytest.mark.parametrize("num_labels", [1, 2])
def test_fresh_head_scores_match_a_direct_forward(shared, tmp_path, num_labels):
    ds = dl19(shared, queries_limit=2)
    params = {"model": MINILM, "num_labels": num_labels, "max_length": 256, "batch_size": 4, "threads": 1,
              "allow_random_head": True}
    torch.manual_seed(0)
    out = CrossEncoderRunner(params).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=8))
    assert len(out.run) == 16
    expected = _direct_scores(ds, out.run, num_labels, seed=0)
    np.testing.assert_allclose(out.run["score"].to_numpy(), expected, atol=1e-4)
    if num_labels == 2:
        assert (out.run["score"] <= 0).all()  # log-probabilities
    assert out.profile["tokens"] > 0 and out.profile["params"] > 22_000_000


def test_truncation_side_and_unsorted_batching(shared, tmp_path):
    ds = dl19(shared, queries_limit=1)
    inputs = {"bm25": bm25_run(ds)}
    base = {"model": MINILM, "num_labels": 1, "max_length": 24, "batch_size": 3, "allow_random_head": True}
    runs = {}
    for name, extra in {"right": {}, "left": {"truncation_side": "left"}, "unsorted": {"bucket": False}}.items():
        torch.manual_seed(0)
        runs[name] = CrossEncoderRunner({**base, **extra}).run(ds, inputs, ctx(tmp_path, depth=6)).run
    np.testing.assert_allclose(runs["right"]["score"], runs["unsorted"]["score"], atol=1e-5)
    assert not np.allclose(runs["right"]["score"], runs["left"]["score"])  # a different 24-token view


def test_positive_label_out_of_range(shared, tmp_path):
    ds = dl19(shared, queries_limit=1)
    with pytest.raises(LrbenchError) as exc:
        CrossEncoderRunner({"model": MINILM, "num_labels": 2, "positive_label": 5, "allow_random_head": True}).run(
            ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=2))
    assert exc.value.key == "params.positive_label"


def test_a_reranker_without_input_is_a_clear_error(shared, tmp_path):
    ds = dl19(shared, queries_limit=1)
    with pytest.raises(LrbenchError, match="reranks a first-stage run"):
        CrossEncoderRunner({"model": MINILM}).run(ds, {}, ctx(tmp_path))


def test_a_checkpoint_without_a_head_is_refused(shared, tmp_path):
    """MiniLM is an encoder without a classification head: scoring with a random head needs consent."""
    ds = dl19(shared, queries_limit=1)
    with pytest.raises(LrbenchError, match="no classification head") as exc:
        CrossEncoderRunner({"model": MINILM, "num_labels": 1}).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=2))
    assert exc.value.key == "params.model" and "allow_random_head: true" in exc.value.hint
