"""`llm-pointwise`: a causal LM judges each (query, document) pair; score = logit(yes) - logit(no).

The monoT5 / RankLLaMA family of ideas with an instruction-tuned LM: the prompt (a template with
{query} and {document}) goes into the user turn of the chat template, and the score is the difference
of the next-token logits for "yes" and "no" (log-sum-exp over their single-token spellings: yes, Yes,
" yes", ...). Documents are cut to `doc_max_tokens`; batches are left-padded and bucketed by length.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner, check_template, truncate_tokens
from lrbench.runners.neural.llm import next_token_logits, prompt_ids, single_token_ids
from lrbench.runners.llm_score_modes import ScoreModeParams, score_mode_for

DEFAULT_TEMPLATE = ("Judge whether the passage answers the query.\n\nQuery: {query}\n\nPassage: {document}\n\n"
                    "Does the passage answer the query? Answer only yes or no.")


class PointwiseParams(NeuralParams, ScoreModeParams):  # score modes: see llm_score_modes
    template: str = DEFAULT_TEMPLATE
    system: str | None = None
    chat: bool = Field(True, description="wrap the prompt in the tokenizer's chat template when it has one")
    yes: str = "yes"
    no: str = "no"
    variants: bool = Field(True, description="pool the case/space spellings of yes and no")
    doc_max_tokens: int | None = Field(256, ge=1)
    batch_size: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _template_fields(self):
        check_template(self.template, ("query", "document"), allowed=("max_grade",))
        return self


class PointwiseRunner(NeuralRunner):
    """LLM pointwise reranker: logit(yes) - logit(no) for the next token after a relevance prompt."""

    type = "llm-pointwise"
    version = "2"
    model_kind = "causal-lm"
    needs_input = True
    Params = PointwiseParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        self._mode = score_mode_for(self)
        scorer = self._mode.score if self._mode else self._score
        return self.rerank(dataset, inputs, ctx, scorer, f"llm pointwise ({self.params.score_mode})")

    def reset_counters(self) -> None:
        if self._mode:
            self._mode.reset()

    def prepare(self, loaded) -> None:
        tok = loaded.tokenizer
        self._yes = single_token_ids(tok, self.params.yes, self.params.variants, "params.yes")
        self._no = single_token_ids(tok, self.params.no, self.params.variants, "params.no")

    def _score(self, loaded, query: str, docs: list[str], watch):
        import torch

        p: PointwiseParams = self.params
        seqs = [prompt_ids(loaded, p.template.format(query=query,
                                                     document=truncate_tokens(loaded.tokenizer, d, p.doc_max_tokens)),
                           p.system, p.chat) for d in docs]
        logits = next_token_logits(loaded, seqs, p.batch_size, p.bucket, watch)
        yes = torch.logsumexp(logits[:, self._yes], dim=-1)
        no = torch.logsumexp(logits[:, self._no], dim=-1)
        return (yes - no).tolist()

    def extra_profile(self) -> dict:
        return {"yes_token_ids": self._yes, "no_token_ids": self._no, "score_mode": self.params.score_mode,
                **(self._mode.profile() if self._mode else {})}
