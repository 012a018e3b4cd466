"""A system's `resources:` block ({num_cpus, num_gpus, memory, custom}) checked and normalised (no Ray here)."""

from __future__ import annotations

import re
from typing import Any

RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory", "custom")
HINT = "resources take num_cpus, num_gpus, memory (bytes or '8GB') and custom: {NAME: amount}"
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class ResourceProblem(ValueError):
    def __init__(self, message: str, sub: str | None = None):
        super().__init__(message)
        self.sub = sub


def size_in_bytes(value) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"'{value}' is not a size")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_resources(spec: dict[str, Any] | None) -> dict[str, Any]:
    """Ray-style task options (one CPU by default); ResourceProblem names the bad key."""
    options: dict[str, Any] = {"num_cpus": 1}
    for name, value in (spec or {}).items():
        if name not in RESOURCE_KEYS:
            raise ResourceProblem(f"unknown resource '{name}'", name)
        if name == "custom":
            if not isinstance(value, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                      and v >= 0 for v in value.values()):
                raise ResourceProblem("custom resources must map names to amounts", name)
            options["resources"] = dict(value)
        elif name == "memory":
            try:
                options["memory"] = size_in_bytes(value)
            except ValueError as exc:
                raise ResourceProblem(str(exc), name) from None
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ResourceProblem(f"{name} must be a number >= 0, not {value!r}", name)
            options[name] = value
    return options
