"""Runner registry: built-ins plus third-party runners from the `lrbench.runners` entry point group."""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib.metadata import entry_points

from lrbench.errors import LrbenchError
from lrbench.runners.base import Runner

ENTRY_POINT_GROUP = "lrbench.runners"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def runner_types() -> list[str]:
    return sorted(_entry_points())


def get_runner(type_name: str) -> type[Runner]:
    eps = _entry_points()
    if type_name not in eps:
        near = difflib.get_close_matches(type_name, list(eps), n=1)
        hint = (f"did you mean '{near[0]}'? " if near else "") + f"known types: {', '.join(sorted(eps))}"
        raise LrbenchError(f"unknown runner type '{type_name}'", key="type", hint=hint)
    try:
        cls = eps[type_name].load()
    except Exception as exc:
        raise LrbenchError(f"runner type '{type_name}' failed to import: {type(exc).__name__}: {exc}",
                           key="type", hint="install the package that provides it") from None
    return cls
