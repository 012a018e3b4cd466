"""Judged@k is computed from the run's columns at once; it must equal ir-measures' judged provider to the last bit
(ties broken by doc id ascending, a document listed twice keeping its last score, queries the run lacks scored
0), on random runs full of ties and duplicates and on a real run over SciFact's qrels."""

from __future__ import annotations

import ir_measures
import numpy as np
import pandas as pd

from lrbench.evaluation.evaluate import evaluate_run, judged_rows, nested, parse_measure

MEASURES = ["Judged@10", "Judged@3", "Judged", "Judged@100"]


def provider_rows(run: pd.DataFrame, qrels: pd.DataFrame, measures) -> list[tuple[str, str, float]]:
    nested_qrels = nested(qrels["query_id"], qrels["doc_id"], qrels["relevance"])
    nested_run = nested(run["query_id"], run["doc_id"], run["score"])
    return [(str(m.measure), m.query_id, m.value) for m in ir_measures.iter_calc(measures, nested_qrels, nested_run)]


def random_case(rng, n_queries: int, n_rows: int):
    run = pd.DataFrame({"query_id": rng.choice([f"q{i}" for i in range(n_queries)], n_rows),
                        "doc_id": rng.choice([f"d{i}" for i in range(25)] + ["D", "a", "10", "9"], n_rows),
                        "score": rng.choice([0.0, -0.0, 1.0, 2.5, -1.0, 1e-300, 3.0], n_rows)})
    qrels = pd.DataFrame({"query_id": rng.choice([f"q{i}" for i in range(n_queries + 2)], 30),
                          "doc_id": rng.choice([f"d{i}" for i in range(30)] + ["a", "9"], 30),
                          "relevance": rng.integers(-1, 3, 30)}).drop_duplicates(["query_id", "doc_id"])
    return run[run["query_id"].isin(set(qrels["query_id"]))], qrels


def test_equals_ir_measures_on_random_runs_with_ties_and_duplicates():
    rng = np.random.default_rng(7)
    measures = [parse_measure(m) for m in MEASURES]
    checked = 0
    for _ in range(300):
        run, qrels = random_case(rng, int(rng.integers(1, 8)), int(rng.integers(1, 60)))
        if len(run):
            assert sorted(judged_rows(run, qrels, measures)) == sorted(provider_rows(run, qrels, measures))
            checked += 1
    assert checked > 200


def test_tie_order_matters_and_is_matched():
    """Perturbation: with the doc-id tie-break reversed the values change, so the equality above can fail."""
    run = pd.DataFrame({"query_id": ["q"] * 3, "doc_id": ["b", "a", "c"], "score": [1.0, 1.0, 0.5]})
    qrels = pd.DataFrame({"query_id": ["q"], "doc_id": ["b"], "relevance": [1]})
    measures = [parse_measure("Judged@1")]
    assert judged_rows(run, qrels, measures) == provider_rows(run, qrels, measures) == [("Judged@1", "q", 0.0)]
    renamed = run.assign(doc_id=["b", "z", "c"])  # the unjudged tied document now sorts after the judged one
    assert judged_rows(renamed, qrels, measures) == provider_rows(renamed, qrels, measures) == [("Judged@1", "q", 1.0)]


def test_real_run_through_evaluate_run(shared):
    folder = shared / "beir-scifact"
    qrels = pd.read_csv(folder / "qrels" / "test.tsv", sep="\t", dtype={"query-id": str, "corpus-id": str})
    qrels = qrels.rename(columns={"query-id": "query_id", "corpus-id": "doc_id", "score": "relevance"})
    docs = pd.read_json(folder / "corpus.jsonl", lines=True, dtype={"_id": str})["_id"].astype(str).to_numpy()
    rng = np.random.default_rng(0)
    qids = qrels["query_id"].unique()
    run = pd.DataFrame({"query_id": np.repeat(qids, 200), "doc_id": rng.choice(docs, len(qids) * 200),
                        "score": rng.integers(0, 50, len(qids) * 200).astype(float)})
    # the judged documents among the candidates, so Judged@k is not 0 everywhere
    run = pd.concat([run, qrels[["query_id", "doc_id"]].assign(score=47.0)], ignore_index=True)
    perquery = evaluate_run(run, qrels, ["nDCG@10", *MEASURES])
    ours = sorted(map(tuple, perquery[perquery["measure"].str.startswith("Judged")].itertuples(index=False)))
    assert ours == sorted(provider_rows(run, qrels, [parse_measure(m) for m in MEASURES]))
    assert 0 < perquery.loc[perquery["measure"] == "Judged@10", "value"].mean() < 1


def test_nested_is_the_dict_a_row_loop_builds():
    """Same queries, docs, values, types and insertion order; a doc listed twice keeps its last value."""
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(0, 60))
        frame = pd.DataFrame({"q": rng.choice(["a", "b", "10", "9"], n), "d": rng.choice(["x", "y", "1", "2"], n),
                              "v": rng.standard_normal(n) if trial % 2 else rng.integers(0, 3, n)})
        if trial % 3 == 0:
            frame = frame.astype({"q": object, "d": object})
        loop: dict = {}
        for q, d, v in zip(frame["q"].tolist(), frame["d"].tolist(), frame["v"].tolist()):
            loop.setdefault(q, {})[d] = v
        ours = nested(frame["q"], frame["d"], frame["v"])
        assert ours == loop and list(ours) == list(loop)
        assert all(list(ours[q].items()) == list(loop[q].items()) for q in loop)
        assert all(type(a) is type(b) for q in loop for a, b in zip(ours[q].values(), loop[q].values()))
