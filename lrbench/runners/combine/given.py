"""`given`: an existing run as a system (the dataset's candidate list, a run file in a common format, or a
DataFrame passed through the Python API)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from lrbench.atomic import write_with
from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams, top_k
from lrbench.datasets.runfiles import checked_run, read_run
from lrbench.datasets.fingerprints import hash_files
from lrbench.datasets.inputs import regular_file

#: how a DataFrame run appears in params (and so in the cell key): its content hash
FRAME_PREFIX = "frame:"
_FRAMES: dict[str, pd.DataFrame] = {}


def _frames_dir() -> Path:
    from lrbench.paths import cache_dir

    return cache_dir() / "given-frames"


def frame_reference(run: pd.DataFrame) -> str:
    """Keep an in-memory run (query_id, doc_id, score) for `given` and return the param value naming it.

    The reference is a hash of the run's content (row order does not matter), so the same frame gives the same
    cell key in every session; it is also written under the cache folder so worker processes can read it."""
    missing = {"query_id", "doc_id", "score"} - set(run.columns)
    if missing:
        raise LrbenchError(f"a given run frame lacks column(s) {', '.join(sorted(missing))}", key="params.run",
                           hint="pass a DataFrame with query_id, doc_id, score")
    frame = pd.DataFrame({"query_id": run["query_id"].astype(str), "doc_id": run["doc_id"].astype(str),
                          "score": run["score"].astype(float)})
    frame = checked_run(frame, "the run frame (params.run)")
    frame = frame.sort_values(["query_id", "doc_id", "score"]).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[:32]
    ref = FRAME_PREFIX + digest
    _FRAMES[ref] = frame
    path = _frames_dir() / f"{digest}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_with(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return ref


def _frame(ref: str) -> pd.DataFrame:
    if ref not in _FRAMES:
        path = _frames_dir() / f"{ref.removeprefix(FRAME_PREFIX)}.parquet"
        if not path.exists():
            raise LrbenchError(f"run frame {ref} is not known in this process", key="params.run",
                               hint="pass the DataFrame itself through lrbench.run or lrbench.load_suite")
        _FRAMES[ref] = pd.read_parquet(path)
    return _FRAMES[ref].copy()


class GivenParams(RunnerParams):
    run: str | None = None  # a run file or a frame reference; defaults to the dataset's own candidates
    #: trec | ranx | parquet | jsonl | rankllm; None: from the file's extension and content
    format: Literal["trec", "ranx", "parquet", "jsonl", "rankllm"] | None = None
    k: int | None = Field(None, ge=1, description="keep the top k documents per query")


class GivenRunner(Runner):
    """An existing ranking: the dataset's candidate list, or a run file (params.run: TREC, ranx JSON, Parquet,
    JSON lines or RankLLM)."""

    type = "given"
    version = "1"
    Params = GivenParams

    @classmethod
    def key_extra(cls, params: GivenParams, suite_dir: Path) -> str:
        run = params.run
        if isinstance(run, str) and run.startswith(FRAME_PREFIX):
            return ""  # the reference is itself the content hash
        path = suite_dir / run if run else None
        return hash_files([path]) if path and path.is_file() else ""  # check() reports the rest

    @classmethod
    def check(cls, params: GivenParams, suite_dir: Path) -> None:
        if params.run and not params.run.startswith(FRAME_PREFIX):
            if not (suite_dir / params.run).exists():
                raise LrbenchError(f"run file not found: {suite_dir / params.run}", key="params.run",
                                   hint="paths resolve against the suite file's folder")
            regular_file(suite_dir / params.run, "params.run")

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        if self.params.run and self.params.run.startswith(FRAME_PREFIX):
            run = _frame(self.params.run)
        elif self.params.run:
            self.check(self.params, ctx.suite_dir)
            run = read_run(ctx.suite_dir / self.params.run, self.params.format)
        else:
            run = dataset.candidates()
            if run is None:
                raise LrbenchError(f"{dataset.spec.label} ships no candidate list", key="params.run",
                                   hint="set params.run to a TREC run file, or use a candidates: dataset")
        return Output(run=top_k(run, self.params.k), profile={"source": self.params.run or "dataset candidates"})
