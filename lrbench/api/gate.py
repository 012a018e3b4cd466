"""`lrbench gate`: run a suite (reusing cached cells) or open a results folder, then check its expectations.

The checks themselves and their output (tables, GitHub annotations, JUnit) live in lrbench/presentation/gate.py;
this module is the part that runs suites, so it sits beside the rest of the API.
"""

from __future__ import annotations

from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.presentation.gate import GateResult, check_expectations, read_baseline, write_baseline
from lrbench.store.resultsdir import ResultsDir
from lrbench.suites.expect import Expectation, load_expectations


def _expectations(expect: list, source: str, line_of=None) -> list[tuple[Expectation, str, int | None]]:
    parsed = load_expectations(expect, file=source, line_of=line_of)
    return [(exp, source, line_of(("expect", i)) if line_of else None) for i, exp in enumerate(parsed)]


def is_results_folder(target: str | Path) -> bool:
    """A results folder (or URI) written by `lrbench run`, rather than a suite file."""
    from lrbench.store.location import ResultsLocation

    location = ResultsLocation.of(target)
    return location.remote or (location.path.is_dir() and (location.path / "cells.json").exists())


def run_gate(target: str | Path, *, baseline: Path | None = None, out_dir: Path | None = None,
             reporter=None, force: bool = False, write_baseline_to: Path | None = None,
             tolerance: float = 0.001, executor: str = "local", address: str | None = None,
             workers: int | None = None, retries: int | None = None) -> GateResult:
    """Check expectations: of a suite, after running it (reusing cached cells) on the given executor; or of a
    results folder, computing nothing (its suite's expect: list as stored in cells.json, plus --baseline)."""
    if not is_results_folder(target) and Path(target).is_dir():
        raise LrbenchError(f"{target} is a folder but not a results folder (no cells.json)", key="SUITE|RESULTS",
                           hint="pass a suite file, or a folder written by `lrbench run SUITE --out DIR`")
    if is_results_folder(target):
        if out_dir is not None or force:
            raise LrbenchError("a results folder is checked as it is: --out and --force apply to a suite",
                               key="--out" if out_dir is not None else "--force",
                               hint="pass the suite file to run it, or drop the option")
        results = ResultsDir(target)
        source = str(results.root / "cells.json")
        expectations = _expectations(results.suite_config.get("expect") or [], source)
        failed_cells = [(f["dataset"], f["system"], f.get("error") or "failed") for f in results.info.get("failed", [])]
        failed_keys = {(d, s) for d, s, _ in failed_cells} | \
            {(f["dataset"], f.get("system_name", f["system"])) for f in results.info.get("failed", [])}
        suite_name, folder = results.suite_name, results.root
    else:
        from lrbench.executors import make_executor
        from lrbench.plan import load_suite

        loaded = load_suite(target)
        expectations = _expectations(loaded.suite.expect, str(target), loaded.located.line_of)
        results = None
    if baseline is not None:
        if not Path(baseline).exists():
            raise LrbenchError("gate baseline file not found", file=str(baseline),
                               hint="write one with --write-baseline FILE")
        expectations += read_baseline(Path(baseline))
    if not expectations and write_baseline_to is None:
        raise LrbenchError("nothing to check: the suite has no 'expect:' list and no --baseline was given",
                           file=str(target), hint="add expect: entries or pass --baseline FILE")
    if results is None:
        engine = make_executor(executor, loaded, out_dir, address=address, retries=retries, workers=workers,
                               force=force, reporter=reporter)
        suite_result = engine.run()
        results = ResultsDir(suite_result.location)
        failed = {(c.cell.dataset_label, c.cell.system_label): c.error or "failed" for c in suite_result.failed}
        failed_cells = [(d, s, e) for (d, s), e in failed.items()]
        # a failed cell's own system label and its system name both count as failed
        failed_keys = set(failed) | {(c.cell.dataset_label, c.cell.system.name) for c in suite_result.failed}
        suite_name, folder = loaded.suite.name, suite_result.out_dir
    result = GateResult(suite_name, folder, failed_cells=failed_cells)
    if write_baseline_to is not None:
        write_baseline(results, write_baseline_to, tolerance)
    result.checks = check_expectations(results, expectations, failed_keys)
    return result


