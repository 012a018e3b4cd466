"""Read a run file in the formats people exchange: TREC, ranx/JSON `{qid: {docid: score}}`, Parquet (or JSON
lines) with query_id/doc_id/score columns, and RankLLM candidate lists. The format comes from `format:` or,
failing that, from the extension and the first bytes of the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.datasets.base import RUN_COLUMNS

RUN_FORMATS = ("trec", "ranx", "parquet", "jsonl", "rankllm")
#: column names other tools use for the three run columns
_ALIASES = {"qid": "query_id", "q_id": "query_id", "query": "query_id", "docid": "doc_id", "doc": "doc_id",
            "pid": "doc_id", "corpus_id": "doc_id"}


def detect_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".jsonl"):
        return "jsonl"
    first = _first_char(path)
    if name.endswith(".json"):
        return "rankllm" if first == "[" else "ranx"
    if first == "[":
        return "rankllm"
    if first == "{":
        # a ranx run is one object of objects (maybe on one line); JSON lines hold one flat record per line
        record = _json_or_none(_first_line(path))
        flat = isinstance(record, dict) and not all(isinstance(v, dict) for v in record.values())
        return "jsonl" if flat else "ranx"
    return "trec"


def _first_line(path: Path) -> str:
    from lrbench.datasets.files import numbered_lines

    return next((line for _, line in numbered_lines(path) if line.strip()), "")


def _first_char(path: Path) -> str:
    return _first_line(path).lstrip()[:1]


def _json_or_none(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def checked_run(frame: pd.DataFrame, source: str, positions=None, unit: str = "row") -> pd.DataFrame:
    """One rule for every run, whatever its format: each document at most once per query and every score a
    finite number. A violation is refused naming the source and its line (text formats) or row (tables,
    JSON), as `unit` and `positions` (1-based, in the frame's order; default: the row number) say."""
    import numpy as np

    frame = frame.reset_index(drop=True)
    where = (lambda i: int(positions[i])) if positions is not None else (lambda i: i + 1)
    score = frame["score"].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(score))
    if len(bad):
        i = int(bad[0])
        raise LrbenchError(f"score {float(score[i])!r} of query {frame['query_id'][i]}, document {frame['doc_id'][i]} "
                           f"is not a finite number", file=_place(source, unit, where(i)),
                           hint="remove or fix the NaN/inf score")
    twice = frame.duplicated(["query_id", "doc_id"], keep=False).to_numpy()
    if twice.any():
        rows = np.flatnonzero(twice)
        first = int(rows[0])
        i = next(int(r) for r in rows[1:] if frame["query_id"][r] == frame["query_id"][first]
                 and frame["doc_id"][r] == frame["doc_id"][first])
        raise LrbenchError(f"query {frame['query_id'][i]} ranks document {frame['doc_id'][i]} twice (first on "
                           f"{unit} {where(first)})", file=_place(source, unit, where(i)),
                           hint="each document once per query")
    return frame


def _place(source: str, unit: str, n: int) -> str:
    return f"{source}:{n}" if unit == "line" else f"{source} ({unit} {n})"


def _frame(path: Path, frame: pd.DataFrame, positions=None, unit: str = "row") -> pd.DataFrame:
    import pandas as pd

    frame = frame.rename(columns={c: _ALIASES.get(c, c) for c in frame.columns})
    missing = [c for c in RUN_COLUMNS if c not in frame.columns]
    if missing:
        raise LrbenchError(f"run lacks column(s) {', '.join(missing)}", file=str(path),
                           hint="expected query_id, doc_id and score (qid/docid also work)")
    try:
        score = pd.to_numeric(frame["score"], errors="raise").astype(float)
    except (ValueError, TypeError):
        raise LrbenchError("run has a non-numeric score", file=str(path), key="score") from None
    run = pd.DataFrame({"query_id": frame["query_id"].astype(str), "doc_id": frame["doc_id"].astype(str),
                        "score": score})
    if run.empty:
        raise LrbenchError("the run is empty", file=str(path), hint="give a run with at least one ranked document")
    return checked_run(run, str(path), positions, unit)


class _Pairs(list):
    """A JSON object as its (key, value) pairs in file order: a key given twice is kept twice, so that a
    document listed twice for a query is refused rather than silently overwritten."""


def _read_json(path: Path, pairs: bool = False):
    from lrbench.datasets.files import numbered_lines

    try:
        text = "".join(line for _, line in numbered_lines(path, limit=None))  # a regular file: finite
        return json.loads(text, object_pairs_hook=_Pairs) if pairs else json.loads(text)
    except ValueError as exc:
        raise LrbenchError(f"run file is not valid JSON ({exc})", file=str(path)) from None


def read_ranx(path: Path) -> pd.DataFrame:
    import pandas as pd

    data = _read_json(path, pairs=True)
    if not isinstance(data, _Pairs) or not all(isinstance(v, _Pairs) for _, v in data):
        raise LrbenchError("not a ranx run", file=str(path), hint='expected {"qid": {"docid": score, ...}, ...}')
    rows = [(str(q), str(d), s) for q, docs in data for d, s in docs]
    return _frame(path, pd.DataFrame(rows, columns=RUN_COLUMNS))


def read_rankllm(path: Path) -> pd.DataFrame:
    import pandas as pd

    data = _read_json(path)
    try:
        rows = [(str(hit["qid"]), str(hit["docid"]), hit["score"]) for entry in data for hit in entry["hits"]]
    except (KeyError, TypeError) as exc:
        raise LrbenchError(f"not a RankLLM candidate list ({type(exc).__name__}: {exc})", file=str(path),
                           hint='expected [{"query": ..., "hits": [{"qid", "docid", "score", ...}]}]') from None
    return _frame(path, pd.DataFrame(rows, columns=RUN_COLUMNS))


def read_jsonl(path: Path) -> pd.DataFrame:
    import pandas as pd

    from lrbench.datasets.files import json_record, numbered_lines

    numbered = [(n, json_record(line, path, n)) for n, line in numbered_lines(path) if line.strip()]
    return _frame(path, pd.DataFrame.from_records([record for _, record in numbered]),
                  [n for n, _ in numbered], "line")


def read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    from lrbench.datasets.inputs import regular_file

    regular_file(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise LrbenchError(f"not a Parquet file ({type(exc).__name__})", file=str(path)) from None
    return _frame(path, frame)


def read_run(path: Path, fmt: str | None = None) -> pd.DataFrame:
    """A run (query_id, doc_id, score) from any supported format."""
    from lrbench.datasets.files import read_trec_run

    fmt = fmt or detect_format(path)
    readers = {"trec": read_trec_run, "ranx": read_ranx, "parquet": read_parquet, "jsonl": read_jsonl,
               "rankllm": read_rankllm}
    if fmt not in readers:
        raise LrbenchError(f"unknown run format '{fmt}'", key="params.format", hint=f"one of: {', '.join(RUN_FORMATS)}")
    return readers[fmt](path)
