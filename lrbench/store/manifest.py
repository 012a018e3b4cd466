"""A results folder's leaderboard, committed in one step.

`cells.json` is the manifest: the cells the leaderboard is made of, and the SHA-256 of leaderboard.parquet
and leaderboard.md. The two views are written first, the manifest last (atomically), so a kill at any
moment leaves the previous commit or the new one. Readers trust only what the manifest names: a view
whose checksum does not match (a kill between the writes, an edit) is rebuilt from the manifest's cells.

A run adds to the folder's leaderboard the cells an earlier run of the same suite committed (an `--only`
run) when the suite still names their (dataset, system), unless this run computed them again. Cells of
another suite, or of systems and datasets the suite no longer has, leave the leaderboard; `lrbench prune`
removes their folders (the manifest's entries are the keys the suite names). A cell two suites share is
scored for both suites' measures (the store merges them under the cell's lock).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable

import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.store.store import BOARD_LOCK, CELL_KEY, CorruptCell, check_key, open_store

MANIFEST = "cells.json"
BOARD = "leaderboard.parquet"
MARKDOWN = "leaderboard.md"
COLUMNS = ["dataset", "system", "measure", "value"]
FORMAT = 2


def _slot(entry: dict) -> tuple[str, str]:
    return entry["dataset"], entry["system"]


def _read_json(store, path) -> dict | None:
    try:
        data = json.loads(store.read_bytes(path))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("cells"), list) else None


def rows_of_cell(store, entry: dict) -> pd.DataFrame:
    """The leaderboard rows of one committed cell, from its verified scores and meta.json."""
    from lrbench.evaluation.measures import canonical

    meta = store.meta(entry["key"])
    scores = store.read_frame(entry["key"], "scores")
    if scores is None:
        raise CorruptCell("scores.parquet is missing")
    values = dict(zip(scores["measure"].astype(str), scores["value"].astype(float)))
    rows = []
    for display in meta.get("measures", []):
        canon = canonical(display, meta.get("task", "ranking"))
        if canon in values:
            rows.append((entry["dataset"], entry["system"], display, values[canon]))
    return pd.DataFrame(rows, columns=COLUMNS)


def _board_rows(store, root, info: dict) -> pd.DataFrame:
    """The committed board: leaderboard.parquet when it matches the manifest, else rebuilt from the cells."""
    expected = (info.get("board") or {}).get(BOARD)
    try:
        data = store.read_bytes(root / BOARD)
    except (OSError, ValueError):
        data = None
    if data is not None and (expected is None or store_digest(data) == expected):
        try:
            board = pd.read_parquet(io.BytesIO(data))
            if list(board.columns)[:4] == COLUMNS:
                return board
        except Exception:  # garbage in the file: rebuilt below
            pass
        if expected is None:
            raise LrbenchError(f"{root / BOARD} is not a leaderboard table", file=str(root / BOARD),
                               hint="rerun `lrbench run` on the suite to rewrite it")
    parts = [rows_of_cell(store, entry) for entry in info["cells"]]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def with_query_counts(board: pd.DataFrame, entries: list[dict]) -> pd.DataFrame:
    """Tables state how many queries each dataset's numbers average over (board.attrs["queries"]), how many
    judged documents its corpus lacks (board.attrs["absent_judged"]) and how deep each system's run is
    (board.attrs["run_depth"][dataset][system]), so a measure deeper than a run can be flagged; a reranked
    system's share of judged documents in its top k is board.attrs["judged"][dataset][system]["Judged@k"]."""
    counts: dict[str, int] = {}
    absent: dict[str, int] = {}
    depths: dict[str, dict[str, int]] = {}
    judged: dict[str, dict[str, dict[str, float]]] = {}
    for entry in entries:
        if entry.get("judged"):
            judged.setdefault(entry["dataset"], {})[entry["system"]] = dict(entry["judged"])
        counts[entry["dataset"]] = max(counts.get(entry["dataset"], 0), int(entry.get("queries") or 0))
        if entry.get("absent_judged"):
            absent[entry["dataset"]] = max(absent.get(entry["dataset"], 0), int(entry["absent_judged"]))
        if entry.get("run_depth"):
            depths.setdefault(entry["dataset"], {})[entry["system"]] = int(entry["run_depth"])
    board.attrs.update(queries=counts, absent_judged=absent, run_depth=depths, judged=judged)
    return board


def store_digest(data: bytes) -> str:
    from lrbench.atomic import sha256_bytes

    return sha256_bytes(data)


def commit(store, root, suite, board: pd.DataFrame, index: list[dict],
           markdown: Callable[[pd.DataFrame], str], failed: list[dict] = (),
           suite_slots: set[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Merge this run's cells into the folder's committed leaderboard and commit the result.
    `failed`: this run's failed cells, recorded so that `lrbench gate RESULTS` sees them. `suite_slots`: the
    (dataset, system) labels the suite names; earlier cells outside them (or of another suite) are dropped."""
    with store.lock(BOARD_LOCK):
        slots: dict[tuple[str, str], tuple[dict, pd.DataFrame]] = {}
        previous = _read_json(store, root / MANIFEST)
        if previous is not None and previous.get("suite") == suite.name:
            try:
                old_rows = _board_rows(store, root, previous)
            except (LrbenchError, CorruptCell):
                old_rows = pd.DataFrame(columns=COLUMNS)
            for entry in previous["cells"]:
                if (isinstance(entry, dict) and {"dataset", "system", "key"} <= set(entry)
                        and CELL_KEY.match(str(entry["key"])) and store.has(entry["key"])
                        and (suite_slots is None or _slot(entry) in suite_slots)):
                    rows = old_rows[(old_rows["dataset"] == entry["dataset"]) & (old_rows["system"] == entry["system"])]
                    slots[_slot(entry)] = (entry, rows)
        for entry in index:
            rows = board[(board["dataset"] == entry["dataset"]) & (board["system"] == entry["system"])]
            kept = slots.get(_slot(entry))
            if kept is not None and kept[0]["key"] == entry["key"]:
                # the same cell committed by a suite with other measures: both suites' measures stay
                rows = pd.concat([rows, kept[1][~kept[1]["measure"].isin(rows["measure"])]], ignore_index=True)
            slots[_slot(entry)] = (entry, rows)
        entries = [entry for entry, _ in slots.values()]
        parts = [rows for _, rows in slots.values() if len(rows)]
        merged = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
        merged = with_query_counts(merged.astype({"value": float}), entries)
        table = io.BytesIO()
        merged.to_parquet(table, index=False)
        views = {BOARD: table.getvalue(), MARKDOWN: markdown(merged).encode("utf-8")}
        info = {"format": FORMAT, "suite": suite.name, "baseline": suite.baseline, "cells": entries,
                "failed": list(failed), "suite_config": suite.model_dump(mode="json"),
                "board": {name: store_digest(data) for name, data in views.items()}}
        manifest = json.dumps(info, indent=2, sort_keys=True, default=str).encode("utf-8")
        # all or nothing: the views and the manifest are written in full before any is published
        store.write_together({root / BOARD: views[BOARD], root / MARKDOWN: views[MARKDOWN], root / MANIFEST: manifest})
    return merged


def load(root: str | Path) -> tuple[pd.DataFrame, dict]:
    """The committed (board, manifest) of a local results folder; one clear error when there is none."""
    root = Path(root)
    path = root / MANIFEST
    if root.exists() and not root.is_dir():
        raise LrbenchError(f"{root} is a file, not a results folder", hint="pass the folder given to `lrbench run --out`")
    if not path.exists():
        raise LrbenchError(f"{root} is not a results folder (no {MANIFEST})",
                           hint="run `lrbench run SUITE --out DIR` first and pass DIR")
    store = open_store(root)
    info = _read_json(store, path)
    if info is None:
        raise LrbenchError(f"{path} is not a results manifest (unreadable, or no 'cells' list)", file=str(path),
                           hint="rerun `lrbench run` on the suite to rewrite it")
    if not isinstance(info.get("suite"), str):
        raise LrbenchError(f"{path} names no suite", file=str(path), hint="rerun `lrbench run` on the suite to rewrite it")
    for n, entry in enumerate(info["cells"]):
        if not isinstance(entry, dict) or not {"dataset", "system", "key"} <= set(entry):
            raise LrbenchError(f"cells[{n}] lacks dataset, system or key", file=str(path),
                               hint="rerun `lrbench run` on the suite to rewrite it")
        check_key(entry["key"], file=str(path), where=f"cells[{n}].key")
    try:
        board = _board_rows(store, root, info)
    except CorruptCell as exc:
        raise LrbenchError(f"a cell named in {MANIFEST} is damaged ({exc})", file=str(path),
                           hint="rerun `lrbench run` on the suite: damaged cells are recomputed") from None
    return with_query_counts(board, info["cells"]), info
