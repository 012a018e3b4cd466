"""Parquet run store on any fsspec filesystem: local folders, file://, s3://, gs://, memory:// ...

Layout: ROOT/cells/<key>/{run,perquery,scores}.parquet and ROOT/cells/<key>/meta.json.

A cell is complete only once its meta.json exists, and meta.json is always written last:
- on a local filesystem every file is written beside its target and renamed into place (atomic);
- on an object store (S3, GCS, Azure) there is no rename, but a single PUT (or a completed multipart
  upload) is atomic per object, so the data files are uploaded first and meta.json last.
A cell without meta.json is absent: `has()` is false, `keys()` skips it, `clean_incomplete()` removes it.

meta.json names every data file of its cell with the file's SHA-256 (`files`); a cell whose files do not
match (edited, swapped, truncated) or whose meta.json lacks them is corrupt, and is recomputed.
Two runs may write one folder at once: on a local filesystem each cell is written under a lock
(ROOT/.locks/<key>.lock) and a cell found complete is kept (write-once), so the second run shares it;
on object stores a complete cell is kept too, and the checksums catch any interleaving.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.atomic import TMP_PREFIX, sha256_bytes, sha256_file
from lrbench.atomic import write_with as write_local_atomic
from lrbench.errors import LrbenchError
from lrbench.store.location import RemotePath, ResultsLocation, is_remote  # noqa: F401  (re-exported)

META = "meta.json"
LOCKS = ".locks"
#: the lock name of a folder's leaderboard manifest (store/manifest.py)
BOARD_LOCK = "leaderboard"
#: a cell key as lrbench.plan.keys makes it: the first 20 hex digits of a SHA-256
CELL_KEY = re.compile(r"^[0-9a-f]{20}$")
#: Filesystems without rename where one PUT is atomic per object: upload straight to the final name.
OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "memory"}


class CorruptCell(Exception):
    """A cell's files exist but cannot be read."""


def check_key(key, *, file: str | None = None, where: str = "cell key") -> str:
    """A cell key read from a file (cells.json, rerun.json): 20 hex digits, so it names one folder under cells/."""
    if not isinstance(key, str) or not CELL_KEY.match(key):
        raise LrbenchError(f"{where} {key!r} is not a cell key (20 hex digits)", file=file,
                           hint="rerun `lrbench run` on the suite to rewrite it")
    return key


def open_store(location: ResultsLocation | str | Path | RemotePath, **storage_options) -> "FsspecStore":
    """The store for a results location: a LocalStore for a local folder, an FsspecStore otherwise.

    Credentials and endpoints come from the filesystem's usual configuration (for S3: AWS_* variables,
    AWS_ENDPOINT_URL for MinIO/moto, ~/.aws) or from `storage_options`.
    """
    location = ResultsLocation.of(location)
    if not location.remote:
        return LocalStore(location)
    _check_protocol(location.root.protocol)
    return FsspecStore(location, **storage_options)


def _check_protocol(protocol: str) -> None:
    import fsspec

    try:
        fsspec.get_filesystem_class(protocol)
    except (ValueError, ImportError) as exc:
        known = sorted(p for p in fsspec.available_protocols() if len(p) > 1)[:12]
        reason = "needs a package that is not installed" if isinstance(exc, ImportError) else "is unknown"
        raise LrbenchError(f"filesystem protocol '{protocol}://' {reason} ({str(exc).splitlines()[0]})",
                           key="--out", hint=f"use a folder, or a URI such as {', '.join(known)}://...") from None


class FsspecStore:
    """The run store over any fsspec filesystem (see the module docstring for the guarantee)."""

    def __init__(self, location: ResultsLocation | str | Path, fs=None, **storage_options):
        #: the store owns its location; every path it touches is under `root`
        self.location = ResultsLocation.of(location)
        self.root: Path | RemotePath = self.location.root
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
        return self._checked(self.cells / key)

    def _checked(self, path):
        """`path`, refused with one error line when it resolves outside the results folder (through '..' or
        a symbolic link): the store reads, writes and deletes nothing outside its folder."""
        if isinstance(self.root, Path):
            base, target = self.root.resolve(), Path(path).resolve()
            outside = target != base and base not in target.parents
        else:
            target = RemotePath(str(path))
            outside = not (target == self.root or target.path.startswith(self.root.path + "/"))
        if outside:
            raise LrbenchError(f"{path} resolves to {target}, outside the results folder {self.root}",
                               file=str(path), hint="remove the link or the '..' (lrbench reads, writes and deletes "
                               "only inside the results folder), or point --out at the folder it leads to")
        return path

    def _p(self, path) -> str:
        return str(self._checked(path))

    def _strip(self, path) -> str:
        return self.fs._strip_protocol(self._p(path)).rstrip("/")

    def forget_listings(self, path=None) -> None:
        """Forget cached listings: other processes (workers, other drivers) write to the same store."""
        try:
            self.fs.invalidate_cache(None if path is None else self._p(path))
        except Exception:
            self.fs.invalidate_cache()

    def has(self, key: str) -> bool:
        path = self.cell_dir(key) / META
        self.forget_listings(path)
        return self.fs.exists(self._p(path))

    # -- writing ----------------------------------------------------------------------
    def write_atomic(self, path, write: Callable[[Path], Any]) -> str:
        """`write(local_tmp_path)` produces the file; it then appears at `path` in one step. Returns its SHA-256."""
        with tempfile.TemporaryDirectory(prefix="lrbench-store-") as tmpdir:
            local = Path(tmpdir) / path.name
            write(local)
            digest = sha256_file(local)
            self._upload(local, path)
        return digest

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
        self.forget_listings(path)

    def write_together(self, files: dict) -> None:
        """Files that commit together, the last one committing (a leaderboard and its manifest): on an object
        store each PUT is atomic and they go in order, the last one last."""
        for path, data in files.items():
            self.write_atomic(path, lambda p, data=data: p.write_bytes(data))

    def prepare_for_writing(self) -> None:
        """Fail early, in one line, when the results location cannot take a file."""

    def write_frame(self, key: str, name: str, frame: pd.DataFrame) -> str:
        return self.write_atomic(self.cell_dir(key) / f"{name}.parquet", lambda p: frame.to_parquet(p, index=False))

    def write_json(self, path, data: Any) -> str:
        return self.write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True, default=str)))

    def lock(self, key: str, *, blocking: bool = True):
        """An exclusive lock on one cell (or any name) of this folder; a no-op on object stores."""
        return contextlib.nullcontext(True)

    def put(self, key: str, frames: dict[str, pd.DataFrame], meta: dict[str, Any], *, replace: bool = False) -> bool:
        """Write the frames first and meta.json last (with the frames' checksums): a reader never sees a
        cell without its data. A complete, intact cell is kept unless `replace` (another run stored it
        first: write-once). Returns whether this call wrote the cell."""
        with self.lock(key):
            if self.has(key):
                if not replace and self.intact(key, tuple(frames)):
                    return False
                self.discard(key)
            digests = {f"{name}.parquet": self.write_frame(key, name, frame) for name, frame in frames.items()}
            self.write_json(self.cell_dir(key) / META, {**meta, "files": digests})
        return True

    def update(self, key: str, frames: dict[str, pd.DataFrame], **meta_fields) -> None:
        """Replace some frames of a complete cell (re-scored measures), its meta.json's checksums and
        the given meta.json fields."""
        with self.lock(key):
            meta = self.meta(key)
            files = dict(meta.get("files") or {})
            for name, frame in frames.items():
                files[f"{name}.parquet"] = self.write_frame(key, name, frame)
            self.write_json(self.cell_dir(key) / META, {**meta, **meta_fields, "files": files})

    def intact(self, key: str, names=("run",)) -> bool:
        try:
            self.check(key, names)
            return True
        except CorruptCell:
            return False

    def check(self, key: str, names=("run",)) -> None:
        """Integrity check: meta.json is this cell's, names its files, and each file (of `names`, or every
        listed one when names is None) matches its checksum."""
        files = self._files_of(key)
        for filename in (files if names is None else [f"{name}.parquet" for name in names]):
            self._verified_bytes(key, filename, files)

    def _files_of(self, key: str) -> dict[str, str]:
        meta = self.meta(key)
        files = meta.get("files") if isinstance(meta, dict) else None
        if not isinstance(files, dict) or not files or meta.get("key", key) != key:
            raise CorruptCell("meta.json does not describe this cell (no checksums)")
        return files

    def _verified_bytes(self, key: str, filename: str, files: dict[str, str] | None = None) -> bytes:
        files = self._files_of(key) if files is None else files
        if filename not in files:
            raise CorruptCell(f"{filename} is not listed in meta.json")
        try:
            data = self.read_bytes(self.cell_dir(key) / filename)
        except (OSError, ValueError) as exc:
            raise CorruptCell(f"{filename}: {type(exc).__name__}: {exc}") from None
        if sha256_bytes(data) != files[filename]:
            raise CorruptCell(f"{filename} does not match its checksum in meta.json (edited or swapped)")
        return data

    def read_bytes(self, path) -> bytes:
        return self.fs.cat_file(self._p(path))

    def discard(self, key: str) -> None:
        """Remove a cell, meta.json first so that it is absent before its data goes."""
        cell = self.cell_dir(key)
        self.forget_listings(cell)
        meta = self._p(cell / META)
        if self.fs.exists(meta):
            self.fs.rm(meta)
        self._rm_tree(cell)

    def _rm_tree(self, path) -> None:
        self.forget_listings(path)
        try:
            if self.fs.exists(self._p(path)):
                self.fs.rm(self._p(path), recursive=True)
        except FileNotFoundError:
            pass
        self.forget_listings(path)

    # -- reading ----------------------------------------------------------------------
    def meta(self, key: str) -> dict[str, Any]:
        try:
            return json.loads(self.fs.cat_file(self._p(self.cell_dir(key) / META)))
        except (OSError, ValueError) as exc:
            raise CorruptCell(f"meta.json: {exc}") from None

    def read_frame(self, key: str, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """A frame of a complete cell (only `columns`, when given), verified against its checksum; None when the
        cell has no such frame."""
        import pandas as pd

        filename = f"{name}.parquet"
        files = self._files_of(key)
        if filename not in files:
            return None
        data = self._verified_bytes(key, filename, files)
        try:
            return pd.read_parquet(io.BytesIO(data), columns=columns)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise CorruptCell(f"{filename}: {type(exc).__name__}: {exc}") from None

    def get_run(self, key: str) -> pd.DataFrame:
        run = self.read_frame(key, "run")
        if run is None:
            raise CorruptCell("run.parquet is missing")
        return run

    # -- housekeeping -----------------------------------------------------------------
    def files(self) -> dict[str, dict]:
        """Every file under the root with its filesystem info (size, ETag or mtime ...), keyed by the path
        relative to the root (one recursive listing)."""
        self.forget_listings()
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
        if self.object_store:
            return removed  # a cell without meta.json may be another run's upload in progress: put overwrites it
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

    def __init__(self, location: ResultsLocation | str | Path):
        location = ResultsLocation.of(location)
        root = location.path
        for folder in (root, *root.parents):
            if folder.exists():
                if not folder.is_dir():
                    raise LrbenchError(f"{folder} is a file, not a folder", key="--out",
                                       hint="point --out at a folder (it is created if missing)")
                break
        super().__init__(location)

    def has(self, key: str) -> bool:
        return self._checked(self.cell_dir(key) / META).exists()

    def write_atomic(self, path: Path, write) -> str:
        self._checked(path)
        digest = {}

        def write_and_hash(tmp: Path) -> None:
            write(tmp)
            digest["sha"] = sha256_file(tmp)

        write_local_atomic(Path(path), write_and_hash)
        return digest["sha"]

    def read_bytes(self, path) -> bytes:
        return Path(self._checked(path)).read_bytes()

    def write_together(self, files: dict) -> None:
        from lrbench.atomic import write_together

        write_together(files)

    def prepare_for_writing(self) -> None:
        from lrbench.errors import os_error

        probe = self.root / f"{TMP_PREFIX}probe-{uuid.uuid4().hex[:8]}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"lrbench")
            probe.unlink()
        except OSError as exc:
            raise os_error(exc, self.root, "write the results folder", key="--out") from None

    def lock(self, key: str, *, blocking: bool = True):
        from lrbench.locks import file_lock

        return file_lock(self._checked(self.root / LOCKS / f"{key}.lock"), blocking=blocking)

    def discard(self, key: str) -> None:
        cell = self.cell_dir(key)
        self._checked(cell / META).unlink(missing_ok=True)
        self._remove(cell)

    def _remove(self, path: Path) -> None:
        """Delete a file or a folder of this store (a link is refused by `_checked` before anything goes)."""
        if self._checked(path).is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def meta(self, key: str) -> dict[str, Any]:
        try:
            meta = json.loads(self._checked(self.cell_dir(key) / META).read_text())
        except (OSError, ValueError) as exc:
            raise CorruptCell(f"meta.json: {exc}") from None
        if not isinstance(meta, dict):
            raise CorruptCell("meta.json is not an object")
        return meta

    def clean_incomplete(self) -> list[Path]:
        """Remove temp files and cell folders without meta.json left by a killed run (and a stray file where
        a cell folder belongs). What another live run holds locked (a cell it is writing, the leaderboard it
        is committing) is left alone."""
        removed = []
        if not self.root.exists():
            return removed
        self._check_cells_folder()
        for tmp in sorted(self.root.rglob(f"{TMP_PREFIX}*")):
            owner = tmp.parent.name if tmp.parent.parent == self.cells else BOARD_LOCK
            self._checked(tmp)
            with self.lock(owner, blocking=False) as free:
                if free and tmp.exists():
                    tmp.unlink(missing_ok=True)
                    removed.append(tmp)
        if self.cells.exists():
            for cell in sorted(self.cells.iterdir()):
                self._checked(cell)
                if not (cell / META).exists():
                    with self.lock(cell.name, blocking=False) as free:
                        if free and not (cell / META).exists():
                            self._remove(cell)
                            removed.append(cell)
        return removed

    def _check_cells_folder(self) -> None:
        cells = self._checked(self.cells)
        if cells.exists() and not cells.is_dir():
            raise LrbenchError(f"{cells} is a file, not the results folder's cells folder", file=str(cells),
                               hint="move that file away, or point --out at another folder")

    def keys(self) -> list[str]:
        if not self._checked(self.cells).exists():
            return []
        self._check_cells_folder()
        return sorted(c.name for c in self.cells.iterdir() if self._checked(c / META).exists())
