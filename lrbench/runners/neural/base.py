"""The shared base of the neural runners: params, model loading, candidate lists, profiles."""

from __future__ import annotations

import string
import time
from pathlib import Path
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

import pandas as pd
from pydantic import Field

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams, top_k
from lrbench.runners.cost import Cost
from lrbench.runners.neural.device import select_device
from lrbench.runners.neural.loading import LoadedModel, load_model
from lrbench.runners.neural.profile import PeakMemory, Stopwatch
from lrbench.runners.tail import append_tail, unreranked_tail
from lrbench.datasets.base import RUN_COLUMNS


class ModelParams(RunnerParams):
    """What every transformers-backed runner takes."""

    model: str = Field(description="Hugging Face Hub id (resolved offline through `lrbench models`) or a folder")
    revision: str | None = None
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    threads: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)
    max_length: int | None = Field(None, ge=8)
    trust_remote_code: bool = False


def model_location(model: str, suite_dir: Path) -> str:
    """A folder named relative to the suite file, or the Hub id / absolute path as written."""
    from lrbench.models.registry import looks_like_path

    local = Path(model).expanduser()
    if not local.is_absolute() and (suite_dir / local).is_dir():
        return str(suite_dir / local)
    if looks_like_path(model) and not local.is_absolute() and not local.exists():
        return str(suite_dir / local)  # does not exist: resolve() names it as the suite means it
    return model


def check_model_path(model: str | None, suite_dir: Path) -> None:
    """A model given as a path must exist (`lrbench validate` says so, rather than suggesting an import)."""
    from lrbench.models.registry import looks_like_path

    if model and looks_like_path(model):
        local = Path(model_location(model, suite_dir)).expanduser()
        if not local.exists():
            raise LrbenchError(f"model path {local} does not exist", key="params.model",
                               hint="give an existing model folder (relative paths resolve against the suite "
                                    "file's folder) or a Hub id such as org/name")


def model_revision(params: ModelParams, suite_dir: Path) -> str:
    """The resolved model's revision (a content fingerprint offline), plus the adapter's hash: part of cell keys."""
    from lrbench.models import resolve

    model = getattr(params, "model", None)
    if not model:
        return ""
    revision = resolve(model_location(model, suite_dir), getattr(params, "revision", None)).revision
    adapter = getattr(params, "adapter", None)
    if adapter:
        from lrbench.runners.neural.adapters import adapter_fingerprint

        revision += "+" + adapter_fingerprint(adapter, suite_dir)
    return revision


class NeuralParams(ModelParams):
    bucket: bool = Field(True, description="length-bucketed batching (sort, bucket, restore order)")
    adapter: str | None = Field(None, description="a peft adapter folder (LoRA...), see lrbench.runners.neural.adapters")
    merge: bool = Field(True, description="merge the adapter into the base weights")


class ModelRunner(Runner):
    """Base for every runner backed by one model (rerankers, retrievers, task runners): one load-and-compress
    path, one model profile. Subclasses set `model_kind` and implement `run`; the FLOPs, calls and tokens a run
    spends go into a `Cost` made for that run (`loaded.charging(cost)`), never onto the runner."""

    model_kind: ClassVar[str] = "embedder"
    Params = ModelParams
    loads_model = True

    @classmethod
    def key_extra(cls, params: NeuralParams, suite_dir: Path) -> str:
        return model_revision(params, suite_dir)

    @classmethod
    def check(cls, params, suite_dir: Path) -> None:
        super().check(params, suite_dir)
        check_model_path(getattr(params, "model", None), suite_dir)

    def model_id(self, ctx: RunContext) -> str:
        return model_location(self.params.model, ctx.suite_dir)

    def load(self, ctx: RunContext, calibration: list[str] | None = None, **kwargs) -> LoadedModel:
        """The model, compressed per the system's `compress:` block (its calibration dataset, read relative to
        the suite, wins over the `calibration` texts a runner passes)."""
        if getattr(self.params, "backend", "transformers") != "transformers":  # a server or vLLM/SGLang generates
            from lrbench.runners.neural.generation import load_for_backend

            return load_for_backend(self, ctx, self.model_id(ctx))
        if getattr(self.params, "adapter", None):
            from lrbench.runners.neural.adapters import load_with_adapter

            return load_with_adapter(self, ctx, calibration, **kwargs)
        from lrbench.compression.calibration import make_calibration

        # the block's calibration dataset, its path resolved against the suite file (as for the task runners)
        calibration = make_calibration(ctx.compress, ctx.suite_dir) or calibration
        return load_model(self.model_kind, self.model_id(ctx), self.params, compress=ctx.compress,
                          calibration=calibration, cache_dir=ctx.cache_dir, base_dir=ctx.suite_dir, **kwargs)

    def model_profile(self, loaded: LoadedModel, cost: Cost, queries: int) -> dict:
        """The profile fields every model-backed cell shares: the model (parameters, device, compression) and
        what the run spent (FLOPs, calls, tokens: totals and per query, plus the price of served tokens)."""
        profile = {**loaded.info(), **cost.profile(queries)}
        price = getattr(self.params, "price", None)
        if price is not None:
            profile.update(price.profile(cost, queries))
        return profile


class NeuralRunner(ModelRunner):
    """Base for model-backed rankers: candidate lists from an input run and the reranking loop."""

    Params = NeuralParams

    # -- reranking inputs ------------------------------------------------------------------
    def candidate_lists(self, dataset, inputs: dict[str, pd.DataFrame], ctx: RunContext):
        """[(query_id, query text, [doc ids])] for the top-`depth` of the input run, and the doc texts."""
        if not inputs:
            raise LrbenchError(f"{self.type} reranks a first-stage run", key="input",
                               hint="set input: <first-stage system name> on this system")
        if len(inputs) > 1:
            raise LrbenchError(f"{self.type} takes one input run, got {len(inputs)}", key="input")
        name, run = next(iter(inputs.items()))
        if run.empty:
            raise LrbenchError(f"input run '{name}' is empty", key="input")
        input_depth = int(run.groupby("query_id").size().max())
        depth = ctx.depth
        if depth is not None and depth > input_depth:
            raise LrbenchError(f"depth {depth} is larger than the input run's depth ({input_depth} per query "
                               f"in '{name}')", key="depth",
                               hint=f"set depth <= {input_depth}, or retrieve more with the input system")
        top = top_k(run, depth)
        queries = dataset.eval_queries()
        lists = []
        for qid, group in top.groupby("query_id", sort=True):
            if qid in queries:
                lists.append((str(qid), queries[qid], [str(d) for d in group["doc_id"]]))
        if not lists:
            raise LrbenchError(f"input run '{name}' shares no query ids with {dataset.spec.label}", key="input")
        wanted = {d for _, _, docs in lists for d in docs}
        texts = dataset.doc_texts(wanted)
        missing = wanted - set(texts)
        if len(missing) == len(wanted):
            raise LrbenchError(f"{dataset.spec.label} has no text for the input run's documents", key="input",
                               hint="rerank a dataset that carries passage text (candidates:, beir:, irds:)")
        self.missing_texts = len(missing)
        self._input_tail = unreranked_tail(run, depth, [q for q, _, _ in lists]) if ctx.keep_tail else None
        return lists, texts, depth or input_depth

    def rerank(self, dataset, inputs, ctx: RunContext, scorer=None, description: str = "",
               calibration_docs: int = 32, group_size: int = 1) -> Output:
        """Load the model, warm it up, score the candidates `group_size` queries at a time with `score_group`
        (by default `scorer(loaded, query, texts, watch)` -> list of floats, per query), and profile the whole
        thing. `watch` is this run's Stopwatch, a `Cost`: counts go there, never onto the runner."""
        lists, texts, depth = self.candidate_lists(dataset, inputs, ctx)
        missing = len({d for _, _, docs in lists for d in docs} - set(texts))
        calibration = [texts.get(d, "") for d in lists[0][2][:calibration_docs]]
        started = time.perf_counter()
        with PeakMemory(select_device(self.params.device)) as mem:
            loaded = self.load(ctx, calibration)
            self.prepare(loaded)
            t0 = time.perf_counter()
            qid, query, docs = lists[0]
            self.score_group(loaded, [(query, docs[:2])], texts, Stopwatch(), scorer)  # warm-up, not counted
            warmup = time.perf_counter() - t0
            self.reset_counters()
            watch = Stopwatch()
            rows = []
            groups = [lists[i:i + group_size] for i in range(0, len(lists), group_size)]
            pairs = sum(len(docs) for _, _, docs in lists)
            busy = 0.0
            with loaded.charging(watch):
                for group in ctx.progress(groups, total=pairs, description=f"{description} (pairs)",
                                          size=lambda group: sum(len(docs) for _, _, docs in group)):
                    g0 = time.perf_counter()
                    scored = self.score_group(loaded, [(q, d) for _, q, d in group], texts, watch, scorer)
                    elapsed = time.perf_counter() - g0
                    busy += elapsed
                    for (qid, _, docs), scores in zip(group, scored):
                        watch.latencies.append(elapsed)  # a query of a group waits for the whole group
                        watch.docs += len(docs)
                        rows.extend((qid, d, float(s)) for d, s in zip(docs, scores))
        profile = {**self.model_profile(loaded, watch, len(lists)), "warmup_seconds": warmup, "depth": depth,
                   **self.tail_profile(), "batch_size": self.params.batch_size, "bucketed": self.params.bucket,
                   "missing_texts": missing, "runner_seconds": time.perf_counter() - started,
                   **watch.as_dict(), **mem.as_dict(), **self.extra_profile()}
        profile.update(scoring_seconds=busy, docs_per_second=watch.docs / busy if busy else None,
                       tokens_per_second=watch.tokens / busy if busy else None)
        return Output(run=append_tail(pd.DataFrame(rows, columns=RUN_COLUMNS), self._input_tail), profile=profile)

    def tail_profile(self) -> dict:
        return {"tail_docs": 0 if self._input_tail is None else len(self._input_tail)}

    def score_group(self, loaded: LoadedModel, items: list[tuple[str, list[str]]], texts: dict[str, str],
                    watch: Stopwatch, scorer=None) -> list[list[float]]:
        """Hook: [(query, [doc ids])] -> each query's scores in its doc order. The default scores one query at a
        time with `scorer`; runners that work on several queries at once (listwise windows) replace it."""
        return [scorer(loaded, query, [texts.get(d, "") for d in docs], watch) for query, docs in items]

    def prepare(self, loaded: LoadedModel) -> None:
        """Hook: per-model setup after loading (token ids, prompt pieces)."""

    def score_pairs(self, loaded: LoadedModel, query: str, docs: list[str], watch: Stopwatch | None) -> list[float]:
        """The pairwise scorer of runners that score each (query, document) on its own; others have none."""
        raise NotImplementedError(f"{self.type} does not score (query, document) pairs on their own")

    def pair_scorer(self, loaded: LoadedModel, watch: Stopwatch | None = None) -> "PairwiseScorer":
        """This runner's pairwise scorer bound to a loaded (and prepared) model: `.score(query, docs)`."""
        return BoundScorer(self, loaded, watch if watch is not None else Stopwatch())

    def reset_counters(self) -> None:
        """Hook: forget what the warm-up call counted."""

    def extra_profile(self) -> dict:
        return {}


class PairwiseScorer(Protocol):
    """What first stages over any pairwise scorer (cur-retrieval) call: exact scores of `docs` for `query`."""

    def score(self, query: str, docs: list[str]) -> list[float]: ...


@dataclass
class BoundScorer:
    runner: NeuralRunner
    loaded: LoadedModel
    watch: Stopwatch

    def score(self, query: str, docs: list[str]) -> list[float]:
        return self.runner.score_pairs(self.loaded, query, docs, self.watch)


def check_template(template: str, required: tuple[str, ...], key: str = "params.template",
                   allowed: tuple[str, ...] = ()) -> None:
    """A prompt template must name each required field ({query}, {document}) and no unknown ones."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise LrbenchError(f"prompt template is not a valid format string: {exc}", key=key,
                           hint="write literal braces as {{ and }}") from None
    missing = [f for f in required if f not in fields]
    if missing:
        raise LrbenchError(f"prompt template lacks {', '.join('{' + m + '}' for m in missing)}", key=key,
                           hint=f"the template must contain {' and '.join('{' + r + '}' for r in required)}")
    unknown = sorted(fields - set(required) - set(allowed))
    if unknown:
        raise LrbenchError(f"prompt template has unknown field(s) {', '.join('{' + u + '}' for u in unknown)}",
                           key=key, hint=f"fields: {', '.join(required + allowed)}; write literal braces as {{{{ }}}}")


def truncate_tokens(tokenizer, text: str, max_tokens: int | None) -> str:
    """Cut `text` to its first `max_tokens` tokens (decoded back to text)."""
    if not max_tokens:
        return text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_tokens:
        return text
    return tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)
