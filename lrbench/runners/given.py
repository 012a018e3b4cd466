"""`given`: an existing run as a system (the dataset's candidate list, or a run file in a common format)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams, top_k
from lrbench.suites.datasets.runfiles import read_run
from lrbench.suites.fingerprints import hash_files


class GivenParams(RunnerParams):
    run: str | None = None  # a run file; defaults to the dataset's own candidates
    #: trec | ranx | parquet | jsonl | rankllm; None: from the file's extension and content
    format: Literal["trec", "ranx", "parquet", "jsonl", "rankllm"] | None = None
    k: int | None = None


class GivenRunner(Runner):
    """An existing ranking: the dataset's candidate list, or a run file (params.run: TREC, ranx JSON, Parquet,
    JSON lines or RankLLM)."""

    type = "given"
    version = "1"
    Params = GivenParams

    @classmethod
    def key_extra(cls, params, suite_dir: Path) -> str:
        run = params.get("run")
        path = suite_dir / run if run else None
        return hash_files([path]) if path and path.exists() else ""

    @classmethod
    def check(cls, params: GivenParams, suite_dir: Path) -> None:
        if params.run and not (suite_dir / params.run).exists():
            raise LrbenchError(f"run file not found: {suite_dir / params.run}", key="params.run",
                               hint="paths resolve against the suite file's folder")

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        if self.params.run:
            self.check(self.params, ctx.suite_dir)
            run = read_run(ctx.suite_dir / self.params.run, self.params.format)
        else:
            run = dataset.candidates()
            if run is None:
                raise LrbenchError(f"{dataset.spec.label} ships no candidate list", key="params.run",
                                   hint="set params.run to a TREC run file, or use a candidates: dataset")
        return Output(run=top_k(run, self.params.k), profile={"source": self.params.run or "dataset candidates"})
