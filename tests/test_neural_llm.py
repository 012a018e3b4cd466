"""LLM rerankers with SmolLM2-135M-Instruct (offline GGUF copy): pointwise, listwise/FIRST, ICR, the
compression hook, bad inputs, and an end-to-end suite through the executor. Small slices of DL19
(1-2 queries, top 5-6) keep this fast on CPU; full numbers come from benchmarks/neural_dl19.py."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from lrbench.errors import LrbenchError
from lrbench.runners.llm.icr import ICRRunner, _CAPTURE, register_attention
from lrbench.runners.llm.listwise import ListwiseRunner
from lrbench.runners.llm.pointwise import PointwiseRunner
from neural_helpers import SMOLLM, bm25_run, ctx, dl19
from helpers import write_suite


@pytest.fixture
def ds(shared):
    return dl19(shared, queries_limit=2)


def test_pointwise_left_padded_batches_equal_single_prompts(ds, tmp_path):
    inputs = {"bm25": bm25_run(ds)}
    batched = PointwiseRunner({"model": SMOLLM, "batch_size": 4, "doc_max_tokens": 48, "threads": 1}).run(
        ds, inputs, ctx(tmp_path, depth=4))
    single = PointwiseRunner({"model": SMOLLM, "batch_size": 1, "doc_max_tokens": 48, "threads": 1}).run(
        ds, inputs, ctx(tmp_path, depth=4))
    assert len(batched.run) == 8
    np.testing.assert_allclose(batched.run["score"], single.run["score"], atol=2e-3)
    assert batched.run["score"].std() > 0
    p = batched.profile
    assert p["device"] == "cpu" and p["dtype"] == "float32" and p["params"] > 100_000_000
    assert p["latency_ms_p50"] > 0 and p["tokens_per_second"] > 0 and p["peak_rss_mb"] > 0
    assert p["model_revision"].startswith("gguf-sha256:")


def test_pointwise_template_must_name_query_and_document():
    with pytest.raises(LrbenchError) as exc:
        PointwiseRunner({"model": SMOLLM, "template": "Is this relevant? {document}"})
    assert exc.value.key == "params.template" and "lacks {query}" in exc.value.one_line()


def test_bad_template_is_reported_by_validate_with_file_and_line(tmp_path, shared):
    from lrbench.plan import load_suite

    base = shared / "trec-dl-2019-passage"
    path = write_suite(tmp_path, {
        "name": "bad-template",
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json",
                      "qrels": str(base / "qrels.dl19-passage.txt")}],
        "systems": [{"name": "bm25", "type": "given"},
                    {"name": "pw", "type": "llm-pointwise", "input": "bm25", "depth": 5,
                     "params": {"model": SMOLLM, "template": "Query: {query}"}},
                    {"name": "lw", "type": "llm-listwise", "input": "bm25", "depth": 5,
                     "params": {"model": SMOLLM, "window": 1}}]})
    loaded = load_suite(path, strict=False)
    lines = [e.one_line() for e in loaded.errors]
    assert any("suite.yaml:" in line and "template" in line and "lacks {document}" in line for line in lines), lines
    assert any("window must be at least 2" in line for line in lines), lines


@pytest.mark.parametrize("mode", ["generate", "first"])
def test_listwise_returns_a_permutation_and_counts_windows(ds, tmp_path, mode):
    inputs = {"bm25": bm25_run(ds)}
    params = {"model": SMOLLM, "mode": mode, "window": 4, "stride": 2, "doc_max_tokens": 24, "batch_size": 2, "threads": 1}
    out = ListwiseRunner(params).run(ds, inputs, ctx(tmp_path, depth=6))
    top = bm25_run(ds).sort_values(["query_id", "score"], ascending=[True, False]).groupby("query_id").head(6)
    for qid, group in out.run.groupby("query_id"):
        assert sorted(group["doc_id"]) == sorted(top[top["query_id"] == qid]["doc_id"])
        assert group["score"].nunique() == 6
    p = out.profile
    assert p["windows"] == 2 * 2  # windows (2,6) and (0,4) for each of the two queries
    assert p["windows_ok"] + p["windows_partial"] + p["windows_repaired"] == p["windows"]
    assert p["mode"] == mode and p["latency_ms_p50"] > 0
    if mode == "first":  # one forward pass per window, nothing generated
        assert p["generated_tokens"] == 0
    else:  # at least the identifiers of one window per window, at most max_new_tokens (4 * 5 + 8) each
        assert p["windows"] <= p["generated_tokens"] <= 28 * p["windows"]
        assert p["generated_tokens_per_query"] == p["generated_tokens"] / 2


def test_icr_attention_capture_equals_eager_attention(shared):
    from lrbench.runners.neural import load_model

    loaded = load_model("causal-lm", SMOLLM, {}, attn_implementation=register_attention())
    ids = loaded.tokenizer("Paris is the capital of France. Berlin is in Germany. Query: capital of France",
                           return_tensors="pt")["input_ids"]
    rows = list(range(ids.shape[1] - 4, ids.shape[1]))
    _CAPTURE.rows, _CAPTURE.acc = torch.as_tensor(rows), None
    try:
        with torch.inference_mode():
            loaded.model.model(input_ids=ids)
        ours = _CAPTURE.acc[0].clone()
    finally:
        _CAPTURE.rows = _CAPTURE.acc = None
    loaded.model.set_attn_implementation("eager")
    with torch.inference_mode():
        attns = loaded.model.model(input_ids=ids, output_attentions=True).attentions
    expected = sum(a[0, :, rows, :].mean(dim=(0, 1)) for a in attns)
    loaded.model.set_attn_implementation(register_attention())
    torch.testing.assert_close(ours, expected.float(), atol=1e-4, rtol=1e-3)
    assert float(ours.sum()) == pytest.approx(len(attns), rel=1e-4)  # each layer's row mass sums to 1


def test_icr_scores_and_chunking(ds, tmp_path):
    inputs = {"bm25": bm25_run(ds)}
    whole = ICRRunner({"model": SMOLLM, "doc_max_tokens": 32, "threads": 1}).run(ds, inputs, ctx(tmp_path, depth=4))
    assert whole.profile["forward_passes"] == 2 * 2  # query + content-free calibration, per query
    chunked = ICRRunner({"model": SMOLLM, "doc_max_tokens": 32, "window": 2, "threads": 1}).run(ds, inputs, ctx(tmp_path, depth=4))
    assert chunked.profile["forward_passes"] == 2 * 2 * 2
    assert len(whole.run) == len(chunked.run) == 8
    assert np.isfinite(whole.run["score"]).all() and whole.run["score"].std() > 0


def test_compression_hook(ds, tmp_path, monkeypatch):
    from lrbench.runners.retrieval.embedder import EmbedderRunner
    from neural_helpers import MINILM

    inputs = {"bm25": bm25_run(ds)}
    compressed = ctx(tmp_path, depth=3, compress={"ratio": 0.5})  # the block typed, as the engine hands it over
    monkeypatch.setitem(sys.modules, "lrbench.compression", None)  # as if the module did not exist
    with pytest.raises(LrbenchError, match="compression not available"):
        EmbedderRunner({"model": MINILM}).run(ds, inputs, compressed)
    calls = {}

    def compress_model(model, spec, tokenizer=None, calibration=None, cache_dir=None, base_dir=None):
        calls.update(spec=spec, calibration=calibration, tokenizer=tokenizer, base_dir=base_dir)
        return model, {"ratio": spec.ratio, "params_before": 1, "params_after": 1}

    monkeypatch.setitem(sys.modules, "lrbench.compression", types.SimpleNamespace(compress_model=compress_model))
    out = EmbedderRunner({"model": MINILM}).run(ds, inputs, compressed)
    assert out.profile["compression"]["ratio"] == 0.5
    # the hook gets the context's typed block itself, not a copy parsed again
    assert calls["spec"] is compressed.compress and calls["tokenizer"] is not None and len(calls["calibration"]) == 3
    assert calls["base_dir"] == tmp_path  # a calibration dataset is read relative to the suite, as for task runners
    plain = EmbedderRunner({"model": MINILM}).run(ds, inputs, ctx(tmp_path, depth=3))
    assert "compression" not in plain.profile


def test_suite_end_to_end_with_profiles(shared, tmp_path):
    import json

    import lrbench

    base = shared / "trec-dl-2019-passage"
    path = write_suite(tmp_path, {
        "name": "dl19-neural-smoke",
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json", "name": "dl19",
                      "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 2}],
        "measures": ["nDCG@10", "RR(rel=2)@10"],
        "baseline": "bm25",
        "systems": [{"name": "bm25", "type": "given"},
                    {"name": "minilm", "type": "embedder", "input": "bm25", "depth": 10,
                     "params": {"model": "sentence-transformers/all-MiniLM-L6-v2"}},
                    {"name": "first", "type": "llm-listwise", "input": "bm25", "depth": 10,
                     "params": {"model": SMOLLM, "mode": "first", "window": 10, "stride": 5,
                                "doc_max_tokens": 40, "threads": 1}}]})
    result = lrbench.run(path, out=tmp_path / "results")
    assert not result.failed, result.failed
    board = result.leaderboard
    assert set(board["system"]) == {"bm25", "minilm", "first"}
    metas = [json.loads(p.read_text()) for p in (tmp_path / "results").rglob("meta.json")]
    profiles = {m["system"]["name"]: m["profile"] for m in metas}
    for name in ("minilm", "first"):
        for key in ("load_seconds", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "docs_per_second",
                    "tokens_per_second", "peak_rss_mb", "params", "size_on_disk_mb", "batch_size", "dtype",
                    "device", "threads"):
            assert key in profiles[name], (name, key)
    again = lrbench.run(path, out=tmp_path / "results")
    assert again.count("cached") == 3  # the model revision in the key is stable


def test_icr_puts_the_on_topic_passage_first(shared, tmp_path):
    """Real DL19 passages: each query's grade-3 passage among four grade-3 passages of *other* queries.
    SmolLM2-135M's calibrated attention finds the on-topic one wherever it sits in the prompt (it does not
    rank the on-topic top-100 of the full table well: benchmarks/NEURAL_RESULTS.md)."""
    import pandas as pd

    ds = dl19(shared, queries_limit=8)
    qrels, cands = ds.judged_qrels, ds.candidates()
    qids = list(ds.eval_queries())

    def best(qid):
        pool = set(cands[cands["query_id"] == qid]["doc_id"])
        docs = [d for d in qrels[(qrels["query_id"] == qid) & (qrels["relevance"] == 3)]["doc_id"] if d in pool]
        return docs[0] if docs else None

    tops = {q: best(q) for q in qids if best(q)}
    chosen = list(tops)[:3]
    rows = []
    for i, qid in enumerate(chosen):
        others = [tops[o] for o in list(tops) if o != qid][:4]
        order = others[:i] + [tops[qid]] + others[i:]  # the on-topic passage at position 1, 2, 3
        rows += [(qid, d, float(10 - j)) for j, d in enumerate(order)]
    run = pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])
    out = ICRRunner({"model": SMOLLM, "threads": 1}).run(ds, {"bm25": run}, ctx(tmp_path))
    for qid in chosen:
        ranked = out.run[out.run["query_id"] == qid].sort_values("score", ascending=False)["doc_id"].tolist()
        assert ranked[0] == tops[qid], (qid, ranked)
