"""llm-pairwise's answer cache: a second ask of the same prompts is served from the cache (no model call) with the
same answers, and each answer keeps its cost, so a cell costs the same cold or warm (SmolLM2 on DL19). Runner
objects keep no run state: the same runner run twice reports the same counts."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from lrbench.runners.llm.pairwise import PairwiseRunner
from lrbench.runners.neural.generation import ResponseCache
from lrbench.runners.neural.profile import Stopwatch
from neural_helpers import SMOLLM, bm25_run, ctx, dl19

LOADED = SimpleNamespace(resolved=SimpleNamespace(model_id="m", revision="r"), dtype="float32", compression=None)


def charging_ask(watch, asked):
    """A stand-in model: each batch is one forward pass of 10 FLOPs per prompt token, charged to `watch`, its
    prompts counted as label_logits counts them."""

    def ask(prompts):
        asked.append(len(prompts))
        watch.add(flops=10 * sum(map(len, prompts)), calls=1, tokens_in=sum(map(len, prompts)))
        watch.count("model_calls", len(prompts))
        return [f"answer {sum(p)}" for p in prompts]

    return ask


def test_cached_answers_are_the_stored_texts_at_their_stored_cost(tmp_path):
    runner = PairwiseRunner({"model": "some/causal-lm", "batch_size": 2})
    runner._answers = ResponseCache(tmp_path / "answers")
    prompts = [[1, 2, 3], [4, 5], [1, 2, 3]]
    cold, asked = Stopwatch(), []
    first = runner.answers(LOADED, prompts, charging_ask(cold, asked), cold, sort=False)
    warm = Stopwatch()
    second = runner.answers(LOADED, prompts + [[9]], charging_ask(warm, asked), warm, sort=False)
    assert first == ["answer 6", "answer 9", "answer 6"]
    assert second == first + ["answer 9"]
    assert asked == [2, 1]  # one batch of the 2 distinct prompts, then only the new prompt reached the model
    # FLOPs and forward passes split equally over a batch's rows (all padded to one width), input tokens by length
    assert cold.counts["flops_spent"] == 50 and cold.counts["model_calls_spent"] == 2
    assert cold.counts["cached_answers"] == 1 and cold.flops == 50 + 25  # the repeat costs its stored share
    assert warm.counts["cached_answers"] == 3 and warm.counts["model_calls_spent"] == 1
    assert warm.counts["flops_spent"] == 10 and warm.flops == cold.flops + 10
    assert warm.tokens_in == cold.tokens_in + 1 == 3 + 2 + 3 + 1 and warm.calls == cold.calls + 1 == 3
    assert warm.counts["model_calls"] == 4


def test_warm_up_answers_are_not_stored_without_their_cost(tmp_path):
    """Outside `charging` nothing measures a batch: its answers are not kept, the timed run computes them."""
    runner = PairwiseRunner({"model": "some/causal-lm"})
    runner._answers = ResponseCache(tmp_path / "answers")
    uncharged, asked = Stopwatch(), []
    runner.answers(LOADED, [[1, 2]], lambda prompts: asked.append(1) or ["x"], uncharged, sort=False)
    watch = Stopwatch()
    runner.answers(LOADED, [[1, 2]], charging_ask(watch, asked), watch, sort=False)
    assert asked == [1, 1] and watch.counts["cached_answers"] == 0


def test_an_entry_without_a_whole_cost_is_computed_again(tmp_path):
    runner = PairwiseRunner({"model": "some/causal-lm"})
    cache = runner._answers = ResponseCache(tmp_path / "answers")
    key = cache.key(runner.answer_request(LOADED, [1, 2]))
    for usage in ({}, {"flops": 20, "calls": 1, "tokens_in": 2}, {"flops": 20.5, "calls": 1, "tokens_in": 2,
                                                                   "tokens_out": 0}):
        cache.put(key, {}, "old answer", usage)  # an older entry, or a damaged one: never guessed
        watch, asked = Stopwatch(), []
        assert runner.answers(LOADED, [[1, 2]], charging_ask(watch, asked), watch, sort=False) == ["answer 3"]
        assert asked == [1] and watch.counts["cached_answers"] == 0
    assert cache.get(key)["usage"] == {"flops": 20, "calls": 1, "tokens_in": 2, "tokens_out": 0}


# -- real cells: SmolLM2 on 2 DL19 queries, BM25 top-5 --------------------------------------------

COUNTS = ("compares", "compares_per_query", "model_calls", "model_calls_per_query", "generated_tokens",
          "unparsed_answers", "conflicting_pairs", "single_passage_sets", "flops", "flops_per_query", "calls_per_query",
          "tokens_in", "tokens_out", "tokens_per_query")


@pytest.fixture(scope="module")
def dl19_top5():
    from conftest import SHARED

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    ds = dl19(SHARED, queries_limit=2)
    return ds, {"bm25": bm25_run(ds)}


def cell(runner, data, tmp_path):
    ds, inputs = data
    return runner.run(ds, inputs, ctx(tmp_path, depth=5)).profile


@pytest.mark.parametrize("params", [{"method": "allpairs", "compare": "likelihood", "batch_size": 8},
                                    {"method": "heapsort", "compare": "generate", "k": 2, "batch_size": 2}])
def test_cold_and_warm_cells_report_the_same_cost(dl19_top5, tmp_path, params):
    runner = PairwiseRunner({"model": SMOLLM, "threads": 1, "doc_max_tokens": 24, **params})
    cold = cell(runner, dl19_top5, tmp_path)
    warm = cell(runner, dl19_top5, tmp_path)  # the same runner and cache folder: every answer is cached
    assert cold["flops"] > 0 and cold["model_calls"] == 2 * cold["compares"] > 0
    # heapsort may ask a pair again within the cell: the cache serves it
    assert cold["model_calls_spent"] + cold["cached_answers"] == cold["model_calls"] and cold["model_calls_spent"] > 0
    assert 0 < cold["flops_spent"] <= cold["flops"]
    assert warm["model_calls_spent"] == 0 and warm["flops_spent"] == 0
    assert warm["cached_answers"] == warm["model_calls"] == cold["model_calls"]
    for key in ("flops", "flops_per_query", "model_calls", "model_calls_per_query", "calls_per_query", "tokens_in",
                "tokens_out", "generated_tokens", "compares", "conflicting_pairs"):
        assert warm[key] == cold[key], key
    if params["method"] == "allpairs":  # every prompt is new in a cold allpairs cell
        assert cold["cached_answers"] == 0 and cold["flops_spent"] == cold["flops"]
    # perturbation: entries that lost their cost are computed again, never priced at a guess
    for path in (tmp_path / "cache" / "pairwise-answers").rglob("*.json"):
        entry = json.loads(path.read_text())
        path.write_text(json.dumps({**entry, "usage": {}}))
    again = cell(runner, dl19_top5, tmp_path)
    assert again["model_calls_spent"] == cold["model_calls_spent"] and again["flops"] == cold["flops"]


def test_a_runner_run_twice_reports_the_same_counts(dl19_top5, tmp_path):
    from lrbench.runners.llm.setwise import SetwiseRunner

    one = {"model": SMOLLM, "threads": 1, "doc_max_tokens": 24}
    for runner in (PairwiseRunner({**one, "method": "heapsort", "compare": "likelihood", "k": 2,
                                   "answer_cache": False}),
                   SetwiseRunner({**one, "compare": "likelihood", "num_child": 2, "k": 2})):
        first = cell(runner, dl19_top5, tmp_path / runner.type / "a")
        second = cell(runner, dl19_top5, tmp_path / runner.type / "b")
        counts = [key for key in COUNTS if key in first]
        assert {"compares", "model_calls", "flops"} <= set(counts)
        assert first["compares"] > 0 and [first[k] for k in counts] == [second[k] for k in counts], runner.type
