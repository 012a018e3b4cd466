"""Where a suite's results live, parsed once from what the user gave.

`--out`, the `out=` argument of `lrbench.run`, or nothing (the default folder of the suite's name) becomes one
ResultsLocation: a local folder (a plain path or a file:// URL) or a URI of another fsspec filesystem
(s3://bucket/prefix, gs://..., memory://...). Results in object storage are read from a local copy under the
cache (`local_copy`). Everything else receives this value, or the store that owns it, and never reads the
string again.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

_URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]+)://")
FILE_SCHEME = "file://"


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


@dataclass(frozen=True)
class ResultsLocation:
    """A results folder: `root` is a Path for a local folder, a RemotePath for any other filesystem."""

    root: Path | RemotePath

    @classmethod
    def of(cls, given: "str | Path | RemotePath | ResultsLocation | None", suite_name: str | None = None
           ) -> "ResultsLocation":
        """The one parser of a results location: a path, a file:// URL, another fsspec URI, or None (the
        default folder of `suite_name`, lrbench.paths.default_out_dir)."""
        if isinstance(given, ResultsLocation):
            return given
        if isinstance(given, RemotePath):
            given = given.uri
        if given is None or given == "":
            if suite_name is None:
                raise ValueError("a results location needs a path, a URI or the suite's name")
            from lrbench.paths import default_out_dir

            return cls(default_out_dir(suite_name))
        if isinstance(given, Path):
            return cls(given)
        text = str(given)
        if text.startswith(FILE_SCHEME):
            return cls(Path(text[len(FILE_SCHEME):]))
        if _URI.match(text):
            return cls(RemotePath(text.rstrip("/")))
        return cls(Path(text))

    @property
    def remote(self) -> bool:
        return isinstance(self.root, RemotePath)

    @property
    def path(self) -> Path:
        """The local folder (a ValueError for a remote location: use `local_copy`)."""
        if self.remote:
            raise ValueError(f"{self.root} is not a local folder")
        return self.root

    @property
    def for_workers(self) -> str:
        """How other processes find it: an absolute path (their working folder may differ) or the URI."""
        return self.root.uri if self.remote else str(self.root.resolve())

    @property
    def local_copy(self) -> Path:
        """The local folder its results are read from: the folder itself, or the copy of a remote one
        under the cache (lrbench.store.remote.local_results fills it)."""
        if not self.remote:
            return self.root
        from lrbench.paths import cache_dir

        return cache_dir() / "remote-results" / hashlib.sha256(self.root.uri.encode()).hexdigest()[:16]

    def __str__(self) -> str:
        return str(self.root)


def is_remote(given) -> bool:
    """True for a URI with a scheme other than file:// (a plain path or file:// is local)."""
    return ResultsLocation.of(given).remote
