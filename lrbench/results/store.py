"""Parquet run store on any fsspec filesystem: local folders, file://, s3://, gs://, memory:// ...

Layout: ROOT/cells/<key>/{run,perquery,scores}.parquet and ROOT/cells/<key>/meta.json.

A cell is complete only once its meta.json exists, and meta.json is always written last:
- on a local filesystem every file is written beside its target and renamed into place (atomic);
- on an object store (S3, GCS, Azure) there is no rename, but a single PUT (or a completed multipart
  upload) is atomic per object, so the data files are uploaded first and meta.json last.
A cell without meta.json is absent: `has()` is false, `keys()` skips it, `clean_incomplete()` removes it.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

TMP_PREFIX = ".tmp-"
META = "meta.json"
#: Filesystems without rename where one PUT is atomic per object: upload straight to the final name.
OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "memory"}
_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]+)://")


class CorruptCell(Exception):
    """A cell's files exist but cannot be read."""


class RemotePath:
    """A small pathlib-like handle on a URI (`s3://bucket/prefix`): `/`, `.name`, `.parent`, `str()`.

    Callers that build paths with `store.root / "x"` or `store.cell_dir(key) / "x"` work unchanged.
    """

    def __init__(self, uri: str):
        match = _URI.match(uri)
        if not match:
            raise ValueError(f"not a URI: {uri}")
        self.protocol = match.group(1)
        self.path = posixpath.normpath(uri[match.end():]).rstrip("/") if uri[match.end():] else ""

    @property
    def uri(self) -> str:
        return f"{self.protocol}://{self.path}"

    def __truediv__(self, other) -> "RemotePath":
        return RemotePath(f"{self.uri}/{str(other).strip('/')}")

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def parent(self) -> "RemotePath":
        return RemotePath(f"{self.protocol}://{posixpath.dirname(self.path)}")

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"RemotePath({self.uri!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RemotePath) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)


def is_remote(uri: str | Path | RemotePath) -> bool:
    """True for a URI with a scheme other than file:// (a plain path or file:// is local)."""
    if isinstance(uri, RemotePath):
        return uri.protocol != "file"
    if isinstance(uri, Path):
        return False
    match = _URI.match(str(uri))
    return bool(match) and match.group(1) != "file"


def open_store(uri: str | Path | RemotePath, **storage_options) -> "FsspecStore":
    """The store for a results location: a LocalStore for paths and file://, an FsspecStore otherwise.

    Credentials and endpoints come from the filesystem's usual configuration (for S3: AWS_* variables,
    AWS_ENDPOINT_URL for MinIO/moto, ~/.aws) or from `storage_options`.
    """
    if isinstance(uri, RemotePath):
        uri = uri.uri
    if isinstance(uri, Path):
        return LocalStore(uri)
    text = str(uri)
    if text.startswith("file://"):
        return LocalStore(Path(text[len("file://"):]))
    if not is_remote(text):
        return LocalStore(Path(text))
    return FsspecStore(text, **storage_options)


class FsspecStore:
    """The run store over any fsspec filesystem (see the module docstring for the guarantee)."""

    def __init__(self, root: str | Path, fs=None, **storage_options):
        if isinstance(root, Path) or not is_remote(str(root)):
            self.root: Path | RemotePath = Path(str(root).removeprefix("file://"))
        else:
            self.root = RemotePath(str(root))
        self.cells = self.root / "cells"
        self._fs = fs
        self._storage_options = storage_options

    @property
    def fs(self):
        """The fsspec filesystem, created on first use (a LocalStore never needs one)."""
        if self._fs is None:
            import fsspec.core

            if isinstance(self.root, Path):
                self._fs = fsspec.filesystem("file")
            else:
                self._fs, _ = fsspec.core.url_to_fs(self.root.uri, **self._storage_options)
        return self._fs

    @property
    def object_store(self) -> bool:
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return protocol in OBJECT_STORES

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    # -- paths ------------------------------------------------------------------------
    def cell_dir(self, key: str):
        return self.cells / key

    def _p(self, path) -> str:
        return str(path)

    def _strip(self, path) -> str:
        return self.fs._strip_protocol(self._p(path)).rstrip("/")

    def _fresh(self, path=None) -> None:
        """Forget cached listings: other processes (workers, other drivers) write to the same store."""
        try:
            self.fs.invalidate_cache(None if path is None else self._p(path))
        except Exception:
            self.fs.invalidate_cache()

    def has(self, key: str) -> bool:
        path = self.cell_dir(key) / META
        self._fresh(path)
        return self.fs.exists(self._p(path))

    # -- writing ----------------------------------------------------------------------
    def _write_atomic(self, path, write: Callable[[Path], Any]) -> None:
        """`write(local_tmp_path)` produces the file; it then appears at `path` in one step."""
        with tempfile.TemporaryDirectory(prefix="lrbench-store-") as tmpdir:
            local = Path(tmpdir) / path.name
            write(local)
            self._upload(local, path)

    def _upload(self, local: Path, path) -> None:
        parent = self._p(path.parent)
        if not self.object_store:
            self.fs.makedirs(parent, exist_ok=True)
        if self.object_store:
            self.fs.put_file(str(local), self._p(path))  # one PUT: the object appears whole or not at all
        else:
            tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}"
            try:
                self.fs.put_file(str(local), self._p(tmp))
                self.fs.mv(self._p(tmp), self._p(path))
            finally:
                if self.fs.exists(self._p(tmp)):
                    self.fs.rm(self._p(tmp))
        self._fresh(path)

    def write_frame(self, key: str, name: str, frame: pd.DataFrame) -> None:
        self._write_atomic(self.cell_dir(key) / f"{name}.parquet", lambda p: frame.to_parquet(p, index=False))

    def write_json(self, path, data: Any) -> None:
        self._write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True, default=str)))

    def put(self, key: str, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> None:
        """Write the frames first and meta.json last: a reader never sees a cell without its data."""
        self.discard(key)
        for name, frame in frames.items():
            self.write_frame(key, name, frame)
        self.write_json(self.cell_dir(key) / META, meta)

    def check(self, key: str, names=("run",)) -> None:
        """Cheap integrity check: meta parses and each Parquet footer reads."""
        import pyarrow.parquet as pq

        self.meta(key)
        for name in names:
            path = self.cell_dir(key) / f"{name}.parquet"
            try:
                with self.fs.open(self._p(path), "rb") as fh:
                    pq.read_metadata(fh)
            except Exception as exc:
                raise CorruptCell(f"{path.name}: {type(exc).__name__}: {exc}") from None

    def discard(self, key: str) -> None:
        """Remove a cell, meta.json first so that it is absent before its data goes."""
        cell = self.cell_dir(key)
        self._fresh(cell)
        meta = self._p(cell / META)
        if self.fs.exists(meta):
            self.fs.rm(meta)
        self._rm_tree(cell)

    def _rm_tree(self, path) -> None:
        self._fresh(path)
        try:
            if self.fs.exists(self._p(path)):
                self.fs.rm(self._p(path), recursive=True)
        except FileNotFoundError:
            pass
        self._fresh(path)

    # -- reading ----------------------------------------------------------------------
    def meta(self, key: str) -> dict[str, Any]:
        try:
            return json.loads(self.fs.cat_file(self._p(self.cell_dir(key) / META)))
        except (OSError, ValueError) as exc:
            raise CorruptCell(f"meta.json: {exc}") from None

    def read_frame(self, key: str, name: str) -> pd.DataFrame | None:
        import pandas as pd

        path = self.cell_dir(key) / f"{name}.parquet"
        try:
            with self.fs.open(self._p(path), "rb") as fh:
                return pd.read_parquet(fh)
        except FileNotFoundError:
            return None
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise CorruptCell(f"{path.name}: {type(exc).__name__}: {exc}") from None

    def get_run(self, key: str) -> pd.DataFrame:
        run = self.read_frame(key, "run")
        if run is None:
            raise CorruptCell("run.parquet is missing")
        return run

    # -- housekeeping -----------------------------------------------------------------
    def files(self) -> dict[str, dict]:
        """Every file under the root with its filesystem info (size, ETag or mtime ...), keyed by the path
        relative to the root (one recursive listing)."""
        self._fresh()
        base = self._strip(self.root)
        try:
            found = self.fs.find(self._p(self.root), detail=True)
        except FileNotFoundError:
            return {}
        return {name[len(base):].lstrip("/"): info for name, info in found.items() if name.startswith(base)}

    def _listing(self) -> list[str]:
        return list(self.files())

    def clean_incomplete(self) -> list:
        """Remove temp files and cells without meta.json (left by a killed run)."""
        removed = []
        files = self._listing()
        complete, cells = set(), set()
        for rel in files:
            parts = rel.split("/")
            if parts[-1].startswith(TMP_PREFIX):
                path = self.root / rel
                self.fs.rm(self._p(path))
                removed.append(path)
            elif len(parts) >= 3 and parts[0] == "cells":
                cells.add(parts[1])
                if len(parts) == 3 and parts[2] == META:
                    complete.add(parts[1])
        for key in sorted(cells - complete):
            self._rm_tree(self.cell_dir(key))
            removed.append(self.cell_dir(key))
        return removed

    def keys(self) -> list[str]:
        keys = set()
        for rel in self._listing():
            parts = rel.split("/")
            if len(parts) == 3 and parts[0] == "cells" and parts[2] == META:
                keys.add(parts[1])
        return sorted(keys)


class LocalStore(FsspecStore):
    """The store in a local folder: every file is written beside its target, fsynced and renamed into place."""

    def __init__(self, root: str | Path):
        super().__init__(Path(str(root).removeprefix("file://")))

    def has(self, key: str) -> bool:
        return (self.cell_dir(key) / META).exists()

    def _write_atomic(self, path: Path, write) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
        try:
            write(tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def check(self, key: str, names=("run",)) -> None:
        import pyarrow.parquet as pq

        self.meta(key)
        for name in names:
            path = self.cell_dir(key) / f"{name}.parquet"
            try:
                pq.read_metadata(path)
            except Exception as exc:
                raise CorruptCell(f"{path.name}: {type(exc).__name__}: {exc}") from None

    def discard(self, key: str) -> None:
        cell = self.cell_dir(key)
        (cell / META).unlink(missing_ok=True)
        shutil.rmtree(cell, ignore_errors=True)

    def meta(self, key: str) -> dict[str, Any]:
        try:
            return json.loads((self.cell_dir(key) / META).read_text())
        except (OSError, ValueError) as exc:
            raise CorruptCell(f"meta.json: {exc}") from None

    def read_frame(self, key: str, name: str) -> pd.DataFrame | None:
        import pandas as pd

        path = self.cell_dir(key) / f"{name}.parquet"
        if not path.exists():
            return None
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise CorruptCell(f"{path.name}: {type(exc).__name__}: {exc}") from None

    def clean_incomplete(self) -> list[Path]:
        """Remove temp files and cell folders without meta.json (left by a killed run)."""
        removed = []
        if not self.root.exists():
            return removed
        for tmp in self.root.rglob(f"{TMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        if self.cells.exists():
            for cell in self.cells.iterdir():
                if cell.is_dir() and not (cell / META).exists():
                    shutil.rmtree(cell, ignore_errors=True)
                    removed.append(cell)
        return removed

    def keys(self) -> list[str]:
        if not self.cells.exists():
            return []
        return sorted(c.name for c in self.cells.iterdir() if (c / META).exists())
