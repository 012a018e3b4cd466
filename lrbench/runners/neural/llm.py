"""Causal-LM helpers: prompt assembly under the chat template, left-padded next-token logits, token ids."""

from __future__ import annotations

from lrbench.errors import LrbenchError
from lrbench.runners.neural.batching import length_batches, pad_batch
from lrbench.runners.neural.loading import chat_wrap


def prompt_ids(loaded, text: str, system: str | None = None, chat: bool = True, assistant_prefix: str = "",
               special_tokens: bool | None = None) -> list[int]:
    """Token ids of `text` as the user turn of the chat template (assistant turn opened), plus an optional
    start of the assistant's answer. `special_tokens` forces the tokenizer's own (BOS) on or off; by default
    they are added only without a template, which already holds them."""
    before, after = chat_wrap(loaded.tokenizer, system, chat)
    add_special = not before if special_tokens is None else special_tokens
    return loaded.tokenizer(before + text + after + assistant_prefix, add_special_tokens=add_special)["input_ids"]


def prompt_text(tokenizer, text: str, system: str | None = None, chat: bool = True, assistant_prefix: str = "") -> str:
    """The string `prompt_ids` tokenizes: `text` under the chat template, then the assistant prefix."""
    before, after = chat_wrap(tokenizer, system, chat)
    return before + text + after + assistant_prefix


def next_token_logits(loaded, sequences: list[list[int]], batch_size: int, sort: bool = True, watch=None):
    """Logits of the token after each sequence (float32 tensor [n, vocab] on CPU), left-padded batches
    with position ids that skip the padding."""
    import torch

    out = [None] * len(sequences)
    with torch.inference_mode():
        for batch in length_batches([len(s) for s in sequences], batch_size, sort):
            t = pad_batch([sequences[i] for i in batch], loaded.pad_id, "left")
            mask = t["attention_mask"]
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = loaded.model(input_ids=t["input_ids"].to(loaded.device), attention_mask=mask.to(loaded.device),
                                  position_ids=position_ids.to(loaded.device), logits_to_keep=1).logits[:, -1, :]
            logits = logits.float().cpu()
            for row, i in enumerate(batch):
                out[i] = logits[row]
            if watch is not None:
                watch.tokens += int(mask.sum())
    return torch.stack(out)


def single_token_ids(tokenizer, word: str, variants: bool = True, key: str = "params") -> list[int]:
    """Ids of the single-token spellings of `word` (as is, capitalised, with a leading space)."""
    forms = [word]
    if variants:
        forms += [word.capitalize(), word.lower(), " " + word, " " + word.capitalize(), " " + word.lower()]
    ids = []
    for form in dict.fromkeys(forms):
        enc = tokenizer(form, add_special_tokens=False)["input_ids"]
        if len(enc) == 1 and enc[0] not in ids:
            ids.append(enc[0])
    if not ids:
        raise LrbenchError(f"'{word}' is not a single token for this tokenizer", key=key,
                           hint="choose a word the tokenizer keeps whole")
    return ids


def logits_after_first_token(loaded, sequences: list[list[int]], batch_size: int, choose_first, sort: bool = True,
                             watch=None):
    """(logits of the token after each sequence's first generated token (float32 [n, vocab] on CPU), the first
    tokens): one forward over the prompt that keeps its KV cache, `choose_first(logits [b, vocab]) -> token ids`
    picks each row's first token, and one more step continues from the cache, so the prompt runs once."""
    import torch

    out, firsts = [None] * len(sequences), [None] * len(sequences)
    with torch.inference_mode():
        for batch in length_batches([len(s) for s in sequences], batch_size, sort):
            t = pad_batch([sequences[i] for i in batch], loaded.pad_id, "left")
            mask = t["attention_mask"].to(loaded.device)
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
            prefill = loaded.model(input_ids=t["input_ids"].to(loaded.device), attention_mask=mask,
                                   position_ids=position_ids, use_cache=True, logits_to_keep=1)
            first = torch.as_tensor(choose_first(prefill.logits[:, -1, :].float().cpu()), dtype=torch.long)
            mask = torch.cat([mask, mask.new_ones((len(batch), 1))], dim=1)
            cache = "cache" if "cache" in prefill else "past_key_values"  # renamed in transformers 5
            step = loaded.model(input_ids=first.view(-1, 1).to(loaded.device), attention_mask=mask,
                                position_ids=position_ids[:, -1:] + 1, use_cache=True, logits_to_keep=1,
                                **{cache: prefill[cache]})
            logits = step.logits[:, -1, :].float().cpu()
            for row, i in enumerate(batch):
                out[i], firsts[i] = logits[row], int(first[row])
            if watch is not None:
                watch.tokens += int(t["attention_mask"].sum()) + len(batch)
    return torch.stack(out), firsts
