"""Results kept in object storage (`--out s3://bucket/prefix`), read by show, report, compare, gate, pareto.

A results URI is mirrored into a local folder under the cache (LRBENCH_CACHE/remote-results/<hash of the URI>)
and read from there. Only files whose size or version tag changed since the last copy are downloaded again;
the embedder's corpus blocks (`embeddings/`) are never copied. Cells without meta.json are skipped, as the
store itself skips them.
"""

from __future__ import annotations

import json
from pathlib import Path

from lrbench.atomic import write_text, write_with
from lrbench.errors import LrbenchError
from lrbench.store.blocks import FOLDER as BLOCKS_FOLDER
from lrbench.store.location import ResultsLocation
from lrbench.store.store import META, TMP_PREFIX, open_store
from lrbench.safety import inside

MANIFEST = ".remote.json"


def _version(info: dict) -> str:
    """What tells one upload of an object from another: its ETag, else its modification time."""
    for name in ("ETag", "etag", "md5Hash", "generation", "LastModified", "mtime", "updated"):
        if info.get(name):
            return str(info[name])
    return ""


def local_results(target: ResultsLocation | str | Path) -> Path:
    """A local folder holding the results at `target`: the folder itself, or a fresh copy of a URI."""
    location = ResultsLocation.of(target)
    if not location.remote:
        return location.path
    uri = str(location)
    store = open_store(location)
    local = location.local_copy
    try:
        files = {rel: info for rel, info in store.files().items()
                 if not rel.startswith(BLOCKS_FOLDER + "/") and not rel.split("/")[-1].startswith(TMP_PREFIX)}
    except Exception as exc:  # credentials, endpoint, bucket: the filesystem's own message says which
        raise LrbenchError(f"cannot list {uri}: {type(exc).__name__}: {exc}",
                           hint="check the URI and the filesystem's credentials (AWS_* variables for s3://)") from None
    if "cells.json" not in files:
        raise LrbenchError(f"{uri} is not a results folder (no cells.json)",
                           hint="run `lrbench run SUITE --out URI` first and pass URI")
    complete = {rel.split("/")[1] for rel in files if rel.startswith("cells/") and rel.endswith("/" + META)}
    files = {rel: info for rel, info in files.items()
             if not rel.startswith("cells/") or rel.split("/")[1] in complete}
    manifest_path = local / MANIFEST
    try:
        seen = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    except ValueError:
        seen = {}  # a damaged copy record: download everything again
    for rel, info in files.items():
        stamp = [info.get("size"), _version(info)]
        target_path = inside(local, rel, what=f"object key under {uri}")  # a key cannot write outside the copy
        if seen.get(rel) == stamp and target_path.exists():
            continue
        write_with(target_path, lambda tmp: store.fs.get_file(str(store.root / rel), str(tmp)))
        seen[rel] = stamp
    local.mkdir(parents=True, exist_ok=True)
    write_text(manifest_path, json.dumps(seen))
    return local

