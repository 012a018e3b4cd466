"""Cross-process locks on local files (fcntl.flock), re-entrant within one process.

Used where two processes may touch the same thing at once: one cell of a results folder, a folder's
leaderboard manifest, an ir_datasets collection being built. Object stores have no locks; there the
store relies on write-once uploads and checksums instead (store/store.py).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

_HELD: dict[str, int] = {}
_GUARD = threading.RLock()


@contextlib.contextmanager
def file_lock(lock_path: str | Path, *, blocking: bool = True):
    """Hold an exclusive lock on `lock_path` (created if absent). With blocking=False, yields False
    instead of waiting when another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock
        yield True
        return
    lock_path = Path(lock_path)
    name = str(lock_path.absolute())  # one spelling per path, whether or not the file exists yet
    with _GUARD:
        if _HELD.get(name):  # re-entered in this process
            _HELD[name] += 1
            try:
                yield True
            finally:
                _HELD[name] -= 1
            return
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        _HELD[name] = 1
        try:
            yield True
        finally:
            _HELD.pop(name, None)
            fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        fh.close()
