"""`llm-pointwise`: a causal LM judges each (query, document) pair on its own.

The monoT5 / RankLLaMA family of ideas with an instruction-tuned LM: the prompt (a template with {query} and
{document}) goes into the user turn of the chat template. How the answer becomes a score is the `score_mode`
(see llm_score_modes): the yes/no logit difference by default, an expected integer grade, or a bounded reasoning
span followed by the yes/no answer. `recipe:` fills the template and mode from a published preset (see recipes).
Documents are cut to `doc_max_tokens`; batches are left-padded and bucketed by length.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from lrbench.runners.base import Output, RunContext
from lrbench.runners.llm.score_modes import ScoreModeParams, score_mode_for
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, check_template
from lrbench.runners.neural.generation import (GENERATION_SCHEDULE_PARAMS, GenerationParams, attach_generations,
                                              check_backend)
from lrbench.runners.llm.recipes import RecipeParams, fill_recipe


class PointwiseParams(NeuralParams, ScoreModeParams, RecipeParams, GenerationParams):  # backend: neural/generation
    doc_max_tokens: int | None = Field(256, ge=1)
    batch_size: int = Field(16, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data):
        return fill_recipe("llm-pointwise", data)

    @model_validator(mode="after")
    def _template_fields(self):
        if self.template is not None:
            check_template(self.template, ("query", "document"), allowed=("max_grade",))
        check_backend(self, self.score_mode == "generate-integer" and not self.expectation,
                      f"score_mode: {self.score_mode}" + (" with expectation" if self.expectation else ""))
        return self


class PointwiseRunner(NeuralRunner):
    """LLM pointwise reranker: a relevance prompt per pair, scored by yes/no logits, a grade or reasoning."""

    type = "llm-pointwise"
    version = "3"
    model_kind = "causal-lm"
    needs_input = True
    Params = PointwiseParams
    schedule_params = GENERATION_SCHEDULE_PARAMS

    def __init__(self, params):
        super().__init__(params)
        self.mode = score_mode_for(self.params)

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        return attach_generations(self, self.rerank(dataset, inputs, ctx, self.score_pairs,
                                                    f"llm pointwise ({self.params.score_mode})"))

    def prepare(self, loaded) -> None:
        self.mode.prepare(loaded)

    def reset_counters(self) -> None:
        self.mode.reset()

    def score_pairs(self, loaded, query: str, docs: list[str], watch) -> list[float]:
        return self.mode.score(loaded, query, docs, watch)

    def extra_profile(self) -> dict:
        from lrbench.runners.llm.recipes import recipe_profile

        return {**self.mode.profile(), **recipe_profile(self.params)}
