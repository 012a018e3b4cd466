"""Typed expectations: the suite's `expect:` list (and gate baseline files), checked by `lrbench gate`.

Three kinds, told apart by their keys:
- value:   {dataset?, system, measure, value, tolerance?}        absolute score, e.g. a published number
           or one-sided: {..., min: 0.65} (at least) / {..., max: 30.0} (at most), or both (a range);
           a pinned baseline (`gate --write-baseline`) writes the side of a regression only, so an improvement
           passes
- delta:   {dataset?, system, measure, min_delta_vs, value?, tolerance?, significant?, test?, alpha?}
           system's score minus the other system's score must be >= value; with `significant: true` the
           difference must also be significant by a paired test (t | wilcoxon | randomization) at `alpha`
- latency: {dataset?, system, latency_p50_ratio_vs, max, tolerance?}
           profile latency_ms_p50 of system / of the other system, measured in the same run, must be <= max
- flops:   {dataset?, system, max_flops_per_query}
           profile flops_per_query (forward FLOPs per query, counted on the real batches) must be <= the budget;
           FLOPs do not depend on the machine, so the budget is checked absolutely, with no tolerance
Without `dataset` an expectation applies to every dataset the system runs on.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    value: float | None = Field(None, description="the expected score (two-sided, within tolerance)")
    min: float | None = Field(None, description="the score must be at least this (one-sided)")
    max: float | None = Field(None, description="the score must be at most this (one-sided)")

    @model_validator(mode="after")
    def _one_bound(self):
        if self.value is None and self.min is None and self.max is None:
            raise ValueError("give value: (two-sided), or min: and/or max: (one-sided)")
        if self.value is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either value: or min:/max:, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self

    def describe(self) -> str:
        if self.value is not None:
            return f"{self.measure} = {self.value:g}" + (f" ± {self.tolerance:g}" if self.tolerance else "")
        bounds = [f">= {self.min:g}" if self.min is not None else "", f"<= {self.max:g}" if self.max is not None else ""]
        return f"{self.measure} " + " and ".join(b for b in bounds if b) + (
            f" (tolerance {self.tolerance:g})" if self.tolerance else "")


class DeltaExpectation(_Expectation):
    measure: str
    min_delta_vs: str = Field(description="the system to compare against")
    value: float = Field(0.0, description="smallest allowed difference system - min_delta_vs")
    significant: bool = Field(False, description="the difference must also be significant (paired test)")
    test: Literal["t", "wilcoxon", "randomization"] = "t"
    alpha: float = Field(0.05, gt=0, lt=1)

    kind: ClassVar[str] = "delta"

    def references(self) -> list[str]:
        return [self.system, self.min_delta_vs]

    def describe(self) -> str:
        return f"{self.measure} - {self.min_delta_vs} >= {self.value:+g}" + (
            f" (tolerance {self.tolerance:g})" if self.tolerance else "") + (
            f", significant ({self.test} test, p < {self.alpha:g})" if self.significant else "")


class LatencyRatioExpectation(_Expectation):
    latency_p50_ratio_vs: str = Field(description="the system whose p50 latency is the denominator")
    max: float = Field(gt=0, description="largest allowed latency_ms_p50 ratio")

    kind: ClassVar[str] = "latency"

    def references(self) -> list[str]:
        return [self.system, self.latency_p50_ratio_vs]

    def describe(self) -> str:
        return f"p50 latency / {self.latency_p50_ratio_vs} <= {self.max:g}" + (
            f" (tolerance {self.tolerance:g})" if self.tolerance else "")


class FlopsBudgetExpectation(_Expectation):
    max_flops_per_query: float = Field(gt=0, description="largest allowed forward FLOPs per query, e.g. 2.5e12")
    tolerance: float = Field(0.0, ge=0, le=0, description="none: FLOPs are deterministic")

    kind: ClassVar[str] = "flops"

    def describe(self) -> str:
        return f"FLOPs per query <= {self.max_flops_per_query:.4g}"


Expectation = Union[ValueExpectation, DeltaExpectation, LatencyRatioExpectation, FlopsBudgetExpectation]
KINDS: tuple[type[_Expectation], ...] = (ValueExpectation, DeltaExpectation, LatencyRatioExpectation,
                                         FlopsBudgetExpectation)


def model_for(raw: dict[str, Any]) -> type[_Expectation]:
    if "max_flops_per_query" in raw:
        return FlopsBudgetExpectation
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
                    f"{{system, measure, min_delta_vs, value}}, latency checks: {{system, latency_p50_ratio_vs, max}}, "
                    f"FLOPs budgets: {{system, max_flops_per_query}}")
        else:
            message = first["msg"]
            hint = "see the gate section of docs/results-report-gate.md"
        raise LrbenchError(message, file=file, line=line(where), key=key, hint=hint) from None


def load_expectations(raw: list, *, file: str | None = None, line_of=None) -> list[Expectation]:
    return [parse_expectation(item, i, file=file, line_of=line_of) for i, item in enumerate(raw)]
