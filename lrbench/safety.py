"""Names and paths taken from input (suite names, dataset ids, object keys) must stay inside their folder."""

from __future__ import annotations

import hashlib
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


#: the readable part of a file name made from a label; with the hash the name stays far below 255 bytes
SLUG_CHARS = 64
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=,+@-]*$")
_HASHED = re.compile(r"-[0-9a-f]{10}$")


def safe_file_name(label: str) -> str:
    """One file or folder name per label, unique, bounded in length and readable.

    A short label of letters, digits and - _ . is its own name; any other label becomes a slug of it plus a
    hash of the whole label (`caf_-3f2a9c1b0d`), so labels that differ only in characters a file name
    cannot hold, or beyond the slug's length, get different names. A plain name never ends in what a hashed
    one does, so the two kinds cannot collide. Writers record the label itself inside the file or beside it.
    """
    label = str(label)
    if (_PLAIN.match(label) and len(label) <= SLUG_CHARS and not _HASHED.search(label) and ".." not in label
            and "__" not in label):  # '__' joins two names (export's <dataset>__<system>)
        return label
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", label).strip("._-")[:SLUG_CHARS].rstrip("._-") or "x"
    return f"{slug}-{hashlib.sha256(label.encode('utf-8')).hexdigest()[:10]}"


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
