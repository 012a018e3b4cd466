"""What a reader may open: a regular file, read in bounded lines, so that a folder, a device (/dev/zero), a
pipe or a file without line breaks is one clear error rather than a hang or a memory blow-up."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lrbench.errors import LrbenchError

#: the longest line a line-based reader takes (a JSON line with a long passage is far below this)
MAX_LINE_BYTES = 64 << 20


def regular_file(path: Path, key: str | None = None) -> Path:
    """`path` when it is a regular file; else one error naming it and saying what it is instead."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise LrbenchError(f"file not found: {path}", key=key,
                           hint="paths in a suite resolve against the suite file's folder") from None
    except OSError as exc:
        raise LrbenchError(f"cannot read {path} ({exc.strerror})", key=key, hint="give a readable file") from None
    if stat.S_ISREG(mode) and not str(Path(path).resolve()).startswith(("/proc/", "/sys/")):
        return Path(path)
    what = ("a folder" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a kernel file (/proc, /sys)")
    raise LrbenchError(f"{path} is {what}, not a regular file", key=key,
                       hint="give the path of a file" if what == "a folder" else
                       "give a regular file: devices, pipes and kernel files may never end")


def bounded_lines(fh, path: Path, limit: int | None = MAX_LINE_BYTES):
    """The lines of a binary file object, each at most `limit` bytes (None: no limit)."""
    n = 0
    while True:
        raw = fh.readline(-1 if limit is None else limit + 1)
        if not raw:
            return
        n += 1
        if limit is not None and len(raw) > limit:
            raise LrbenchError(f"a line longer than {limit >> 20} MiB (no line breaks?)", file=str(path), line=n,
                               hint="give a text file with one record per line")
        yield n, raw
