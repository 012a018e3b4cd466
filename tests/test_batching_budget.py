"""Token-budget batching: batches bounded by padded tokens, outputs equal to fixed-count batching."""

from __future__ import annotations

import numpy as np
import torch

from lrbench.runners.rerankers.cross_encoder import CrossEncoderRunner
from lrbench.runners.neural.batching import length_batches
from lrbench.runners.neural.profile import Stopwatch
from neural_helpers import MINILM, dl19


def test_token_budget_bounds_each_batch_and_covers_everything():
    lengths = [512, 400, 300, 40, 30, 30, 20, 20, 10, 600, 5, 5]
    batches = length_batches(lengths, batch_size=4, token_budget=700)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 4
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 700
    # sorted: 600, 512, 400 alone; 300 + 40 (a third row would pad to 900); then 4 short rows, then the rest
    assert [len(b) for b in batches] == [1, 1, 1, 2, 4, 3]
    assert length_batches(lengths, 4) == length_batches(lengths, 4, token_budget=None)


def test_token_budget_scores_equal_fixed_count_batches(shared):
    from lrbench.runners.neural.loading import load_model

    ds = dl19(shared, queries_limit=1)
    run = ds.candidates()
    qid = run["query_id"].iloc[0]
    docs = list(ds.doc_texts(run[run["query_id"] == qid]["doc_id"][:24]).values())
    torch.manual_seed(0)
    params = {"model": MINILM, "num_labels": 1, "allow_random_head": True, "max_length": 128, "batch_size": 16,
              "threads": 1}
    loaded = load_model("cross-encoder", MINILM, CrossEncoderRunner(params).params)
    fixed_watch, budget_watch = Stopwatch(), Stopwatch()
    fixed = CrossEncoderRunner(params).score_pairs(loaded, ds.queries()[qid], docs, fixed_watch)
    budget = CrossEncoderRunner({**params, "token_budget": 300}).score_pairs(loaded, ds.queries()[qid], docs,
                                                                        budget_watch)
    np.testing.assert_allclose(budget, fixed, atol=1e-5)
    assert np.argsort(budget).tolist() == np.argsort(fixed).tolist()
    assert budget_watch.tokens == fixed_watch.tokens  # same real tokens, only the batching differs
