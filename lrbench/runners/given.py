"""`given`: an existing run as a system (the dataset's candidate list, or any TREC run file)."""

from __future__ import annotations

from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams, top_k
from lrbench.suites.datasets.files import read_trec_run
from lrbench.suites.fingerprints import hash_files


class GivenParams(RunnerParams):
    run: str | None = None  # a TREC run file; defaults to the dataset's own candidates
    k: int | None = None


class GivenRunner(Runner):
    """An existing ranking: the dataset's candidate list, or a TREC run file (params.run)."""

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
            run = read_trec_run(ctx.suite_dir / self.params.run)
        else:
            run = dataset.candidates()
            if run is None:
                raise LrbenchError(f"{dataset.spec.label} ships no candidate list", key="params.run",
                                   hint="set params.run to a TREC run file, or use a candidates: dataset")
        return Output(run=top_k(run, self.params.k), profile={"source": self.params.run or "dataset candidates"})
