"""Write a local file so that a reader sees the old content or the new, never half of it.

The content goes to a temporary name beside the target, is fsynced and renamed into place (os.replace is
atomic on POSIX and Windows). Every output a user or a later command trusts (reports, baselines, JUnit,
comparisons, caches' json) is written through here; a folder (an index, a cache entry, a converted model) is
published whole with `publish_dir`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from lrbench.errors import os_error

TMP_PREFIX = ".tmp-"


def temp_name(path: Path) -> Path:
    return path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{path.name}")


def write_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """`write(tmp_path)` produces the file; it then appears at `path` in one step."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise os_error(exc, path) from None
    finally:
        _remove(tmp)
    return path


def write_together(files: dict[Path, bytes]) -> None:
    """Several files that must change together (a table and the manifest naming it): each is written in full
    to a temporary name first, and only then are they renamed into place, in the given order (so the last
    one, the manifest, commits). A write that fails (a full disk) removes the temporary files and leaves the
    previous files as they were."""
    data = {Path(path): content for path, content in files.items()}
    temps = {path: temp_name(path) for path in data}
    current = None
    try:
        for path, tmp in temps.items():
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data[path])
            _fsync(tmp)
        for path, tmp in temps.items():
            current = path
            os.replace(tmp, path)
    except OSError as exc:
        raise os_error(exc, current) from None
    finally:
        for tmp in temps.values():
            _remove(tmp)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass  # the folder itself is gone or unwritable: nothing was published


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return write_bytes(path, text.encode(encoding))


def publish_dir(folder: str | Path, build: Callable[[Path], Path | None], *, replace: bool = False) -> bool:
    """`build(tmp)` fills a new folder under a temporary name beside `folder` (or returns the folder under tmp
    that holds the result, for tools that choose their own layout); it then appears at `folder` in one rename.

    A reader sees no folder or the whole one. When a complete folder is already there (another process
    published it first), it is kept and this one dropped (returns False), unless `replace`: then the old one
    is moved aside and deleted after the new one is in place. On any failure the temporary folder is removed.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(folder)
    tmp.mkdir()
    old = None
    try:
        built = build(tmp)
        source = tmp if built is None else Path(built)
        if replace and folder.exists():
            old = temp_name(folder)
            os.replace(folder, old)
        try:
            os.replace(source, folder)
        except OSError:
            if old is not None:  # put the previous folder back
                os.replace(old, folder)
                old = None
                raise
            if not folder.is_dir() or not any(folder.iterdir()):
                raise
            return False  # another process published it first: keep theirs
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
