"""Score modes of `llm-pointwise`: how a (query, passage) prompt becomes a score.

score_mode: yes-no (default): logit(yes) - logit(no) of the next token (log-sum-exp over the single-token
  spellings of each word when `variants` is on).

score_mode: generate-integer (fine-grained relevance grades, as in ERank / ProRank): the model is asked for an
  integer grade 0..max_grade. With `expectation: true` (default) the score is the expected grade under the
  model's next-token distribution restricted to the grade tokens (renormalised); when a grade is several
  tokens (SmolLM2 writes "10" as "1" "0"), P("10") = P("1") * P("0" | "1") and P("1") keeps the rest, from one
  more forward pass with "1" appended. With `expectation: false` the model generates up to `answer_tokens`
  tokens greedily and the first grade in the text is parsed (digits or number words, "7/10", "**8**"), or, with
  `grade_patterns`, the first of those regular expressions (tried in order on the lower-cased answer) that
  matches gives the grade from its first group, as UMBRELA's parser does; outputs with no grade get
  `unparsed_score` and are counted in the profile.
score_mode: reason-then-score (Rank-R1 style): the model first generates a bounded reasoning span
  (`reason_tokens` at most, stopped at </think>; `reason_min_tokens` keeps a small model from ending its turn
  at once), then the answer is forced (`forced_answer`, by default "{reasoning}</think>\\n<answer>") and the
  score is logit(yes) - logit(no) of the next token. The generated tokens per query are in the profile
  (`generated_tokens_per_query`): that is where this mode's cost goes.

`ScoreModeParams` holds the fields; `score_mode_for(params)` returns the mode object that `llm-pointwise`
calls. A mode's prompt is the `template` param, or the mode's own default when it is unset (None). A third
party adds a mode (a ScoreMode subclass) with `SCORE_MODES.register` or the `lrbench.runners.score_modes`
entry point group.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from lrbench.registry import Registry
from lrbench.runners.base import RunnerParams

from lrbench.runners.neural.base import truncate_tokens
from lrbench.runners.neural.batching import length_batches, pad_batch
from lrbench.runners.neural.llm import next_token_logits, prompt_ids, single_token_ids

YES_NO_TEMPLATE = ("Judge whether the passage answers the query.\n\nQuery: {query}\n\nPassage: {document}\n\n"
                   "Does the passage answer the query? Answer only yes or no.")
INTEGER_TEMPLATE = ("Rate how relevant the passage is to the query, from 0 (not relevant at all) to {max_grade} "
                    "(perfectly relevant).\n\nQuery: {query}\n\nPassage: {document}\n\n"
                    "Answer with a single integer from 0 to {max_grade}.")
REASON_TEMPLATE = ("Query: {query}\n\nPassage: {document}\n\nDoes the passage answer the query? First think "
                   "briefly inside <think> </think>, then give the final answer, yes or no, inside "
                   "<answer> </answer>.")
NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


class ScoreModeParams(RunnerParams):
    """The llm-pointwise fields of the extra score modes (mixed into its params)."""

    score_mode: str = Field("yes-no", description="yes-no, generate-integer, reason-then-score or a registered mode")
    template: str | None = Field(None, description="prompt with {query} and {document}; default: the mode's own")
    system: str | None = None
    chat: bool = Field(True, description="wrap the prompt in the tokenizer's chat template when it has one")
    yes: str = "yes"
    no: str = "no"
    variants: bool = Field(True, description="pool the case/space spellings of yes and no")
    max_grade: int = Field(10, ge=1, le=100, description="generate-integer: grades 0..max_grade")
    expectation: bool = Field(True, description="generate-integer: expected grade from token probabilities "
                                                "(false: generate and parse)")
    answer_tokens: int = Field(6, ge=1, description="generate-integer with expectation false: tokens generated")
    unparsed_score: float = Field(-1.0, description="generate-integer: score of an output with no grade in it")
    grade_patterns: list[str] | None = Field(None, description="generate-integer with expectation false: regular "
                                             "expressions tried in order, the grade is the first group of the "
                                             "first match (default: the first number in the answer)")
    grade_match: Literal["first", "last"] = Field("first", description="grade_patterns: read a pattern's first "
                                                                       "or last match in the answer")
    reason_tokens: int = Field(64, ge=1, description="reason-then-score: most tokens of reasoning per passage")
    reason_min_tokens: int = Field(0, ge=0, description="reason-then-score: end-of-turn suppressed before this")
    think_open: str = "<think>"
    think_close: str = "</think>"
    answer_open: str = "<answer>"
    forced_answer: str = Field("{reasoning}{think_close}\n{answer_open}",
                               description="reason-then-score: what follows think_open before the answer token is "
                                           "read; {reasoning} is the generated reasoning, right-stripped")

    @field_validator("score_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in SCORE_MODES:
            raise ValueError(SCORE_MODES.unknown(value).one_line())
        return value

    @field_validator("forced_answer")
    @classmethod
    def _has_reasoning(cls, value: str) -> str:
        try:
            rendered = value.format(reasoning="\0", think_close="", answer_open="")
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"forced_answer may use only {{reasoning}}, {{think_close}}, {{answer_open}}: {e}") \
                from None
        if "\0" not in rendered:
            raise ValueError("forced_answer must contain {reasoning}")
        return value

    @field_validator("grade_patterns")
    @classmethod
    def _patterns_compile(cls, value):
        for pattern in value or []:
            try:
                if re.compile(pattern).groups < 1:
                    raise ValueError(f"grade pattern {pattern!r} has no group for the grade")
            except re.error as e:
                raise ValueError(f"grade pattern {pattern!r} is not a regular expression: {e}") from None
        return value


def parse_grade(text: str, max_grade: int, patterns: list[str] | None = None, match: str = "first") -> int | None:
    """The first grade in a generated answer: an integer (clamped to 0..max_grade) or a number word; with
    `patterns`, the first group of the first (or last) match of the first pattern that matches the lower-cased,
    stripped answer."""
    if patterns:
        lowered = text.strip().lower()
        for pattern in patterns:
            found = list(re.finditer(pattern, lowered, flags=re.IGNORECASE | re.MULTILINE | re.DOTALL))
            if found:
                return max(0, min(max_grade, round(float(found[0 if match == "first" else -1].group(1)))))
        return None
    match = re.search(r"-?\d+(?:\.\d+)?|\b(" + "|".join(NUMBER_WORDS) + r")\b", text, flags=re.IGNORECASE)
    if not match:
        return None
    token = match.group(0)
    value = NUMBER_WORDS[token.lower()] if token.lower() in NUMBER_WORDS else round(float(token))
    return max(0, min(max_grade, value))


def generate(loaded, prompts: list[list[int]], max_new: int, batch_size: int, watch, **kwargs) -> list[list[int]]:
    """Greedy continuations (token ids, padding and everything after EOS removed), left-padded batches."""
    import torch

    from lrbench.runners.neural.generation import generated_ids

    served = generated_ids(loaded, prompts, max_new)  # a generation backend (backend: openai, vllm, sglang)
    if served is not None:
        if watch is not None:
            watch.tokens += sum(len(p) for p in prompts) + sum(len(s) for s in served)
        return served
    eos = loaded.tokenizer.eos_token_id
    out: list = [None] * len(prompts)
    for batch in length_batches([len(p) for p in prompts], batch_size):
        t = pad_batch([prompts[i] for i in batch], loaded.pad_id, "left")
        t = {k: v.to(loaded.device) for k, v in t.items()}
        with torch.inference_mode():
            ids = loaded.model.generate(**t, max_new_tokens=max_new, do_sample=False, num_beams=1,
                                        pad_token_id=loaded.pad_id, temperature=None, top_p=None, top_k=None,
                                        **kwargs)
        new = ids[:, t["input_ids"].shape[1]:].cpu().tolist()
        for row, i in enumerate(batch):
            seq = new[row]
            if eos is not None and eos in seq:
                seq = seq[:seq.index(eos)]
            out[i] = [x for x in seq if x != loaded.pad_id]
        if watch is not None:
            generated = sum(len(out[i]) for i in batch)
            watch.tokens += int(t["attention_mask"].sum()) + generated
            watch.add(tokens_out=generated)  # the run's Cost (served backends charge their own usage)
    return out


class ScoreMode:
    """Shared parts: prompts from the template param (or the mode's default), counters, yes/no token ids."""

    default_template = ""

    def __init__(self, p):
        self.p = p
        self.reset()

    def reset(self) -> None:
        self.generated = 0
        self.passages = 0
        self.unparsed = 0
        self.queries = 0

    def prepare(self, loaded) -> None:
        """Token ids this mode reads the answer from (per model, after loading)."""
        self.yes_ids = single_token_ids(loaded.tokenizer, self.p.yes, self.p.variants, "params.yes")
        self.no_ids = single_token_ids(loaded.tokenizer, self.p.no, self.p.variants, "params.no")

    def template(self) -> str:
        return self.default_template if self.p.template is None else self.p.template

    def prompt_text(self, query: str, document: str) -> str:
        """The user message for one pair (the document already cut to `doc_max_tokens`)."""
        template = self.template()
        extra = {"max_grade": self.p.max_grade} if "{max_grade}" in template else {}
        return template.format(query=query, document=document, **extra)

    def prompts(self, loaded, query: str, docs: list[str], assistant_prefix: str = "") -> list[list[int]]:
        return [prompt_ids(loaded, self.prompt_text(query, truncate_tokens(loaded.tokenizer, d, self.p.doc_max_tokens)),
                           self.p.system, self.p.chat, assistant_prefix) for d in docs]

    def yes_minus_no(self, logits) -> list[float]:
        import torch

        yes = torch.logsumexp(logits[:, self.yes_ids], dim=-1)
        no = torch.logsumexp(logits[:, self.no_ids], dim=-1)
        return (yes - no).tolist()

    def profile(self) -> dict:
        return {"score_mode": self.p.score_mode, "yes_token_ids": self.yes_ids, "no_token_ids": self.no_ids,
                "generated_tokens": self.generated,
                "generated_tokens_per_query": self.generated / max(1, self.queries),
                "generated_tokens_per_passage": self.generated / max(1, self.passages)}

    def score(self, loaded, query: str, docs: list[str], watch) -> list[float]:
        self.queries += 1
        self.passages += len(docs)
        return self._score(loaded, query, docs, watch)


class YesNo(ScoreMode):
    default_template = YES_NO_TEMPLATE

    def _score(self, loaded, query, docs, watch):
        logits = next_token_logits(loaded, self.prompts(loaded, query, docs), self.p.batch_size, self.p.bucket, watch)
        return self.yes_minus_no(logits)


class GenerateInteger(ScoreMode):
    default_template = INTEGER_TEMPLATE

    def reset(self) -> None:
        super().reset()
        self.two_step = 0

    def grade_tokens(self, loaded):
        """Per grade, its token ids (first token pooled over spellings; a second token for two-digit grades)."""
        if not hasattr(self, "_grades"):
            tok = loaded.tokenizer
            grades = []
            for g in range(self.p.max_grade + 1):
                ids = tok(str(g), add_special_tokens=False)["input_ids"]
                grades.append(single_token_ids(tok, str(g), False, "params.max_grade") if len(ids) == 1 else ids)
            self._grades = grades
        return self._grades

    def _score(self, loaded, query, docs, watch):
        if not self.p.expectation:
            return self._parse(loaded, query, docs, watch)
        return self.expected_grades(loaded, self.prompts(loaded, query, docs), watch).tolist()

    def expected_grades(self, loaded, prompts, watch):
        import torch

        grades = self.grade_tokens(loaded)
        logits = next_token_logits(loaded, prompts, self.p.batch_size, self.p.bucket, watch)
        logp = torch.log_softmax(logits, dim=-1)
        single = {g: ids for g, ids in enumerate(grades) if len(ids) == 1 or g < 10}
        multi = {g: ids for g, ids in enumerate(grades) if g not in single}
        weights = torch.full((len(prompts), len(grades)), float("-inf"))
        for g, ids in single.items():
            weights[:, g] = logp[:, ids].logsumexp(-1)
        if multi:  # two-digit grades: one more pass per leading digit, P(ab) = P(a) P(b | a)
            self.two_step += len(prompts)
            for lead in sorted({ids[0] for ids in multi.values()}):
                nxt = torch.log_softmax(next_token_logits(loaded, [s + [lead] for s in prompts], self.p.batch_size,
                                                          self.p.bucket, watch), dim=-1)
                seconds = [ids[1] for g, ids in multi.items() if ids[0] == lead and len(ids) == 2]
                lead_grade = [g for g, ids in single.items() if ids == [lead]]
                p_more = nxt[:, seconds].logsumexp(-1)
                for g, ids in multi.items():
                    if ids[0] == lead and len(ids) == 2:
                        weights[:, g] = logp[:, lead] + nxt[:, ids[1]]
                if lead_grade:  # "1" followed by anything but a second digit
                    weights[:, lead_grade[0]] = logp[:, lead] + torch.log1p(-p_more.exp().clamp(max=1 - 1e-7))
        probs = torch.softmax(weights, dim=-1)
        return probs @ torch.arange(len(grades), dtype=probs.dtype)

    def _parse(self, loaded, query, docs, watch):
        outs = generate(loaded, self.prompts(loaded, query, docs), self.p.answer_tokens, self.p.batch_size, watch)
        scores = []
        for ids in outs:
            self.generated += len(ids)
            grade = parse_grade(loaded.tokenizer.decode(ids, skip_special_tokens=True), self.p.max_grade,
                                self.p.grade_patterns, self.p.grade_match)
            if grade is None:
                self.unparsed += 1
            scores.append(float(self.p.unparsed_score if grade is None else grade))
        return scores

    def profile(self) -> dict:
        return {**super().profile(), "max_grade": self.p.max_grade, "expectation": self.p.expectation,
                "unparsed_answers": self.unparsed, "two_step_passes": self.two_step}


class ReasonThenScore(ScoreMode):
    default_template = REASON_TEMPLATE

    def reset(self) -> None:
        super().reset()
        self.closed = 0

    def _score(self, loaded, query, docs, watch):
        p = self.p
        first = self.prompts(loaded, query, docs, p.think_open)
        stops = [s for s in (p.think_close, p.answer_open) if s]  # an empty tag would stop at once
        outs = generate(loaded, first, p.reason_tokens, p.batch_size, watch, min_new_tokens=min(
            p.reason_min_tokens, p.reason_tokens), stop_strings=stops, tokenizer=loaded.tokenizer)
        reasons = []
        for ids in outs:
            self.generated += len(ids)
            text = loaded.tokenizer.decode(ids, skip_special_tokens=True)
            cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
            self.closed += cut >= 0
            reasons.append(text[:cut] if cut >= 0 else text)
        seqs = [self.prompts(loaded, query, [d], p.think_open + p.forced_answer.format(
            reasoning=r.rstrip(), think_close=p.think_close, answer_open=p.answer_open))[0]
                for d, r in zip(docs, reasons)]
        logits = next_token_logits(loaded, seqs, p.batch_size, p.bucket, watch)
        self.last_reasons = reasons
        return self.yes_minus_no(logits)

    def profile(self) -> dict:
        return {**super().profile(), "reason_tokens": self.p.reason_tokens, "reasoning_closed": self.closed}


SCORE_MODES: Registry[type[ScoreMode]] = Registry(
    "score mode", group="lrbench.runners.score_modes", key="params.score_mode",
    builtins={"yes-no": YesNo, "generate-integer": GenerateInteger, "reason-then-score": ReasonThenScore})


def score_mode_for(params) -> ScoreMode:
    """The mode object for llm-pointwise params (anything with the ScoreModeParams fields)."""
    return SCORE_MODES.get(params.score_mode)(params)
