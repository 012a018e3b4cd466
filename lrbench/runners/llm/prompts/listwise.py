"""Listwise prompts, window schedules and permutation parsing as pure functions (no model, no generation).

Both generation backends of `llm-listwise` (transformers here, an OpenAI-compatible server elsewhere) share
them. A prompt is a list of chat messages ({"role", "content"}) built from a `ListwisePrompt`:

- single-turn (RankZephyr, RankVicuna, FIRST): one user message = prefix + one body line per passage + suffix;
- multi-turn (RankGPT): the prefix as a user turn answered by the assistant, then one user turn per passage
  answered by an acknowledgement, then the suffix as the last user turn.

The named prompts `rank_gpt`, `rank_zephyr` and `rank_zephyr_alpha` are the texts of RankLLM's templates
(castorini/rank_llm, `src/rank_llm/rerank/prompt_templates/*.yaml`), with its passage preparation: strip, ftfy
`fix_text`, cut to a word budget, "[n]" written "(n)" so that passages cannot fake identifiers. `lrbench` is this
project's own single-turn prompt (passages cut to `doc_max_tokens` tokens).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Callable, Literal

from lrbench.errors import LrbenchError

LETTERS = string.ascii_uppercase
# digits written in other scripts that a model may emit (RankLLM maps the same ones)
FANCY_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉①②③④⑤⑥⑦⑧⑨❶❷❸❹❺❻❼❽❾０１２３４５６７８９🄀🄁🄂🄃🄄🄅🄆🄇🄈🄉",
                             "0123456789012345678912345678912345678901234567890123456789")


@dataclass(frozen=True)
class ListwisePrompt:
    name: str
    turns: Literal["single", "multi"]
    system: str = ""
    prefix: str = ""          # {num}, {query}
    body: str = ""            # {rank}, {candidate}
    suffix: str = ""          # {num}, {query}, {example}
    prefix_reply: str = ""    # multi-turn: the assistant's answer to the prefix
    body_reply: str = ""      # multi-turn: the assistant's answer to each passage ({rank})
    passages: Literal["tokens", "rank_llm"] = "tokens"
    # word budget of a passage for a window of n passages out of `window`: RankGPT 300 * (window // n),
    # RankZephyr 300 * (20 / n); None: cut by tokens (`doc_max_tokens`)
    words: Callable[[int, int], float] | None = None


def _rank_gpt_words(n: int, window: int) -> float:
    return 300 * (window // n)


def _rank_zephyr_words(n: int, window: int) -> float:
    return 300 * (20 / n)


PROMPTS = {p.name: p for p in [
    ListwisePrompt(
        "lrbench", "single",
        prefix=("I will provide you with {num} passages, each indicated by an identifier in brackets. "
                "Rank the passages based on their relevance to the search query: {query}\n\n"),
        body="[{rank}] {candidate}\n",
        suffix=("\nSearch query: {query}\n\nRank the {num} passages above based on their relevance to the search "
                "query, most relevant first. List all identifiers in descending order of relevance using the "
                "format {example}. Answer with the ranking only, no explanation.")),
    ListwisePrompt(
        "rank_gpt", "multi",
        system="You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the "
               "query.",
        prefix="I will provide you with {num} passages, each indicated by number identifier [].\nRank the passages "
               "based on their relevance to query: {query}.",
        prefix_reply="Okay, please provide the passages.",
        body="[{rank}] {candidate}",
        body_reply="Received passage [{rank}].",
        suffix="Search Query: {query}.\nRank the {num} passages above based on their relevance to the search query. "
               "The passages should be listed in descending order using identifiers. The most relevant passages "
               "should be listed first. The output format should be [] > [], e.g., [1] > [2]. Only response the "
               "ranking results, do not say any word or explain.",
        passages="rank_llm", words=_rank_gpt_words),
    ListwisePrompt(
        "rank_zephyr", "single",
        system="You are RankLLM, an intelligent assistant that can rank passages based on their relevancy to the "
               "query",
        prefix="I will provide you with {num} passages, each indicated by a numerical identifier []. Rank the "
               "passages based on their relevance to the search query: {query}.\n",
        body="[{rank}] {candidate}\n",
        suffix="Search Query: {query}.\nRank the {num} passages above based on their relevance to the search query. "
               "All the passages should be included and listed using identifiers, in descending order of relevance. "
               "The output format should be [] > [], e.g., [2] > [1], Answer concisely and directly and only "
               "respond with the ranking results, do not say any word or explain.",
        passages="rank_llm", words=_rank_zephyr_words),
    ListwisePrompt(
        "rank_zephyr_alpha", "single",
        system="You are RankLLM, an intelligent assistant that can rank passages based on their relevancy to the "
               "query",
        prefix="I will provide you with {num} passages, each indicated by an alphabetical identifier []. Rank the "
               "passages based on their relevance to the search query: {query}.\n",
        body="[{rank}] {candidate}\n",
        suffix="Search Query: {query}.\nRank the {num} passages above based on their relevance to the search query. "
               "All the passages should be included and listed using identifiers, in descending order of relevance. "
               "The output format should be [] > [], e.g., [B] > [A], Answer concisely and directly and only "
               "respond with the ranking results, do not say any word or explain.",
        passages="rank_llm", words=_rank_zephyr_words),
]}


def get_prompt(name: str) -> ListwisePrompt:
    if name not in PROMPTS:
        raise LrbenchError(f"unknown listwise prompt {name!r}", key="params.prompt",
                           hint=f"one of {', '.join(PROMPTS)}")
    return PROMPTS[name]


def identifier(j: int, letters: bool) -> str:
    """The identifier of the j-th passage (0-based) of a window: 1, 2, ... or A, B, ..."""
    return LETTERS[j] if letters else str(j + 1)


def hide_identifiers(text: str) -> str:
    """'[3]' -> '(3)', so that a passage or query cannot look like an identifier."""
    return re.sub(r"\[(\d+)\]", r"(\1)", text)


def rank_llm_passage(text: str, max_words: float) -> str:
    """RankLLM's passage preparation: strip, fix mojibake, keep the first int(max_words) words, hide ids."""
    from ftfy import fix_text

    words = fix_text(text.strip()).split()[: int(max_words)]
    return hide_identifiers(" ".join(words))


def window_messages(prompt: ListwisePrompt, query: str, passages: list[str], letters: bool = False,
                    window: int = 20) -> list[dict[str, str]]:
    """The chat messages that ask for a ranking of `passages` (texts already cut when `prompt.words` is None)."""
    n = len(passages)
    if prompt.passages == "rank_llm":
        query = hide_identifiers(query)
        passages = [rank_llm_passage(p, prompt.words(n, window)) for p in passages]
    example = "[C] > [A] > [B]" if letters else "[3] > [1] > [2]"
    fields = {"num": n, "query": query, "example": example}
    messages = [{"role": "system", "content": prompt.system}] if prompt.system else []
    prefix = prompt.prefix.format(**fields)
    suffix = prompt.suffix.format(**fields)
    lines = [(identifier(j, letters), p) for j, p in enumerate(passages)]
    if prompt.turns == "multi":
        messages += [{"role": "user", "content": prefix}, {"role": "assistant", "content": prompt.prefix_reply}]
        for rank, text in lines:
            messages += [{"role": "user", "content": prompt.body.format(rank=rank, candidate=text)},
                         {"role": "assistant", "content": prompt.body_reply.format(rank=rank)}]
        messages.append({"role": "user", "content": suffix})
        return messages
    body = "".join(prompt.body.format(rank=rank, candidate=text) for rank, text in lines)
    messages.append({"role": "user", "content": prefix + body + suffix})
    return messages


def window_schedule(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """Back-to-front windows over ranks [0, n), as RankGPT / RankLLM slide them: the first window ends at n, each
    next one `stride` higher (clipped at rank 0), until the next window would only repeat the top of the one
    before (RankLLM's loop: `while end > 0 and start + stride != 0`)."""
    if n < 2:  # RankLLM would call the model on a single passage; that permutes nothing
        return []
    spans, end, start = [], n, n - window
    while end > 0 and start + stride != 0:
        start = max(start, 0)
        spans.append((start, end))
        end -= stride
        start -= stride
    return spans


def identifiers_in(text: str, letters: bool = False) -> list[int]:
    """The 0-based identifiers an answer names, in order (after a reasoning span, if any), as RankLLM reads
    them: every run of digits; with letters every run of letters, each letter written as its number (A=1) and
    the run read as one number, so a lone "B" is 1 and a word names no window position."""
    if "</think>" in text:
        text = text.split("</think>")[-1].strip()
    text = text.translate(FANCY_DIGITS)
    if letters:
        runs = re.findall(r"[^\W\d_]+", text)
        return [int("".join(str(ord(c) - ord("A") + 1) for c in run)) - 1 for run in runs]
    return [int(x) - 1 for x in re.findall(r"\d+", text)]


def parse_permutation(text: str, n: int, letters: bool = False) -> tuple[list[int], str]:
    """An answer -> a full permutation of range(n) and a status (ok | repaired | partial): repeated and unknown
    identifiers are dropped, missing ones appended in their previous order."""
    order, status, _ = repair_permutation(text, n, letters)
    return order, status


def repair_permutation(text: str, n: int, letters: bool = False) -> tuple[list[int], str, str]:
    """`parse_permutation` plus what was repaired, in words ("" when the answer was a full permutation)."""
    seen, order, unknown, repeated = set(), [], 0, 0
    for i in identifiers_in(text, letters):
        if 0 <= i < n and i not in seen:
            seen.add(i)
            order.append(i)
        elif 0 <= i < n:
            repeated += 1
        else:
            unknown += 1
    missing = [i for i in range(n) if i not in seen]
    status = "repaired" if unknown or repeated or not order else ("partial" if missing else "ok")
    notes = ([f"{unknown} unknown id(s) dropped"] if unknown else []) + \
        ([f"{repeated} repeated id(s) dropped"] if repeated else [])
    if not order:
        notes.append("no identifier: window kept in input order")
    elif missing:
        notes.append(f"{len(missing)} of {n} missing id(s) appended in input order")
    return order + missing, status, "; ".join(notes)


def first_order(scores: list[float], n: int, top: set[int] | None = None) -> list[int]:
    """FIRST: the window's passages by the score of their identifier token, best first. With `top` (the
    positions of the identifiers among the model's top log-probabilities) only those are ranked by score and the
    rest follow in their previous order, as RankLLM does with vLLM's top-30 log-probabilities."""
    ranked = [j for j in range(n) if top is None or j in top]
    ranked.sort(key=lambda j: -scores[j])
    return ranked + [j for j in range(n) if j not in set(ranked)]
