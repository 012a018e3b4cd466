"""`icl-exemplars`: few-shot GLUE classification with selected in-context exemplars (random, BM25, kNN, DQ-LoRe).

The dev set is split by a seeded shuffle into a test part (predicted and scored) and a pool (the exemplars' source,
never predicted). Each test item gets k pool exemplars, written in the GLUE zero-shot prompt with their gold label
verbalised, before its own prompt; the label is the verbaliser with the highest log-likelihood after it (as `glue`'s
zero-shot-lm protocol). The most relevant exemplar sits next to the question; when the prompt exceeds `max_length`
tokens the least relevant ones are dropped.

Selectors: `random` (seeded per item), `bm25` (bm25s over the pool texts), `knn` (cosine over `embedder`
embeddings), `dq-lore` (Xiong et al., ICLR 2024: the question with the model's own zero-shot answer appended is
embedded, as is each pool text with its gold answer; its top-n cosine neighbours are re-ranked after a PCA
projection to `rank` and the top k kept; see icl_selection).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost
from lrbench.runners.neural.base import ModelParams, check_model_path, model_revision
from lrbench.runners.retrieval.bm25 import BM25Params
from lrbench.runners.tasks.common import TaskModelRunner
from lrbench.runners.tasks.glue import ZERO_SHOT, choice_logprobs

EXEMPLAR_SEPARATOR = "\n\n"  # between exemplars and before the question, as lm-eval's few-shot prompts
BM25 = BM25Params()  # the bm25 runner's defaults
BM25_SETTINGS = BM25.model_dump(include={"k1", "b", "method", "stemmer", "stopwords"})  # recorded in the profile


class IclParams(ModelParams):
    model: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    selector: Literal["random", "bm25", "knn", "dq-lore"]
    k: int = Field(4, ge=1, description="exemplars per test item")
    n: int = Field(16, ge=1, description="dq-lore: cosine candidates re-ranked after the PCA projection")
    rank: int = Field(8, ge=1, description="dq-lore: PCA rank of the re-ranking")
    seed: int = Field(0, description="random selector: seeds each item's draw (with its example row)")
    embedder: str = Field("sentence-transformers/all-MiniLM-L6-v2", description="knn and dq-lore embeddings")
    pool_size: int = Field(256, ge=1, description="dev examples the exemplars are drawn from")
    test_size: int = Field(200, ge=1, description="dev examples predicted and scored")
    split_seed: int = Field(0, description="seed of the shuffle that splits the dev set into test and pool")
    batch_size: int = Field(8, ge=1)


def split_pool_test(count: int, pool_size: int, test_size: int, seed: int):
    """(pool rows, test rows): disjoint, from one seeded permutation of range(count); test first."""
    import numpy as np

    if pool_size + test_size > count:
        raise LrbenchError(f"pool_size + test_size = {pool_size + test_size} exceeds the {count} examples",
                           key="params.pool_size", hint=f"make pool_size + test_size <= {count}")
    order = np.random.default_rng(seed).permutation(count)
    return order[test_size:test_size + pool_size], order[:test_size]


def random_exemplars(pool_size: int, k: int, seed: int, row: int) -> list[int]:
    """k distinct pool positions drawn for the example at dataset `row`, reproducible for (seed, row)."""
    import numpy as np

    return np.random.default_rng([seed, row]).choice(pool_size, size=k, replace=False).tolist()


def bm25_exemplars(pool_texts: list[str], queries: list[str], k: int) -> list[list[int]]:
    """Top-k pool positions per query by BM25 (bm25s, tokenized as the bm25 runner does), best first."""
    import bm25s
    import numpy as np

    from lrbench.runners.bm25_tokens import bm25s_tokenize

    retriever = bm25s.BM25(k1=BM25.k1, b=BM25.b, method=BM25.method)
    retriever.index(bm25s_tokenize(pool_texts, BM25.stemmer, BM25.stopwords),
                    show_progress=False)
    out = []
    for tokens in bm25s_tokenize(queries, BM25.stemmer, BM25.stopwords):
        if not tokens:  # nothing left after stopwords: the first k pool texts
            out.append(list(range(k)))
            continue
        idx, _ = retriever.retrieve([tokens], k=k, show_progress=False, n_threads=0)
        out.append(np.asarray(idx[0]).astype(int).tolist())
    return out


class IclExemplarRunner(TaskModelRunner):
    """Few-shot GLUE classification with in-context exemplars chosen by random, BM25, kNN or DQ-LoRe selection."""

    type = "icl-exemplars"
    version = "1"
    task_kinds = ("classification",)
    Params = IclParams

    @classmethod
    def check(cls, params: IclParams, suite_dir: Path) -> None:
        super().check(params, suite_dir)
        if params.k > params.pool_size:
            raise LrbenchError(f"k = {params.k} exemplars from a pool of {params.pool_size}", key="params.k",
                               hint="make k <= pool_size")
        if params.selector == "dq-lore" and not params.k <= params.n <= params.pool_size:
            raise LrbenchError(f"dq-lore re-ranks n = {params.n} candidates to keep k = {params.k} from a pool of "
                               f"{params.pool_size}", key="params.n", hint="make k <= n <= pool_size")
        if cls.uses_embedder(params):
            check_model_path(params.embedder, suite_dir)

    @classmethod
    def key_extra(cls, params: IclParams, suite_dir: Path) -> str:
        revision = super().key_extra(params, suite_dir)
        if cls.uses_embedder(params):
            embedder = params.model_copy(update={"model": params.embedder, "revision": None})
            revision += "+embedder:" + model_revision(embedder, suite_dir)
        return revision

    @staticmethod
    def uses_embedder(params: IclParams) -> bool:
        return params.selector in ("knn", "dq-lore")

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        p: IclParams = self.params
        task = getattr(dataset, "glue_task", None)
        if task is None:
            raise LrbenchError(f"icl-exemplars needs a glue: dataset, not {dataset.spec.id}", key="type")
        if task.name not in ZERO_SHOT:
            raise LrbenchError(f"no prompt for {task.name} (a regression task)", key="datasets.id",
                               hint=f"use a GLUE classification task: {', '.join(ZERO_SHOT)}")
        template, choices = ZERO_SHOT[task.name]
        examples = dataset.examples()
        pool_rows, test_rows = split_pool_test(len(examples), p.pool_size, p.test_size, p.split_seed)
        prompts = [template.format(text=t, pair=q or "") for t, q in zip(examples["text"], examples["text_pair"])]
        # the text a selector compares: the question (and its pair)
        texts = [t if not q else f"{t} {q}" for t, q in zip(examples["text"], examples["text_pair"])]
        gold = examples["label"].astype(int).tolist()

        loaded, cost = self.load(ctx), Cost()
        t0 = time.perf_counter()
        with loaded.charging(cost):
            chosen, extra = self._select(loaded, ctx, pool_rows, test_rows, prompts, texts, gold, choices)
            contexts, used = [], []
            for row, positions in zip(test_rows, chosen):
                shots = [int(pool_rows[j]) for j in positions]
                prompt, kept = self._fit(loaded, [prompts[s] + choices[gold[s]] for s in shots], prompts[row])
                used.append(shots[:kept][::-1])  # prompt order: most relevant last
                contexts.append(prompt)
            scores = []
            chunks = [list(range(i, min(i + 32, len(contexts)))) for i in range(0, len(contexts), 32)]
            for chunk in ctx.progress(chunks, total=len(chunks), description=f"{task.name} {p.selector} k={p.k}"):
                scores.extend(choice_logprobs(loaded.model, loaded.tokenizer, [contexts[i] for i in chunk], choices,
                                              p.batch_size, loaded.device))
        seconds = time.perf_counter() - t0
        ids = examples["id"].astype(str)
        frame = pd.DataFrame({
            "id": ids.iloc[test_rows].tolist(),
            "label": [max(range(len(s)), key=s.__getitem__) for s in scores],
            "score": [max(s) for s in scores],
            "exemplars": [",".join(ids.iloc[shots]) for shots in used],
            "subset": "test",
        })
        profile = {**self.model_profile(loaded, cost, len(frame)), "glue_task": task.name, "selector": p.selector,
                   "k": p.k, "n": p.n, "rank": p.rank, "seed": p.seed, "template": template, "choices": choices,
                   "exemplar_separator": EXEMPLAR_SEPARATOR, "split_seed": p.split_seed,
                   "pool_size": len(pool_rows), "test_size": len(test_rows),
                   "pool_ids": ids.iloc[pool_rows].tolist(), "test_ids": frame["id"].tolist(),
                   "mean_exemplars": sum(map(len, used)) / max(1, len(used)),
                   "examples": len(frame), "score_seconds": seconds,
                   "examples_per_second": len(frame) / max(seconds, 1e-9), **extra}
        return Output(frames={"predictions": frame}, profile=profile)

    def _fit(self, loaded, shots: list[str], question: str) -> tuple[str, int]:
        """(prompt, exemplars kept): the shots (best first) in reverse order before the question, dropping the
        least relevant while the prompt is longer than the model's max_length."""
        kept = len(shots)
        while True:
            prompt = EXEMPLAR_SEPARATOR.join([*reversed(shots[:kept]), question])
            if kept == 0 or len(loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]) < loaded.max_length:
                return prompt, kept
            kept -= 1

    def _select(self, loaded, ctx, pool_rows, test_rows, prompts, texts, gold, choices):
        """Per test item, k pool positions (best first), and the selector's profile fields."""
        p: IclParams = self.params
        pool_texts = [texts[r] for r in pool_rows]
        queries = [texts[r] for r in test_rows]
        if p.selector == "random":
            return [random_exemplars(len(pool_rows), p.k, p.seed, int(r)) for r in test_rows], {}
        if p.selector == "bm25":
            return bm25_exemplars(pool_texts, queries, p.k), {"bm25": BM25_SETTINGS}
        from lrbench.runners.tasks.icl_selection import dq_lore, knn

        embedder, embed_cost = self._load_embedder(ctx), Cost()
        extra = {"embedder": embedder.resolved.model_id, "embedder_revision": embedder.resolved.revision}
        if p.selector == "knn":
            with embedder.charging(embed_cost):
                pool, query = self._embed(embedder, pool_texts), self._embed(embedder, queries)
            extra.update(embed_cost.profile(len(test_rows), prefix="embedder_"))
            return [knn(q, pool, p.k).tolist() for q in query], extra
        # dq-lore: the model's zero-shot answer completes the question; each pool text carries its gold answer
        zero_shot = choice_logprobs(loaded.model, loaded.tokenizer, [prompts[r] for r in test_rows], choices,
                                    p.batch_size, loaded.device)
        answers = [choices[max(range(len(s)), key=s.__getitem__)].strip() for s in zero_shot]
        with embedder.charging(embed_cost):
            pool = self._embed(embedder, [f"{t} {choices[gold[r]].strip()}" for t, r in zip(pool_texts, pool_rows)])
            query = self._embed(embedder, [f"{q} {a}" for q, a in zip(queries, answers)])
        extra.update(embed_cost.profile(len(test_rows), prefix="embedder_"), zero_shot_answers=answers)
        return [dq_lore(q, pool, p.k, p.n, p.rank).tolist() for q in query], extra

    def _load_embedder(self, ctx: RunContext):
        """The selection embedder, uncompressed (the `compress:` block applies to the classifying model)."""
        from lrbench.runners.neural.base import model_location
        from lrbench.runners.neural.loading import load_model

        p: IclParams = self.params
        return load_model("embedder", model_location(p.embedder, ctx.suite_dir),
                          {"device": p.device, "threads": p.threads}, cache_dir=ctx.cache_dir,
                          base_dir=ctx.suite_dir)

    def _embed(self, embedder, texts: list[str]):
        return embedder.encode(texts, batch_size=32)
