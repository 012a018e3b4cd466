"""llm-pointwise recipes `umbrela` (generate-integer) and `rank1` (reason-then-score) against their authors' code.

The oracles are the authors' published strings, recorded with repository, commit and path in
tests/reference_prompts/*.json, and, where the authors ship a PyPI package (umbrela 0.0.7), its own functions run
live: `generate_prompts` renders the prompt and `parse_fewshot_response` parses the answers. rank1 is not on PyPI:
its prompt is the f-string of `rank1.return_prompt`, rebuilt here from the recorded string.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from lrbench.runners.llm.pointwise import PointwiseRunner
from lrbench.runners.llm.score_modes import parse_grade
from lrbench.runners.neural.llm import prompt_ids, single_token_ids
from neural_helpers import SMOLLM

REFERENCE = Path(__file__).parent / "reference_prompts"
ANSWERS = ['{"M": 2, "T": 1, "O": 2}', "##final score: 3", "O: 1", "M: 2\nT: 3\nO: 0", "'o': 3", "relevance "
           "category: 2", "It falls into the category 1.", '"score": 1, "o": 2', "Final score is\n2", "no idea",
           "", '{"overall_score": 3}', "category 3, relevance category: 1", "##final score: 7", '"O": 2.5']


def umbrela_utils():
    spec = importlib.util.find_spec("umbrela")
    if spec is None:
        pytest.skip("install the reference extra: pip install --no-deps umbrela==0.0.7")
    from umbrela.utils import common_utils

    return common_utils


def packaged_patterns(common_utils) -> list[str]:
    """The `patterns` list literal inside the installed parse_fewshot_response (read from its source)."""
    tree = ast.parse(Path(common_utils.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "patterns":
            return [elt.value for elt in node.value.elts]
    raise AssertionError("no patterns list in umbrela's common_utils")


@pytest.fixture(scope="module")
def pairs():
    from neural_helpers import dl19_pairs

    return dl19_pairs(n_queries=3, depth=4)


@pytest.fixture(scope="module")
def tokenizer():
    from neural_helpers import smollm_tokenizer

    return smollm_tokenizer()


def test_umbrela_recipe_renders_the_zero_shot_bing_prompt(pairs, tokenizer):
    ref = json.loads((REFERENCE / "umbrela.json").read_text())
    common_utils = umbrela_utils()
    runner = PointwiseRunner({"model": SMOLLM, "recipe": "umbrela"})
    mode, p = runner.mode, runner.params
    theirs = common_utils.generate_prompts(pairs, "", ref["prompt"]["text"])
    assert [mode.prompt_text(q, d) for q, d in pairs] == theirs
    # the whole input: umbrela's GPT judge sends [system, user] messages; lrbench's chat wrapping gives the same ids
    assert p.system == ref["system"]["text"] and p.chat
    loaded = SimpleNamespace(tokenizer=tokenizer)
    for (q, d), text in zip(pairs[:3], theirs):
        messages = [{"role": "system", "content": ref["system"]["text"]}, {"role": "user", "content": text}]
        expected = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        assert prompt_ids(loaded, mode.prompt_text(q, d), p.system, p.chat) == tokenizer(
            expected, add_special_tokens=False)["input_ids"]
    # perturbation: the few-shot prompt's report instruction in place of the zero-shot one must not match
    edited = ref["prompt"]["text"].replace("Important Instruction", "Instruction")
    assert common_utils.generate_prompts(pairs[:1], "", edited) != theirs[:1]


def authors_parse(answer: str, patterns: list[str]) -> int:
    """parse_fewshot_response of the recorded commit (rule in umbrela.json): the last match of the first pattern
    that matches, 0 when none does; rebuilt here because that commit is not on PyPI."""
    import re

    for pattern in patterns:
        found = list(re.finditer(pattern, answer.strip().lower(), re.IGNORECASE | re.MULTILINE | re.DOTALL))
        if found:
            return int(found[-1].group(1))
    return 0


def test_umbrela_parser_equals_the_authors_parser():
    common_utils = umbrela_utils()
    ref = json.loads((REFERENCE / "umbrela.json").read_text())["parser"]
    p = PointwiseRunner({"model": SMOLLM, "recipe": "umbrela"}).params
    assert p.grade_patterns == ref["patterns"] and p.unparsed_score == ref["invalid_answer"] and p.max_grade == 3
    answers = ANSWERS + ["M: 1, T: 2, final score: 3 and later final score: 1", "##final score: 2"]
    for answer in answers:
        ours = parse_grade(answer, p.max_grade, p.grade_patterns, p.grade_match)
        assert (ours if ours is not None else p.unparsed_score) == authors_parse(answer, ref["patterns"])
    # the matching rule itself, live against the packaged parser (umbrela 0.0.7: first match, shorter list)
    packaged = packaged_patterns(common_utils)
    for answer in answers:
        theirs, valid = common_utils.parse_fewshot_response(answer, "passage", "query")
        ours = parse_grade(answer, 3, packaged, "first")
        assert (ours if ours is not None else ref["invalid_answer"]) == theirs and (ours is not None) == bool(valid)
    # perturbations: the same patterns in another order, or the first match instead of the last, parse differently
    assert any(parse_grade(a, 3, list(reversed(packaged))) != parse_grade(a, 3, packaged) for a in answers)
    assert any(parse_grade(a, 3, p.grade_patterns, "first") != authors_parse(a, ref["patterns"]) for a in answers)


def test_rank1_recipe_renders_rank1_prompt_and_answer_tokens(pairs, tokenizer):
    ref = json.loads((REFERENCE / "rank1.json").read_text())
    runner = PointwiseRunner({"model": SMOLLM, "recipe": "rank1"})
    mode, p = runner.mode, runner.params
    loaded = SimpleNamespace(tokenizer=tokenizer)
    for q, d in pairs:
        theirs = ref["prompt"].replace("{query}", q).replace("{doc_content}", d)
        assert mode.prompt_text(q, d) + p.think_open == theirs
        # raw text, no chat template: vLLM tokenizes the prompt string as is
        assert prompt_ids(loaded, mode.prompt_text(q, d), p.system, p.chat, p.think_open) == tokenizer(theirs)[
            "input_ids"]
    for word, ours in ((ref["answer_tokens"]["true"], p.yes), (ref["answer_tokens"]["false"], p.no)):
        assert single_token_ids(tokenizer, ours, p.variants) == [tokenizer(word, add_special_tokens=False).input_ids[0]]
    # after the reasoning the answer token follows "\n</think>" directly, as in rank1's forced close
    assert p.forced_answer.format(reasoning="It is.", think_close=p.think_close, answer_open=p.answer_open) == \
        "It is.\n</think>"
    # perturbation: the word without its leading space is another token
    assert single_token_ids(tokenizer, p.yes.strip(), False) != single_token_ids(tokenizer, p.yes, False)


def test_rank1_recipe_scores_after_a_closed_reasoning(pairs, tmp_path):
    """Mechanics on SmolLM2 (random-level as a ranker): bounded reasoning, then logit(' true') - logit(' false')
    after "<think>reasoning\\n</think>", with no empty stop string from the empty answer tag."""
    import torch

    from neural_helpers import ctx

    runner = PointwiseRunner({"model": SMOLLM, "recipe": "rank1", "reason_tokens": 6, "reason_min_tokens": 2,
                              "doc_max_tokens": 40})
    loaded = runner.load(ctx(tmp_path))
    runner.prepare(loaded)
    query, docs = pairs[0][0], [d for _, d in pairs[:2]]
    scores = runner.score_pairs(loaded, query, docs, None)
    assert len(scores) == 2 and all(math.isfinite(s) for s in scores)
    assert runner.mode.profile()["generated_tokens"] >= 4
    mode = runner.mode
    for doc, reason, score in zip(docs, mode.last_reasons, scores):
        seq = mode.prompts(loaded, query, [doc], "<think>" + reason.rstrip() + "\n</think>")[0]
        with torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([seq])).logits[0, -1].float()
        assert score == pytest.approx(float(logits[mode.yes_ids[0]] - logits[mode.no_ids[0]]), abs=2e-3)


def test_bad_grade_patterns_and_forced_answer_are_refused():
    from lrbench.errors import LrbenchError

    for params, words in (({"grade_patterns": ["final score: ("]}, "not a regular expression"),
                          ({"grade_patterns": ["final score: \\d"]}, "no group"),
                          ({"forced_answer": "</think>"}, "must contain {reasoning}"),
                          ({"forced_answer": "{reasoning}{oops}"}, "may use only")):
        with pytest.raises((LrbenchError, ValueError), match=words):
            PointwiseRunner({"model": SMOLLM, **params})
