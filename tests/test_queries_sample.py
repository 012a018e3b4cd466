"""`queries_sample`: a quick run's subset is stratified by label on classification data, seeded and fingerprinted."""

from __future__ import annotations

import pytest

from lrbench.errors import LrbenchError


def _banking(shared, **spec):
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    return open_dataset(DatasetSpec(id=f"mteb-classification:{shared / 'banking77'}", **spec), shared)


def test_banking77_subset_is_stratified_by_default(shared):
    full = _banking(shared).examples()
    default = _banking(shared, queries_limit=300).examples()
    first = _banking(shared, queries_limit=300, queries_sample="first").examples()
    assert len(default) == len(first) == 300
    assert first["label"].nunique() < 10  # the file is sorted by label: its first rows hold a few classes
    assert default["label"].nunique() == full["label"].nunique() == 77
    shares = default["label"].value_counts()
    expected = full["label"].value_counts() * 300 / len(full)
    assert ((shares - expected.loc[shares.index]).abs() < 1).all()  # each class keeps its share, to one example
    assert default["text"].isin(set(full["text"])).all()


def test_seed_and_method_change_the_subset_and_the_fingerprint(shared):
    a = _banking(shared, queries_limit=100)
    again = _banking(shared, queries_limit=100)
    other_seed = _banking(shared, queries_limit=100, queries_seed=1)
    first = _banking(shared, queries_limit=100, queries_sample="first")
    assert a.examples()["text"].tolist() == again.examples()["text"].tolist()
    assert a.examples()["text"].tolist() != other_seed.examples()["text"].tolist()
    assert len({a.fingerprint(), other_seed.fingerprint(), first.fingerprint()}) == 3
    from lrbench.datasets.sampling import subset_profile

    assert subset_profile(a.spec, a.task) == {"queries_limit": 100, "queries_sample": "stratified", "queries_seed": 0}


def test_ranking_default_is_first_random_is_seeded_stratified_is_refused(shared, tmp_path):
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    base = shared / "trec-dl-2019-passage"
    spec = {"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json",
            "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 10}
    qrels_order = list(dict.fromkeys(line.split()[0] for line in (base / "qrels.dl19-passage.txt").read_text().splitlines()))
    first = open_dataset(DatasetSpec(**spec), base)
    assert list(dict.fromkeys(first.judged_qrels["query_id"])) == qrels_order[:10]
    drawn = open_dataset(DatasetSpec(**spec, queries_sample="random", queries_seed=3), base)
    ids = set(drawn.judged_qrels["query_id"])
    assert len(ids) == 10 and ids != set(qrels_order[:10]) and ids <= set(qrels_order)
    assert drawn.fingerprint() != first.fingerprint()
    with pytest.raises(LrbenchError, match="stratified needs labels") as err:
        open_dataset(DatasetSpec(**spec, queries_sample="stratified"), base).judged_qrels
    assert err.value.key == "datasets.queries_sample"


def test_the_ci_compression_suite_sees_every_banking77_class(shared):
    from pathlib import Path

    import yaml

    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    path = Path(__file__).resolve().parents[1] / "suites/ci/compression-minilm-ci.yaml"
    entry = yaml.safe_load(path.read_text())["datasets"][0]
    examples = open_dataset(DatasetSpec(**entry), path.parent).examples()
    counts = examples["label"].value_counts()
    assert len(counts) == 77 and counts.min() >= 3  # macro-F1 over every class, each with a few examples
