"""Names and paths taken from input (suite names, dataset ids, object keys) must stay inside their folder."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from lrbench.errors import LrbenchError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-=@ ]*$")


def safe_name(name: str, *, key: str = "name", file: str | None = None, line: int | None = None) -> str:
    """A name used as one folder name: no separators, no '..', no leading dot."""
    if not _SAFE_NAME.match(name or "") or ".." in name:
        raise LrbenchError(f"'{name}' cannot name a results folder", file=file, line=line, key=key,
                           hint="use letters, digits and - _ . (no '/', '\\' or '..')")
    return name


def safe_relative(rel: str, *, what: str, key: str | None = None) -> PurePosixPath:
    """A relative path (posix form) without '..' components or a root: it cannot leave its base folder."""
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or rel.startswith("~"):
        raise LrbenchError(f"{what} '{rel}' leaves its folder", key=key,
                           hint="ids and names may not contain '..' or start with '/' or '~'")
    return path


def inside(base: Path, rel: str, *, what: str) -> Path:
    """base/rel, checked to stay inside base (after resolving links)."""
    target = (base / safe_relative(rel, what=what)).resolve()
    if target != base.resolve() and base.resolve() not in target.parents:
        raise LrbenchError(f"{what} '{rel}' leaves {base}", hint="refusing to write outside the folder")
    return target
