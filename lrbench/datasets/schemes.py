"""The scheme registry: `scheme:` prefix -> Dataset class (built-ins register in lrbench.datasets)."""

from __future__ import annotations

from lrbench.datasets.base import Dataset

SCHEMES: dict[str, type[Dataset]] = {}


def register_scheme(cls: type[Dataset]) -> type[Dataset]:
    SCHEMES[cls.scheme] = cls
    return cls
