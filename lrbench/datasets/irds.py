"""`irds:<id>`: any ir_datasets collection, through the real loader (seeded from the offline mirror)."""

from __future__ import annotations

import contextlib
import difflib
import functools
import types
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.locks import file_lock
from lrbench.datasets.base import QRELS_COLUMNS, Dataset, Digest
from lrbench.datasets.sampling import subset_identity
from lrbench.datasets.fingerprints import cached_fingerprint, is_cached
from lrbench.datasets.mirror import dataset_folder, irds_home, refuse_download_offline, seed_from_mirror


def _text(record) -> str:
    if hasattr(record, "default_text"):
        return record.default_text()
    return getattr(record, "text", "")


def _quiet_ir_datasets_logs() -> None:
    """ir_datasets pins each module logger at INFO; keep its chatter out of lrbench's progress display."""
    import logging

    from ir_datasets import log

    if getattr(log.Logger, "_lrbench_quiet", False):
        return
    original = log.Logger.logger

    def logger(self):
        lg = original(self)
        lg.setLevel(logging.WARNING)
        return lg

    log.Logger.logger = logger
    log.Logger._lrbench_quiet = True


class IrdsDataset(Dataset):
    scheme = "irds"

    @cached_property
    def _ds(self):
        import ir_datasets

        _quiet_ir_datasets_logs()

        seed_from_mirror(self.source)
        try:
            ds = ir_datasets.load(self.source)  # lazy: nothing is downloaded yet
        except KeyError:
            raise self._unknown_id() from None
        refuse_download_offline(self.source)
        return ds

    def _unknown_id(self) -> LrbenchError:
        import ir_datasets

        known = list(ir_datasets.registry._registered.keys())
        near = difflib.get_close_matches(self.source, known, n=3)
        return LrbenchError(f"unknown ir_datasets id '{self.source}'", key="datasets.id",
                            hint=f"did you mean {', '.join(near)}?" if near else "see https://ir-datasets.com for ids")

    def check(self) -> None:
        """The id must be registered; nothing is seeded or downloaded to know that. An id whose files are
        already fingerprinted was loaded before (and a rerun need not import ir_datasets to know it)."""
        from lrbench.safety import safe_relative

        safe_relative(self.source, what="ir_datasets id", key="datasets.id")  # '..' would leave the mirror
        if is_cached(self._fingerprint_name(), self._files()):
            return
        import ir_datasets

        if self.source not in ir_datasets.registry:
            raise self._unknown_id()

    @contextlib.contextmanager
    def _lock(self):
        # one process at a time reads a collection: ir_datasets builds its docstore and indexes on first read,
        # and a second process reading meanwhile would find half-built files (parallel backends, Ray workers)
        with file_lock(irds_home() / f".lrbench-{self.source.replace('/', '_')}.lock"), _quiet_ir_datasets():
            yield

    def _guard(self, what, fn):
        try:
            with self._lock():
                return fn()
        except LrbenchError:
            raise
        except Exception as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> LrbenchError:
        """ir_datasets raises plain errors when a download fails offline: one line with the fix."""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "download sources failed" in reason or "Download failed" in reason:
            reason = "not in the ir_datasets cache and no download source is reachable"
        elif len(reason) > 160:
            reason = reason[:160] + "..."
        return LrbenchError(f"irds:{self.source}: could not load {what}: {reason}",
                            hint="offline? seed the ir_datasets cache with --mirror DIR or LRBENCH_MIRROR")

    def has_docs(self) -> bool:
        return self._ds.has_docs()

    def docs_count(self) -> int | None:
        try:  # ir_datasets' metadata; None when it has none (never a read of the collection)
            return int(self._ds.docs_count()) if self._ds.has_docs() else None
        except Exception:  # noqa: BLE001 - a count is only for the progress display
            return None

    def queries(self) -> dict[str, str]:
        return self._queries

    @cached_property
    def _queries(self) -> dict[str, str]:
        return self._guard("queries", lambda: {q.query_id: _text(q) for q in self._ds.queries_iter()})

    def docs(self):
        """(doc_id, text) streamed from ir_datasets (the collection is never held in a list)."""
        try:
            with self._lock():
                for d in self._ds.docs_iter():
                    yield d.doc_id, _text(d)
        except LrbenchError:
            raise
        except Exception as exc:
            raise self._error("documents", exc) from None

    def doc_texts(self, doc_ids) -> dict[str, str]:
        """Only the documents asked for, through ir_datasets' docstore (built once, on first use)."""
        wanted = list(dict.fromkeys(str(d) for d in doc_ids))
        found = self._guard("documents", lambda: self._ds.docs_store().get_many(wanted))
        return {d: _text(doc) for d, doc in found.items()}

    def qrels(self) -> pd.DataFrame:
        def read():
            import pandas as pd

            rows = [(q.query_id, q.doc_id, int(q.relevance)) for q in self._ds.qrels_iter()]
            return pd.DataFrame(rows, columns=QRELS_COLUMNS)
        if not self._ds.has_qrels():
            return super().qrels()
        return self._guard("qrels", read)

    def _files(self) -> list[Path]:
        folder = dataset_folder(self.source, irds_home())
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder else []

    def fingerprint(self) -> str:
        def compute():
            h = Digest(self.source)
            if self.has_docs():
                h.update(f"{d}\t{t}" for d, t in self.docs())
            h.update(f"{q}\t{t}" for q, t in sorted(self.queries().items()))
            h.update(self.judged_qrels.astype(str).agg("\t".join, axis=1).tolist())
            return h.hexdigest()[:32]
        seed_from_mirror(self.source)
        with self._lock():
            return cached_fingerprint(self._fingerprint_name(), self._files(), compute, files_after=self._files)

    def corpus_fingerprint(self) -> str:
        """The documents' hash alone (queries_limit, qrels and grade maps leave it unchanged)."""
        seed_from_mirror(self.source)
        with self._lock():
            return cached_fingerprint("irds-corpus:" + self.source, self._files(), self._hash_docs,
                                      files_after=self._files)

    def _fingerprint_name(self) -> str:
        return "irds:" + self.source + repr(self.relevance_map) + subset_identity(self.spec, self.task)


@contextlib.contextmanager
def _quiet_ir_datasets():
    """ir_datasets draws tqdm bars of its own (building a docstore prints 'docs_iter: 16%...'); lrbench shows one
    progress display, so while lrbench reads a collection ir_datasets' bars are disabled. ir_datasets takes tqdm
    from its lazy_libs cache on each use, which is the one place to hand it a silent tqdm."""
    import ir_datasets.lazy_libs as libs
    import tqdm

    saved = libs._cache.get("tqdm")
    libs._cache["tqdm"] = types.SimpleNamespace(tqdm=functools.partial(tqdm.tqdm, disable=True))
    try:
        yield
    finally:
        if saved is None:
            libs._cache.pop("tqdm", None)
        else:
            libs._cache["tqdm"] = saved
