"""Rank fusion: the `fusion` runner equals ranx's `fuse` on real BM25 + MiniLM runs over a SciFact slice."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import write_suite
from neural_helpers import MINILM, scifact_slice

from lrbench.errors import LrbenchError
from lrbench.executors.core import Engine
from lrbench.plan import load_suite

ranx = pytest.importorskip("ranx")

#: lrbench fusion systems: (method, norm, extra params) -> ranx fuse(norm, method, params)
CASES = {
    "rrf": ({"method": "rrf", "k": 60}, (None, "rrf", {"k": 60})),
    "rrf-k10": ({"method": "rrf", "k": 10}, (None, "rrf", {"k": 10})),
    "combsum-minmax": ({"method": "combsum", "norm": "min-max"}, ("min-max", "sum", {})),
    "combsum-zscore": ({"method": "combsum", "norm": "z-score"}, ("zmuv", "sum", {})),
    "combsum-rank": ({"method": "combsum", "norm": "rank"}, ("rank", "sum", {})),
    "combmnz-minmax": ({"method": "combmnz", "norm": "min-max"}, ("min-max", "mnz", {})),
    "combmnz-rank": ({"method": "combmnz", "norm": "rank"}, ("rank", "mnz", {})),
    "wsum-minmax": ({"method": "wsum", "norm": "min-max", "weights": [0.3, 0.7]},
                    ("min-max", "wsum", {"weights": [0.3, 0.7]})),
    "wsum-zscore": ({"method": "wsum", "norm": "z-score", "alpha": 0.6},
                    ("zmuv", "wsum", {"weights": [0.6, 0.4]})),
}
RANK_BASED = {"rrf", "rank"}


def _suite(tmp_path, shared):
    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=12, n_extra=120)
    systems = [{"name": "bm25", "type": "bm25", "params": {"k": 100}},
               {"name": "minilm", "type": "embedder", "params": {"model": MINILM, "batch_size": 32, "k": 100}}]
    systems += [{"name": name, "type": "fusion", "inputs": ["bm25", "minilm"], "params": params}
                for name, (params, _) in CASES.items()]
    return write_suite(tmp_path, {"name": "fusion", "datasets": [{"id": f"beir:{folder}", "name": "scifact"}],
                                  "measures": ["nDCG@10"], "systems": systems})


def _ranx_run(run, by_rank: bool):
    """A ranx Run of an lrbench run. ranx orders tied scores arbitrarily (an unstable sort), so for the
    rank-based methods it gets scores that encode lrbench's trec_eval order (score desc, doc id desc)."""
    from lrbench.runners.combine.fusion import rank_frame

    ranked = rank_frame(run)
    values = -ranked["position"].astype(float) if by_rank else ranked["score"].astype(float)
    out: dict[str, dict[str, float]] = {}
    for qid, doc, value in zip(ranked["query_id"], ranked["doc_id"], values):
        out.setdefault(str(qid), {})[str(doc)] = float(value)
    return ranx.Run(out)


def _ordering(scores: dict[str, float]) -> list[str]:
    # trec_eval order; rounding keeps float noise between the two implementations from reordering near-ties
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (-round(kv[1], 10), kv[0]), reverse=False)]


def test_every_fusion_method_equals_ranx_fuse(tmp_path, shared):
    loaded = load_suite(_suite(tmp_path, shared))
    executor = Engine(loaded, tmp_path / "out")
    result = executor.run()
    assert not result.failed, [c.error for c in result.failed]
    cells = {c.cell.system.name: c.cell for c in result.cells}
    store = executor.store
    bm25, dense = (store.get_run(cells[n].key) for n in ("bm25", "minilm"))
    assert len(bm25) and len(dense)
    for name, (_, (norm, method, params)) in CASES.items():
        by_rank = method == "rrf" or norm == "rank"
        expected = ranx.fuse([_ranx_run(bm25, by_rank), _ranx_run(dense, by_rank)],
                             norm=norm, method=method, params=params).to_dict()
        got = store.get_run(cells[name].key)
        ours: dict[str, dict[str, float]] = {}
        for qid, doc, score in zip(got["query_id"], got["doc_id"], got["score"]):
            ours.setdefault(str(qid), {})[str(doc)] = float(score)
        assert set(ours) == set(expected), name
        for qid in expected:
            assert set(ours[qid]) == set(expected[qid]), (name, qid)
            docs = sorted(expected[qid])
            np.testing.assert_allclose([ours[qid][d] for d in docs], [expected[qid][d] for d in docs],
                                       rtol=1e-9, atol=1e-12, err_msg=f"{name} {qid}")
            assert _ordering(ours[qid]) == _ordering(expected[qid]), (name, qid)
        # the stored run is ranked as trec_eval ranks: by score, ties by doc id descending
        first = got[got["query_id"] == got["query_id"].iloc[0]]
        assert list(first["rank"]) == list(range(1, len(first) + 1))


def _keys(loaded):
    from lrbench.plan import build_plan

    plan = build_plan(loaded)
    return {cell.system.name: plan.prepare(cell).key for cell in plan.cells}


def test_fusion_key_covers_every_input(tmp_path, shared):
    import yaml

    path = _suite(tmp_path, shared)
    before = _keys(load_suite(path))
    assert before == _keys(load_suite(path))
    for changed in ("bm25", "minilm"):  # a change in either input gives the fused cell a new key
        data = yaml.safe_load(path.read_text())
        next(s for s in data["systems"] if s["name"] == changed).setdefault("params", {})["k"] = 50
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        after = _keys(load_suite(path))
        assert after[changed] != before[changed]
        assert all(after[name] != before[name] for name in CASES)
        before = after


@pytest.mark.parametrize("systems, message", [
    ([{"name": "a", "type": "bm25"}, {"name": "f", "type": "fusion", "inputs": ["a"]}], "at least 2"),
    ([{"name": "a", "type": "bm25"}, {"name": "f", "type": "fusion", "inputs": ["a", "nope"]}],
     "unknown system 'nope'"),
    ([{"name": "a", "type": "bm25"}, {"name": "b", "type": "bm25"},
      {"name": "f", "type": "fusion", "input": "a", "inputs": ["a", "b"]}], "not both"),
    ([{"name": "a", "type": "bm25"}, {"name": "b", "type": "bm25"},
      {"name": "f", "type": "fusion", "inputs": ["a", "b"], "params": {"method": "rrf", "alpha": 0.5}}],
     "apply to method: wsum"),
    ([{"name": "a", "type": "bm25"}, {"name": "b", "type": "bm25"},
      {"name": "f", "type": "given", "inputs": ["a", "b"]}], "at most 1"),
])
def test_bad_fusion_systems_are_one_line_errors(tmp_path, shared, systems, message):
    path = write_suite(tmp_path, {"name": "bad", "datasets": [{"id": "irds:cranfield"}], "systems": systems})
    with pytest.raises(LrbenchError) as info:
        load_suite(path)
    assert message in str(info.value)
    assert "suite.yaml" in str(info.value)


def test_fusion_graph_order_only_and_cycles(tmp_path, shared):
    from lrbench.plan import build_plan

    systems = [{"name": "f", "type": "fusion", "inputs": ["a", "b"]},
               {"name": "a", "type": "bm25"}, {"name": "b", "type": "bm25", "params": {"k1": 1.2}},
               {"name": "c", "type": "bm25", "params": {"k1": 0.5}}]
    path = write_suite(tmp_path, {"name": "g", "datasets": [{"id": "irds:cranfield"}], "systems": systems})
    loaded = load_suite(path)
    order = [c.system.name for c in build_plan(loaded).cells]
    assert order.index("f") > max(order.index("a"), order.index("b"))
    assert sorted(c.system.name for c in build_plan(loaded, only=["f"]).cells) == ["a", "b", "f"]
    cyclic = write_suite(tmp_path, {"name": "g", "datasets": [{"id": "irds:cranfield"}], "systems": [
        {"name": "f", "type": "fusion", "inputs": ["a", "g"]}, {"name": "a", "type": "bm25"},
        {"name": "g", "type": "fusion", "inputs": ["a", "f"]}]}, "cyclic.yaml")
    with pytest.raises(LrbenchError, match="input cycle"):
        load_suite(cyclic)
