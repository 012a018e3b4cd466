"""llm-setwise prompts against the authors' code and prompt file, on real DL19 queries and passages.

setwise_heapsort: the prompt is rendered by llm-rankers' own `SetwiseLlmRanker.compare` (PyPI llm-rankers 0.0.2,
causal-LM branch), with the SmolLM2 tokenizer wrapped to capture the string and ids it tokenizes and a stand-in
model that returns a chosen next token (so the reference's answer parsing runs too). Passages are cut by the
reference's own `truncate`, which is held equal to lrbench's cut as well.

rank_r1: the Rank-R1 compare lives in the repository's Rank-R1/run_setwise.py (not in the PyPI package, and it
needs vLLM), so its messages are rebuilt as that source builds them: documents "[i] text" joined by newlines,
`prompt_user.format(query=, docs=)`, the system prompt, from tests/fixtures/rank_r1_prompt_setwise-R1.toml (a
verbatim copy of the prompt file at commit a5ee1a974e311e9704a4b1176ea37fa09bb7e08d); its shuffle is rebuilt as
`random.sample` over Python's global stream and its answer parsing as `re.search(pattern, completion.lower(),
re.DOTALL)`. Each check has a perturbation that must fail it.
"""

from __future__ import annotations

import random
import re
import tomllib
import types
from pathlib import Path

import pytest

from lrbench.runners.llm.prompts import setwise as setwise_prompts
from lrbench.runners.llm.setwise import SetwiseRunner
from lrbench.runners.neural.base import truncate_tokens
from lrbench.runners.llm.prompts.setwise import parse_letter, parse_rank_r1
from neural_helpers import SMOLLM, shared_dl19_candidates, smollm_tokenizer

pytest.importorskip("llmrankers", reason="install the reference extra: pip install --no-deps llm-rankers==0.0.2")

R1_TOML = Path(__file__).parent / "fixtures" / "rank_r1_prompt_setwise-R1.toml"


@pytest.fixture(scope="module")
def tokenizer():
    return smollm_tokenizer()


@pytest.fixture(scope="module")
def candidates():
    return shared_dl19_candidates(n_queries=3, depth=20)


class CapturingTokenizer:
    """The real tokenizer, recording every string the reference tokenizes (and the ids it gets)."""

    def __init__(self, tok):
        self.tok, self.texts, self.ids = tok, [], []

    def __call__(self, text, **kwargs):
        enc = self.tok(text, **kwargs)
        self.texts.append(text)
        self.ids.append(enc.input_ids[0].tolist())
        return enc

    def __getattr__(self, name):
        return getattr(self.tok, name)


class NextToken:
    """Stands in for the LM: `generate` appends one chosen token and records its decoding settings."""

    def __init__(self, token_id: int):
        self.token_id, self.settings = token_id, []

    def generate(self, input_ids, **kwargs):
        import torch

        self.settings.append(kwargs)
        return torch.cat([input_ids, torch.tensor([[self.token_id]])], dim=1)


def llm_rankers_setwise(tok, token_id: int):
    from llmrankers.setwise import SetwiseLlmRanker

    ranker = object.__new__(SetwiseLlmRanker)
    ranker.config = types.SimpleNamespace(model_type="llama")
    ranker.scoring, ranker.num_permutation, ranker.device = "generation", 1, "cpu"
    ranker.total_compare = ranker.total_prompt_tokens = ranker.total_completion_tokens = 0
    ranker.tokenizer, ranker.llm = CapturingTokenizer(tok), NextToken(token_id)
    return ranker


def test_setwise_prompt_is_llm_rankers_compare_prompt(candidates, tokenizer):
    from llmrankers.rankers import SearchResult

    lists, texts = candidates
    ours = SetwiseRunner({"model": SMOLLM, "recipe": "setwise_heapsort"})
    p = ours.params
    loaded = types.SimpleNamespace(tokenizer=tokenizer)
    answer = tokenizer(" B", add_special_tokens=False)["input_ids"][0]
    compared = 0
    for _, query, docids in lists:
        ref = llm_rankers_setwise(tokenizer, answer)
        q = ref.truncate(query, p.query_max_tokens)
        assert q == truncate_tokens(tokenizer, query, p.query_max_tokens)
        for size in (2, 3, 4, 20):
            window = docids[:size]
            docs = [ref.truncate(texts[d], p.doc_max_tokens) for d in window]
            assert docs == [truncate_tokens(tokenizer, texts[d], p.doc_max_tokens) for d in window]
            label = ref.compare(q, [SearchResult(docid=d, score=0.0, text=t) for d, t in zip(window, docs)])
            assert ours.prompt_string(tokenizer, q, docs) == ref.tokenizer.texts[-1]
            assert ours.prompt_ids(loaded, q, docs) == ref.tokenizer.ids[-1]
            assert label == "B" and parse_letter(tokenizer.decode([answer], skip_special_tokens=True), size) == 1
            compared += 1
    assert compared == 12
    assert ref.llm.settings[-1]["max_new_tokens"] == 1 and ref.llm.settings[-1]["do_sample"] is False
    assert ref.tokenizer.texts[-1].endswith("passage:<|im_end|>\n<|im_start|>assistant\n Passage:")


def test_setwise_prompt_perturbations_fail(candidates, tokenizer, monkeypatch):
    from llmrankers.rankers import SearchResult

    lists, texts = candidates
    _, query, docids = lists[0]
    docs = [texts[d] for d in docids[:3]]
    ref = llm_rankers_setwise(tokenizer, 0)
    ref.compare(query, [SearchResult(docid=d, score=0.0, text=t) for d, t in zip(docids, docs)])
    ours = SetwiseRunner({"model": SMOLLM, "recipe": "setwise_heapsort"})
    assert ours.prompt_string(tokenizer, query, docs) == ref.tokenizer.texts[-1]
    assert ours.prompt_string(tokenizer, query, docs[::-1]) != ref.tokenizer.texts[-1]  # passages reordered
    no_prefix = SetwiseRunner({"model": SMOLLM, "recipe": "setwise_heapsort", "answer_prefix": ""})
    assert no_prefix.prompt_string(tokenizer, query, docs) != ref.tokenizer.texts[-1]
    monkeypatch.setattr(setwise_prompts, "LETTERS", "123456789")  # label style changed
    assert ours.prompt_string(tokenizer, query, docs) != ref.tokenizer.texts[-1]


@pytest.mark.parametrize("token,expected", [(" C", 2), ("c", 2), (" A", 0), (" Z", None), (" D", None),
                                            ("<|im_end|>", None), (" Passage", None)])
def test_letter_answers_read_as_llm_rankers_reads_them(candidates, tokenizer, token, expected):
    """The reference's label (or its fallback: ValueError or IndexError -> the set's first) for one generated
    token, against lrbench's parse, on a set of three passages."""
    from llmrankers.rankers import SearchResult
    from llmrankers.setwise import SetwiseLlmRanker

    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1
    lists, texts = candidates
    _, query, docids = lists[0]
    ref = llm_rankers_setwise(tokenizer, ids[0])
    label = ref.compare(query, [SearchResult(docid=d, score=0.0, text=texts[d]) for d in docids[:3]])
    try:
        ref_index = SetwiseLlmRanker.CHARACTERS.index(label)
        ref_index = ref_index if ref_index < 3 else None  # heapify: IndexError keeps the parent
    except ValueError:
        ref_index = None
    ours = parse_letter(tokenizer.decode(ids, skip_special_tokens=True), 3)
    assert ours == ref_index == expected


# -- Rank-R1 ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def r1_reference():
    return tomllib.loads(R1_TOML.read_text())


def r1_messages(ref: dict, query: str, docs: list[str]) -> list[dict]:
    """R1SetwiseLlmRanker.compare's messages for documents in the order shown."""
    passages = "\n".join(f"[{i + 1}] {d}" for i, d in enumerate(docs))
    return [{"role": "system", "content": ref["prompt_system"]},
            {"role": "user", "content": ref["prompt_user"].format(query=query, docs=passages)}]


def test_rank_r1_prompt_equals_the_prompt_file(candidates, tokenizer, r1_reference):
    lists, texts = candidates
    ours = SetwiseRunner({"model": SMOLLM, "recipe": "rank_r1"})
    p = ours.params
    loaded = types.SimpleNamespace(tokenizer=tokenizer)
    for _, query, docids in lists:
        q = truncate_tokens(tokenizer, query, p.query_max_tokens)
        for size in (2, 5, 20):
            docs = [truncate_tokens(tokenizer, texts[d], p.doc_max_tokens) for d in docids[:size]]
            ref = r1_messages(r1_reference, q, docs)
            assert p.system_message == ref[0]["content"]
            assert ours.user_message(q, docs) == ref[1]["content"]
            # vLLM's LLM.chat renders the messages with the chat template, generation turn opened, and
            # tokenizes without adding special tokens
            rendered = tokenizer.apply_chat_template(ref, tokenize=False, add_generation_prompt=True)
            assert ours.prompt_string(tokenizer, q, docs) == rendered
            assert ours.prompt_ids(loaded, q, docs) == tokenizer(rendered, add_special_tokens=False)["input_ids"]
    assert p.answer_pattern == r1_reference["pattern"]


def test_rank_r1_prompt_perturbations_fail(candidates, tokenizer, r1_reference, monkeypatch):
    lists, texts = candidates
    _, query, docids = lists[0]
    docs = [texts[d] for d in docids[:4]]
    ref = r1_messages(r1_reference, query, docs)[1]["content"]
    ours = SetwiseRunner({"model": SMOLLM, "recipe": "rank_r1"})
    assert ours.user_message(query, docs) == ref
    monkeypatch.setattr(setwise_prompts, "R1_LABELS", [f"({i + 1})" for i in range(20)])  # label style changed
    assert ours.user_message(query, docs) != ref
    monkeypatch.undo()
    other = SetwiseRunner({"model": SMOLLM, "recipe": "rank_r1", "shuffle": False})
    assert other.params.system_message == r1_reference["prompt_system"]
    assert SetwiseRunner({"model": SMOLLM, "recipe": "setwise_heapsort"}).user_message(query, docs) != ref


def test_rank_r1_shuffle_draws_the_reference_permutations():
    """run_setwise.py shuffles each set with random.sample over Python's global stream (seeded 929 at import);
    lrbench draws the same positions from random.Random(929) for a query's sets, in the same order."""
    sizes = [20, 20, 7, 20, 3, 20]
    random.seed(929)
    ref = [[i for i, _ in random.sample([(i, f"doc{i}") for i in range(n)], n)] for n in sizes]
    rng = random.Random(929)
    assert [rng.sample(range(n), n) for n in sizes] == ref
    assert [random.Random(930).sample(range(n), n) for n in sizes] != ref  # another seed: other permutations


COMPLETIONS = ["<think>doc 3 talks about it</think>\n<answer>[3]</answer>", "<THINK> x </THINK> <ANSWER>[2]</ANSWER>",
               "<think>a</think><answer> [1] </answer> trailing", "<think>no answer tags</think> [2]",
               "<answer>[2]</answer>", "<think>x</think>\n<answer>[21]</answer>", "<think>x</think><answer>3</answer>",
               "<think>x</think><answer>[5]</answer>", "<think>a</think> <answer>[4]</answer><think>b</think>"
               "<answer>[1]</answer>", "", "<think>unterminated reasoning about [1]"]


def test_rank_r1_answers_parsed_as_the_reference(r1_reference):
    n = 4
    labels = [f"[{i + 1}]" for i in range(20)]
    for text in COMPLETIONS:
        match = re.search(rf'{r1_reference["pattern"]}', text.lower(), re.DOTALL)
        result = match.group(1).strip() if match else None
        ref = labels.index(result) if result in labels[:n] else None
        assert parse_rank_r1(text, n, SetwiseRunner({"model": SMOLLM, "recipe": "rank_r1"}).params.answer_pattern) \
            == ref, text
    assert parse_rank_r1(COMPLETIONS[0], n) == 2
    assert parse_rank_r1(COMPLETIONS[0], n, r"<answer>\[(.*?)\]</answer>") is None  # perturbed pattern
