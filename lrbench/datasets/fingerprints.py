"""Content fingerprints of data files, cached against (path, size, mtime) so reruns stay fast."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

from lrbench.atomic import write_text
from lrbench.datasets.inputs import regular_file
from lrbench.paths import cache_dir, cache_failed


def _signature(files: list[Path]) -> list:
    sig = []
    for f in files:
        st = os.stat(f)
        sig.append([str(f), st.st_size, st.st_mtime_ns])
    return sig


def hash_files(files: list[Path], extra: str = "") -> str:
    """sha256 over the bytes of the files (names excluded, so moved copies hash the same)."""
    h = hashlib.sha256(extra.encode())
    for f in files:
        with open(regular_file(f) if Path(f).exists() else f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:32]


def _table() -> dict:
    try:
        return json.loads((cache_dir() / "fingerprints.json").read_text())
    except (OSError, ValueError):
        return {}


def is_cached(name: str, files: list[Path]) -> bool:
    """True when a fingerprint of `name` over exactly these (unchanged) files is cached."""
    entry = _table().get(name)
    return bool(files and entry and entry["sig"] == _signature(files))


def cached_fingerprint(name: str, files: list[Path], compute: Callable[[], str],
                       files_after: Callable[[], list[Path]] | None = None) -> str:
    """Return compute(), memoised under name + the files' signature.

    `files_after` gives the files to sign after computing, for sources that create
    derived files (ir_datasets docstores) while being read.
    """
    store = cache_dir() / "fingerprints.json"
    table = _table()
    if files:
        entry = table.get(name)
        if entry and entry["sig"] == _signature(files):
            return entry["fp"]
    value = compute()
    signed = files_after() if files_after else files
    if signed:
        table[name] = {"sig": _signature(signed), "fp": value}
        try:
            write_text(store, json.dumps(table))
        except OSError:
            cache_failed()  # memoising only saves time: on a full cache, say so once and go on
    return value
