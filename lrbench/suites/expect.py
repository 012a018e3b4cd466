"""Typed expectations: the suite's `expect:` list (and gate baseline files), checked by `lrbench gate`.

Three kinds, told apart by their keys:
- value:   {dataset?, system, measure, value, tolerance?}        absolute score, e.g. a published number
- delta:   {dataset?, system, measure, min_delta_vs, value?, tolerance?}
           system's score minus the other system's score must be >= value
- latency: {dataset?, system, latency_p50_ratio_vs, max, tolerance?}
           profile latency_ms_p50 of system / of the other system, measured in the same run, must be <= max
Without `dataset` an expectation applies to every dataset the system runs on.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lrbench.errors import LrbenchError


class _Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, description="dataset id or name; every dataset when omitted")
    system: str = Field(description="system name (or a sweep point label such as bm25[b=0.2])")
    tolerance: float = Field(0.0, ge=0, description="slack: a result outside the bound by at most this is OKISH")

    kind: ClassVar[str] = "value"

    def references(self) -> list[str]:
        return [self.system]


class ValueExpectation(_Expectation):
    measure: str
    value: float

    def describe(self) -> str:
        return f"{self.measure} = {self.value:g}" + (f" ± {self.tolerance:g}" if self.tolerance else "")


class DeltaExpectation(_Expectation):
    measure: str
    min_delta_vs: str = Field(description="the system to compare against")
    value: float = Field(0.0, description="smallest allowed difference system - min_delta_vs")

    kind: ClassVar[str] = "delta"

    def references(self) -> list[str]:
        return [self.system, self.min_delta_vs]

    def describe(self) -> str:
        return f"{self.measure} - {self.min_delta_vs} >= {self.value:+g}" + (
            f" (tolerance {self.tolerance:g})" if self.tolerance else "")


class LatencyRatioExpectation(_Expectation):
    latency_p50_ratio_vs: str = Field(description="the system whose p50 latency is the denominator")
    max: float = Field(gt=0, description="largest allowed latency_ms_p50 ratio")

    kind: ClassVar[str] = "latency"

    def references(self) -> list[str]:
        return [self.system, self.latency_p50_ratio_vs]

    def describe(self) -> str:
        return f"p50 latency / {self.latency_p50_ratio_vs} <= {self.max:g}" + (
            f" (tolerance {self.tolerance:g})" if self.tolerance else "")


Expectation = Union[ValueExpectation, DeltaExpectation, LatencyRatioExpectation]
KINDS: tuple[type[_Expectation], ...] = (ValueExpectation, DeltaExpectation, LatencyRatioExpectation)


def model_for(raw: dict[str, Any]) -> type[_Expectation]:
    if "latency_p50_ratio_vs" in raw:
        return LatencyRatioExpectation
    if "min_delta_vs" in raw:
        return DeltaExpectation
    return ValueExpectation


def _allowed_keys() -> list[str]:
    return list(dict.fromkeys(k for model in KINDS for k in model.model_fields))


def parse_expectation(raw: Any, index: int, *, file: str | None = None, line_of=None) -> Expectation:
    """One `expect:` entry -> a typed expectation; LrbenchError names the entry and the key."""
    line = (lambda loc: line_of(loc) if line_of else None)
    if not isinstance(raw, dict):
        raise LrbenchError("an expectation must be a mapping", file=file, line=line(("expect", index)),
                           key=f"expect[{index}]",
                           hint="e.g. {system: bm25, measure: nDCG@10, value: 0.6789, tolerance: 0.005}")
    model = model_for(raw)
    try:
        return model(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = str(loc[0]) if loc else ""
        where = ("expect", index, field) if field in raw else ("expect", index)
        key = f"expect[{index}]" + (f".{field}" if field else "")
        if first["type"] == "extra_forbidden":
            allowed = list(model.model_fields)
            near = difflib.get_close_matches(field, _allowed_keys(), n=1)
            hint = (f"did you mean '{near[0]}'? " if near else "") + \
                f"a {model.kind} expectation takes: {', '.join(allowed)}"
            message = f"unknown key '{field}'"
        elif first["type"] == "missing":
            message = "required key is missing"
            hint = (f"add '{field}:'; value checks: {{system, measure, value, tolerance}}, delta checks: "
                    f"{{system, measure, min_delta_vs, value}}, latency checks: {{system, latency_p50_ratio_vs, max}}")
        else:
            message = first["msg"]
            hint = "see the gate section of docs/results-report-gate.md"
        raise LrbenchError(message, file=file, line=line(where), key=key, hint=hint) from None


def _canonical(measure: str) -> str:
    try:
        from lrbench.results.evaluate import parse_measure

        return str(parse_measure(measure))
    except LrbenchError:
        return measure


def expectation_errors(suite) -> list[tuple[str, tuple, str | None]]:
    """Check a suite's `expect:` list: (message, location, hint) per problem, for the loader."""
    from lrbench.suites.cells import expand_cells

    problems: list[tuple[str, tuple, str | None]] = []
    names = [s.name for s in suite.systems]
    labels = list(dict.fromkeys(c.system_label for c in expand_cells(suite)))
    known = set(names) | set(labels)
    datasets = {d.id: d for d in suite.datasets} | {d.label: d for d in suite.datasets}
    for i, raw in enumerate(suite.expect):
        try:
            exp = parse_expectation(raw, i)
        except LrbenchError as e:
            field = e.key.split(".", 1)[1] if e.key and "." in e.key else None
            problems.append((e.message, ("expect", i, field) if field else ("expect", i), e.hint))
            continue
        fields = ["system"] + (["min_delta_vs"] if exp.kind == "delta" else []) + \
            (["latency_p50_ratio_vs"] if exp.kind == "latency" else [])
        for field, name in zip(fields, exp.references()):
            if name not in known:
                near = difflib.get_close_matches(name, sorted(known), n=1)
                problems.append((f"names unknown system '{name}'", ("expect", i, field),
                                 f"did you mean '{near[0]}'?" if near else f"systems: {', '.join(names)}"))
        if exp.dataset is not None and exp.dataset not in datasets:
            near = difflib.get_close_matches(exp.dataset, list(datasets), n=1)
            problems.append((f"names unknown dataset '{exp.dataset}'", ("expect", i, "dataset"),
                             f"did you mean '{near[0]}'?" if near else f"datasets: {', '.join(datasets)}"))
            continue
        if exp.kind in ("value", "delta"):
            specs = [datasets[exp.dataset]] if exp.dataset else list(suite.datasets)
            for spec in specs:
                measures = spec.measures if spec.measures is not None else suite.measures
                if measures and _canonical(exp.measure) not in {_canonical(m) for m in measures}:
                    problems.append((f"measure '{exp.measure}' is not evaluated on dataset '{spec.label}'",
                                     ("expect", i, "measure"),
                                     f"add it to the measures of '{spec.label}' (evaluated: {', '.join(measures)})"))
                    break
    return problems


def load_expectations(raw: list, *, file: str | None = None, line_of=None) -> list[Expectation]:
    return [parse_expectation(item, i, file=file, line_of=line_of) for i, item in enumerate(raw)]
