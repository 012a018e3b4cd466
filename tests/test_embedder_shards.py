"""Embedder corpus shards (`shards: N`): blocks of the corpus encoding kept in the run store, encoded by
shard tasks on other workers (Ray) or by the cell itself (local), merged into the same run as unsharded."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

import lrbench
from lrbench.errors import LrbenchError
from lrbench.store.blocks import FOLDER, plan_blocks, shard_blocks
from lrbench.runners import registry
from lrbench.runners.retrieval.embedder import EmbedderRunner
from tests.helpers import write_suite
from tests.neural_helpers import MINILM, scifact_slice

EMBEDDER = {"model": MINILM, "k": 100, "threads": 1, "block_docs": 32}


def _suite(tmp_path, shared, params: dict, name: str = "suite.yaml"):
    folder = tmp_path / "scifact-slice"
    if not folder.exists():
        scifact_slice(shared, folder, n_queries=12, n_extra=120)
    suite = {"name": "shards", "datasets": [{"id": f"beir:{folder}", "name": "slice",
                                              "measures": ["nDCG@10", "R@100"]}],
             "systems": [{"name": "dense", "type": "embedder", "params": params}]}
    return write_suite(tmp_path, suite, name)


def _only_cell(out):
    (cell,) = [p for p in (out / "cells").iterdir()]
    return cell, json.loads((cell / "meta.json").read_text())


def _sharded_equals_plain(shared, tmp_path, kind: str, **executor_args) -> dict:
    """Run the slice unsharded (local) and with 2 shards on executor `kind`; same leaderboard and run file.
    Returns the sharded cell's meta.json."""
    plain = lrbench.run(_suite(tmp_path, shared, EMBEDDER), out=tmp_path / "plain")
    suite = _suite(tmp_path, shared, {**EMBEDDER, "shards": 2}, "sharded.yaml")
    sharded = lrbench.run(suite, out=tmp_path / kind, executor=kind, **executor_args)
    assert not plain.failed and not sharded.failed, sharded.failed
    pd.testing.assert_frame_equal(sharded.leaderboard, plain.leaderboard)
    plain_cell, _ = _only_cell(tmp_path / "plain")
    cell, meta = _only_cell(tmp_path / kind)
    pd.testing.assert_frame_equal(pd.read_parquet(cell / "run.parquet"), pd.read_parquet(plain_cell / "run.parquet"))
    return meta


def test_blocks_partition_the_corpus_into_contiguous_shards():
    blocks = plan_blocks(100, 32)
    assert [(b.start, b.end) for b in blocks] == [(0, 32), (32, 64), (64, 96), (96, 100)]
    for shards in (1, 2, 3, 4, 6):
        parts = [shard_blocks(blocks, s, shards) for s in range(shards)]
        assert [b for part in parts for b in part] == blocks  # every block once, in corpus order
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_local_sharded_run_equals_unsharded_and_resumes_block_by_block(shared, tmp_path):
    plain = lrbench.run(_suite(tmp_path, shared, EMBEDDER), out=tmp_path / "plain")
    sharded_suite = _suite(tmp_path, shared, {**EMBEDDER, "shards": 3}, "sharded.yaml")
    sharded = lrbench.run(sharded_suite, out=tmp_path / "sharded")
    assert not plain.failed and not sharded.failed
    plain_cell, _ = _only_cell(tmp_path / "plain")
    cell, meta = _only_cell(tmp_path / "sharded")
    assert cell.name == plain_cell.name  # shards decide how the work is spread, not the cell's key
    pd.testing.assert_frame_equal(pd.read_parquet(cell / "run.parquet"), pd.read_parquet(plain_cell / "run.parquet"))

    profile = meta["profile"]
    n_docs = profile["corpus_docs"]
    assert profile["corpus_shards"] == 3 and profile["corpus_blocks"] == len(plan_blocks(n_docs, 32)) >= 4
    assert profile["corpus_blocks_encoded_in_cell"] == profile["corpus_blocks"]  # local: the cell did them all
    (corpus,) = (tmp_path / "sharded" / FOLDER).iterdir()
    block_files = sorted(corpus.glob("*.parquet"))
    assert len(block_files) == profile["corpus_blocks"]

    # a run killed mid-encoding leaves whole blocks only: the next run encodes just the missing one
    block_files[1].unlink()
    again = lrbench.run(sharded_suite, out=tmp_path / "sharded", force=True)
    assert not again.failed
    _, meta = _only_cell(tmp_path / "sharded")
    assert meta["profile"]["corpus_blocks_encoded_in_cell"] == 1
    pd.testing.assert_frame_equal(pd.read_parquet(cell / "run.parquet"), pd.read_parquet(plain_cell / "run.parquet"))


def test_shards_on_a_reranker_are_an_error(shared, tmp_path):
    runner = EmbedderRunner({**EMBEDDER, "shards": 2})
    with pytest.raises(LrbenchError) as err:
        runner.run(None, {"bm25": pd.DataFrame(columns=["query_id", "doc_id", "score"])}, None)
    assert err.value.key == "params.shards"
    assert runner.shard_count(has_input=True) == 0 and runner.shard_count(has_input=False) == 2


class FailingShard(EmbedderRunner):
    """An embedder whose second shard always fails: its cell must be reported failed, naming the shard."""

    type = "failing-shard"

    def run_shard(self, dataset, ctx, shard):
        if shard == 1:
            raise RuntimeError("shard broken on purpose")
        return super().run_shard(dataset, ctx, shard)


def test_ray_shards_run_as_tasks_and_merge_to_the_unsharded_run(shared, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    registry.register_runner(FailingShard)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        meta = _sharded_equals_plain(shared, tmp_path, "ray", retries=0)
        tasks = meta["profile"]["shard_tasks"]
        assert [t["shard"] for t in tasks] == [0, 1]
        assert sum(t["docs"] for t in tasks) == meta["profile"]["corpus_docs"]
        assert all(t["blocks_encoded"] == t["blocks"] > 0 for t in tasks)
        assert meta["profile"]["corpus_blocks_encoded_in_cell"] == 0  # the shard tasks did all the encoding

        failing = _suite(tmp_path, shared, {**EMBEDDER, "shards": 2, "block_docs": 64}, "failing.yaml")
        text = failing.read_text().replace("type: embedder", "type: failing-shard")
        failing.write_text(text)
        result = lrbench.run(failing, out=tmp_path / "failing", executor="ray", retries=0)
        ((_, _, error),) = result.failed
        assert "shard 2" in error and "shard broken on purpose" in error
        assert not list((tmp_path / "failing" / "cells").glob("*/meta.json"))
    finally:
        ray.shutdown()
        registry.RUNNERS.unregister(FailingShard.type)


def test_process_pool_runs_the_shards_in_its_workers(shared, tmp_path):
    meta = _sharded_equals_plain(shared, tmp_path, "process", workers=2)
    assert [t["blocks_encoded"] > 0 for t in meta["profile"]["shard_tasks"]] == [True, True]
    assert meta["profile"]["corpus_blocks_encoded_in_cell"] == 0
