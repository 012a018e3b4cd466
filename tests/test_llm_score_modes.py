"""llm-pointwise score modes generate-integer and reason-then-score, SmolLM2-135M-Instruct on real DL19 BM25
candidates (1 query, 2 passages: the CPU is slow for generation; numbers come from benchmarks/dl19_paradigms.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrbench.runners.llm.pointwise import PointwiseRunner
from lrbench.runners.llm.score_modes import parse_grade
from neural_helpers import SMOLLM, bm25_run, ctx, dl19


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from conftest import SHARED

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    ds = dl19(SHARED, queries_limit=1)
    qid, query = next(iter(ds.eval_queries().items()))
    run = bm25_run(ds)
    top = run[run["query_id"] == qid].sort_values("score", ascending=False)
    docs = list(ds.doc_texts(top["doc_id"].head(2)).values())
    runner = PointwiseRunner({"model": SMOLLM, "doc_max_tokens": 40, "batch_size": 2})
    c = ctx(tmp_path_factory.mktemp("modes"))
    loaded = runner.load(c)
    runner.prepare(loaded)
    return ds, query, docs, loaded


def _mode(params, loaded):
    runner = PointwiseRunner({"model": SMOLLM, "doc_max_tokens": 40, "batch_size": 2, **params})
    runner.prepare(loaded)
    return runner, runner.mode


def test_parse_grade_is_robust():
    assert parse_grade("7", 10) == 7
    assert parse_grade("Score: 8/10", 10) == 8
    assert parse_grade("**9**", 10) == 9
    assert parse_grade("I would say ten.", 10) == 10
    assert parse_grade("12", 10) == 10 and parse_grade("-3", 10) == 0 and parse_grade("6.6", 10) == 7
    assert parse_grade("not relevant", 10) is None


def test_expected_grade_equals_teacher_forced_grade_distribution(setup):
    _, query, docs, loaded = setup
    runner, mode = _mode({"score_mode": "generate-integer"}, loaded)
    scores = mode.score(loaded, query, docs, None)
    assert mode.two_step == 2  # "10" is two tokens for SmolLM2: one extra pass per passage
    tok = loaded.tokenizer
    digit = [tok(str(g), add_special_tokens=False)["input_ids"][0] for g in range(10)]
    for prompt, score in zip(mode.prompts(loaded, query, docs), scores):
        # one forward pass over prompt + "1": next-token distributions after the prompt and after "1"
        with torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([prompt + [digit[1]]])).logits[0, -2:].float()
        first, after_one = torch.softmax(logits, -1)
        p = first[digit].clone()
        p_ten = first[digit[1]] * after_one[digit[0]]
        p[1] = first[digit[1]] * (1 - after_one[digit[0]])
        p = torch.cat([p, p_ten.view(1)])
        expected = float((p / p.sum()) @ torch.arange(11, dtype=p.dtype))
        assert score == pytest.approx(expected, abs=2e-3)
        assert 0 <= score <= 10


def test_generate_integer_parse_mode_counts_generated_tokens(setup):
    _, query, docs, loaded = setup
    _, mode = _mode({"score_mode": "generate-integer", "expectation": False, "answer_tokens": 4}, loaded)
    scores = mode.score(loaded, query, docs, None)
    prof = mode.profile()
    assert 0 < prof["generated_tokens"] <= 4 * len(docs)
    assert all(s == -1.0 or 0 <= s <= 10 for s in scores)
    assert prof["unparsed_answers"] == sum(s == -1.0 for s in scores)


def test_reason_then_score_is_yes_no_after_bounded_reasoning(setup):
    _, query, docs, loaded = setup
    runner, mode = _mode({"score_mode": "reason-then-score", "reason_tokens": 6, "reason_min_tokens": 2}, loaded)
    scores = mode.score(loaded, query, docs, None)
    prof = mode.profile()
    assert 2 * len(docs) <= prof["generated_tokens"] <= 6 * len(docs) and prof["generated_tokens_per_query"] == prof[
        "generated_tokens"]
    assert len(mode.last_reasons) == 2 and any(r.strip() for r in mode.last_reasons)
    # the score is logit(yes) - logit(no) after "<think>reasoning</think>\n<answer>"
    for doc, reason, score in zip(docs, mode.last_reasons, scores):
        seq = mode.prompts(loaded, query, [doc], "<think>" + reason.rstrip() + "</think>\n<answer>")[0]
        with torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([seq])).logits[0, -1].float()
        ref = float(torch.logsumexp(logits[mode.yes_ids], 0) - torch.logsumexp(logits[mode.no_ids], 0))
        assert score == pytest.approx(ref, abs=2e-3)


def test_score_mode_through_the_runner_records_its_profile(setup, tmp_path):
    ds, *_ = setup
    out = PointwiseRunner({"model": SMOLLM, "doc_max_tokens": 40, "batch_size": 2, "score_mode": "generate-integer",
                           "expectation": False, "answer_tokens": 3}).run(ds, {"bm25": bm25_run(ds)},
                                                                           ctx(tmp_path, depth=2))
    p = out.profile
    assert len(out.run) == 2 and p["score_mode"] == "generate-integer" and p["expectation"] is False
    assert 0 < p["generated_tokens_per_query"] <= 6  # counted for the timed query only, not the warm-up
    assert np.isfinite(out.run["score"]).all()
