"""The reference side of the LLM equivalence checks: RankLLM (rank-llm) and rankify, driven on the same model.

RankLLM's open-model reranker imports vLLM at module level and generates through it. vLLM needs CUDA, so a
stand-in module is registered under the name `vllm` before RankLLM is imported, and the reranker's vLLM handler
is replaced by `HFGenerator`: greedy decoding and top-k log-probabilities computed with transformers on the same
weights. Everything else is RankLLM's own code: templates, prompt builders, `create_prompt` (chat template,
ftfy, context fitting), `sliding_windows`, `receive_permutation`, `_evaluate_logits` (FIRST).
Only tests and benchmarks import this module; lrbench never does.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass


def _stub_vllm() -> list[str]:
    """Register a stand-in `vllm` unless one is importable; returns the module names it registered."""
    try:
        importlib.import_module("vllm")
        return []
    except ImportError:
        pass

    class _Unavailable:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("vLLM is not installed: the reference runs through HFGenerator instead")

    vllm = types.ModuleType("vllm")
    vllm.LLM = vllm.SamplingParams = vllm.RequestOutput = _Unavailable
    outputs = types.ModuleType("vllm.outputs")
    outputs.RequestOutput = _Unavailable
    vllm.outputs = outputs
    sys.modules["vllm"] = vllm
    sys.modules["vllm.outputs"] = outputs
    return ["vllm", "vllm.outputs"]


def _skip_rerank_init() -> None:
    """Register `rank_llm.rerank` as a bare package: its __init__ only re-exports, and through `Reranker` it
    imports the LiT5 / FiD models, which need transformers < 5. The listwise modules import as they are."""
    if "rank_llm.rerank" in sys.modules:
        return
    import importlib.util

    spec = importlib.util.find_spec("rank_llm")
    package = types.ModuleType("rank_llm.rerank")
    package.__path__ = [str(__import__("pathlib").Path(spec.origin).parent / "rerank")]
    sys.modules["rank_llm.rerank"] = package


def rank_llm_modules():
    """(RankListwiseOSLLM, ListwiseRankLLM, data module, templates folder) from the installed rank-llm."""
    import pytest

    pytest.importorskip("rank_llm", reason="install the reference extra: pip install --no-deps rank-llm")
    stubbed = _stub_vllm()
    _skip_rerank_init()
    try:
        from rank_llm import data
        from rank_llm.rerank.listwise.listwise_rankllm import ListwiseRankLLM
        from rank_llm.rerank.listwise.rank_listwise_os_llm import TEMPLATES, RankListwiseOSLLM
    finally:
        # the stand-in only serves RankLLM's imports: other packages probe for vllm (find_spec) later
        for name in stubbed:
            sys.modules.pop(name, None)

    return RankListwiseOSLLM, ListwiseRankLLM, data, TEMPLATES


@dataclass
class _Logit:
    decoded_token: str
    logprob: float


@dataclass
class _Completion:
    text: str
    token_ids: list
    logprobs: list | None


@dataclass
class _Output:
    outputs: list


class HFGenerator:
    """What RankLLM's VllmHandler.generate_output returns, computed with transformers: greedy tokens (EOS
    suppressed before `min_tokens`, as vLLM does) and, with `logprobs=k`, each step's top-k log-probabilities."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model, tokenizer
        self.calls = 0

    def generate_output(self, prompts, min_tokens, max_tokens, temperature, logprobs=None, **kwargs):
        import torch

        assert temperature == 0.0
        outs = []
        for prompt in prompts:
            self.calls += 1
            ids = torch.tensor([self.tokenizer.encode(prompt)])  # vLLM tokenizes a text prompt this way
            with torch.inference_mode():
                gen = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                          num_beams=1, min_new_tokens=min_tokens, max_new_tokens=max_tokens,
                                          temperature=None, top_p=None, top_k=None, output_logits=True,
                                          return_dict_in_generate=True, pad_token_id=self.tokenizer.eos_token_id)
            new = gen.sequences[0, ids.shape[1]:].tolist()
            steps = None
            if logprobs:  # vLLM reports log-probabilities of the model's raw distribution
                steps = []
                for raw in gen.logits:
                    top = torch.log_softmax(raw[0].float(), -1).topk(logprobs)
                    steps.append({int(t): _Logit(self.tokenizer.decode([int(t)]), float(v))
                                  for v, t in zip(top.values, top.indices)})
            outs.append(_Output([_Completion(self.tokenizer.decode(new, skip_special_tokens=True), new, steps)]))
        return outs


def rank_llm_reranker(tokenizer, *, template: str, use_alpha: bool = False, use_logits: bool = False,
                      window: int = 20, stride: int = 10, context_size: int = 4096, generator=None):
    """A RankListwiseOSLLM built by RankLLM's own base initialiser, with `generator` in place of vLLM."""
    RankListwiseOSLLM, ListwiseRankLLM, _, templates = rank_llm_modules()
    ranker = RankListwiseOSLLM.__new__(RankListwiseOSLLM)
    ListwiseRankLLM.__init__(ranker, model="smollm2", context_size=context_size,
                             prompt_template_path=templates / template, window_size=window, stride=stride,
                             use_alpha=use_alpha, device="cpu", batch_size=1)
    # the attributes RankListwiseOSLLM.__init__ sets after its vLLM engine is built
    ranker._sglang_batched = ranker._tensorrt_batched = False
    ranker._name, ranker._variable_passages, ranker._system_message = "smollm2", False, None
    ranker._is_thinking, ranker._reasoning_token_budget = False, 10000
    ranker._output_token_estimate, ranker._use_logits, ranker._num_gpus = None, use_logits, 1
    ranker._tokenizer = tokenizer
    if generator is not None:
        ranker._vllm_handler = generator
    return ranker


def rank_gpt_handler():
    """RankLLM's RankGPT prompt builder (multi-turn), from its template file."""
    _, ListwiseRankLLM, _, templates = rank_llm_modules()
    from rank_llm.rerank.listwise.multiturn_listwise_inference_handler import MultiTurnListwiseInferenceHandler
    import yaml

    return MultiTurnListwiseInferenceHandler(yaml.safe_load((templates / "rank_gpt_template.yaml").read_text()))


def rank_llm_request(query: str, docids: list[str], texts: dict[str, str]):
    """A RankLLM Request for one query's candidates (scores: descending ranks)."""
    _, _, data, _ = rank_llm_modules()
    return data.Request(query=data.Query(text=query, qid="q"),
                        candidates=[data.Candidate(docid=d, score=float(len(docids) - i), doc={"contents": texts[d]})
                                    for i, d in enumerate(docids)])


def rank_llm_result(request):
    _, _, data, _ = rank_llm_modules()
    import copy

    return data.Result(query=request.query, candidates=copy.deepcopy(request.candidates), invocations_history=[])


def dl19_candidates(shared, n_queries: int, depth: int):
    """[(qid, query, [doc ids])] of the first judged DL19 queries (BM25 top-`depth`) and the passage texts."""
    import json

    rows = json.loads((shared / "trec-dl-2019-passage" / "rank_llm_candidates" / "BM25.top100.dl19.json").read_text())
    lists, texts = [], {}
    for row in rows[:n_queries]:
        hits = row["hits"][:depth]
        lists.append((str(hits[0]["qid"]), row["query"], [str(h["docid"]) for h in hits]))
        texts.update({str(h["docid"]): h["content"] for h in hits})
    return lists, texts


def rankify_icr(model, tokenizer, before: str, after: str):
    """rankify's InContextReranker on an already loaded Llama-architecture model (eager attention), IE prompt.

    rankify's module imports its own Llama / Mistral modelling files (written for transformers 4.45); they are
    registered as stand-ins so that the module imports, and the reranker is built without its __init__ (which
    loads a model by name and knows only Mistral / Llama-3 chat markers): the attributes its __init__ sets are
    set here, with `before` / `after` (the model's own chat-template pieces) as prompt prefix and suffix and a
    BOS length of 0 for a tokenizer that adds none."""
    import pytest

    pytest.importorskip("rankify", reason="install the reference extra: pip install --no-deps rankify")
    for name, cls in [("custom_modeling_mistral", "MistralForCausalLM"), ("custom_modeling_llama", "LlamaForCausalLM")]:
        full = f"rankify.utils.models.incontext_reranker.{name}"
        if full not in sys.modules:
            stub = types.ModuleType(full)
            setattr(stub, cls, None)
            sys.modules[full] = stub
    from rankify.models.incontext_reranker import InContextReranker

    icr = InContextReranker.__new__(InContextReranker)
    icr.tokenizer, icr.llm = tokenizer, model
    icr.prompt_template, icr.prompt_prefix, icr.prompt_suffix = "instruct", before, after
    icr.scoring_strategy = "masked_NA_calibration"
    icr.retrieval_instruction = " Here are some paragraphs:"
    icr.retrieval_instruction_late = ("Please find information that are relevant to the following query in the "
                                      "paragraphs above.")
    icr.use_fa2 = icr._use_fa2 = False
    icr.num_layers = model.config.num_hidden_layers
    icr.start_layer, icr.end_layer = 0, icr.num_layers - 1
    icr.prompt_bos_length = len(tokenizer("", add_special_tokens=True)["input_ids"])
    icr.additional_prompt_offset, icr.prompt_separator = 0, " \n\n"
    icr.reverse_doc_order = False
    icr.sliding_window_size = icr.sliding_window_stride = -1
    return icr


def rankify_masked_scores(icr, query: str, docs: list[str]):
    """Per-document ICR scores (masked_NA_calibration) from rankify's own prompt builder and score_documents.

    rankify's get_sorted_docs reuses the calibration pass's KV cache for the query pass; on the eager-attention
    path it then slices the query rows with absolute positions from attentions that only cover the new tokens
    (an empty slice: NaN scores), and its FlashAttention-2 path needs CUDA. So both passes run here in full,
    without the cache (same prefix, same numbers by causality), and the combination below is get_sorted_docs'
    masked_NA_calibration rule restated: calibrated = s - s_na; keep tokens above mean - 2 sd; sum."""
    per_pass = []
    for q in ("N/A", query):
        prompt, spans, start, end = icr._prepare_input_for_document_retrieval(q, docs, system_prompt="",
                                                                            query_position="last")
        _, per_doc = icr.score_documents(prompt, spans, start, end, return_per_doc_results="tok")
        per_pass.append(per_doc)
    scores = []
    for (_, tok_q), (_, tok_na) in zip(per_pass[1], per_pass[0]):
        calibrated = tok_q - tok_na
        keep = calibrated > calibrated.mean() - 2 * calibrated.std()
        scores.append(float((tok_q * keep - tok_na * keep).sum()))
    return scores, spans, start
