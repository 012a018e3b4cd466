"""A cell is parsed once: the params object its runner receives is the one its key was computed from, the
prepared cell cannot be changed afterwards, and the key is a function of the parsed objects only."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

import lrbench
from lrbench.compression.config import LowRankConfig
from lrbench.executors.task import CellTask
from lrbench.plan import build_plan, cell_config, key_of, load_suite
from lrbench.runners import registry
from lrbench.runners.retrieval.bm25 import BM25Params, BM25Runner
from tests.helpers import write_suite

CRANFIELD = {"id": "irds:cranfield", "name": "cranfield", "measures": ["nDCG@10"]}
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


class RecordingBM25(BM25Runner):
    """BM25 that remembers the params object each of its instances was given, and how often it parsed."""

    type = "recording-bm25"
    received: list = []
    parses = 0

    def __init__(self, params):
        super().__init__(params)
        RecordingBM25.received.append(self.params)

    @classmethod
    def parse_params(cls, params):
        RecordingBM25.parses += 1
        return super().parse_params(params)


@pytest.fixture
def recording():
    registry.register_runner(RecordingBM25)
    RecordingBM25.received, RecordingBM25.parses = [], 0
    yield RecordingBM25
    registry.RUNNERS.unregister(RecordingBM25.type)


def _suite(tmp_path, systems, name="suite.yaml"):
    return write_suite(tmp_path, {"name": "prepared", "datasets": [CRANFIELD], "systems": systems}, name)


def test_the_runner_gets_the_params_object_the_key_was_computed_from(shared, tmp_path, recording):
    systems = [{"name": "plain", "type": "recording-bm25", "params": {"k": 50}},
               {"name": "swept", "type": "recording-bm25", "params": {"k": 50}, "sweep": {"k1": [0.6, 1.2]}}]
    results = lrbench.run(_suite(tmp_path, systems), tmp_path / "out")
    assert not results.failed
    cells = results.outcome.cells
    assert [c.status for c in cells] == ["computed"] * 3
    assert len(recording.received) == 3
    for result, received in zip(cells, recording.received):
        prepared = result.cell
        assert received is prepared.params  # the very object, not an equal copy parsed again
        # ... and the stored key is the hash of exactly that object
        config = cell_config(prepared.system, prepared.runner_cls, received, prepared.compress,
                             prepared.config["dataset"], prepared.input_key)
        assert config == prepared.config and key_of(config) == prepared.key == result.key
    assert [p.k1 for p in recording.received] == [0.9, 0.6, 1.2]
    # each system's sweep point parsed once (by the suite's checks), although validate and run both used it
    assert recording.parses == 3


def test_a_prepared_cell_cannot_change(shared, tmp_path):
    plan = build_plan(load_suite(_suite(tmp_path, [{"name": "b", "type": "bm25"}])))
    prepared = plan.prepare(plan.cells[0])
    for name, value in (("key", "0" * 20), ("params", BM25Params(k1=2.0)), ("measures", ("AP",))):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(prepared, name, value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.cells[0].params = {"k1": 2.0}
    assert isinstance(prepared.params, BM25Params) and prepared.measures == ("nDCG@10",)
    # what a worker receives: the same cell, its dataset left behind to be reopened from the spec
    task = pickle.loads(pickle.dumps(CellTask(0, prepared, "prepared", tmp_path)))
    assert task.cell.dataset is None and prepared.dataset is not None
    assert task.cell.params == prepared.params and task.key == prepared.key
    assert task.cell.dataset_spec == prepared.dataset_spec


def test_the_key_is_a_function_of_the_parsed_objects(shared, tmp_path):
    spelled = BM25Params().model_dump()
    systems = [{"name": "short", "type": "bm25"},
               {"name": "spelled", "type": "bm25", "params": spelled},
               {"name": "other", "type": "bm25", "params": {"k1": 1.0}}]
    plan = build_plan(load_suite(_suite(tmp_path, systems)))
    short, long, other = (plan.prepare(c) for c in plan.cells)
    assert short.params == long.params and short.params is not long.params
    assert short.key == long.key != other.key
    # the key follows the parsed object: hashing another object gives another key, the same values the same key
    args = (short.dataset.fingerprint(), short.input_key)
    changed = short.params.model_copy(update={"k1": 1.0})
    assert key_of(cell_config(short.system, short.runner_cls, changed, None, *args)) == other.key
    assert key_of(cell_config(short.system, short.runner_cls, long.params, None, *args)) == short.key


def test_the_compress_block_is_parsed_once_and_typed(shared, tmp_path):
    systems = [{"name": "short", "type": "embedder", "params": {"model": MINILM}, "compress": {"ratio": 0.5}},
               {"name": "spelled", "type": "embedder", "params": {"model": MINILM},
                "compress": {"method": "svd", "ratio": 0.5, "allocation": "uniform", "rank_multiple": 8}},
               {"name": "other", "type": "embedder", "params": {"model": MINILM},
                "compress": {"ratio": 0.5, "rank_multiple": 16}}]
    plan = build_plan(load_suite(_suite(tmp_path, systems)))
    short, long, other = (plan.prepare(c) for c in plan.cells)
    assert isinstance(short.compress, LowRankConfig) and short.compress.rank_multiple == 8
    assert short.key == long.key != other.key
    from lrbench.executors.task import cell_context

    assert cell_context(short, tmp_path).compress is short.compress  # the runner's context: that same object
