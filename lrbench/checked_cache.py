"""Derived caches (corpus embeddings, indexes, factored weights) published with a manifest and checked on read.

`publish_checked(folder, build, meta)` publishes a folder whole (atomic.publish_dir) with `lrbench-manifest.json`
inside: the size and sha256 of every file `build` wrote, and `meta` (e.g. the cost of producing the entry, so a
warm run reports the same cost as a cold one). `read_checked(folder)` returns that meta only when every listed file
is there with its size and hash; an entry without a readable manifest (older entries too) or with a changed file
is not used: one warning line names it, it is removed, and the caller rebuilds it as on a cold run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Callable

from lrbench.atomic import publish_dir, sha256_file, temp_name

MANIFEST = "lrbench-manifest.json"
FORMAT = 1


def publish_checked(folder: str | Path, build: Callable[[Path], Path | None], meta: dict | None = None, *,
                    replace: bool = False, supersedes: tuple[str, ...] = ()) -> bool:
    """publish_dir(folder, build) with the manifest of what `build` wrote; False when another process published
    the entry first (theirs is kept), unless `replace` (an intact entry whose meta lacks what the caller needs).
    `supersedes`: names beside `folder` of the same entry in a former layout (never read again), removed once
    the entry is in place so that the cache does not keep both."""

    def build_with_manifest(tmp: Path) -> Path | None:
        built = build(tmp)
        root = tmp if built is None else Path(built)
        files = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files[path.relative_to(root).as_posix()] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
        manifest = {"format": FORMAT, "files": files, "meta": meta or {}}
        (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        return built

    published = publish_dir(folder, build_with_manifest, replace=replace)
    for name in supersedes:
        (Path(folder).parent / name).unlink(missing_ok=True)
    return published


def read_checked(folder: str | Path) -> dict | None:
    """The entry's meta when every file its manifest lists is intact; None when there is no entry or it was
    damaged (then it has been removed, with one warning line)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    problem = _problem(folder)
    if problem is None:
        return json.loads((folder / MANIFEST).read_text())["meta"]
    discard(folder, problem)
    return None


def discard(folder: Path, problem: str) -> None:
    """Warn and remove a damaged entry: moved aside first (one rename), so no reader sees it half deleted."""
    sys.stderr.write(f"warning: cache entry {folder} is damaged ({problem}), rebuilding\n")
    aside = temp_name(folder)
    try:
        os.replace(folder, aside)
    except OSError:
        return  # another process moved it first
    shutil.rmtree(aside, ignore_errors=True)


def _problem(folder: Path) -> str | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(files, dict) or not isinstance(manifest["meta"], dict):
            return f"{MANIFEST} has an unknown format"
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST} unreadable: {exc}"
    for name, entry in files.items():
        path = folder / name
        try:
            if path.stat().st_size != entry["size"]:  # cheap, before hashing
                return f"{name} has {path.stat().st_size} bytes, the manifest says {entry['size']}"
            if sha256_file(path) != entry["sha256"]:
                return f"{name} does not match its sha256"
        except FileNotFoundError:
            return f"{name} is missing"
        except (OSError, KeyError, TypeError) as exc:
            return f"{name} unreadable: {exc}"
    return None
