"""llm-listwise against RankLLM (rank-llm, live): prompts, windows, answer repair, and FIRST on SmolLM2.

Compared layers: RankLLM's prompt builders and `create_prompt`, `sliding_windows`, `receive_permutation` and
`_evaluate_logits` are RankLLM's own code; its vLLM engine (CUDA only) is replaced by transformers on the same
SmolLM2 weights (tests/reference_llm.py). Every check is followed by a deliberate perturbation that must fail it.
"""

from __future__ import annotations

import types

import pytest

from lrbench.runners.llm.prompts.listwise import first_order, get_prompt, parse_permutation, window_messages, window_schedule
from lrbench.runners.llm.listwise import ListwiseRunner
from neural_helpers import SMOLLM, shared_dl19_candidates, smollm_tokenizer
from reference_llm import (HFGenerator, rank_gpt_handler, rank_llm_modules, rank_llm_reranker,
                           rank_llm_request, rank_llm_result)

rank_llm_modules()  # skips the module when rank-llm is not installed


@pytest.fixture(scope="module")
def tokenizer():
    return smollm_tokenizer()


@pytest.fixture(scope="module")
def candidates():
    return shared_dl19_candidates(n_queries=3, depth=100)


def test_rank_gpt_messages_equal_rank_llm(candidates):
    lists, texts = candidates
    handler = rank_gpt_handler()
    prompt = get_prompt("rank_gpt")
    compared = 0
    for _, query, docids in lists:
        result = rank_llm_result(rank_llm_request(query, docids, texts))
        for start, end in window_schedule(len(docids), 20, 10):
            n = end - start
            # SafeOpenai.create_prompt's first attempt: 300 * (window // n) words per passage
            ref = handler.generate_prompt(result, rank_start=start, rank_end=end, max_length=300 * (20 // n),
                                          num_fewshot_examples=0, fewshot_examples=[])
            ours = window_messages(prompt, query, [texts[d] for d in docids[start:end]], False, 20)
            assert ours == ref
            compared += 1
    assert compared == 27
    # perturbation: two passages swapped inside the window must change the messages
    _, query, docids = lists[0]
    ref = handler.generate_prompt(rank_llm_result(rank_llm_request(query, docids, texts)), rank_start=0,
                                  rank_end=20, max_length=300, num_fewshot_examples=0, fewshot_examples=[])
    swapped = [texts[d] for d in docids[:20]]
    swapped[0], swapped[1] = swapped[1], swapped[0]
    assert window_messages(prompt, query, swapped, False, 20) != ref


@pytest.mark.parametrize("recipe,template,alpha", [("rank_zephyr", "rank_zephyr_template.yaml", False),
                                                   ("first", "rank_zephyr_alpha_template.yaml", True)])
def test_rank_zephyr_prompts_equal_rank_llm(candidates, tokenizer, recipe, template, alpha):
    lists, texts = candidates
    ranker = rank_llm_reranker(tokenizer, template=template, use_alpha=alpha)
    ours = ListwiseRunner({"model": SMOLLM, "recipe": recipe})
    loaded = types.SimpleNamespace(tokenizer=tokenizer)
    for _, query, docids in lists:
        result = rank_llm_result(rank_llm_request(query, docids, texts))
        for start, end in [(80, 100), (0, 20), (3, 10)]:
            window = [texts[d] for d in docids[start:end]]
            ref_prompt, ref_tokens = ranker.create_prompt(result, start, end)
            assert ours.fitted_prompt(loaded, query, window) == ref_prompt
            assert len(tokenizer.encode(ours.fitted_prompt(loaded, query, window))) == ref_tokens
    # perturbation: the window shifted by one passage must change the prompt
    _, query, docids = lists[0]
    ref_prompt, _ = rank_llm_reranker(tokenizer, template=template, use_alpha=alpha).create_prompt(
        rank_llm_result(rank_llm_request(query, docids, texts)), 0, 20)
    assert ours.fitted_prompt(loaded, query, [texts[d] for d in docids[1:21]]) != ref_prompt


def test_context_fitting_equals_rank_llm(candidates, tokenizer):
    """With a context too small for the window, RankLLM cuts the passages' words until the prompt fits."""
    lists, texts = candidates
    _, query, docids = lists[0]
    ranker = rank_llm_reranker(tokenizer, template="rank_zephyr_template.yaml", context_size=900)
    ref_prompt, ref_tokens = ranker.create_prompt(rank_llm_result(rank_llm_request(query, docids, texts)), 0, 20)
    ours = ListwiseRunner({"model": SMOLLM, "recipe": "rank_zephyr", "context_size": 900})
    mine = ours.fitted_prompt(types.SimpleNamespace(tokenizer=tokenizer), query, [texts[d] for d in docids[:20]])
    assert ref_tokens < 900 and mine == ref_prompt
    wider = ListwiseRunner({"model": SMOLLM, "recipe": "rank_zephyr", "context_size": 1000})  # perturbation
    assert wider.fitted_prompt(types.SimpleNamespace(tokenizer=tokenizer), query,
                               [texts[d] for d in docids[:20]]) != ref_prompt


def _rank_llm_windows(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """The windows RankLLM's sliding_windows visits, recorded by its permutation_pipeline."""
    ranker = rank_llm_reranker(None, template="rank_zephyr_template.yaml", window=window, stride=stride)
    seen = []

    def record(result, rank_start, rank_end, logging=False, populate_invocations_history=False):
        seen.append((rank_start, rank_end))
        return result

    ranker.permutation_pipeline = record
    request = rank_llm_request("q", [str(i) for i in range(n)], {str(i): "x" for i in range(n)})
    ranker.sliding_windows(request, rank_start=0, rank_end=n, top_k_retrieve=100)
    return seen


@pytest.mark.parametrize("n,window,stride", [(100, 20, 10), (100, 20, 5), (95, 20, 10), (30, 20, 10), (8, 4, 2),
                                             (50, 10, 10), (20, 20, 10), (7, 20, 10)])
def test_windows_visited_in_rank_llm_order(n, window, stride):
    ref = _rank_llm_windows(n, window, stride)
    assert window_schedule(n, window, stride) == ref
    assert [(s + 1, e + 1) for s, e in window_schedule(n, window, stride)] != ref  # perturbation: shifted


MALFORMED = ["[2] > [1] > [3] > [5] > [4]", "[2] > [1]", "[2] > [2] > [9] > [1] > [3]", "I cannot rank these.", "",
             "3, 1, 2", "[1] > [1] > [1]", "<think>[5] > [4]</think> [3] > [1]", "②>①>⑤", "[0] > [6] > [4]",
             "Ranking: [4] > [3] then [2]", "[12] > [3]", "[3][2][1][5][4] and more: [4]", "-1 > 2 > 7",
             "The most relevant is [5], then [1]."]
MALFORMED_LETTERS = ["[B] > [A] > [C] > [E] > [D]", "[C] > [C] > [A]", "Answer: [B] > [D]", "[Z] > [A]", "b > a",
                     "[E]>[D]>[C]>[B]>[A]", "", "I think [C] is best"]


def _rank_llm_repair(text: str, n: int, alpha: bool) -> list[int]:
    ranker = rank_llm_reranker(None, template="rank_zephyr_template.yaml", use_alpha=alpha)
    request = rank_llm_request("q", [str(i) for i in range(n)], {str(i): "x" for i in range(n)})
    result = ranker.receive_permutation(rank_llm_result(request), text, 0, n)
    return [int(c.docid) for c in result.candidates]


@pytest.mark.parametrize("alpha,corpus", [(False, MALFORMED), (True, MALFORMED_LETTERS)])
def test_repaired_permutations_equal_rank_llm(alpha, corpus):
    for text in corpus:
        assert parse_permutation(text, 5, alpha)[0] == _rank_llm_repair(text, 5, alpha), text
    # perturbation: two identifiers swapped in a well-formed answer must change the outcome
    good, swapped = corpus[0], corpus[0].replace("2", "#").replace("1", "2").replace("#", "1")
    if alpha:
        swapped = good.replace("B", "#").replace("A", "B").replace("#", "A")
    assert parse_permutation(swapped, 5, alpha)[0] != _rank_llm_repair(good, 5, alpha)


def test_first_window_order_from_the_same_logits(tokenizer):
    """FIRST's window ranking from one set of logits: RankLLM's _evaluate_logits (top-30 log-probabilities of
    vLLM) + receive_permutation, against lrbench's first_order over the same logits."""
    import torch

    from reference_llm import _Logit

    ranker = rank_llm_reranker(tokenizer, template="rank_zephyr_alpha_template.yaml", use_alpha=True, use_logits=True)
    letter_ids = [tokenizer.encode(c)[0] for c in "ABCDEFGHIJKLMNOPQRST"]
    gen = torch.Generator().manual_seed(0)
    unrestricted_differs = 0
    for trial in range(20):
        logits = torch.randn(len(tokenizer), generator=gen)
        boost = torch.randperm(20, generator=gen)[: 5 + trial % 15]  # some identifiers in the top 30, some not
        logits[torch.tensor(letter_ids)[boost]] += 8 + torch.rand(len(boost), generator=gen)
        logp = torch.log_softmax(logits, -1)
        top = logp.topk(30)
        vllm_logprobs = {int(t): _Logit(tokenizer.decode([int(t)]), float(v)) for v, t in zip(top.values, top.indices)}
        answer, _ = ranker._evaluate_logits(vllm_logprobs, (1, 20))
        request = rank_llm_request("q", [str(i) for i in range(20)], {str(i): "x" for i in range(20)})
        ref = [int(c.docid) for c in ranker.receive_permutation(rank_llm_result(request), answer, 0, 20).candidates]
        best = set(top.indices.tolist())
        ours = first_order(logits[letter_ids].tolist(), 20, {j for j in range(20) if letter_ids[j] in best})
        assert ours == ref
        unrestricted_differs += first_order(logits[letter_ids].tolist(), 20) != ref
    assert unrestricted_differs >= 10  # perturbation: ranking all 20 letters ignores vLLM's top-30 cut
    ours[0], ours[1] = ours[1], ours[0]
    assert ours != ref  # perturbation: two identifiers swapped


@pytest.fixture(scope="module")
def smollm(tmp_path_factory):
    from conftest import SHARED

    from lrbench.runners.neural import load_model

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    return load_model("causal-lm", SMOLLM, {"model": SMOLLM, "device": "cpu"},
                      cache_dir=tmp_path_factory.mktemp("smollm-cache"))


def test_first_final_ranking_on_smollm2_equals_rank_llm(smollm, tmp_path):
    """5 DL19 queries, BM25 top-6, windows of 4 with stride 2 (2 windows a query): the final order of lrbench's
    `recipe: first` equals RankLLM's FIRST driven on the same weights (full depth: benchmarks/equivalence_llm.py)."""
    from conftest import SHARED
    from neural_helpers import bm25_run, ctx, dl19

    ds = dl19(SHARED, queries_limit=5)
    run = bm25_run(ds)
    params = {"model": SMOLLM, "recipe": "first", "window": 4, "stride": 2, "device": "cpu"}
    result = ListwiseRunner(params).run(ds, {"bm25": run}, ctx(tmp_path, depth=6))
    assert result.profile["recipe"]["name"] == "first" and result.profile["windows"] == 10
    out = result.frame("run")
    generator = HFGenerator(smollm.model, smollm.tokenizer)
    ranker = rank_llm_reranker(smollm.tokenizer, template="rank_zephyr_alpha_template.yaml", use_alpha=True,
                               use_logits=True, window=4, stride=2, generator=generator)
    queries = ds.eval_queries()
    top = run[run["query_id"].isin(list(ds.eval_queries()))]
    top = top.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, False]).groupby("query_id").head(6)
    texts = ds.doc_texts(set(top["doc_id"]))
    agree = 0
    for qid, group in top.groupby("query_id"):
        docids = [str(d) for d in group["doc_id"]]
        ref = ranker.rerank_batch([rank_llm_request(queries[qid], docids, texts)], rank_start=0, rank_end=6)[0]
        ref_order = [c.docid for c in ref.candidates]
        ours = out[out["query_id"] == qid].sort_values("rank")["doc_id"].tolist()
        assert ours == ref_order, qid
        assert ours != docids or ref_order == docids
        agree += 1
    assert agree == 5 and generator.calls == 10
    ours[0], ours[1] = ours[1], ours[0]
    assert ours != ref_order  # perturbation


def test_recipes_resolve_with_overrides_and_key_on_resolved_values(tmp_path):
    from lrbench.errors import LrbenchError
    from lrbench.runners.llm.recipes import RECIPES, recipe_profile

    p = ListwiseRunner({"model": SMOLLM, "recipe": "first", "stride": 5}).params
    assert (p.prompt, p.mode, p.letters, p.window, p.stride, p.first_top_logprobs) == \
           ("rank_zephyr_alpha", "first", True, 20, 5, 30)
    from lrbench.plan.keys import canonical_params

    base = {"model": SMOLLM, "recipe": "rank_zephyr"}
    key = lambda params: canonical_params(ListwiseRunner, ListwiseRunner.parse_params(params))  # what the cell key hashes
    assert key(base)["new_tokens"] == "permutation" and key(base)["context_size"] == 4096
    assert key(base) != key({**base, "window": 10})
    assert key(base) == key({**base, "prompt": "rank_zephyr", "stride": 10})  # a recipe value written out
    assert key(base) != key({"model": SMOLLM, "recipe": "rankgpt"})
    prof = recipe_profile(ListwiseRunner(base).params)["recipe"]
    assert prof["name"] == "rank_zephyr" and "castorini/rank_llm" in prof["repository"] and prof["published"]
    assert all(r.paper and r.repository and r.source and r.published for r in RECIPES.values())
    with pytest.raises(LrbenchError, match="is for llm-pointwise"):
        ListwiseRunner({"model": SMOLLM, "recipe": "llmrankers_yes_no"})
    with pytest.raises(LrbenchError, match="unknown listwise prompt"):
        ListwiseRunner({"model": SMOLLM, "prompt": "nope"})
