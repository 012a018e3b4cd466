"""Typed suite model: what a suite YAML file may contain."""

from __future__ import annotations

from typing import Any, Literal

import math

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

#: a sweep larger than this is almost always a typo (and would take minutes just to expand)
MAX_SWEEP_POINTS = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    id: str = Field(description="scheme:source, e.g. irds:beir/scifact/test, or a catalogue name such as scifact")
    name: str | None = Field(None, description="display name; defaults to the id")
    split: str | None = None
    qrels: str | None = None
    topics: str | None = None
    measures: list[str] | None = Field(None, description="overrides the suite's measures for this dataset")
    relevance: dict[int, int] | None = Field(None, description="map raw qrels grades to graded relevance")
    queries_limit: int | None = Field(None, ge=1, description="keep N judged queries or examples (for quick runs)")
    queries_sample: Literal["first", "random", "stratified"] | None = Field(
        None, description="which N: the first, a random draw, or stratified by label (default: stratified for "
                          "classification, first for ranking; see lrbench/datasets/sampling.py)")
    queries_seed: int = Field(0, description="the seed of a random or stratified queries_sample")
    options: dict[str, Any] = Field(default_factory=dict, description="scheme-specific options")

    @property
    def label(self) -> str:
        return self.name or self.id

    @field_validator("name")
    @classmethod
    def _named(cls, value):
        return _not_blank(value)

    @field_validator("relevance")
    @classmethod
    def _something_relevant(cls, value):
        if value and all(grade <= 0 for grade in value.values()):
            raise ValueError("maps every grade to 0 or less: no document would count as relevant and every "
                             "measure would be 0; map the grades that count to 1 or more")
        return value


def _not_blank(value):
    if value is not None and not str(value).strip():
        raise ValueError("a name may not be empty or blank")
    return value


class SystemSpec(_Strict):
    name: str

    @field_validator("name")
    @classmethod
    def _named(cls, value):
        return _not_blank(value)
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    input: str | None = Field(None, description="name of the first-stage system this one reranks")
    inputs: list[str] | None = Field(None, min_length=1,
                                     description="names of the systems whose runs this one combines (fusion)")
    depth: int | None = Field(None, ge=1, description="how many input candidates per query to rerank")
    keep_tail: bool = Field(True, description="keep the input's candidates below `depth` under the reranked "
                                              "ones, in input order (false: return the reranked top-depth alone)")
    compress: dict[str, Any] | None = None
    sweep: dict[str, list[Any]] | None = None
    resources: dict[str, Any] | None = None
    datasets: list[str] | None = Field(None, description="restrict this system to these dataset ids or names")

    @property
    def input_names(self) -> list[str]:
        """Every system whose run this one reads: `inputs:`, or the single `input:`."""
        if self.inputs:
            return list(self.inputs)
        return [self.input] if self.input else []

    @model_validator(mode="after")
    def _one_input_key(self):
        if self.input and self.inputs:
            raise ValueError("give either input: (one system) or inputs: (several), not both")
        return self

    @field_validator("sweep")
    @classmethod
    def _bounded_sweep(cls, value, info: ValidationInfo):
        for key, values in (value or {}).items():
            if not values:
                raise ValueError(f"sweep value list for '{key}' is empty")
        axes = [len(v) for v in (value or {}).values()]
        ratio = (info.data.get("compress") or {}).get("ratio")
        if isinstance(ratio, list):
            axes.append(len(ratio))
        points = math.prod(axes) if axes else 1
        if points > MAX_SWEEP_POINTS:
            raise ValueError(f"the sweep has {points:,} points, more than {MAX_SWEEP_POINTS:,}: "
                             "split it into smaller sweeps")
        return value



class LogSpec(_Strict):
    """`log:` after a run, every cell of the results folder goes to an experiment tracker (`lrbench log`)."""

    to: Literal["mlflow", "wandb"]
    experiment: str | None = Field(None, description="experiment (MLflow) or project (W&B) [default: the suite name]")
    dir: str | None = Field(None, description="MLflow file store folder or tracking URI [default: ./mlruns]; "
                                              "W&B: the folder that gets wandb/ [default: .]")


class Suite(_Strict):
    name: str
    description: str = ""
    datasets: list[DatasetSpec] = Field(min_length=1)
    measures: list[str] = Field(default_factory=list)
    baseline: str | None = None
    systems: list[SystemSpec] = Field(min_length=1)
    expect: list[dict[str, Any]] = Field(default_factory=list)
    log: LogSpec | None = None
    plugins: list[str] = Field(default_factory=list,
                               description="modules or .py files (relative to the suite) imported before the suite "
                                           "is checked: they register runners, schemes or measures")

    # Set by the loader, not by users.
    model_config = ConfigDict(extra="forbid")

    def system(self, name: str) -> SystemSpec:
        for system in self.systems:
            if system.name == name:
                return system
        raise KeyError(name)
