"""The LLM rows of benchmarks/EQUIVALENCE.md: llm-listwise, FIRST, icr, llm-pointwise and llm-setwise recipes
against RankLLM, rankify and llm-rankers, on full DL19 slices.

    python benchmarks/equivalence.py --only llm-listwise-windows icr-smollm2   # rows through the page generator
    python benchmarks/equivalence_llm.py --only llm-listwise-first-smollm2     # or alone: prints the rows as JSON

`rows(only=None) -> list[dict]`, each with row, reference, slice, metric, max_diff, equal, command, layer and
seconds (what benchmarks/equivalence.py expects).
The comparison code is the tests' (tests/reference_llm.py, tests/test_equiv_llm_*.py, tests/test_equiv_icr.py);
here it runs on all 43 judged DL19 queries (prompts) or 5 queries at full depth (model rows).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

SHARED = (HERE.parent / ".." / "shared" / "data").resolve()
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
COMMAND = "python benchmarks/equivalence.py --only {row}"


def _tokenizer():
    from transformers import AutoTokenizer

    from lrbench.models import resolve

    return AutoTokenizer.from_pretrained(resolve(SMOLLM).path)


def _prompt_slice():
    from reference_llm import dl19_candidates, rank_llm_request, rank_llm_result

    from lrbench.runners.llm.prompts.listwise import window_schedule

    lists, texts = dl19_candidates(SHARED, n_queries=43, depth=100)
    for _, query, docids in lists:
        result = rank_llm_result(rank_llm_request(query, docids, texts))
        for s, e in window_schedule(len(docids), 20, 10):
            yield query, result, s, e, [texts[d] for d in docids[s:e]]


def rankgpt_prompt() -> list[dict]:
    """RankGPT chat messages for every window of (20, 10) over 100, all judged DL19 queries."""
    from reference_llm import rank_gpt_handler

    from lrbench.runners.llm.prompts.listwise import get_prompt, window_messages

    handler = rank_gpt_handler()
    unequal = windows = 0
    for query, result, s, e, passages in _prompt_slice():
        ref = handler.generate_prompt(result, rank_start=s, rank_end=e, max_length=300 * (20 // (e - s)),
                                      num_fewshot_examples=0, fewshot_examples=[])
        unequal += window_messages(get_prompt("rank_gpt"), query, passages) != ref
        windows += 1
    return [{"row": "llm-listwise-rankgpt-prompt", "reference": "rank-llm 0.25.7 RankGPT template "
             "(MultiTurnListwiseInferenceHandler.generate_prompt)", "slice": f"DL19 BM25 top-100, 43 queries, "
             f"{windows} windows of (20, 10)", "metric": "windows whose chat messages differ", "max_diff": unequal,
             "equal": unequal == 0, "layer": "prompt builder (messages); SafeOpenai's tiktoken-based context "
             "fitting is not compared (its encodings download at run time), it never triggers at 300 words"}]


def zephyr_prompt(recipe: str, template: str, alpha: bool) -> list[dict]:
    """RankZephyr / FIRST prompt strings (SmolLM2's chat template) for every window of (20, 10) over 100."""
    from reference_llm import rank_llm_reranker

    from lrbench.runners.llm.listwise import ListwiseRunner

    tok = _tokenizer()
    loaded = types.SimpleNamespace(tokenizer=tok)
    ranker = rank_llm_reranker(tok, template=template, use_alpha=alpha)
    ours = ListwiseRunner({"model": SMOLLM, "recipe": recipe})
    unequal = windows = 0
    for query, result, s, e, passages in _prompt_slice():
        unequal += ours.fitted_prompt(loaded, query, passages) != ranker.create_prompt(result, s, e)[0]
        windows += 1
    return [{"row": f"llm-listwise-{recipe}-prompt", "reference": f"rank-llm 0.25.7 RankListwiseOSLLM.create_prompt "
             f"({template})", "slice": f"DL19 BM25 top-100, 43 queries, {windows} windows of (20, 10), SmolLM2 chat "
             "template", "metric": "windows whose prompt string differs", "max_diff": unequal, "equal": unequal == 0,
             "layer": "the whole prompt string: messages, chat template, ftfy, context fitting (4096)"}]


def listwise_windows_and_repair() -> list[dict]:
    from test_equiv_llm_listwise import MALFORMED, MALFORMED_LETTERS, _rank_llm_repair, _rank_llm_windows

    from lrbench.runners.llm.prompts.listwise import parse_permutation, window_schedule

    grid = [(n, w, s) for n in (1, 2, 7, 19, 20, 21, 30, 50, 95, 100) for w in (4, 10, 20) for s in (1, 2, 5, 10)
            if s <= w]
    unequal = sum(window_schedule(n, w, s) != _rank_llm_windows(n, w, s) for n, w, s in grid if n >= 2)
    repairs = [(t, False) for t in MALFORMED] + [(t, True) for t in MALFORMED_LETTERS]
    bad = sum(parse_permutation(t, 5, a)[0] != _rank_llm_repair(t, 5, a) for t, a in repairs)
    return [{"row": "llm-listwise-windows", "reference": "rank-llm 0.25.7 ListwiseRankLLM.sliding_windows",
             "slice": f"{len([g for g in grid if g[0] >= 2])} (n, window, stride) settings, (100, 20, 10) included",
             "metric": "settings whose visited windows differ", "max_diff": unequal, "equal": unequal == 0,
             "layer": "window order (a one-passage list, which RankLLM sends to the model, is skipped by lrbench)"},
            {"row": "llm-listwise-repair", "reference": "rank-llm 0.25.7 receive_permutation",
             "slice": f"{len(repairs)} malformed answers (duplicates, missing and unknown ids, junk, reasoning, "
                      "letters)", "metric": "answers repaired into a different permutation", "max_diff": bad,
             "equal": bad == 0, "layer": "answer parsing and repair"}]


def _model(attn: str | None = None):
    from lrbench.runners.neural import load_model

    return load_model("causal-lm", SMOLLM, {"model": SMOLLM, "device": "cpu"}, cache_dir=Path(tempfile.mkdtemp()),
                      attn_implementation=attn)


def _dl19(n_queries: int, depth: int):
    from neural_helpers import bm25_run, dl19

    ds = dl19(SHARED, queries_limit=n_queries)
    run = bm25_run(ds)
    top = run[run["query_id"].isin(list(ds.eval_queries()))]
    top = top.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, False]).groupby("query_id").head(depth)
    texts = ds.doc_texts(set(top["doc_id"]))
    lists = [(q, ds.eval_queries()[q], [str(d) for d in g["doc_id"]]) for q, g in top.groupby("query_id")]
    return ds, run, lists, texts


def first_smollm(n_queries: int = 5, depth: int = 100) -> list[dict]:
    from neural_helpers import ctx
    from reference_llm import HFGenerator, rank_llm_reranker, rank_llm_request

    from lrbench.runners.llm.listwise import ListwiseRunner

    ds, run, lists, texts = _dl19(n_queries, depth)
    work = Path(tempfile.mkdtemp())
    out = ListwiseRunner({"model": SMOLLM, "recipe": "first", "device": "cpu"}).run(
        ds, {"bm25": run}, ctx(work, depth=depth)).frame("run")
    loaded = _model()
    ranker = rank_llm_reranker(loaded.tokenizer, template="rank_zephyr_alpha_template.yaml", use_alpha=True,
                               use_logits=True, generator=HFGenerator(loaded.model, loaded.tokenizer))
    differ, moved = 0, 0
    for qid, query, docids in lists:
        ref = [c.docid for c in ranker.rerank_batch([rank_llm_request(query, docids, texts)], 0, depth)[0].candidates]
        ours = out[out["query_id"] == qid].sort_values("rank")["doc_id"].tolist()
        differ += ours != ref
        moved = max(moved, sum(a != b for a, b in zip(ours, ref)))
    return [{"row": "llm-listwise-first-smollm2", "reference": "rank-llm 0.25.7 FIRST "
             "(RankListwiseOSLLM use_logits, use_alpha) with its vLLM engine replaced by transformers",
             "slice": f"DL19 BM25 top-{depth}, {n_queries} queries, windows (20, 10)",
             "metric": "queries whose final ranking differs (max diff: most positions that differ in one query)",
             "max_diff": moved, "equal": differ == 0,
             "layer": "RankLLM's prompt, windows, top-30 log-probabilities of the second generated token, "
                      "_evaluate_logits and receive_permutation; generation by transformers on the same weights"}]


def icr_smollm(n_queries: int = 5, depth: int = 20) -> list[dict]:
    import numpy as np

    from neural_helpers import ctx
    from reference_llm import rankify_icr, rankify_masked_scores

    from lrbench.runners.llm.icr import ICRRunner
    from lrbench.runners.neural.loading import chat_wrap

    ds, run, lists, texts = _dl19(n_queries, depth)
    out = ICRRunner({"model": SMOLLM, "recipe": "icr", "device": "cpu"}).run(
        ds, {"bm25": run}, ctx(Path(tempfile.mkdtemp()), depth=depth)).frame("run")
    loaded = _model("eager")
    before, after = chat_wrap(loaded.tokenizer, None, True)
    icr = rankify_icr(loaded.model, loaded.tokenizer, before, after)
    worst, same_rank = 0.0, True
    for qid, query, docids in lists:
        ref = np.array(rankify_masked_scores(icr, query, [" ".join(texts[d].split()) for d in docids])[0])
        mine = out[out["query_id"] == qid].set_index("doc_id")["score"]
        ours = np.array([mine[d] for d in docids])
        worst = max(worst, float(np.abs(ours - ref).max()))
        same_rank &= list(np.argsort(-ours, kind="stable")) == list(np.argsort(-ref, kind="stable"))
    return [{"row": "icr-smollm2", "reference": "rankify 0.1.4 InContextReranker "
             "(IE prompt, masked_NA_calibration)", "slice": f"DL19 BM25 top-{depth}, {n_queries} queries",
             "metric": "per-document score (abs), and the ranking", "max_diff": worst,
             "equal": worst < 1e-4 and same_rank,
             "layer": "rankify's _prepare_input_for_document_retrieval and score_documents (eager attention) live; "
                      "its masked-calibration combination restated (its cached path gives NaN on eager attention "
                      "and its FlashAttention-2 path needs CUDA)"}]


def pointwise_prompts() -> list[dict]:
    from reference_llm import dl19_candidates
    from test_equiv_llm_pointwise import llmrankers_prompt

    from lrbench.runners.llm.pointwise import PointwiseRunner

    lists, texts = dl19_candidates(SHARED, n_queries=43, depth=100)
    ref = llmrankers_prompt("yes_no")
    mode = PointwiseRunner({"model": SMOLLM, "recipe": "llmrankers_yes_no"}).mode
    pairs = [(q, texts[d]) for _, q, ds in lists for d in ds]
    bad = sum(mode.prompt_text(q, d) != ref.format(text=d, query=q) for q, d in pairs)
    return [{"row": "llm-pointwise-yes_no-prompt", "reference": "llm-rankers 0.0.2 "
             "PointwiseLlmRanker yes_no prompt (read from the installed source)",
             "slice": f"DL19 BM25 top-100, 43 queries ({len(pairs)} pairs)", "metric": "pairs whose prompt differs",
             "max_diff": bad, "equal": bad == 0, "layer": "prompt text and answer tokens ('Yes' / 'No')"}]


def judge_prompts() -> list[dict]:
    """umbrela (through umbrela's own generate_prompts) and rank1 (its return_prompt string) on every DL19 pair."""
    from reference_llm import dl19_candidates
    from test_equiv_llm_judges import REFERENCE, umbrela_utils

    from lrbench.runners.llm.pointwise import PointwiseRunner

    lists, texts = dl19_candidates(SHARED, n_queries=43, depth=100)
    pairs = [(q, texts[d]) for _, q, ds in lists for d in ds]
    umbrela = json.loads((REFERENCE / "umbrela.json").read_text())
    theirs = umbrela_utils().generate_prompts(pairs, "", umbrela["prompt"]["text"])
    mode = PointwiseRunner({"model": SMOLLM, "recipe": "umbrela"}).mode
    bad_umbrela = sum(mode.prompt_text(q, d) != t for (q, d), t in zip(pairs, theirs))
    rank1 = json.loads((REFERENCE / "rank1.json").read_text())
    runner = PointwiseRunner({"model": SMOLLM, "recipe": "rank1"})
    bad_rank1 = sum(runner.mode.prompt_text(q, d) + runner.params.think_open != rank1["prompt"].replace(
        "{query}", q).replace("{doc_content}", d) for q, d in pairs)
    slice_ = f"DL19 BM25 top-100, 43 queries ({len(pairs)} pairs)"
    return [{"row": "llm-pointwise-umbrela-prompt", "reference": "umbrela 0.0.7 generate_prompts over the "
             "authors' zero-shot bing prompt (castorini/umbrela 16cba3eb)", "slice": slice_,
             "metric": "pairs whose prompt differs", "max_diff": bad_umbrela, "equal": bad_umbrela == 0,
             "layer": "user turn text; the grade parser is compared on an answer corpus by "
                      "tests/test_equiv_llm_judges.py"},
            {"row": "llm-pointwise-rank1-prompt", "reference": "rank1.return_prompt (jhu-clsp/rank1 rank1.py, "
             "read at 37248a0e of a fork)", "slice": slice_, "metric": "pairs whose prompt differs",
             "max_diff": bad_rank1, "equal": bad_rank1 == 0,
             "layer": "raw prompt text up to `<think>`; answer tokens ' true' / ' false'"}]


def setwise_sorts() -> list[dict]:
    """llm-setwise heapsort / bubblesort against llm-rankers' SetwiseLlmRanker for the same answers."""
    from test_equiv_setwise import SETTINGS, dl19_grades, oracle, ours, reference

    from reference_llm import dl19_candidates

    lists, _ = dl19_candidates(SHARED, n_queries=43, depth=100)
    grades = dl19_grades(SHARED)
    runs = bad = compares = 0
    for method, num_child, k, depth in SETTINGS:
        for qid, query, docids in lists:
            answer = oracle(qid, grades, beyond=method == "heapsort")
            ref = reference(method, num_child, k, query, docids[:depth], answer)
            mine = ours(method, num_child, k, docids[:depth], answer)
            bad += mine != ref
            runs += 1
            compares += len(ref[0])
    return [{"row": "llm-setwise-sorts", "reference": "llm-rankers 0.0.2 SetwiseLlmRanker.heapSort / rerank "
             "(heapsort, bubblesort), live, compare replaced by an oracle", "slice": f"DL19 BM25, 43 queries x "
             f"{len(SETTINGS)} (method, num_child, k, depth) settings ({compares} compares)",
             "metric": "runs whose compared sets (in order) or final ranking differ", "max_diff": bad,
             "equal": bad == 0, "layer": "the sort's control flow: the oracle answers by qrels grade, with "
                                         "unreadable answers and (heapsort) labels beyond the set"}]


def setwise_prompts() -> list[dict]:
    """setwise_heapsort prompts through llm-rankers' own compare; rank_r1 messages from the prompt file."""
    import tomllib

    from llmrankers.rankers import SearchResult
    from test_equiv_setwise_prompts import R1_TOML, llm_rankers_setwise, r1_messages

    from lrbench.runners.llm.setwise import SetwiseRunner
    from lrbench.runners.neural.base import truncate_tokens
    from reference_llm import dl19_candidates

    tok = _tokenizer()
    loaded = types.SimpleNamespace(tokenizer=tok)
    lists, texts = dl19_candidates(SHARED, n_queries=43, depth=100)
    setwise = SetwiseRunner({"model": SMOLLM, "recipe": "setwise_heapsort"})
    p = setwise.params
    ref = llm_rankers_setwise(tok, tok(" A", add_special_tokens=False)["input_ids"][0])
    bad = sets = 0
    for _, query, docids in lists:
        q = ref.truncate(query, p.query_max_tokens)
        for start in range(0, len(docids), 3):
            window = docids[start:start + 3]
            docs = [ref.truncate(texts[d], p.doc_max_tokens) for d in window]
            ref.compare(q, [SearchResult(docid=d, score=0.0, text=t) for d, t in zip(window, docs)])
            bad += (docs != [truncate_tokens(tok, texts[d], p.doc_max_tokens) for d in window]
                    or q != truncate_tokens(tok, query, p.query_max_tokens)
                    or setwise.prompt_string(tok, q, docs) != ref.tokenizer.texts[-1]
                    or setwise.prompt_ids(loaded, q, docs) != ref.tokenizer.ids[-1])
            sets += 1
    r1_ref = tomllib.loads(R1_TOML.read_text())
    r1 = SetwiseRunner({"model": SMOLLM, "recipe": "rank_r1"})
    bad_r1 = sets_r1 = 0
    for _, query, docids in lists:
        q = truncate_tokens(tok, query, r1.params.query_max_tokens)
        for start in range(0, len(docids), 20):
            docs = [truncate_tokens(tok, texts[d], r1.params.doc_max_tokens) for d in docids[start:start + 20]]
            rendered = tok.apply_chat_template(r1_messages(r1_ref, q, docs), tokenize=False, add_generation_prompt=True)
            bad_r1 += r1.prompt_string(tok, q, docs) != rendered
            sets_r1 += 1
    return [{"row": "llm-setwise-setwise_heapsort-prompt", "reference": "llm-rankers 0.0.2 SetwiseLlmRanker.compare "
             "(causal-LM branch), live, SmolLM2 tokenizer, stand-in model", "slice": f"DL19 BM25 top-100, 43 "
             f"queries ({sets} sets of 3)", "metric": "sets whose cut passages, prompt string or ids differ",
             "max_diff": bad, "equal": bad == 0, "layer": "passage / query cut, whole prompt string under the chat "
                                                           "template with ' Passage:', token ids"},
            {"row": "llm-setwise-rank_r1-prompt", "reference": "Rank-R1/prompts/prompt_setwise-R1.toml (ielab/"
             "llm-rankers a5ee1a97) formatted as R1SetwiseLlmRanker.compare does", "slice": f"DL19 BM25 top-100, "
             f"43 queries ({sets_r1} sets of 20)", "metric": "sets whose rendered prompt differs",
             "max_diff": bad_r1, "equal": bad_r1 == 0,
             "layer": "system + user messages under the chat template (what vLLM's LLM.chat renders); the compare "
                      "itself is rebuilt from Rank-R1/run_setwise.py (needs vLLM, not in the PyPI package)"}]


GROUPS = {  # function -> the rows it computes
    rankgpt_prompt: ["llm-listwise-rankgpt-prompt"],
    partial(zephyr_prompt, "rank_zephyr", "rank_zephyr_template.yaml", False): ["llm-listwise-rank_zephyr-prompt"],
    partial(zephyr_prompt, "first", "rank_zephyr_alpha_template.yaml", True): ["llm-listwise-first-prompt"],
    listwise_windows_and_repair: ["llm-listwise-windows", "llm-listwise-repair"],
    first_smollm: ["llm-listwise-first-smollm2"],
    icr_smollm: ["icr-smollm2"],
    pointwise_prompts: ["llm-pointwise-yes_no-prompt"],
    judge_prompts: ["llm-pointwise-umbrela-prompt", "llm-pointwise-rank1-prompt"],
    setwise_sorts: ["llm-setwise-sorts"],
    setwise_prompts: ["llm-setwise-setwise_heapsort-prompt", "llm-setwise-rank_r1-prompt"],
}
ROW_NAMES = [name for names in GROUPS.values() for name in names]


def rows(only: list[str] | None = None) -> list[dict]:
    out = []
    for fn, names in GROUPS.items():
        if only and not set(names) & set(only):
            continue
        t0 = time.perf_counter()
        computed = fn()
        seconds = round(time.perf_counter() - t0, 1)  # the whole group's time, on each of its rows
        for row in computed:
            out.append({"command": COMMAND.format(row=row["row"]), **row, "seconds": seconds})
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=ROW_NAMES)
    print(json.dumps(rows(ap.parse_args().only), indent=2, default=str))
