"""Named presets (`params: {recipe: NAME}`) that reproduce a published reranker's prompt, windows and decoding.

A recipe fills the params it names; params written next to it win. The resolved values are what the runner
validates and what the cell key hashes (the key is the typed params with every field filled in), and the
profile records the recipe's provenance (`recipe_profile`). docs/recipes.md lists every recipe with its source and the published numbers of the
checkpoint it was made for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from lrbench.errors import LrbenchError
from lrbench.runners.base import RunnerParams

UMBRELA_PROMPT = ('Given a query and a passage, you must provide a score on an integer scale of 0 to 3 with '
                  'the following meanings:\n'
                  '0 = represent that the passage has nothing to do with the query, \n'
                  '1 = represents that the passage seems related to the query but does not answer it, \n'
                  '2 = represents that the passage has some answer for the query, but the answer may be a '
                  'bit unclear, or hidden amongst extraneous information and \n'
                  '3 = represents that the passage is dedicated to the query and contains the exact answer.\n'
                  '\n'
                  'Important Instruction: Assign category 1 if the passage is somewhat related to the topic '
                  'but not completely, category 2 if passage presents something very important related to '
                  'the entire topic but also has some extra information and category 3 if the passage only '
                  'and entirely refers to the topic. If none of the above satisfies give it category 0.\n'
                  '\n'
                  'Query: {query}\n'
                  'Passage: {document}\n'
                  '\n'
                  'Split this problem into steps:\n'
                  'Consider the underlying intent of the search.\n'
                  'Measure how well the content matches a likely intent of the query (M).\n'
                  'Measure how trustworthy the passage is (T).\n'
                  'Consider the aspects above and the relative importance of each, and decide on a final '
                  'score (O). Final score must be an integer value only.\n'
                  'Do not provide any code in result. Provide each score in the format of: ##final score: '
                  'score without providing any reasoning.')
UMBRELA_PATTERNS = ['"o"\\s*[:-=]?\\s*(0|1|2|3)',
                    "\\'o\\'\\s*[:-=]?\\s*(0|1|2|3)",
                    'o\\s*[:-=]?\\s*(0|1|2|3)',
                    '"overall_score"\\s*[:-=]?\\s*(0|1|2|3)',
                    '"overall"\\s*[:-=]?\\s*(0|1|2|3)',
                    '"overall score"\\s*[:-=]?\\s*(0|1|2|3)',
                    '"final score"\\s*[:-=]?\\s*(0|1|2|3)',
                    'final score\\s*[:-=]?\\s*(0|1|2|3)',
                    'final score is (0|1|2|3)',
                    '"final_score"\\s*[:-=]?\\s*(0|1|2|3)',
                    '"score"\\s*[:-=]?\\s*(0|1|2|3)',
                    '"o_score"\\s*[:-=]?\\s*(0|1|2|3)',
                    'output score is (0|1|2|3)',
                    'score is (0|1|2|3)',
                    '[a-zA-Z]+\\s+is\\s+(0|1|2|3)\\s',
                    'relevance category\\s*[:-=]?\\s*(0|1|2|3)',
                    'relevance category\\s*[:-=]?\\s*(0|1|2|3)',
                    'relevance category is (0|1|2|3)',
                    'it falls into the category (0|1|2|3)',
                    'category\\s*(0|1|2|3)',
                    'relevance category (0|1|2|3)',
                    'relevance category for this passage would be (0|1|2|3)',
                    'the relevance category would be (0|1|2|3)',
                    '\\n*(0|1|2|3)']
RANK1_PROMPT = ("Determine if the following passage is relevant to the query. Answer only with 'true' or "
                "'false'.\nQuery: {query}\nPassage: {document}\n")

RANK_LLM = "castorini/rank_llm (PyPI rank-llm 0.25.7; templates at commit cdc43edad2997d33937919041d721953104ad7e4)"
LLM_RANKERS_R1 = "ielab/llm-rankers (commit a5ee1a974e311e9704a4b1176ea37fa09bb7e08d)"


@dataclass(frozen=True)
class Recipe:
    name: str
    runner: str
    params: dict[str, Any]
    paper: str
    repository: str
    source: str  # file (and function) the prompt and settings come from
    published: str  # the checkpoint it was made for and its published DL19 / DL20 nDCG@10
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


RECIPES = {r.name: r for r in [
    Recipe("rankgpt", "llm-listwise",
           {"prompt": "rank_gpt", "mode": "generate", "identifiers": "numbers", "window": 20, "stride": 10,
            "passes": 1, "doc_max_tokens": None, "new_tokens": "budget"},
           paper="Sun et al., Is ChatGPT Good at Search? Investigating Large Language Models as Re-Ranking Agents, "
                 "EMNLP 2023",
           repository=RANK_LLM,
           source="src/rank_llm/rerank/prompt_templates/rank_gpt_template.yaml; rerank/listwise/rank_gpt.py "
                  "SafeOpenai.create_prompt; listwise_rankllm.py sliding_windows, receive_permutation",
           published="gpt-4 reranking BM25 top-100: DL19 0.7559, DL20 0.7056; gpt-3.5-turbo: DL19 0.6580, "
                     "DL20 0.6291 (Sun et al., Table 2)"),
    Recipe("rank_zephyr", "llm-listwise",
           {"prompt": "rank_zephyr", "mode": "generate", "identifiers": "numbers", "window": 20, "stride": 10,
            "passes": 1, "doc_max_tokens": None, "new_tokens": "permutation", "context_size": 4096},
           paper="Pradeep et al., RankZephyr: Effective and Robust Zero-Shot Listwise Reranking is a Breeze!, 2023",
           repository=RANK_LLM,
           source="src/rank_llm/rerank/prompt_templates/rank_zephyr_template.yaml; rerank/listwise/"
                  "rank_listwise_os_llm.py RankListwiseOSLLM.create_prompt, num_output_tokens",
           published="castorini/rank_zephyr_7b_v1_full reranking SPLADE++ ED top-100: DL19 0.7803, DL20 0.8211 "
                     "(model card of castorini/rank_zephyr_7b_v1_full; BM25 first stage: the paper, Table 1)"),
    Recipe("first", "llm-listwise",
           {"prompt": "rank_zephyr_alpha", "mode": "first", "identifiers": "letters", "window": 20, "stride": 10,
            "passes": 1, "doc_max_tokens": None, "first_token": "generated", "first_top_logprobs": 30,
            "context_size": 4096},
           paper="Reddy et al., FIRST: Faster Improved Listwise Reranking with Single Token Decoding, EMNLP 2024",
           repository=RANK_LLM,
           source="src/rank_llm/rerank/prompt_templates/rank_zephyr_alpha_template.yaml; rerank/listwise/"
                  "rank_listwise_os_llm.py RankListwiseOSLLM(use_logits=True, use_alpha=True): "
                  "_get_logits_single_digit (the second generated token's top-30 log-probabilities), _evaluate_logits",
           published="rryisthebest/First_Model (Zephyr-7B): DL19/DL20 figures in Chen et al., An Early FIRST "
                     "Reproduction and Improvements to Single-Token Decoding for Fast Listwise Reranking (arXiv "
                     "2411.05508), not transcribed here"),
    Recipe("icr", "icr",
           {"layout": "rankify", "heads": "sum", "calibration": "masked", "calibration_query": "N/A",
            "doc_max_tokens": None},
           paper="Chen et al., Attention in Large Language Models Yields Efficient Zero-Shot Re-Rankers, ICLR 2025",
           repository="OSU-NLP-Group/In-Context-Reranking, as packaged in rankify 0.1.4 (PyPI)",
           source="rankify/models/incontext_reranker.py InContextReranker: retrieval_type 'IE', query_position "
                  "'last', scoring_strategy 'masked_NA_calibration' (_prepare_input_for_document_retrieval, "
                  "score_documents, get_sorted_docs)",
           published="Llama-3.1-8B-Instruct ICR reranking BM25 top-100 (the paper's TREC DL / BEIR tables), not "
                     "transcribed here"),
    Recipe("llmrankers_yes_no", "llm-pointwise",
           {"score_mode": "yes-no",
            "template": "Passage: {document}\nQuery: {query}\nDoes the passage answer the query? Answer 'Yes' or 'No'",
            "yes": "Yes", "no": "No", "variants": False, "chat": False},
           paper="Zhuang et al., A Setwise Approach to Effective and Highly Efficient Zero-shot Ranking with Large "
                 "Language Models, SIGIR 2024 (pointwise yes/no baseline, after Liang et al., HELM)",
           repository="ielab/llm-rankers (commit 5bcaa804ee632bbc1bcaf43a9357a166ca39f3d4)",
           source="llmrankers/pointwise.py PointwiseLlmRanker.rerank, method 'yes_no' (score: softmax over the "
                  "'Yes' and 'No' logits, monotone in their difference)",
           published="flan-t5-large/xl pointwise yes_no reranking BM25 top-100: DL19/DL20 figures in Zhuang et "
                     "al., Table 1, not transcribed here"),
    Recipe("umbrela", "llm-pointwise",
           {"score_mode": "generate-integer", "template": UMBRELA_PROMPT, "system": "You are a helpful assistant.",
            "chat": True, "max_grade": 3, "expectation": False, "answer_tokens": 100,
            "grade_patterns": UMBRELA_PATTERNS, "grade_match": "last", "unparsed_score": 0.0},
           paper="Upadhyay et al., UMBRELA: UMbrela is the (Open-Source Reproduction of the) Bing RELevance "
                 "Assessor, 2024 (after Thomas et al., Large language models can accurately predict searcher "
                 "preferences, SIGIR 2024)",
           repository="castorini/umbrela (commit 16cba3ebdfb79477850196695e06eef5ce96f339)",
           source="src/umbrela/prompts/qrel_zeroshot_bing.txt (the zero-shot 'bing' prompt); gpt_judge.py (system "
                  "message, the prompt as the user turn); utils/common_utils.py parse_fewshot_response (patterns "
                  "tried in order on the lower-cased answer, the last match of the first that matches, 0 when "
                  "none does); max_new_tokens 100",
           published="GPT-4o judgments vs the TREC DL 2019-2023 qrels: Cohen's kappa and system-ranking "
                     "correlations in the paper's tables, not transcribed here (a judge, not a DL19 reranker)"),
    Recipe("rank1", "llm-pointwise",
           {"score_mode": "reason-then-score", "template": RANK1_PROMPT, "chat": False, "system": None,
            "think_open": "<think>", "think_close": "</think>", "answer_open": "",
            "forced_answer": "{reasoning}\n{think_close}", "yes": " true", "no": " false", "variants": False,
            "reason_tokens": 8192, "doc_max_tokens": None},
           paper="Weller et al., rank1: Test-Time Compute for Reranking in Information Retrieval, 2025",
           repository="jhu-clsp/rank1 (rank1.py, read at commit 37248a0e57425478d7c6da2b771fbd670b033418 of its "
                      "fork timaah/rank1-lawllama)",
           source="rank1.py rank1.return_prompt (raw text ending in <think>, no chat template), the ' true' / "
                  "' false' first token ids, stop at '</think> true|false' (max_output_tokens 8192), "
                  "_fix_incomplete_responses ('\\n</think>' forced when the reasoning does not close)",
           published="jhu-clsp/rank1-7b: BRIGHT and TREC DL figures in the paper's tables, not transcribed here",
           notes="rank1 scores P(true) / (P(true) + P(false)), a monotone function of lrbench's logit(true) - "
                 "logit(false): the same ranking; rank1 also trims an unclosed reasoning to its last sentence"),
    Recipe("setwise_heapsort", "llm-setwise",
           {"compare": "generate", "method": "heapsort", "num_child": 2, "k": 10, "doc_max_tokens": 128,
            "query_max_tokens": 32, "special_tokens": True, "shuffle": False, "chat": True},
           paper="Zhuang et al., A Setwise Approach to Effective and Highly Efficient Zero-shot Ranking with Large "
                 "Language Models, SIGIR 2024",
           repository="ielab/llm-rankers (PyPI llm-rankers 0.0.2; README at commit "
                      "3166baaf373e69529e016a7b20529f47cbcfc969)",
           source="llmrankers/setwise.py SetwiseLlmRanker.compare (causal-LM branch: chat template, ' Passage:', "
                  "one generated token), heapify, heapSort, rerank; run.py truncate (query_length 32, "
                  "passage_length 128); README setwise command (num_child 2, heapsort, k 10)",
           published="google/flan-t5-large, setwise heapsort generation over BM25 top-100: DL19 nDCG@10 0.6697 "
                     "(README); flan-t5 is encoder-decoder (llm-rankers' T5 branch: no chat template, decoder "
                     "prefix '<pad> Passage'), which this causal-LM runner does not load; the paper's Vicuna / "
                     "Llama tables: not transcribed here"),
    Recipe("prp", "llm-pairwise",
           {"compare": "generate", "method": "heapsort", "decode": "wins", "k": 10, "doc_max_tokens": 128,
            "query_max_tokens": 32, "special_tokens": True, "chat": True},
           paper="Qin et al., Large Language Models are Effective Text Rankers with Pairwise Ranking Prompting, "
                 "NAACL Findings 2024 (PRP-Allpair, PRP-Sorting, PRP-Sliding-K), as implemented for the "
                 "pairwise baselines of Zhuang et al., SIGIR 2024",
           repository="ielab/llm-rankers (PyPI llm-rankers 0.0.2)",
           source="llmrankers/pairwise.py PairwiseLlmRanker: prompt, compare (causal-LM branch: chat template, "
                  "' Passage:', one generated token per order, both orders in one batch), rerank (allpair, "
                  "heapsort, bubblesort), heapify, heapSort; run.py truncate (query_length 32, passage_length "
                  "128), k 10 as in the README's pairwise command; method: allpairs | heapsort | sliding "
                  "(bubblesort) picks the sort",
           published="flan-t5 pairwise rerankers over BM25 top-100 (llm-rankers' T5 branch, which this causal-LM "
                     "runner does not load) and PRP's FLAN-UL2 / FLAN-T5 rows: DL19 / DL20 nDCG@10 in Zhuang et "
                     "al. Table 1 and Qin et al. Table 2, not transcribed here"),
    Recipe("rank_r1", "llm-setwise",
           {"compare": "reason", "method": "heapsort", "num_child": 19, "k": 10, "doc_max_tokens": 512,
            "query_max_tokens": 32, "reason_tokens": 2048, "shuffle": True, "seed": 929, "special_tokens": False,
            "chat": True},
           paper="Zhuang et al., Rank-R1: Enhancing Reasoning in LLM-based Document Rerankers via Reinforcement "
                 "Learning, 2025 (arXiv 2503.06034)",
           repository=LLM_RANKERS_R1,
           source="Rank-R1/prompts/prompt_setwise-R1.toml (prompt_system, prompt_user, pattern); Rank-R1/"
                  "run_setwise.py R1SetwiseLlmRanker.compare (documents '[i] text' joined by newlines, shuffled "
                  "by random.sample, vLLM chat, temperature 0, max_tokens 2048, pattern over the lower-cased "
                  "completion); Rank-R1/README.md TREC DL command (num_child 19, heapsort, k 10, "
                  "query_length 32, passage_length 512)",
           published="ielabgroup/Rank-R1-{3B,7B,14B}-v0.1 (LoRA on Qwen2.5-*-Instruct) over BM25 top-100: DL19 / "
                     "DL20 nDCG@10 in the paper's tables, not transcribed here (the README gives the commands "
                     "only)"),
]}


class RecipeParams(RunnerParams):
    recipe: str | None = Field(None, description="a named preset (docs/recipes.md); params written beside it win")


def get_recipe(name: str, runner: str) -> Recipe:
    recipe = RECIPES.get(name)
    if recipe is None:
        known = ", ".join(n for n, r in RECIPES.items() if r.runner == runner)
        raise LrbenchError(f"unknown recipe {name!r}", key="params.recipe", hint=f"{runner} recipes: {known}")
    if recipe.runner != runner:
        raise LrbenchError(f"recipe {name!r} is for {recipe.runner}, not {runner}", key="params.recipe",
                           hint=f"use type: {recipe.runner} for this recipe")
    return recipe


def fill_recipe(runner: str, data: Any) -> Any:
    """A pydantic 'before' validator body: the recipe's params under the ones written explicitly."""
    if not isinstance(data, dict) or not data.get("recipe"):
        return data
    return {**get_recipe(data["recipe"], runner).params, **data}


def recipe_profile(params) -> dict[str, Any]:
    """The recipe's name and provenance, for the cell's profile."""
    name = getattr(params, "recipe", None)
    if not name:
        return {}
    r = RECIPES[name]
    return {"recipe": {"name": r.name, "paper": r.paper, "repository": r.repository, "source": r.source,
                       "published": r.published}}
