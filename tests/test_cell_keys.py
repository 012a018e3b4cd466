"""Cell keys hash the parsed, typed config: a default written out is the same cell, a changed default is a new
one, and params that only schedule work (bm25 threads, embedder shards) are not part of the key."""

from __future__ import annotations

import pandas as pd
from lrbench.compression.config import canonical_compress
from lrbench.executors.core import Engine
from lrbench.plan import KEY_FORMAT, build_plan, canonical_params, load_suite
from lrbench.runners.retrieval.bm25 import BM25Params, BM25Runner
from tests.helpers import write_suite

CRANFIELD = {"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10", "AP"]}


def _keys(tmp_path, systems: list[dict], name: str = "suite.yaml") -> dict[str, str]:
    loaded = load_suite(write_suite(tmp_path, {"name": "keys", "datasets": [CRANFIELD], "systems": systems}, name))
    plan = build_plan(loaded)
    return {cell.system_label: plan.prepare(cell).key for cell in plan.cells}


def test_defaults_written_out_share_one_cell(shared, tmp_path):
    systems = [{"name": "short", "type": "bm25"},
               {"name": "spelled", "type": "bm25", "params": {"k1": 0.9, "b": 0.4}}]
    keys = _keys(tmp_path, systems)
    assert keys["short"] == keys["spelled"]
    suite = write_suite(tmp_path, {"name": "keys", "datasets": [CRANFIELD], "systems": systems})
    result = Engine(load_suite(suite), tmp_path / "out").run()
    status = {c.cell.system_label: c.status for c in result.cells}
    assert status == {"short": "computed", "spelled": "cached"}  # computed once within the run
    board = result.leaderboard.set_index(["system", "measure"])["value"]
    assert board["short"].equals(board["spelled"])
    # a later suite that spells the defaults out finds the cell stored
    again = write_suite(tmp_path, {"name": "keys", "datasets": [CRANFIELD], "systems": systems[1:]}, "again.yaml")
    assert Engine(load_suite(again), tmp_path / "out").run().count("cached") == 1


def test_a_changed_default_changes_the_key(shared, tmp_path, monkeypatch):
    class OtherDefaults(BM25Params):
        k1: float = 1.2  # the same runner type after a change of its default

    keys_before = _keys(tmp_path, [{"name": "bm25", "type": "bm25"}])
    monkeypatch.setattr(BM25Runner, "Params", OtherDefaults)
    keys_after = _keys(tmp_path, [{"name": "bm25", "type": "bm25"}], "after.yaml")
    assert keys_before["bm25"] != keys_after["bm25"]
    # ... and the new default spelled out is the new key
    assert keys_after == _keys(tmp_path, [{"name": "bm25", "type": "bm25", "params": {"k1": 1.2}}], "spelled.yaml")


def test_scheduling_params_stay_out_of_the_key_and_do_not_change_the_run(shared, tmp_path):
    keys = _keys(tmp_path, [{"name": "one", "type": "bm25"}, {"name": "four", "type": "bm25", "params": {"threads": 4}},
                            {"name": "deeper", "type": "bm25", "params": {"k": 100}}])
    assert keys["one"] == keys["four"] != keys["deeper"]
    assert "threads" not in canonical_params(BM25Runner, BM25Params(threads=4))
    # the claim behind it: the run itself is the same with 1 and 2 threads
    plan = build_plan(load_suite(write_suite(tmp_path, {"name": "k", "datasets": [CRANFIELD],
                                                        "systems": [{"name": "b", "type": "bm25"}]}, "t.yaml")))
    prepared = plan.prepare(plan.cells[0])
    from lrbench.executors.task import cell_context

    dataset, ctx = prepared.dataset, cell_context(prepared, tmp_path)
    runs = [BM25Runner({"threads": n, "k": 100}).run(dataset, {}, ctx).frame("run") for n in (1, 2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_embedder_declares_shards_as_scheduling():
    from lrbench.runners.retrieval.embedder import EmbedderRunner

    params = {"model": "sentence-transformers/all-MiniLM-L6-v2"}
    sharded, plain = (EmbedderRunner.parse_params(p) for p in ({**params, "shards": 3}, params))
    assert canonical_params(EmbedderRunner, sharded) == canonical_params(EmbedderRunner, plain)
    assert canonical_params(EmbedderRunner, plain)["batch_size"] == 32  # defaults are written out


def test_compress_block_is_canonical():
    short = canonical_compress({"ratio": 0.5})
    assert short == canonical_compress({"method": "svd", "ratio": 0.5, "allocation": "uniform", "rank_multiple": 8})
    assert short != canonical_compress({"ratio": 0.5, "rank_multiple": 16})
    with_calibration = canonical_compress({"method": "whiten", "ratio": 0.5, "calibration": {"dataset": "scifact"}})
    assert with_calibration["calibration"]["samples"] == 256


def test_key_records_its_format(shared, tmp_path):
    loaded = load_suite(write_suite(tmp_path, {"name": "k", "datasets": [CRANFIELD],
                                               "systems": [{"name": "b", "type": "bm25"}]}))
    plan = build_plan(loaded)
    prepared = plan.prepare(plan.cells[0])
    assert prepared.config["key_format"] == KEY_FORMAT
    expected = {k: v for k, v in BM25Params().model_dump(mode="json").items() if k != "threads"}
    assert prepared.config["params"] == expected
