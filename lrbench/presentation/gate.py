"""The CI regression gate: run a suite (reusing cached cells), then check its expectations.

Outcomes per check: OK (holds), OKISH (holds only thanks to the tolerance: the number moved),
FAIL. Latency checks compare p50 ratios measured in the same run, never absolute times.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lrbench.errors import LrbenchError
from lrbench.evaluation.measures import canonical, higher_is_better
from lrbench.store.resultsdir import ResultsDir
from lrbench.suites.expect import Expectation, load_expectations

#: a value check whose measured value differs from the expected one by at most this is unchanged (OK):
#: expected values are written with four decimals
UNCHANGED = 5e-5 + 1e-12


@dataclass
class Check:
    expectation: Expectation
    source: str  # file the expectation came from
    line: int | None
    dataset: str
    dataset_id: str
    system: str
    subject: str  # measure, or "latency_ms_p50 ratio"
    expected: str
    outcome: str  # OK | OKISH | FAIL
    measured: float | None = None
    delta: float | None = None
    detail: str = ""

    @property
    def message(self) -> str:
        dataset = self.dataset if self.dataset == self.dataset_id else f"{self.dataset} ({self.dataset_id})"
        head = f"{self.outcome} dataset {dataset}, system {self.system}, {self.subject}: expected {self.expected}"
        if self.measured is None:
            return f"{head}, measured nothing ({self.detail})"
        text = f"{head}, measured {_fmt(self.measured)}"
        if self.delta is not None:
            text += f" (delta {self.delta:+.4f})"
        return text + (f"; {self.detail}" if self.detail else "")


@dataclass
class GateResult:
    suite: str
    out_dir: Path
    checks: list[Check] = field(default_factory=list)
    failed_cells: list[tuple[str, str, str]] = field(default_factory=list)  # dataset, system, error

    @property
    def ok(self) -> bool:
        return not self.failed_cells and all(c.outcome != "FAIL" for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.checks)


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


# -- checking ---------------------------------------------------------------------------

def _datasets_for(results: ResultsDir, exp: Expectation, failed: set[tuple[str, str]]) -> list[str]:
    labels = list(dict.fromkeys(results.datasets() + [d for d, _ in failed]))
    if exp.dataset:
        return [d for d in labels if results.dataset_matches(d, exp.dataset)] or [exp.dataset]
    return [d for d in labels if results.resolve(d, exp.system) or (d, exp.system) in failed]


def _one(results: ResultsDir, dataset: str, name: str):
    cells = results.resolve(dataset, name)
    if len(cells) > 1:
        raise LrbenchError(f"'{name}' is a sweep with {len(cells)} points on {dataset}",
                           key="expect", hint="name one point, e.g. " + cells[0].system)
    return cells[0] if cells else None


def check_expectations(results: ResultsDir, expectations: list[tuple[Expectation, str, int | None]],
                       failed: set[tuple[str, str]] | None = None) -> list[Check]:
    """Evaluate (expectation, source file, line) triples against a results folder."""
    failed = failed or set()
    checks: list[Check] = []
    for exp, source, line in expectations:
        for dataset in _datasets_for(results, exp, failed):
            targets = results.resolve(dataset, exp.system) if exp.kind in ("value", "flops") else \
                [_one(results, dataset, exp.system)]
            if not targets or targets == [None]:
                targets = [None]
            for cell in targets:
                checks.append(_check(results, exp, source, line, dataset, cell))
    return checks


def _check(results, exp, source, line, dataset, cell) -> Check:
    system = cell.system if cell else exp.system
    base = dict(expectation=exp, source=source, line=line, dataset=dataset,
                dataset_id=results.dataset_id(dataset), system=system)
    if exp.kind == "flops":
        subject, expected = "flops_per_query", f"<= {exp.max_flops_per_query:.4g}"
    elif exp.kind == "latency":
        subject, expected = f"latency_ms_p50 ratio vs {exp.latency_p50_ratio_vs}", f"<= {exp.max:g}" + (
            f" (tolerance {exp.tolerance:g})" if exp.tolerance else "")
    elif exp.kind == "delta":
        subject = f"{exp.measure} delta vs {exp.min_delta_vs}"
        expected = f">= {exp.value:+.4f}" + (f" (tolerance {exp.tolerance:g})" if exp.tolerance else "")
    else:
        subject = exp.measure
        expected = (f"{exp.value:.4f}" + (f" ± {exp.tolerance:g}" if exp.tolerance else "")) \
            if exp.value is not None else _bounds(exp)
    if exp.kind == "delta" and exp.significant:
        expected += f", significant ({exp.test}, p < {exp.alpha:g})"
    base.update(subject=subject, expected=expected)
    if cell is None:
        return Check(**base, outcome="FAIL", detail=f"no result for {exp.system} on {dataset} (cell failed or missing)")

    if exp.kind == "value":
        measured = cell.score(canonical(exp.measure, cell.task))
        if measured is None:
            return Check(**base, outcome="FAIL", detail=f"{exp.measure} was not evaluated")
        if exp.value is None:
            return _one_sided(base, exp, measured)
        delta = measured - exp.value
        outcome = "OK" if abs(delta) <= UNCHANGED else ("OKISH" if abs(delta) <= exp.tolerance + 1e-12 else "FAIL")
        return Check(**base, outcome=outcome, measured=measured, delta=delta,
                     detail="inside tolerance but moved" if outcome == "OKISH" else "")

    if exp.kind == "flops":
        measured = cell.profile.flops_per_query
        if measured is None:
            return Check(**base, outcome="FAIL", detail=f"{cell.system} reported no flops_per_query in its profile "
                                                        "(a runner without a model, or a cell stored before FLOPs)")
        outcome = "OK" if measured <= exp.max_flops_per_query else "FAIL"
        return Check(**base, outcome=outcome, measured=measured, delta=measured - exp.max_flops_per_query)

    other_name = exp.min_delta_vs if exp.kind == "delta" else exp.latency_p50_ratio_vs
    other = _one(results, dataset, other_name)
    if other is None:
        return Check(**base, outcome="FAIL", detail=f"no result for {other_name} on {dataset}")
    if exp.kind == "delta":
        measure = canonical(exp.measure, cell.task)
        mine, theirs = cell.score(measure), other.score(measure)
        if mine is None or theirs is None:
            return Check(**base, outcome="FAIL", detail=f"{exp.measure} was not evaluated")
        measured = mine - theirs
        slack = measured - exp.value
        outcome = "OK" if slack >= -1e-12 else ("OKISH" if slack >= -exp.tolerance - 1e-12 else "FAIL")
        detail = f"{cell.system} {_fmt(mine)} vs {other.system} {_fmt(theirs)}"
        if exp.significant and outcome != "FAIL":
            outcome, detail = _significance(cell, other, measure, exp, outcome, detail)
        return Check(**base, outcome=outcome, measured=measured, delta=slack, detail=detail)

    mine, theirs = cell.profile.latency_ms_p50, other.profile.latency_ms_p50
    if not isinstance(mine, (int, float)) or not isinstance(theirs, (int, float)) or not theirs:
        missing = cell.system if not isinstance(mine, (int, float)) else other.system
        return Check(**base, outcome="FAIL", detail=f"{missing} reported no latency_ms_p50 in its profile")
    ratio = float(mine) / float(theirs)
    outcome = "OK" if ratio <= exp.max else ("OKISH" if ratio <= exp.max + exp.tolerance else "FAIL")
    return Check(**base, outcome=outcome, measured=ratio, delta=ratio - exp.max,
                 detail=f"p50 {float(mine):.3f} ms vs {float(theirs):.3f} ms")


def _bounds(exp) -> str:
    bounds = [f">= {exp.min:.4f}" if exp.min is not None else "", f"<= {exp.max:.4f}" if exp.max is not None else ""]
    return " and ".join(b for b in bounds if b) + (f" (tolerance {exp.tolerance:g})" if exp.tolerance else "")


def _one_sided(base: dict, exp, measured: float) -> Check:
    """min:/max: checks: inside the bounds is OK (an improvement never fails); outside by at most the tolerance is
    OKISH; beyond, FAIL. `delta` is the distance outside the nearest bound (0 inside)."""
    below = exp.min - measured if exp.min is not None else -math.inf
    above = measured - exp.max if exp.max is not None else -math.inf
    outside = max(below, above)
    if outside <= UNCHANGED:
        return Check(**base, outcome="OK", measured=measured, delta=0.0)
    outcome = "OKISH" if outside <= exp.tolerance + 1e-12 else "FAIL"
    side = "below min" if below >= above else "above max"
    return Check(**base, outcome=outcome, measured=measured, delta=-outside if side == "below min" else outside,
                 detail=f"{side} by {outside:.4f}")


def _significance(cell, other, measure: str, exp, outcome: str, detail: str) -> tuple[str, str]:
    """The paired test of `cell` against `other` on their common per-query values: the delta check holds only if
    the difference is significant at `alpha` (a FAIL otherwise, whatever the tolerance)."""
    from lrbench.presentation.report import paired_values
    from lrbench.statistics.significance import paired_test

    x, y = paired_values(cell, other, measure)
    if len(x) < 2:
        return "FAIL", f"{detail}; fewer than 2 common queries with per-query values, no significance test"
    result = paired_test(exp.test, x, y)
    if not result.pvalue < exp.alpha:
        return "FAIL", f"{detail}; not significant: {exp.test} p = {result.pvalue:.4g} over {len(x)} queries"
    return outcome, f"{detail}; {exp.test} p = {result.pvalue:.4g} over {len(x)} queries"


# -- baseline files ---------------------------------------------------------------------

def read_baseline(path: Path) -> list[tuple[Expectation, str, int | None]]:
    from lrbench.suites.yamlsrc import load_yaml

    located = load_yaml(path)
    data = located.data
    if not isinstance(data, dict) or not isinstance(data.get("expect"), list):
        raise LrbenchError("a gate baseline file must be a mapping with an 'expect:' list", file=str(path), line=1,
                           hint="write one with `lrbench gate SUITE --write-baseline FILE`")
    parsed = load_expectations(data["expect"], file=str(path), line_of=located.line_of)
    return [(exp, str(path), located.line_of(("expect", i))) for i, exp in enumerate(parsed)]


def write_baseline(results: ResultsDir, path: Path, tolerance: float) -> int:
    """Pin every (dataset, system, measure) of a results folder as a one-sided expectation: `min:` for a measure
    where higher is better, `max:` where lower is (perplexity), so only a regression fails."""
    import yaml

    from lrbench.version import __version__

    entries = []
    for dataset in results.datasets():
        for cell in results.cells_of(dataset):
            for display, canon in results.measures(dataset):
                value = cell.score(canon)
                if value is None or math.isnan(value):
                    continue
                # the side of a regression only: an improvement must not fail the gate
                side = "min" if higher_is_better(canon, cell.task) else "max"
                entries.append({"dataset": dataset, "system": cell.system, "measure": display,
                                side: round(value, 6), "tolerance": tolerance})
    fingerprints = {d: (results.cells_of(d)[0].fingerprint if results.cells_of(d) else None)
                    for d in results.datasets()}
    header = (f"# lrbench gate baseline for suite '{results.suite_name}', written by lrbench {__version__} on "
              f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.\n"
              f"# Check with: lrbench gate SUITE --baseline {path.name}\n")
    body = {"suite": results.suite_name, "fingerprints": fingerprints, "expect": entries}
    from lrbench.atomic import write_text

    write_text(path, header + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=200))
    return len(entries)


# -- output -----------------------------------------------------------------------------

STYLE = {"OK": "green", "OKISH": "yellow", "FAIL": "bold red"}


def rich_table(result: GateResult):
    from rich.table import Table

    table = Table(title=f"lrbench gate: {result.suite}", title_justify="left")
    for name, justify in (("outcome", "left"), ("dataset", "left"), ("system", "left"), ("check", "left"),
                          ("expected", "right"), ("measured", "right"), ("delta", "right"), ("note", "left")):
        table.add_column(name, justify=justify)
    for c in result.checks:
        table.add_row(f"[{STYLE[c.outcome]}]{c.outcome}[/]", c.dataset, c.system, c.subject, c.expected,
                      _fmt(c.measured) if c.measured is not None else "-",
                      f"{c.delta:+.4f}" if c.delta is not None else "-", c.detail)
    return table


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github_annotations(result: GateResult) -> list[str]:
    """Workflow commands: ::error for FAIL, ::warning for OKISH, pointing at the expectation's line."""
    lines = []
    for c in result.checks:
        if c.outcome == "OK":
            continue
        level = "error" if c.outcome == "FAIL" else "warning"
        props = [f"file={_gh_escape(os.path.relpath(c.source) if os.path.isabs(c.source) else c.source, True)}"]
        if c.line:
            props.append(f"line={c.line}")
        props.append(f"title={_gh_escape('lrbench gate ' + c.outcome, True)}")
        lines.append(f"::{level} {','.join(props)}::{_gh_escape(c.message)}")
    for dataset, system, error in result.failed_cells:
        lines.append(f"::error title=lrbench gate cell failed::{_gh_escape(f'{system} on {dataset}: {error}')}")
    return lines


def junit_xml(result: GateResult) -> str:
    cases = []
    for c in result.checks:
        name = quoteattr(f"{c.system} {c.subject} {c.expected}")
        classname = quoteattr(f"lrbench.gate.{result.suite}.{c.dataset}")
        body = ""
        if c.outcome == "FAIL":
            body = f"<failure message={quoteattr(c.message)} type=\"FAIL\">{escape(c.message)}</failure>"
        elif c.outcome == "OKISH":
            body = f"<system-out>{escape(c.message)}</system-out>"
        cases.append(f"    <testcase classname={classname} name={name} time=\"0\">{body}</testcase>")
    for dataset, system, error in result.failed_cells:
        message = f"{system} on {dataset}: {error}"
        cases.append(f"    <testcase classname={quoteattr(f'lrbench.gate.{result.suite}.{dataset}')} "
                     f"name={quoteattr(f'{system} runs')} time=\"0\"><error message={quoteattr(message)} "
                     f"type=\"cell failed\">{escape(message)}</error></testcase>")
    failures = result.count("FAIL")
    errors = len(result.failed_cells)
    total = len(cases)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            f"<testsuites tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\">\n"
            f"  <testsuite name={quoteattr('lrbench gate: ' + result.suite)} tests=\"{total}\" "
            f"failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n"
            + "\n".join(cases) + "\n  </testsuite>\n</testsuites>\n")


def summary(result: GateResult) -> str:
    parts = [f"{result.count('OK')} OK", f"{result.count('OKISH')} OKISH", f"{result.count('FAIL')} FAIL"]
    if result.failed_cells:
        parts.append(f"{len(result.failed_cells)} failed cells")
    return ("gate passed: " if result.ok else "gate FAILED: ") + ", ".join(parts)
