"""lm-perplexity vs lm-eval's rolling loglikelihood (HFLM.loglikelihood_rolling, the wikitext task's scoring)
and the transformers perplexity guide's strided loop, on WikiText-2 test text with SmolLM2-135M.

Window mapping. lrbench (and the guide) slide windows of `context` tokens by `stride` and never score the
text's first token. lm-eval scores every token of the string it gets, the first conditioned on a prefix token,
with windows of `max_length` inputs that each predict `max_length` tokens, the last one aligned to the end of
the text. So lm-eval gets the text after its first token with that token as the prefix (the same scored
tokens, the same first context), max_length L equals lrbench's context L+1 with stride L (an L-token input
predicts L tokens), and the text is cut where its token count is 1 + a multiple of L, so that lm-eval's last
window is full too. The guide's loop is compared at the same context and stride as lrbench; its count of
scored tokens is taken as the labels the loss averaged over (the guide's `valid - batch_size` undercounts
windows after the first by one).
"""

from __future__ import annotations

import math
from pathlib import Path

from equiv.common import SHARED, SMOLLM, run_suite

WIKITEXT = SHARED / "wikitext-2" / "wiki.test.tokens"
TOLERANCE = 1e-4


def load_model():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lrbench.models import resolve

    path = resolve(SMOLLM).path  # the offline copy (dequantized GGUF), the weights lrbench loads
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def aligned_chars(tokenizer, at_least: int, window: int) -> int:
    """The smallest prefix length >= at_least chars whose token count is 1 + a multiple of `window`."""
    text = WIKITEXT.read_text(encoding="utf-8")
    chars = at_least
    while (len(tokenizer(text[:chars], add_special_tokens=False)["input_ids"]) - 1) % window:
        chars += 1
    return chars


def lrbench_perplexity(work: Path, chars: int, context: int, stride: int) -> dict:
    suite = {"name": "equiv-perplexity",
             "datasets": [{"id": f"wikitext:{WIKITEXT}", "name": "wikitext2", "options": {"chars": chars},
                           "measures": ["perplexity"]}],
             "systems": [{"name": "smollm2", "type": "lm-perplexity",
                          "params": {"model": SMOLLM, "context_length": context, "stride": stride,
                                     "device": "cpu"}}]}
    results, _ = run_suite(suite, work)
    cell = results.cell("wikitext2", "smollm2")
    return {"perplexity": cell.score("perplexity"), "tokens": cell.profile.raw["protocol"]["scored_tokens"]}


def guide_perplexity(model, tokenizer, chars: int, context: int, stride: int) -> dict:
    """The transformers perplexity guide's strided loop (labels -100 outside the new tokens, model loss)."""
    import torch

    ids = torch.tensor([tokenizer(WIKITEXT.read_text(encoding="utf-8")[:chars],
                                  add_special_tokens=False)["input_ids"]])
    nll, count, prev_end = 0.0, 0, 0
    with torch.inference_mode():
        for begin in range(0, ids.size(1), stride):
            end = min(begin + context, ids.size(1))
            window = ids[:, begin:end]
            labels = window.clone()
            labels[:, : window.size(1) - (end - prev_end)] = -100
            loss = model(window, labels=labels).loss
            scored = int((labels[:, 1:] != -100).sum())
            nll += float(loss.double()) * scored
            count += scored
            prev_end = end
            if end == ids.size(1):
                break
    return {"perplexity": math.exp(nll / count), "tokens": count}


def lm_eval_perplexity(model, tokenizer, chars: int, max_length: int) -> dict:
    """lm-eval's HFLM rolling loglikelihood of the text after its first token, that token as the prefix."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    text = WIKITEXT.read_text(encoding="utf-8")[:chars]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    first = tokenizer.decode(ids[:1])
    if not text.startswith(first):
        raise ValueError("the first token does not decode to the text's start")
    rest = text[len(first):]
    lm = HFLM(pretrained=model, tokenizer=tokenizer, max_length=max_length, batch_size=1, device="cpu",
              prefix_token_id=ids[0])
    if lm.tok_encode(rest) != ids[1:]:
        raise ValueError("lm-eval tokenizes the rest of the text differently")
    request = Instance(request_type="loglikelihood_rolling", doc={}, arguments=(rest,), idx=0)
    (loglikelihood,) = lm.loglikelihood_rolling([request], disable_tqdm=True)
    return {"perplexity": math.exp(-loglikelihood / (len(ids) - 1)), "tokens": len(ids) - 1}


def relative(ours: dict, theirs: dict) -> float:
    if ours["tokens"] != theirs["tokens"]:
        return float("inf")
    return abs(ours["perplexity"] - theirs["perplexity"]) / theirs["perplexity"]
