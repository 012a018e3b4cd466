"""Prompts and answer reading of `llm-pairwise` (pure functions, no model).

Pairwise ranking prompting (Qin et al., PRP, NAACL Findings 2024) as ielab/llm-rankers implements it
(`llmrankers/pairwise.py`, PairwiseLlmRanker.compare, causal-LM branch): two passages labelled "Passage A" and
"Passage B", the answer opened with " Passage:" and read as one letter; every pair is asked in both orders.
"""

from __future__ import annotations

from lrbench.runners.llm.prompts.setwise import SETWISE_ANSWER_PREFIX, parse_letter

PAIRWISE_TEMPLATE = ('Given a query "{query}", which of the following two passages is more relevant to the query?'
                     '\n\nPassage A: "{doc1}"\n\nPassage B: "{doc2}"\n\nOutput Passage A or Passage B:')
PAIRWISE_ANSWER_PREFIX = SETWISE_ANSWER_PREFIX


def pair_preference(first: int | None, second: int | None) -> float:
    """How much the first passage of a pair is preferred, from the labels read in the two orders (first: the
    pair as given, second: swapped; 0 = "A", 1 = "B", None = unread). Both orders agree: 1 or 0; they disagree
    or an answer is unread: 0.5 (llm-rankers' allpair scoring; its sorts count only agreement as a win)."""
    if first == 0 and second == 1:
        return 1.0
    if first == 1 and second == 0:
        return 0.0
    return 0.5


def read_label(text: str) -> int | None:
    """A generated answer ('A', ' b') as 0 / 1; None for anything else."""
    return parse_letter(text, 2)
