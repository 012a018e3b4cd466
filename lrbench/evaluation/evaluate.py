"""Ranking evaluation with ir-measures; per-query values stored, means computed on read."""

from __future__ import annotations

from functools import lru_cache

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError

PERQUERY_COLUMNS = ["measure", "query_id", "value"]


@lru_cache(maxsize=256)
def parse_measure(text: str):
    import ir_measures

    try:
        return ir_measures.parse_measure(text)
    except Exception as exc:
        raise LrbenchError(f"ir-measures cannot parse measure '{text}' ({exc})".replace("\n", " "),
                           key="measures", hint="use ir-measures syntax, e.g. nDCG@10, RR(rel=2)@10, AP(rel=2), R@100") from None


def drop_excluded(run: pd.DataFrame, excluded: dict[str, set[str]]) -> pd.DataFrame:
    """BRIGHT: remove each query's excluded documents from its ranking before scoring."""
    if not excluded:
        return run
    pairs = {(q, d) for q, docs in excluded.items() for d in docs}
    mask = [(q, d) not in pairs for q, d in zip(run["query_id"], run["doc_id"])]
    return run[mask]


def check_run(run: pd.DataFrame) -> None:
    """A run with no rows or with NaN scores is a broken system, not a score of 0 (the cell fails)."""
    if not len(run):
        raise ValueError("the system returned no ranked documents")
    bad = int(run["score"].isna().sum())
    if bad:
        raise ValueError(f"{bad} of {len(run)} scores are NaN (first for query {run.loc[run['score'].isna(), 'query_id'].iloc[0]})")


def evaluate_run(run: pd.DataFrame, qrels: pd.DataFrame, measures: list[str],
                 excluded: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """Per-query values for each measure, trec_eval -c style: a judged query with no results scores 0."""
    import pandas as pd

    import ir_measures

    parsed = [parse_measure(m) for m in measures]
    check_run(run)
    run = drop_excluded(run, excluded or {})
    judged_queries = run["query_id"].isin(set(qrels["query_id"]))
    if not judged_queries.all():
        run = run[judged_queries]
    rows = []
    judged = list(dict.fromkeys(m for m in parsed if m.NAME == "Judged"))
    others = [m for m in parsed if m.NAME != "Judged"]
    if len(run) and others:
        # ir-measures turns a DataFrame into one namedtuple per row; nested dicts (what its providers consume)
        # cost a fraction of that on large runs
        nested_run = nested(run["query_id"], run["doc_id"], run["score"].astype(float))
        nested_qrels = nested(qrels["query_id"], qrels["doc_id"], qrels["relevance"].astype(int))
        # a measure's str (and hash) is rebuilt from its params on every call: named once, by identity (the
        # providers hand back the measure objects they were given)
        names = {id(m): str(m) for m in others}
        for m in ir_measures.iter_calc(others, nested_qrels, nested_run):
            rows.append((names.get(id(m.measure)) or str(m.measure), m.query_id, float(m.value)))
    if len(run) and judged:
        rows += judged_rows(run, qrels, judged)
    frame = pd.DataFrame(rows, columns=PERQUERY_COLUMNS)
    relevant = set(qrels.loc[qrels["relevance"] > 0, "query_id"])
    fill = []
    for m in parsed:
        have = set(frame.loc[frame["measure"] == str(m), "query_id"])
        fill += [(str(m), q, 0.0) for q in sorted(relevant - have)]
    if fill:
        frame = pd.concat([frame, pd.DataFrame(fill, columns=PERQUERY_COLUMNS)], ignore_index=True)
    return frame


def judged_rows(run: pd.DataFrame, qrels: pd.DataFrame, measures) -> list[tuple[str, str, float]]:
    """ir-measures' Judged@k (its judged provider's definition, to the last bit) from the run's columns at once:
    the share of each run query's top k (score descending, then doc id ascending; a doc listed twice keeps its
    last score) that has any judgment in the qrels, over min(k, the query's documents). ir-measures' provider
    sorts every query's documents with a Python key, which cost more than all the other measures of a BM25 run.
    `run` holds only queries the qrels judge."""
    import numpy as np
    import pandas as pd

    from ir_measures.providers.base import NOT_PROVIDED

    from lrbench.datasets.ranking_order import codes, ranked_order, ranks_in_query

    qcodes, queries = pd.factorize(run["query_id"])  # queries in order of first appearance, as ir-measures
    dcodes, docs = codes(run["doc_id"])  # doc code order is doc id order (the tie-break)
    keys = qcodes.astype(np.int64) * (len(docs) + 1) + dcodes
    scores = run["score"].to_numpy(dtype=float)
    last = ~pd.Series(keys).duplicated(keep="last").to_numpy()
    if not last.all():
        qcodes, dcodes, keys, scores = qcodes[last], dcodes[last], keys[last], scores[last]
    judged_q = pd.Index(queries).get_indexer(qrels["query_id"])
    judged_d = pd.Index(docs).get_indexer(qrels["doc_id"])
    both = (judged_q >= 0) & (judged_d >= 0)
    is_judged = np.isin(keys, judged_q[both].astype(np.int64) * (len(docs) + 1) + judged_d[both])
    order = ranked_order(qcodes.astype(np.int64), scores, dcodes)
    sorted_q, is_judged = qcodes[order], is_judged[order]
    rank, sizes = ranks_in_query(sorted_q, len(queries))  # rank from 1
    values = []
    for m in measures:
        cutoff = m["cutoff"]
        top = np.full(len(rank), True) if cutoff == NOT_PROVIDED else rank <= cutoff
        found = np.bincount(sorted_q[top & is_judged], minlength=len(queries))
        shown = sizes if cutoff == NOT_PROVIDED else np.minimum(sizes, cutoff)
        values.append((str(m), found / shown))
    rows = [(name, q, float(v[i])) for i, q in enumerate(queries) for name, v in values]
    # like every ir-measures evaluator: a judged query the run lacks gets the measure's default
    missing = sorted(set(qrels["query_id"]) - set(queries))
    return rows + [(str(m), q, float(m.DEFAULT)) for m in sorted(measures, key=str) for q in missing]


def nested(query_ids, doc_ids, values) -> dict[str, dict[str, float | int]]:
    """{query: {doc: value}} from three aligned columns (a run's scores or qrels' grades): the dict a loop
    over the rows would build (queries in order of first appearance, a doc listed twice keeping its last
    value), one dict(zip()) per query instead of a dict operation per row."""
    import numpy as np
    import pandas as pd

    codes, queries = pd.factorize(query_ids)
    order = np.argsort(codes, kind="stable")  # rows of a query together, in their order; none moved if grouped
    codes = codes[order]
    if (codes < 0).any():
        raise ValueError("a query id is missing (NaN)")
    docs, vals = np.asarray(doc_ids, dtype=object)[order].tolist(), np.asarray(values)[order].tolist()
    ends = np.searchsorted(codes, np.arange(1, len(queries) + 1)).tolist()
    out: dict[str, dict] = {}
    start = 0
    for query, end in zip(queries.tolist(), ends):
        out[query] = dict(zip(docs[start:end], vals[start:end]))
        start = end
    return out


def aggregate(perquery: pd.DataFrame) -> dict[str, float]:
    return perquery.groupby("measure")["value"].mean().to_dict()
