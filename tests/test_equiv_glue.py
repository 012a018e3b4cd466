"""glue zero-shot-lm equals lm-eval's sst2 / mrpc / rte tasks with SmolLM2-135M: the same prompt and
continuation strings and the same predictions (first 4 dev examples of each task here; the full dev sets in
benchmarks/equivalence.py). SmolLM2 is near chance on GLUE: this checks the protocol, not quality."""

from __future__ import annotations

import pytest

pytest.importorskip("lm_eval")
pytest.importorskip("gguf")

from equiv.glue import compare, hub_columns, lm_eval_predictions, lrbench_predictions  # noqa: E402
from equiv.lm_perplexity import load_model  # noqa: E402

LIMIT = 4


@pytest.mark.parametrize("task", ["sst2", "mrpc", "rte"])
def test_zero_shot_glue_equals_lm_eval(shared, tmp_path, task):
    from lrbench.runners.tasks.glue import ZERO_SHOT

    model, tokenizer = load_model()
    theirs = lm_eval_predictions(task, model, tokenizer, tmp_path / "lm-eval", LIMIT)
    template, choices = ZERO_SHOT[task]
    first = hub_columns(task, 1)[0]
    text, pair = (first["sentence"], "") if task == "sst2" else (first["sentence1"], first["sentence2"])
    assert theirs["first_request"] == (template.format(text=text, pair=pair), choices[0])

    ours = lrbench_predictions(task, tmp_path / "lrbench", LIMIT)
    result = compare(ours, theirs)
    assert result["examples"] == LIMIT and result["equal"], (result, ours, theirs)

    # One flipped prediction fails the comparison.
    assert not compare([1 - ours[0]] + ours[1:], theirs)["equal"]
