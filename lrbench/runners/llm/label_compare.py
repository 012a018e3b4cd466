"""What `llm-setwise` and `llm-pairwise` share: a few passages shown under letter labels, the model's answer
read as one of those labels.

A compare's prompt is the runner's `user_message(query, docs)` as the user turn of the chat template, then the
answer prefix (" Passage:"). `compare: generate` reads the greedily generated label; `compare: likelihood` reads the
next-token logits of the labels (each pooled over the spellings "A", "a", " A", " a"). The run's Cost (its Stopwatch)
counts compares, model calls (prompts answered: the profile's `model_calls` and `model_calls_per_query` are these,
`calls_per_query` stays the forward passes), generated tokens and unread answers; nothing is kept on the runner.
"""

from __future__ import annotations

from lrbench.runners.neural.base import NeuralRunner, truncate_tokens
from lrbench.runners.neural.generation import GENERATION_SCHEDULE_PARAMS
from lrbench.runners.llm.prompts.setwise import LETTERS


class LabelCompareRunner(NeuralRunner):
    """Base of the runners that ask a causal LM to pick a label; subclasses give `user_message` and params with
    compare, system_message, chat, prefix, special_tokens, query_max_tokens and doc_max_tokens."""

    model_kind = "causal-lm"
    needs_input = True
    schedule_params = GENERATION_SCHEDULE_PARAMS

    #: counts every run reports, zero or not (`start_counts`)
    counted: tuple[str, ...] = ("compares", "model_calls", "generated_tokens", "unparsed_answers")

    def start_counts(self, watch) -> None:
        for name in self.counted:
            watch.count(name, 0)

    def prepare(self, loaded) -> None:
        if self.params.compare == "likelihood":
            from lrbench.runners.neural.llm import single_token_ids

            # the spellings parse_letter accepts from a generated token: "A", "a", " A", " a"
            self.label_ids = [single_token_ids(loaded.tokenizer, c, True, "params.compare") for c in LETTERS]

    def truncated(self, loaded, query: str, docs: list[str]) -> tuple[str, list[str]]:
        """The query and passages cut to query_max_tokens / doc_max_tokens."""
        p = self.params
        return (truncate_tokens(loaded.tokenizer, query, p.query_max_tokens),
                [truncate_tokens(loaded.tokenizer, d, p.doc_max_tokens) for d in docs])

    # -- prompts -----------------------------------------------------------------------------
    def user_message(self, query: str, docs: list[str]) -> str:
        raise NotImplementedError

    def prompt_string(self, tokenizer, query: str, docs: list[str]) -> str:
        """The whole prompt: the user message under the chat template, then the answer prefix."""
        from lrbench.runners.neural.llm import prompt_text

        p = self.params
        return prompt_text(tokenizer, self.user_message(query, docs), p.system_message, p.chat, p.prefix)

    def prompt_ids(self, loaded, query: str, docs: list[str]) -> list[int]:
        from lrbench.runners.neural.llm import prompt_ids

        p = self.params
        return prompt_ids(loaded, self.user_message(query, docs), p.system_message, p.chat, p.prefix,
                          p.special_tokens)

    # -- answers -----------------------------------------------------------------------------
    def generated_texts(self, loaded, prompts: list[list[int]], max_new: int, batch_size: int, watch) -> list[str]:
        """Greedy continuations of `prompts`, decoded (counted: model calls, generated tokens)."""
        from lrbench.runners.llm.score_modes import generate

        outs = generate(loaded, prompts, max_new, batch_size, watch)
        watch.count("model_calls", len(prompts))
        watch.count("generated_tokens", sum(len(o) for o in outs))
        return [loaded.tokenizer.decode(o, skip_special_tokens=True) for o in outs]

    def label_logits(self, loaded, prompts: list[list[int]], n: int, batch_size: int, watch) -> list[list[float]]:
        """Per prompt, the next-token logit of each of the first n labels (log-sum-exp over its spellings)."""
        from lrbench.runners.neural.llm import next_token_logits

        rows = next_token_logits(loaded, prompts, batch_size, False, watch)
        watch.count("model_calls", len(prompts))
        return [[float(row[self.label_ids[j]].logsumexp(-1)) for j in range(n)] for row in rows]

    def label_profile(self) -> dict:
        return {"compare": self.params.compare}
