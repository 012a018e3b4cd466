"""FIRST with `first_token: generated` runs the prompt once (KV cache) and equals the two full forwards it replaced:
the same first tokens, the same identifier logits within tolerance, the same rankings."""

from __future__ import annotations

import pytest
import torch

from lrbench.runners.llm.listwise import ListwiseRunner, greedy_first
from lrbench.runners.neural.llm import logits_after_first_token, next_token_logits
from neural_helpers import SMOLLM, bm25_run, ctx, dl19


class TwoForwardsListwise(ListwiseRunner):
    """The former path: a full forward for the first token, then a full forward over prompt + that token."""

    def _first(self, loaded, prompts, sizes, watch):
        def two_forwards(loaded, sequences, batch_size, choose_first, sort=True, watch=None):
            firsts = choose_first(next_token_logits(loaded, sequences, batch_size, sort, watch))
            extended = [s + [t] for s, t in zip(sequences, firsts)]
            return next_token_logits(loaded, extended, batch_size, sort, watch), firsts

        import lrbench.runners.llm.listwise as listwise

        cached, listwise.logits_after_first_token = listwise.logits_after_first_token, two_forwards
        try:
            return super()._first(loaded, prompts, sizes, watch)
        finally:
            listwise.logits_after_first_token = cached


PARAMS = {"model": SMOLLM, "recipe": "first", "window": 6, "stride": 3, "device": "cpu", "threads": 1}


@pytest.fixture(scope="module")
def dl19_three(tmp_path_factory):
    from conftest import SHARED

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    ds = dl19(SHARED, queries_limit=3)
    return ds, {"bm25": bm25_run(ds)}, tmp_path_factory.mktemp("first-cached")


def test_cached_first_logits_equal_two_full_forwards(dl19_three):
    """One left-padded batch of three windows of different lengths: padding, positions and the cache line up."""
    ds, inputs, tmp = dl19_three
    runner = ListwiseRunner(PARAMS)
    lists, texts, _ = runner.candidate_lists(ds, inputs, ctx(tmp, depth=6))
    loaded = runner.load(ctx(tmp))
    prompts = [runner._prompt(loaded, query, [texts[d] for d in docs]) for _, query, docs in lists]
    assert len({len(p) for p in prompts}) == 3  # different lengths: the batch is padded
    eos = loaded.tokenizer.eos_token_id
    choose = lambda logits: greedy_first(logits, eos)  # noqa: E731
    cached, firsts = logits_after_first_token(loaded, prompts, len(prompts), choose)
    reference_firsts = choose(next_token_logits(loaded, prompts, len(prompts)))
    reference = next_token_logits(loaded, [p + [t] for p, t in zip(prompts, reference_firsts)], len(prompts))
    assert firsts == reference_firsts
    torch.testing.assert_close(cached, reference, atol=2e-3, rtol=1e-4)
    letters = runner._letter_ids(loaded.tokenizer)[:6]
    assert cached[:, letters].argsort(dim=1).tolist() == reference[:, letters].argsort(dim=1).tolist()
    # perturbation: continuing from another first token gives other logits, which the comparison catches
    other, _ = logits_after_first_token(loaded, prompts, len(prompts),
                                        lambda logits: [t + 1 for t in choose(logits)])
    with pytest.raises(AssertionError):
        torch.testing.assert_close(other, reference, atol=2e-3, rtol=1e-4)


def test_cached_first_rankings_equal_two_full_forwards(dl19_three):
    ds, inputs, tmp = dl19_three
    ours = ListwiseRunner(PARAMS).run(ds, inputs, ctx(tmp, depth=9))
    before = TwoForwardsListwise(PARAMS).run(ds, inputs, ctx(tmp, depth=9))
    assert ours.profile["windows"] == before.profile["windows"] == 3 * 2
    order = lambda run: {q: g.sort_values("score", ascending=False)["doc_id"].tolist()  # noqa: E731
                         for q, g in run.groupby("query_id")}
    assert order(ours.run) == order(before.run)
    assert order(ours.run) != order(inputs["bm25"][inputs["bm25"]["query_id"].isin(set(ours.run["query_id"]))]
                                    .groupby("query_id").head(9))  # FIRST reorders: the test can tell them apart
    assert ours.profile["tokens"] < before.profile["tokens"]  # the prompt ran once, not twice
