"""The runner protocol: one class per system family, behind this small base."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError

T = TypeVar("T")


class RunnerParams(BaseModel):
    """Base for a runner's typed params; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def _no_progress(items: Iterable[T], total: int | None = None, description: str = "",
                 size: Callable[[T], int] | None = None) -> Iterable[T]:
    return items


@dataclass
class RunContext:
    """What a runner may use besides its dataset: caches, progress reporting, the suite's folder."""

    cache_dir: Path
    suite_dir: Path = Path(".")
    #: progress(items, total=, description=, size=): `size(item)` units per item (documents of a block),
    #: `total` in those units; the CLI shows done of total with an ETA (or logs it when not on a terminal)
    progress: Callable[..., Iterable] = _no_progress
    depth: int | None = None
    #: rerankers append the input's candidates below `depth` under their head (see runners/tail.py); suites set
    #: it from the system's `keep_tail` (default true), a bare context returns the reranked head alone
    keep_tail: bool = False
    #: the typed `compress:` block (lrbench.compression.config: LowRankConfig or LoraSqueezeConfig), or None
    compress: Any = None
    debug: bool = False
    #: the run store, for intermediate artifacts kept beside the cells (embedding shards); None outside a suite
    store: Any = None

    def __post_init__(self):
        if isinstance(self.compress, dict):  # a block as written, from code that builds a context itself
            from lrbench.compression.config import parse_compress

            self.compress = parse_compress(self.compress)

    def compress_json(self) -> dict | None:
        """The compress block with every default written out, for the keys of caches of model outputs."""
        return None if self.compress is None else self.compress.model_dump(mode="json")


@dataclass
class Output:
    """What a runner returns: one frame for its task kind, plus the cell's profile.

    ranking: `run` (query_id, doc_id, score); other task kinds return `frames` under the
    name their evaluator expects (e.g. `predictions`).
    """

    run: pd.DataFrame | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def frame(self, name: str) -> pd.DataFrame:
        if name == "run" and self.run is not None:
            rank = _ranks_if_ordered(self.run)  # a runner that orders its own rows saves the sort here
            if rank is not None:
                run = self.run.reset_index(drop=True)
            else:
                order, rank = _ranked(self.run)
                run = self.run.iloc[order].reset_index(drop=True)
            run["rank"] = rank
            return run[["query_id", "doc_id", "rank", "score"]]
        if name not in self.frames:
            raise ValueError(f"runner output lacks the '{name}' frame")
        return self.frames[name]


class Runner:
    """Subclasses set `type`, `version`, `task_kinds`, `Params` and implement `run`."""

    type: ClassVar[str]
    version: ClassVar[str] = "1"
    task_kinds: ClassVar[tuple[str, ...]] = ("ranking",)
    needs_input: ClassVar[bool] = False  # rerankers need `input:`
    #: how many input runs the runner combines: rerankers read one (`input:`), fusion several (`inputs:`)
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 1
    Params: ClassVar[type[RunnerParams]] = RunnerParams
    #: params that decide how the work is spread, never the output (bit for bit): left out of the cell key
    schedule_params: ClassVar[frozenset[str]] = frozenset()
    #: the runner loads a model, so a `compress:` block applies to it
    loads_model: ClassVar[bool] = False

    def __init__(self, params: RunnerParams | dict[str, Any]):
        """`params`: the parsed `Params` (what the engine passes: the object the cell key was computed from),
        or a dict as written, parsed here."""
        self.params = params if isinstance(params, RunnerParams) else self.parse_params(params)

    @classmethod
    def parse_params(cls, params: dict[str, Any]) -> RunnerParams:
        from pydantic import ValidationError

        try:
            return cls.Params(**params)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            known = ", ".join(cls.Params.model_fields)
            raise LrbenchError(f"{err['msg']}", key=f"params.{key}",
                               hint=f"{cls.type} params are: {known}") from None

    def run(self, dataset, inputs: dict[str, pd.DataFrame], ctx: RunContext) -> Output:
        raise NotImplementedError

    def shard_count(self, has_input: bool) -> int:
        """How many shard tasks a parallel executor may run on other workers before this cell (0: none).
        Each is `run_shard(dataset, ctx, i)` and leaves its work in `ctx.store`; `run` then finds it there
        (and does any shard itself that is missing, so the local executor needs nothing else)."""
        return 0

    def run_shard(self, dataset, ctx: RunContext, shard: int) -> dict[str, Any]:
        """Do shard `shard` of `shard_count()` and return a small summary for the cell's profile."""
        raise NotImplementedError(f"{self.type} has no shards")

    @classmethod
    def check(cls, params: RunnerParams, suite_dir: Path) -> None:
        """What `lrbench validate` can check beyond the params' types without running (files params name);
        raise LrbenchError keyed by the param."""

    @classmethod
    def key_extra(cls, params: RunnerParams, suite_dir: Path) -> str:
        """Extra content for the cell key from the parsed params, e.g. the hash of a file a param points to."""
        return ""

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def top_k(run: pd.DataFrame, k: int | None) -> pd.DataFrame:
    """Keep each query's k best-scored documents (ties broken by doc id, as trec_eval does), ordered by query,
    score descending and doc id descending."""
    order, rank = _ranked(run)
    return run.iloc[order[rank <= k] if k else order]


def _ranks_if_ordered(run: pd.DataFrame):
    """Each row's rank in its query (from 1) when the rows already are in `_ranked`'s order (query id, score
    descending, doc id descending; string ids, no NaN score), else None. Checked on adjacent rows with Arrow's
    comparisons, which cost a fraction of ordering the ids."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(run) < 2 or any(run[c].dtype != "str" for c in ("query_id", "doc_id")):
        return None
    scores = run["score"].to_numpy()
    if scores.dtype.kind not in "fi" or (scores.dtype.kind == "f" and np.isnan(scores).any()):
        return None
    q, d = (pa.array(run[c]) for c in ("query_id", "doc_id"))
    q, d = (a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in (q, d))
    if q.null_count or d.null_count:
        return None
    same_query = pc.equal(q[1:], q[:-1]).to_numpy(zero_copy_only=False)
    tie = same_query & (scores[1:] == scores[:-1])
    if not (pc.all(pc.greater_equal(q[1:], q[:-1])).as_py() and (scores[1:] <= scores[:-1])[same_query].all()
            and pc.all(pc.less_equal(d[1:], d[:-1]).filter(pa.array(tie))).as_py() is not False):
        return None
    from lrbench.datasets.ranking_order import ranks_in_query

    query_codes = np.r_[0, np.cumsum(~same_query)]  # rows of a query are together: codes count query changes
    return ranks_in_query(query_codes, int(query_codes[-1]) + 1)[0]


def _ranked(run: pd.DataFrame):
    """(the rows ordered by query, score descending and doc id descending; each one's rank in its query, from 1)."""
    from lrbench.datasets.ranking_order import codes, ranked_order, ranks_in_query

    queries, _ = codes(run["query_id"])
    scores = run["score"].to_numpy()
    order = ranked_order(queries, scores if scores.dtype.kind in "fi" else scores.astype(float),
                         codes(run["doc_id"], descending=True)[0])
    return order, ranks_in_query(queries[order], int(queries.max()) + 1 if len(queries) else 0)[0]
