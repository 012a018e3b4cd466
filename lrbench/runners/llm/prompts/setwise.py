"""Prompts and answer parsing of `llm-setwise` (pure functions, no model).

Setwise (Zhuang et al., SIGIR 2024; ielab/llm-rankers `llmrankers/setwise.py`, SetwiseLlmRanker.compare): passages
labelled `Passage A: "..."` to `Passage W`, joined by blank lines, the answer opened with " Passage:" and read as
one letter. Rank-R1 (Zhuang et al., 2025; ielab/llm-rankers commit a5ee1a974e311e9704a4b1176ea37fa09bb7e08d,
`Rank-R1/prompts/prompt_setwise-R1.toml` and `Rank-R1/run_setwise.py` R1SetwiseLlmRanker.compare): a system
prompt, documents `[1] text` to `[20] text` one per line, and the label read from `<answer>[k]</answer>` by the
toml's `pattern` over the lower-cased completion.
"""

from __future__ import annotations

import re

#: llm-rankers' setwise labels: "Passage X" and "Passage Y" are three tokens for T5, so it stops at W
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVW"
#: Rank-R1's labels (its compare knows 20)
R1_LABELS = [f"[{i + 1}]" for i in range(20)]

SETWISE_TEMPLATE = ('Given a query "{query}", which of the following passages is the most relevant one to the '
                    'query?\n\n{docs}\n\nOutput only the passage label of the most relevant passage:')
SETWISE_ANSWER_PREFIX = " Passage:"

# the three strings of prompt_setwise-R1.toml at the commit above
RANK_R1_SYSTEM = ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
                  "The assistant first thinks about the reasoning process in the mind and then provides the user "
                  "with the answer. The reasoning process and answer are enclosed within <think> </think> and "
                  "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> "
                  "answer here </answer>.")
RANK_R1_TEMPLATE = ('Given the query: "{query}", which of the following documents is most relevant?\n{docs}\n'
                    'After completing the reasoning process, please provide only the label of the most relevant '
                    'document to the query, enclosed in square brackets, within the answer tags. For example, if '
                    'the third document is the most relevant, the answer should be: <think> reasoning process '
                    'here </think> <answer>[3]</answer>.')
RANK_R1_PATTERN = r"<think>.*?</think>\s*<answer>(.*?)</answer>"


def setwise_docs(docs: list[str]) -> str:
    return "\n\n".join(f'Passage {LETTERS[i]}: "{d}"' for i, d in enumerate(docs))


def rank_r1_docs(docs: list[str]) -> str:
    return "\n".join(f"{R1_LABELS[i]} {d}" for i, d in enumerate(docs))


def parse_letter(text: str, n: int) -> int | None:
    """The generated label ('B', ' b') as an index into a set of n passages; None for anything else."""
    label = text.strip().upper()
    if len(label) != 1 or label not in LETTERS:
        return None
    index = LETTERS.index(label)
    return index if index < n else None


def parse_rank_r1(text: str, n: int, pattern: str = RANK_R1_PATTERN) -> int | None:
    """The label inside the answer tags ('[3]') as an index into the n documents shown; None when the
    completion does not match `pattern` or names no shown label."""
    match = re.search(pattern, text.lower(), re.DOTALL)
    if not match:
        return None
    label = match.group(1).strip()
    return R1_LABELS.index(label) if label in R1_LABELS[:n] else None
