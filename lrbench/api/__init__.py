"""The Python face of lrbench: the same engine as the command line, called with values instead of flags.

    res = lrbench.run({"name": ..., "datasets": [...], "systems": [...]}, out="results/nb")   # or a suite path
    res.leaderboard; res.perquery("bm25", "scifact"); res.compare("bm25", "minilm"); res.report("report.md")

`lrbench run` calls `run` below; nothing here renders output.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.api.results import Results
from lrbench.suites.loader import LoadedSuite


def _frames_to_references(data: Mapping) -> dict:
    """A `given` system may carry its run as a DataFrame (`params: {run: df}`): replace it by a content-hash
    reference, so the suite stays plain data (cells.json, cell keys) and the key follows the frame's content."""
    from lrbench.runners.combine.given import frame_reference

    data = dict(data)
    systems = []
    for system in data.get("systems") or []:
        params = system.get("params") if isinstance(system, Mapping) else None
        if isinstance(params, Mapping) and isinstance(params.get("run"), pd.DataFrame):
            system = {**system, "params": {**params, "run": frame_reference(params["run"])}}
        systems.append(system)
    if "systems" in data:
        data["systems"] = systems
    return data


def load_suite(suite: str | Path | Mapping | LoadedSuite, base_dir: str | Path | None = None, *,
               mirror: str | Path | None = None, strict: bool = True) -> LoadedSuite:
    """Parse and validate a suite file, or a suite dict whose relative paths resolve against `base_dir`
    (default: the working folder): the object `lrbench run` and `lrbench validate` use. `mirror` sets the
    offline ir_datasets mirror (LRBENCH_MIRROR) for this process and the workers it starts."""
    import lrbench.plan as plan

    if isinstance(suite, LoadedSuite):
        plan.use_mirror(mirror)
        return plan.check(suite, strict=strict)
    if isinstance(suite, Mapping):
        suite = _frames_to_references(suite)
    elif not isinstance(suite, (str, Path)):
        raise LrbenchError(f"a suite is a path or a dict, not {type(suite).__name__}", key="suite")
    return plan.load_suite(suite, base_dir, mirror=mirror, strict=strict)


def run(suite: str | Path | Mapping | LoadedSuite, out: str | Path | None = None, *,
        base_dir: str | Path | None = None, mirror: str | Path | None = None, force: bool = False,
        only: list[str] | None = None, executor: str = "local", address: str | None = None,
        retries: int | None = None, workers: int | None = None, reporter=None, debug: bool = False,
        log: str | None = None) -> Results:
    """Run a suite (a path, a dict or a loaded suite): compute missing cells, reuse stored ones, write the
    leaderboard; return the results folder as DataFrames. A failed cell does not raise: see `Results.failed`.
    `log` (mlflow | wandb), or the suite's `log:` block, then logs every cell to that experiment tracker."""
    from lrbench.executors import run_suite

    loaded = load_suite(suite, base_dir, mirror=mirror)
    outcome = run_suite(loaded, out, executor=executor, address=address, retries=retries, workers=workers,
                        force=force, only=only, reporter=reporter, debug=debug)
    results = Results(outcome.location, outcome=outcome, baseline=loaded.suite.baseline)
    spec = loaded.suite.log
    if log or spec:
        results.log(log or spec.to, experiment=spec.experiment if spec else None, folder=spec.dir if spec else None)
    return results


def open_results(folder: str | Path) -> Results:
    """A results folder written earlier (or its s3://... URI), read without running anything."""
    return Results(folder)


class Evaluation(NamedTuple):
    perquery: pd.DataFrame  # measure, query_id, value
    means: pd.Series  # measure -> mean over the judged queries


def _frame_or_file(value, reader, what: str) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.exists():
            raise LrbenchError(f"{what} file not found", file=str(path))
        return reader(path)
    raise LrbenchError(f"{what} must be a DataFrame or a TREC file path, not {type(value).__name__}", key=what)


def evaluate(run, qrels, measures: list[str] | str = ("nDCG@10",)) -> Evaluation:
    """Score a run with ir-measures, as a cell is scored: per-query values (a judged query with no results
    scores 0, trec_eval -c) and their means. `run`: DataFrame (query_id, doc_id, score) or a TREC run file;
    `qrels`: DataFrame (query_id, doc_id, relevance) or a TREC qrels file."""
    from lrbench.evaluation.evaluate import evaluate_run, parse_measure
    from lrbench.datasets.files import read_trec_qrels, read_trec_run

    measures = [measures] if isinstance(measures, str) else list(measures)
    run = _frame_or_file(run, read_trec_run, "run")
    qrels = _frame_or_file(qrels, read_trec_qrels, "qrels")
    for frame, columns, what in ((run, ("query_id", "doc_id", "score"), "run"),
                                 (qrels, ("query_id", "doc_id", "relevance"), "qrels")):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise LrbenchError(f"{what} lacks column(s) {', '.join(missing)}", key=what,
                               hint=f"{what} columns: {', '.join(columns)}")
    run = run.assign(query_id=run["query_id"].astype(str), doc_id=run["doc_id"].astype(str),
                     score=run["score"].astype(float))
    qrels = qrels.assign(query_id=qrels["query_id"].astype(str), doc_id=qrels["doc_id"].astype(str),
                         relevance=qrels["relevance"].astype(int))
    perquery = evaluate_run(run, qrels, measures)
    display = {str(parse_measure(m)): m for m in measures}
    perquery["measure"] = perquery["measure"].map(lambda m: display.get(m, m))
    means = perquery.groupby("measure", sort=False)["value"].mean()
    return Evaluation(perquery, means.reindex([m for m in measures if m in means.index]))


__all__ = ["Evaluation", "Results", "evaluate", "load_suite", "open_results", "run"]
