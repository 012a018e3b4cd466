"""A reranker cut to a depth keeps its input's tail; a measure deeper than a run is flagged in the leaderboard."""

from __future__ import annotations

import pytest

from helpers import write_suite
from neural_helpers import MINILM, bm25_run, dl19


def _ctx(tmp_path, depth, keep_tail):
    from lrbench.runners.base import RunContext

    return RunContext(cache_dir=tmp_path / "cache", suite_dir=tmp_path, depth=depth, keep_tail=keep_tail)


def test_embedder_rerank_keeps_the_unreranked_tail_in_input_order(shared, tmp_path):
    from lrbench.runners.base import top_k
    from lrbench.runners.retrieval.embedder import EmbedderRunner

    ds = dl19(shared, queries_limit=2)
    run = bm25_run(ds)
    params = {"model": MINILM, "batch_size": 16, "threads": 1}
    out = EmbedderRunner(params).run(ds, {"bm25": run}, _ctx(tmp_path, 20, True))
    frame = out.frame("run")
    head_only = EmbedderRunner(params).run(ds, {"bm25": run}, _ctx(tmp_path, 20, False)).frame("run")
    assert head_only.groupby("query_id").size().max() == 20
    for qid, ranked in frame.groupby("query_id"):
        given = top_k(run[run["query_id"] == qid], None)["doc_id"].astype(str).tolist()
        assert len(ranked) == len(given) == 100
        docs = ranked["doc_id"].tolist()
        assert set(docs[:20]) == set(given[:20])  # the reranked head is the input's top 20 ...
        assert docs[:20] == head_only[head_only["query_id"] == qid]["doc_id"].tolist()  # ... in the model's order
        assert docs[20:] == given[20:]  # the tail in input order, below every head score
        assert ranked["score"].iloc[20:].max() < ranked["score"].iloc[:20].min()
    assert out.profile["tail_docs"] == 160


def test_keep_tail_is_in_a_depth_rerankers_key_only(tmp_path):
    from lrbench.plan.keys import cell_config
    from lrbench.runners.combine.given import GivenRunner
    from lrbench.suites.schema import SystemSpec

    def config(**system):
        return cell_config(SystemSpec(name="s", type="given", **system), GivenRunner, GivenRunner.parse_params({}),
                           None, "fp", "in")

    assert "keep_tail" not in config()  # first stages keep their keys
    assert config(input="a", depth=20)["keep_tail"] is True  # a depth-cut reranker cached before the tail is not reused
    assert config(input="a", depth=20) != config(input="a", depth=20, keep_tail=False)


def test_a_measure_deeper_than_the_run_is_flagged(shared, tmp_path):
    import lrbench

    base = shared / "trec-dl-2019-passage"
    suite = write_suite(tmp_path, {
        "name": "deep", "measures": ["nDCG@10", "R@100"],
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json", "name": "dl19",
                      "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 5}],
        "systems": [{"name": "bm25", "type": "given"}, {"name": "top20", "type": "given", "params": {"k": 20}}]})
    results = lrbench.run(suite, tmp_path / "out")
    text = (results.folder / "leaderboard.md").read_text() if hasattr(results, "folder") else \
        (tmp_path / "out" / "leaderboard.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "†" in rows["top20"].split("|")[3] and "†" not in rows["top20"].split("|")[2]
    assert "†" not in rows["bm25"]
    assert "† R@100 is deeper than the run: top20 returns at most 20 documents per query" in text
