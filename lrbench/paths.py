"""Where lrbench keeps caches (indexes, embeddings, fingerprints, models) and, by default, results.

The cache only saves time: when its folder cannot be used (LRBENCH_CACHE is a file, HOME is read-only,
missing or under /proc, the disk is full), lrbench says so once and runs on with a private temporary
cache that is removed at exit, rather than failing cells.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

#: a cell that failed on a write could fail for lack of space: the cache must take this much to be kept
PROBE_BYTES = 1 << 20
_fallback: dict[str, Path] = {}  # configured cache -> the temporary cache used instead


def configured_cache() -> Path:
    if os.environ.get("LRBENCH_CACHE"):
        return Path(os.environ["LRBENCH_CACHE"]).expanduser()
    return Path.home() / ".cache" / "lrbench"  # HOME, or the account's home folder when HOME is unset


def cache_dir() -> Path:
    root = configured_cache()
    if str(root) in _fallback:
        return _fallback[str(root)]
    problem = _unusable(root)
    return disable_cache(problem) if problem else root


def _unusable(root: Path, size: int = 1) -> str | None:
    """Why `root` cannot hold the cache (None when it can): it is created, and a probe file of `size`
    bytes is written and removed."""
    from lrbench.errors import os_error

    probe = root / f".probe-{os.getpid()}"
    if not os.environ.get("LRBENCH_CACHE") and not Path.home().is_dir():
        return f"{Path.home()}: the home folder (HOME) does not exist, so the cache has no place"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
        return None
    except OSError as exc:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
        return f"{root}: the cache folder cannot be used ({os_error(exc, root).message.removeprefix('cannot write (')}"


def cache_failed() -> bool:
    """After a write failed (perhaps without an errno: numpy says "N requested and M written"): is it
    the cache's fault? Then the cache is given up (one warning) and the caller retries without it."""
    root = configured_cache()
    if str(root) in _fallback:
        return False
    problem = _unusable(root, PROBE_BYTES)
    if problem:
        disable_cache(problem)
    return bool(problem)


def disable_cache(problem: str) -> Path:
    """Run on with a private temporary cache, removed at exit; say so once per process."""
    root = configured_cache()
    if str(root) not in _fallback:
        temp = Path(tempfile.mkdtemp(prefix="lrbench-cache-"))
        atexit.register(shutil.rmtree, temp, ignore_errors=True)
        _fallback[str(root)] = temp
        sys.stderr.write(f"warning: {problem}; running on without the cache "
                         f"(fix: set LRBENCH_CACHE to a writable folder with free space)\n")
    return _fallback[str(root)]


def default_out_dir(suite_name: str) -> Path:
    from lrbench.safety import safe_file_name

    return Path("results") / safe_file_name(suite_name)
