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

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        if self.params.run:
            path = ctx.suite_dir / self.params.run
            if not path.exists():
                raise LrbenchError(f"run file not found: {path}", key="params.run",
                                   hint="paths resolve against the suite file's folder")
            run = read_trec_run(path)
        else:
            run = dataset.candidates()
            if run is None:
                raise LrbenchError(f"{dataset.spec.label} ships no candidate list", key="params.run",
                                   hint="set params.run to a TREC run file, or use a candidates: dataset")
        return Output(run=top_k(run, self.params.k), profile={"source": self.params.run or "dataset candidates"})
