"""icr (`recipe: icr`) against rankify's InContextReranker (live) on SmolLM2-135M, a Llama-architecture model.

Compared layer: rankify's prompt builder (`_prepare_input_for_document_retrieval`) and attention extraction
(`score_documents`, eager attention) run as shipped; the masked calibration that combines the two passes is
get_sorted_docs' rule restated (see tests/reference_llm.py for why its cached path cannot run here).
"""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.runners.llm.icr import ICRRunner, rankify_prompt
from neural_helpers import SMOLLM, bm25_run, ctx, dl19
from reference_llm import rankify_icr, rankify_masked_scores

DEPTH = 5


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from conftest import SHARED

    from lrbench.runners.neural import load_model
    from lrbench.runners.neural.loading import chat_wrap

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    tmp = tmp_path_factory.mktemp("icr-eq")
    ds = dl19(SHARED, queries_limit=5)
    run = bm25_run(ds)
    out = ICRRunner({"model": SMOLLM, "recipe": "icr", "device": "cpu"}).run(ds, {"bm25": run}, ctx(tmp, depth=DEPTH))
    loaded = load_model("causal-lm", SMOLLM, {"model": SMOLLM, "device": "cpu"}, cache_dir=tmp / "cache",
                        attn_implementation="eager")
    before, after = chat_wrap(loaded.tokenizer, None, True)
    icr = rankify_icr(loaded.model, loaded.tokenizer, before, after)
    top = run[run["query_id"].isin(list(ds.eval_queries()))]
    top = top.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, False]).groupby("query_id").head(DEPTH)
    texts = ds.doc_texts(set(top["doc_id"]))
    lists = [(qid, ds.eval_queries()[qid], [str(d) for d in g["doc_id"]]) for qid, g in top.groupby("query_id")]
    return out.frame("run"), icr, lists, texts, loaded.tokenizer, (before, after)


def test_icr_prompt_and_spans_equal_rankify(setup):
    _, icr, lists, texts, tok, (before, after) = setup
    for _, query, docids in lists:
        docs = [" ".join(texts[d].split()) for d in docids]
        ref_prompt, ref_spans, ref_start, ref_end = icr._prepare_input_for_document_retrieval(
            query, docs, system_prompt="", query_position="last")
        prompt, spans, start = rankify_prompt(tok, query, docs, before, after)
        assert (prompt, spans, start) == (ref_prompt, ref_spans, ref_start)
        assert ref_end == len(tok(prompt)["input_ids"]) - 1
    # perturbation: the documents in another order give other spans and another prompt
    assert rankify_prompt(tok, query, docs[::-1], before, after)[:2] != (ref_prompt, ref_spans)


def test_icr_scores_and_ranking_equal_rankify(setup):
    run, icr, lists, texts, *_ = setup
    worst, compared = 0.0, 0
    for qid, query, docids in lists:
        docs = [" ".join(texts[d].split()) for d in docids]
        ref, _, _ = rankify_masked_scores(icr, query, docs)
        mine = run[run["query_id"] == qid].set_index("doc_id")["score"]
        ours = np.array([mine[d] for d in docids])
        worst = max(worst, float(np.abs(ours - np.array(ref)).max()))
        assert np.allclose(ours, ref, atol=1e-4, rtol=0), (qid, ours, ref)
        assert [docids[i] for i in np.argsort(-ours, kind="stable")] == \
               [docids[i] for i in np.argsort(-np.array(ref), kind="stable")]
        compared += 1
    assert compared == 5 and worst < 1e-4
    # perturbation: the reference scores of the documents in another order do not match
    swapped, _, _ = rankify_masked_scores(icr, query, [docs[1], docs[0]] + docs[2:])
    assert not np.allclose(ours, swapped, atol=1e-4, rtol=0)
