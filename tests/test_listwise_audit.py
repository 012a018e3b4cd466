"""Local (transformers) listwise runs keep every window's raw answer, permutation and repair; the report shows
repairs and Judged@k beside reranked systems. SmolLM2-135M on two DL19 queries (real data, real model)."""

from __future__ import annotations

import pandas as pd

from helpers import write_suite

SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_local_listwise_generations_repairs_and_judged(shared, tmp_path):
    from lrbench.evaluation.evaluate import evaluate_run
    from lrbench.executors.core import Engine
    from lrbench.plan import load_suite
    from lrbench.presentation.audit import repair_warning
    from lrbench.presentation.report import build_report, to_markdown
    from lrbench.store.resultsdir import ResultsDir

    base = shared / "trec-dl-2019-passage"
    suite = write_suite(tmp_path, {
        "name": "listwise-audit", "measures": ["nDCG@10"], "baseline": "bm25",
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json", "name": "dl19",
                      "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 2}],
        "systems": [{"name": "bm25", "type": "given"},
                    {"name": "smol", "type": "llm-listwise", "input": "bm25", "depth": 6,
                     "params": {"model": SMOLLM, "window": 4, "stride": 2, "doc_max_tokens": 24, "threads": 1}}]})
    result = Engine(load_suite(suite), tmp_path / "out").run()
    assert not result.failed, [c.error for c in result.failed]
    data = ResultsDir(tmp_path / "out")
    cell = data.cell("dl19", "smol")
    profile = cell.profile.raw
    gens = cell.frame("generations")
    # two queries x windows (3-6, 1-4): every window generated is one row, with its query and repair
    assert len(gens) == profile["windows"] == 4 and set(gens["query_id"]) == set(cell.perquery["query_id"])
    assert list(gens["window"]) == ["3-6", "1-4"] * 2
    assert int(gens["repaired"].sum()) == profile["windows_with_repairs"]
    assert (gens.loc[gens["repaired"], "repair"].str.len() > 0).all()
    assert (gens.loc[~gens["repaired"], "repair"] == "").all()
    for _, row in gens.iterrows():  # the permutation is the parsed generation, repaired
        from lrbench.runners.llm.prompts.listwise import parse_permutation

        order, _ = parse_permutation(row["generation"], 4)
        assert row["permutation"] == " > ".join(str(j + 1) for j in order)
    # queries left in input order, counted from the stored runs
    run, bm25 = data.cell("dl19", "smol").frame("run"), data.cell("dl19", "bm25").frame("run")
    same = sum(list(run[run.query_id == q].sort_values("rank").doc_id[:6]) ==
               list(bm25[bm25.query_id == q].sort_values("rank").doc_id[:6]) for q in set(run.query_id))
    assert profile["queries_input_order"] == same and profile["queries_reranked"] == 2
    # Judged@10 of the reranked cell equals ir-measures' on its stored run; first stages show none
    qrels = pd.read_csv(base / "qrels.dl19-passage.txt", sep=r"\s+", names=["query_id", "q0", "doc_id", "relevance"],
                        dtype=str).astype({"relevance": int})
    qrels = qrels[qrels.query_id.isin(set(run.query_id))]
    expected = evaluate_run(run, qrels, ["Judged@10"])["value"].mean()
    judged = data.board.attrs["judged"]["dl19"]
    assert set(judged) == {"smol"} and abs(judged["smol"]["Judged@10"] - expected) < 1e-9
    report = to_markdown(build_report(tmp_path / "out"))
    assert f"| smol | {expected:.2f} |" in report
    assert f"| dl19 | smol | {profile['windows_with_repairs']} / 4 |" in report
    assert "Raw generations" in report
    # the end-of-run warning fires when most windows needed repair, and only then
    assert repair_warning("smol on dl19", {**profile, "windows_with_repairs": 3}) is not None
    assert repair_warning("smol on dl19", {**profile, "windows_with_repairs": 2}) is None
