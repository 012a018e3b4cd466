"""`cross-encoder`: AutoModelForSequenceClassification over (query, document) pairs.

score = the relevance logit for single-label heads, else the log-softmax of the positive class
(`positive_label`). Pairs are truncated to `max_length` tokens ('longest_first'), from the right or the
left (`truncation_side`), and batched by token length (`token_budget` bounds the padded tokens of a batch).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lrbench.runners.base import Output, RunContext
from lrbench.runners.neural.base import NeuralParams, NeuralRunner
from lrbench.runners.neural.batching import length_batches, pad_batch


class CrossEncoderParams(NeuralParams):
    max_length: int | None = Field(512, ge=8)
    truncation_side: Literal["right", "left"] = "right"
    positive_label: int = Field(1, ge=0, description="class index scored for multi-label heads")
    num_labels: int | None = Field(None, ge=1, description="only for heads that are not in the checkpoint")
    allow_random_head: bool = Field(False, description="run a checkpoint without a trained head (mechanics tests)")
    token_budget: int | None = Field(None, ge=8, description="cap on padded tokens per batch (rows x longest row); "
                                                             "batches of long pairs shrink, up to batch_size rows")


class CrossEncoderRunner(NeuralRunner):
    """Cross-encoder reranker (AutoModelForSequenceClassification): relevance logit per pair."""

    type = "cross-encoder"
    version = "1"
    model_kind = "cross-encoder"
    needs_input = True
    Params = CrossEncoderParams

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        return self.rerank(dataset, inputs, ctx, self.score_pairs, "cross-encoder rerank")

    def prepare(self, loaded) -> None:
        loaded.tokenizer.truncation_side = self.params.truncation_side
        labels = loaded.model.config.num_labels
        if labels > 1 and self.params.positive_label >= labels:
            from lrbench.errors import LrbenchError

            raise LrbenchError(f"positive_label {self.params.positive_label} is out of range for a "
                               f"{labels}-label head", key="params.positive_label", hint=f"0..{labels - 1}")

    def score_pairs(self, loaded, query: str, docs: list[str], watch):
        import torch

        enc = loaded.tokenizer([query] * len(docs), docs, truncation=True, max_length=loaded.max_length,
                               padding=False)
        keys = [k for k in ("token_type_ids",) if k in enc and k in loaded.tokenizer.model_input_names]
        ids = enc["input_ids"]
        scores = [0.0] * len(docs)
        with torch.inference_mode():
            for batch in length_batches([len(x) for x in ids], self.params.batch_size, self.params.bucket,
                                        self.params.token_budget):
                t = pad_batch([ids[i] for i in batch], loaded.pad_id, "right",
                              {k: [enc[k][i] for i in batch] for k in keys})
                t = {k: v.to(loaded.device) for k, v in t.items()}
                logits = loaded.model(**t).logits.float()
                if logits.shape[-1] == 1:
                    s = logits[:, 0]
                else:
                    s = torch.log_softmax(logits, dim=-1)[:, self.params.positive_label]
                for i, v in zip(batch, s.cpu().tolist()):
                    scores[i] = v
                watch.tokens += int(t["attention_mask"].sum())
        return scores
