"""The one parse of a cell spec's params and compress block: what `lrbench validate` reports and what a run
keys and hands to its runner are the same objects."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrbench.errors import LrbenchError
from lrbench.suites.cells import canonical_json


@dataclass(frozen=True)
class ParsedConfig:
    """A spec's typed params (the runner's `Params`) and typed compress block (None without one)."""

    params: Any
    compress: Any = None


def parsed_key(system: str, point: dict[str, Any]) -> tuple[str, str]:
    """Where a checked suite keeps the parse of one system's sweep point (LoadedSuite.parsed)."""
    return system, canonical_json(point)


def check_config(runner_cls, params: dict[str, Any], compress: dict[str, Any] | None,
                 suite_dir: Path) -> tuple[ParsedConfig | None, list[LrbenchError]]:
    """(the parsed config, or None when it has problems; every problem, keyed params.<field> or
    compress.<field>). The runner's `check` (files its params name) runs on the parsed params."""
    problems: list[LrbenchError] = []
    typed = None
    try:
        typed = runner_cls.parse_params(params)  # a third-party runner may override parse_params
        runner_cls.check(typed, suite_dir)
    except LrbenchError as exc:
        # parse_params raises the first problem; a validation failure is listed in full for `lrbench validate`
        problems += (_validation_problems(runner_cls, params) if typed is None else []) or [exc]
    typed_compress = None
    if compress is not None:
        from lrbench.compression.config import check_compress  # its models load only for systems that have one

        typed_compress, compress_problems = check_compress(compress)
        problems += compress_problems
    if problems:
        return None, problems
    return ParsedConfig(typed, typed_compress), []


def parse_config(runner_cls, params: dict[str, Any], compress: dict[str, Any] | None, suite_dir: Path) -> ParsedConfig:
    """The parsed config, or its first problem raised (keyed params.<field> or compress.<field>)."""
    parsed, problems = check_config(runner_cls, params, compress, suite_dir)
    if problems:
        raise problems[0]
    return parsed


def _validation_problems(runner_cls, params: dict[str, Any]) -> list[LrbenchError]:
    """Every field problem of params that failed to parse, each as one LrbenchError keyed by its field."""
    from pydantic import ValidationError

    try:
        runner_cls.Params(**params)
    except ValidationError as exc:
        return [_field_problem(runner_cls, e) for e in exc.errors()]
    except LrbenchError as exc:  # a validator that raises one itself
        return [exc]
    return []


def _field_problem(runner_cls, e: dict) -> LrbenchError:
    known = ", ".join(runner_cls.Params.model_fields)
    key = ".".join(str(p) for p in e["loc"])
    message = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        near = difflib.get_close_matches(key, list(runner_cls.Params.model_fields), n=1)
        message = f"unknown param '{key}'" + (f" (did you mean '{near[0]}'?)" if near else "")
    elif e["type"] != "value_error" and key:
        message = f"{key}: {message[:1].lower()}{message[1:]}, got {e.get('input')!r}"
    return LrbenchError(message, key=f"params.{key}" if key else "params", hint=f"{runner_cls.type} params are: {known}")
