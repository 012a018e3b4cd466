"""llm-setwise end to end through `lrbench run`: 2 DL19 queries, BM25 depth 10, SmolLM2-135M-Instruct.

Mechanics only: SmolLM2-135M picks passages at random level, so nothing here says anything about ranking
quality (the recipes' published numbers are for their own checkpoints, docs/recipes.md).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from helpers import write_suite
from lrbench.errors import LrbenchError
from lrbench.runners.llm.setwise import SetwiseRunner
from neural_helpers import SMOLLM

DEPTH = 10


def suite(shared) -> dict:
    base = shared / "trec-dl-2019-passage"
    # one thread: on 2 shared cores, two torch threads next to another busy process ran this 10x slower
    one = {"model": SMOLLM, "threads": 1}
    return {
        "name": "setwise-mechanics",
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json", "name": "dl19-2q",
                      "queries_limit": 2, "qrels": str(base / "qrels.dl19-passage.txt")}],
        "measures": ["nDCG@10"],
        "baseline": "bm25",
        "systems": [
            {"name": "bm25", "type": "given"},
            # a heap of 10 with 4 children per node: 3 compares build it, 1 re-sifts the root for the second place
            # (more where a parent moves down)
            {"name": "setwise", "type": "llm-setwise", "input": "bm25", "depth": DEPTH,
             "params": {**one, "recipe": "setwise_heapsort", "num_child": 4, "k": 2,
                        "doc_max_tokens": 6}},
            # one set of all 10: one compare per query
            {"name": "r1", "type": "llm-setwise", "input": "bm25", "depth": DEPTH,
             "params": {**one, "recipe": "rank_r1", "num_child": 9, "k": 1, "reason_tokens": 3,
                        "doc_max_tokens": 6}},
            {"name": "likelihood", "type": "llm-setwise", "input": "bm25", "depth": DEPTH,
             "params": {**one, "recipe": "setwise_heapsort", "compare": "likelihood", "num_child": 9,
                        "k": 1, "doc_max_tokens": 6}},
        ],
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from conftest import SHARED

    import lrbench
    from lrbench.cli import app

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    tmp = tmp_path_factory.mktemp("setwise")
    path = write_suite(tmp, suite(SHARED))
    outcome = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp / "out")])
    assert outcome.exit_code == 0, outcome.output
    return lrbench.open_results(tmp / "out")


@pytest.mark.parametrize("system,k", [("setwise", 2), ("r1", 1), ("likelihood", 1)])
def test_every_candidate_ranked_top_k_first_rest_in_input_order(results, system, k):
    bm25 = results.run("bm25")
    run = results.run(system)
    for qid, group in run.groupby("query_id"):
        ranked = group.sort_values("score", ascending=False)["doc_id"].tolist()
        first_stage = bm25[bm25["query_id"] == qid].sort_values("score", ascending=False)["doc_id"].tolist()
        head, top = ranked[:DEPTH], first_stage[:DEPTH]
        assert sorted(head) == sorted(top)
        assert head[k:] == [d for d in top if d not in head[:k]]
        assert ranked[DEPTH:] == first_stage[DEPTH:]  # the unreranked tail follows, in input order
    assert run["query_id"].nunique() == 2


def test_profiles_count_compares_tokens_and_provenance(results):
    setwise = results.profile("setwise")
    assert setwise["compare"] == "generate" and setwise["method"] == "heapsort" and setwise["num_child"] == 4
    assert 4 <= setwise["compares_per_query"] <= 8
    assert setwise["generated_tokens"] <= setwise["compares"]  # one token per compare (none if it ended)
    assert 0 <= setwise["unparsed_answers"] <= setwise["compares"]
    assert setwise["recipe"]["name"] == "setwise_heapsort" and "ielab/llm-rankers" in setwise["recipe"]["repository"]
    r1 = results.profile("r1")
    assert r1["compare"] == "reason" and r1["compares"] == 2  # one per query (the warm-up is not counted)
    assert 0 < r1["generated_tokens"] <= 3 * r1["compares"]
    # 3 tokens cannot hold "<think>...</think><answer>[k]</answer>": every answer falls back to the set's first
    assert r1["unparsed_answers"] == 2
    assert r1["recipe"]["name"] == "rank_r1" and "a5ee1a974e311e9704a4b1176ea37fa09bb7e08d" in r1["recipe"]["repository"]
    likelihood = results.profile("likelihood")
    assert likelihood["compares"] == 2 and likelihood["generated_tokens"] == 0 and likelihood["unparsed_answers"] == 0


def test_unread_answers_keep_the_first_passage_on_top(results):
    """r1's answers all fell back: the heap's root (BM25's first) is placed first, as in llm-rankers."""
    bm25, run = results.run("bm25"), results.run("r1")
    for qid, group in run.groupby("query_id"):
        top = group.sort_values("score", ascending=False)["doc_id"].iloc[0]
        assert top == bm25[bm25["query_id"] == qid].sort_values("score", ascending=False)["doc_id"].iloc[0]


def test_bad_params_name_the_key():
    with pytest.raises(LrbenchError) as exc:
        SetwiseRunner({"model": SMOLLM, "compare": "generate", "num_child": 23})
    assert exc.value.key == "params.num_child"
    with pytest.raises(LrbenchError) as exc:
        SetwiseRunner({"model": SMOLLM, "template": "Query: {query}"})
    assert exc.value.key == "params.template"
    with pytest.raises(LrbenchError) as exc:
        SetwiseRunner({"model": SMOLLM, "compare": "reason", "pattern": "<answer>.*</answer>"})
    assert exc.value.key == "params.pattern"
    with pytest.raises(LrbenchError) as exc:
        SetwiseRunner({"model": SMOLLM, "compare": "likelihood", "backend": "vllm"})
    assert exc.value.key == "params.backend"
    with pytest.raises(LrbenchError, match="recipe 'rank_r1' is for llm-setwise"):
        from lrbench.runners.llm.listwise import ListwiseRunner

        ListwiseRunner({"model": SMOLLM, "recipe": "rank_r1"})
