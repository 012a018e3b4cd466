"""llm-pairwise's answer cache: a second ask of the same prompts is served from the cache (no model call), with the
same answers, through the generation ResponseCache's stored entries."""

from __future__ import annotations

from types import SimpleNamespace

from lrbench.runners.llm.pairwise import PairwiseRunner
from lrbench.runners.neural.generation import ResponseCache


def test_cached_answers_are_the_stored_texts(tmp_path):
    runner = PairwiseRunner({"model": "some/causal-lm"})
    runner._answers, runner.cached = ResponseCache(tmp_path / "answers"), 0
    loaded = SimpleNamespace(resolved=SimpleNamespace(model_id="m", revision="r"), dtype="float32", compression=None)
    asked = []

    def ask(prompts):
        asked.append(len(prompts))
        return [f"answer {sum(p)}" for p in prompts]

    prompts = [[1, 2, 3], [4, 5], [1, 2, 3]]
    first = runner.answers(loaded, prompts, ask)
    second = runner.answers(loaded, prompts + [[9]], ask)
    assert first == ["answer 6", "answer 9", "answer 6"]
    assert second == first + ["answer 9"]
    assert asked == [3, 1] and runner.cached == 3  # only the new prompt reached the model the second time
