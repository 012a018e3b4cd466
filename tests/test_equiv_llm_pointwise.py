"""llm-pointwise recipes against the published prompts, read live from the authors' installed package.

`recipe: llmrankers_yes_no` is the pointwise yes/no ranker of ielab/llm-rankers (PyPI llm-rankers, the code of
the Setwise paper): its prompt is a literal inside `PointwiseLlmRanker.rerank`, so the test reads that literal
from the installed source (AST, no import) and compares the rendered prompts and the answer tokens.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from lrbench.runners.llm.pointwise import PointwiseRunner
from lrbench.runners.neural.llm import single_token_ids
from neural_helpers import SMOLLM


def llmrankers_prompt(method: str) -> str:
    """The prompt literal assigned in `elif self.method == "<method>":` of llmrankers/pointwise.py."""
    spec = importlib.util.find_spec("llmrankers")
    if spec is None:
        pytest.skip("install the reference extra: pip install --no-deps llm-rankers")
    tree = ast.parse((Path(spec.submodule_search_locations[0]) / "pointwise.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and \
                isinstance(node.test.comparators[0], ast.Constant) and node.test.comparators[0].value == method:
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and getattr(stmt.targets[0], "id", "") == "prompt":
                    return stmt.value.value
    raise AssertionError(f"no prompt for method {method!r} in llmrankers/pointwise.py")


@pytest.fixture(scope="module")
def pairs():
    from neural_helpers import dl19_pairs

    return dl19_pairs(n_queries=3, depth=5)


def test_yes_no_recipe_renders_llm_rankers_prompt(pairs):
    ref = llmrankers_prompt("yes_no")
    mode = PointwiseRunner({"model": SMOLLM, "recipe": "llmrankers_yes_no"}).mode
    for query, doc in pairs:
        assert mode.prompt_text(query, doc) == ref.format(text=doc, query=query)
    # perturbation: query and passage lines swapped must not render the reference
    swapped = PointwiseRunner({"model": SMOLLM, "recipe": "llmrankers_yes_no",
                               "template": "Query: {query}\nPassage: {document}\nDoes the passage answer the query? "
                                           "Answer 'Yes' or 'No'"}).mode
    query, doc = pairs[0]
    assert swapped.prompt_text(query, doc) != ref.format(text=doc, query=query)


def test_yes_no_recipe_reads_the_same_answer_tokens():
    """llm-rankers scores softmax over the logits of tokenizer.encode('Yes')[0] and encode('No')[0]: a monotone
    function of their difference, which is lrbench's score with variants off."""
    from neural_helpers import smollm_tokenizer

    tok = smollm_tokenizer()
    p = PointwiseRunner({"model": SMOLLM, "recipe": "llmrankers_yes_no"}).params
    assert (p.chat, p.variants) == (False, False)
    ref = [tok.encode("Yes", add_special_tokens=False)[0], tok.encode("No", add_special_tokens=False)[0]]
    ours = [single_token_ids(tok, p.yes, p.variants), single_token_ids(tok, p.no, p.variants)]
    assert ours == [[ref[0]], [ref[1]]]
    assert single_token_ids(tok, p.yes, True) != [ref[0]]  # perturbation: pooled spellings read more tokens


def test_recipe_fields_are_overridable_and_keyed(tmp_path):
    base = {"model": SMOLLM, "recipe": "llmrankers_yes_no"}
    assert PointwiseRunner({**base, "yes": "yes"}).params.yes == "yes"
    from lrbench.plan.keys import canonical_params

    key = lambda params: canonical_params(PointwiseRunner, PointwiseRunner.parse_params(params))  # noqa: E731
    assert key(base)["template"].startswith("Passage: {document}")
    assert key(base) != key({**base, "yes": "yes"})
    from lrbench.errors import LrbenchError

    with pytest.raises(LrbenchError, match="recipe 'rankgpt' is for llm-listwise"):
        PointwiseRunner({"model": SMOLLM, "recipe": "rankgpt"})
    with pytest.raises(LrbenchError, match="unknown recipe"):
        PointwiseRunner({"model": SMOLLM, "recipe": "nope"})
