"""`glue`: GLUE tasks with one of two protocols, named in every output row and in the profile.

- `classifier`: a fine-tuned AutoModelForSequenceClassification checkpoint; argmax over its logits
  (the value itself for STS-B). `label_map` maps the checkpoint's label ids to the task's when they differ.
- `zero-shot-lm`: a causal LM scores each verbalised label as a continuation of a prompt and picks the
  most likely (summed log-probability, lm-eval-harness style; same prompts and choices as its GLUE tasks).
"""

from __future__ import annotations

import time
from typing import Literal

import pandas as pd
from pydantic import Field

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost
from lrbench.runners.neural.base import ModelParams
from lrbench.runners.tasks.common import TaskModelRunner

# lm-eval-harness GLUE prompts: (template, choices in label-id order)
ZERO_SHOT = {
    "sst2": ("{text}\nQuestion: Is this sentence positive or negative?\nAnswer:", [" negative", " positive"]),
    "mrpc": ("Sentence 1: {text}\nSentence 2: {pair}\nQuestion: Do both sentences mean the same thing?\nAnswer:",
             [" no", " yes"]),
    "rte": ("{text}\nQuestion: {pair} True or False?\nAnswer:", [" True", " False"]),
    "qnli": ("{text}\n{pair}\nQuestion: Does this response answer the question?\nAnswer:", [" yes", " no"]),
    "mnli": ("{text}\nQuestion: {pair} True, False or Neither?\nAnswer:", [" True", " Neither", " False"]),
    "qqp": ("Question 1: {text}\nQuestion 2: {pair}\nQuestion: Do both questions ask the same thing?\nAnswer:",
            [" no", " yes"]),
    "cola": ("{text}\nQuestion: Does this sentence make sense?\nAnswer:", [" no", " yes"]),
}


class GlueParams(ModelParams):
    protocol: Literal["classifier", "zero-shot-lm"]
    batch_size: int = Field(16, ge=1)
    template: str | None = Field(None, description="zero-shot-lm prompt with {text} (and {pair}); default lm-eval's")
    choices: list[str] | None = Field(None, description="zero-shot-lm continuations, one per label id")
    label_map: dict[int, int] | None = Field(None, description="classifier: checkpoint label id -> task label id")
    num_labels: int | None = Field(None, ge=1)
    allow_random_head: bool = False  # classifier protocol on a checkpoint without a trained head


def choice_logprobs(model, tokenizer, contexts: list[str], choices: list[str], batch_size: int, device):
    """Summed log-probability of each choice after each context: [len(contexts)][len(choices)]."""
    import torch

    from lrbench.runners.neural.batching import length_batches, pad_batch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    choice_ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in choices]
    if all(len(ids) == 1 for ids in choice_ids):
        # every choice is one token: one forward per context, read the next-token distribution (same sums)
        ctx_ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in contexts]
        wanted = torch.tensor([ids[0] for ids in choice_ids])
        out = [None] * len(contexts)
        with torch.inference_mode():
            for batch in length_batches([len(s) for s in ctx_ids], batch_size, True):
                t = pad_batch([ctx_ids[i] for i in batch], pad, "right")
                logits = model(input_ids=t["input_ids"].to(device),
                               attention_mask=t["attention_mask"].to(device)).logits
                for row, i in enumerate(batch):
                    logp = torch.log_softmax(logits[row, len(ctx_ids[i]) - 1].float(), dim=-1).cpu()
                    out[i] = logp[wanted].tolist()
        return out
    seqs, spans = [], []
    for context in contexts:
        ctx_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
        for ids in choice_ids:
            seqs.append(ctx_ids + ids)
            spans.append(len(ctx_ids))
    scores = [0.0] * len(seqs)
    with torch.inference_mode():
        for batch in length_batches([len(s) for s in seqs], batch_size, True):
            t = pad_batch([seqs[i] for i in batch], pad, "right")
            logits = model(input_ids=t["input_ids"].to(device), attention_mask=t["attention_mask"].to(device)).logits
            logp = torch.log_softmax(logits.float(), dim=-1)
            for row, i in enumerate(batch):
                start, end = spans[i], len(seqs[i])
                target = torch.tensor(seqs[i][start:end], device=logp.device)
                scores[i] = float(logp[row, start - 1:end - 1].gather(-1, target.unsqueeze(-1)).sum())
    k = len(choices)
    return [scores[j * k:(j + 1) * k] for j in range(len(contexts))]


class GlueRunner(TaskModelRunner):
    """GLUE classification: fine-tuned classifier or zero-shot LM scoring of verbalised labels."""

    type = "glue"
    version = "1"
    task_kinds = ("classification",)
    Params = GlueParams

    def __init__(self, params):
        super().__init__(params)
        self.model_kind = "cross-encoder" if self.params.protocol == "classifier" else "causal-lm"

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        p: GlueParams = self.params
        task = getattr(dataset, "glue_task", None)
        if task is None:
            raise LrbenchError(f"the glue runner needs a glue: dataset, not {dataset.spec.id}", key="type")
        examples = dataset.examples()
        if p.protocol == "zero-shot-lm":
            if p.template is None and task.name not in ZERO_SHOT:
                raise LrbenchError(f"no zero-shot prompt for {task.name} (a regression task)", key="params.protocol",
                                   hint="use protocol: classifier, or give template and choices")
            template, choices = ZERO_SHOT.get(task.name, (None, None))
            template, choices = p.template or template, p.choices or choices
            if len(choices) != len(task.labels):
                raise LrbenchError(f"{len(choices)} choices for {len(task.labels)} labels ({', '.join(task.labels)})",
                                   key="params.choices", hint="one continuation per label id, in id order")
        loaded, cost = self.load(ctx), Cost()
        t0 = time.perf_counter()
        with loaded.charging(cost):
            if p.protocol == "zero-shot-lm":
                contexts = [template.format(text=t, pair=q or "")
                            for t, q in zip(examples["text"], examples["text_pair"])]
                chunks = [list(range(i, min(i + 64, len(contexts)))) for i in range(0, len(contexts), 64)]
                scores = []
                for chunk in ctx.progress(chunks, total=len(chunks), description=f"{task.name} zero-shot"):
                    scores.extend(choice_logprobs(loaded.model, loaded.tokenizer, [contexts[i] for i in chunk], choices,
                                                  p.batch_size, loaded.device))
                labels = [max(range(len(s)), key=s.__getitem__) for s in scores]
                top = [max(s) for s in scores]
                extra = {"template": template, "choices": choices}
            else:
                labels, top = self._classify(loaded, examples, task, ctx)
                extra = {"label_map": p.label_map}
        seconds = time.perf_counter() - t0
        frame = pd.DataFrame({"id": examples["id"].astype(str), "label": labels, "score": top,
                              "protocol": p.protocol})
        profile = {**self.model_profile(loaded, cost, len(examples)), "protocol": p.protocol,
                   "glue_task": task.name, "examples": len(frame), "score_seconds": seconds,
                   "examples_per_second": len(frame) / max(seconds, 1e-9), **extra}
        if p.protocol == "classifier":
            profile["note"] = "scores mean something only for a checkpoint fine-tuned on this task"
        return Output(frames={"predictions": frame}, profile=profile)

    def _classify(self, loaded, examples, task, ctx):
        import torch

        p: GlueParams = self.params
        labels, top = [], []
        texts, pairs = list(examples["text"]), list(examples["text_pair"])
        starts = list(range(0, len(texts), p.batch_size))
        with torch.inference_mode():
            for s in ctx.progress(starts, total=len(starts), description=f"{task.name} classifier"):
                a = texts[s:s + p.batch_size]
                b = pairs[s:s + p.batch_size]
                enc = loaded.tokenizer(a, b if b[0] is not None else None, truncation=True, padding=True,
                                       max_length=loaded.max_length, return_tensors="pt")
                logits = loaded.model(**{k: v.to(loaded.device) for k, v in enc.items()}).logits.float().cpu()
                if task.labels is None:
                    labels.extend(logits[:, 0].tolist())
                    top.extend(logits[:, 0].tolist())
                    continue
                if logits.shape[-1] != len(task.labels):
                    raise LrbenchError(f"the checkpoint has {logits.shape[-1]} labels, {task.name} has "
                                       f"{len(task.labels)}", key="params.model",
                                       hint=f"use a {task.name} fine-tuned checkpoint or set num_labels")
                pred = logits.argmax(-1).tolist()
                if p.label_map:
                    pred = [p.label_map.get(x, x) for x in pred]
                labels.extend(pred)
                top.extend(logits.max(-1).values.tolist())
        return labels, top
