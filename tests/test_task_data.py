"""GLUE / WikiText / Banking77 datasets and the classification and LM evaluators, on the real files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lrbench.errors import LrbenchError
from lrbench.evaluation.evaluators import evaluator_for
from lrbench.evaluation.tasks import metrics
from lrbench.datasets import open_dataset
from lrbench.suites.schema import DatasetSpec

ROOT = Path(__file__).resolve().parents[1]


def open_id(dataset_id, base=Path("."), **kw):
    return open_dataset(DatasetSpec(id=dataset_id, **kw), base)


def test_mrpc_with_bom(shared):
    ds = open_id(f"glue:{shared}/glue-dev/MRPC.dev.tsv")
    assert ds.task == "classification" and ds.glue_task.name == "mrpc"
    ex = ds.examples()
    assert len(ex) == 408
    assert ex["label"].value_counts().to_dict() == {1: 279, 0: 129}
    assert ex["text"].iloc[0].startswith("He said the foodservice pie business")
    assert ex["text_pair"].iloc[0].startswith('"The foodservice pie business')  # quotes kept (QUOTE_NONE)
    assert ds.catalogue.measures == ["accuracy", "F1"]


def test_rte_label_zero_is_entailment(shared):
    ds = open_id(f"glue:{shared}/glue-dev/RTE.dev.tsv")
    ex = ds.examples()
    assert len(ex) == 277 and ds.label_names[0] == "entailment"
    # "Christopher Reeve had an accident." does not follow from the premise: not_entailment = 1
    assert ex["text_pair"].iloc[0] == "Christopher Reeve had an accident." and ex["label"].iloc[0] == 1
    assert ex["label"].iloc[1] == 0  # "Bacteria is winning the war against antibiotics." follows: entailment


def test_sst2_and_queries_limit(shared):
    ds = open_id(f"glue:{shared}/glue-dev/SST-2.dev.tsv")
    assert ds.examples()["label"].value_counts().to_dict() == {1: 444, 0: 428}
    small = open_id(f"glue:{shared}/glue-dev/SST-2.dev.tsv", queries_limit=10)
    assert len(small.examples()) == 10 and small.fingerprint() != ds.fingerprint()


def _write(path: Path, rows):
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_other_glue_formats(shared, tmp_path):
    """CoLA/STS-B/QNLI/MNLI/QQP have no dev files here: their exact GLUE layouts, filled with real sentences."""
    rte = open_id(f"glue:{shared}/glue-dev/RTE.dev.tsv").examples()
    a, b = list(rte["text"][:4]), list(rte["text_pair"][:4])
    cola = _write(tmp_path / "CoLA.dev.tsv", [("gj04", 1, "", b[0]), ("gj04", 0, "*", b[1])])
    ex = open_id(f"glue:{cola}").examples()
    assert list(ex["label"]) == [1, 0] and ex["text"].iloc[0] == b[0]
    sts = _write(tmp_path / "STS-B.dev.tsv", [
        ("index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2", "score"),
        (0, "main-captions", "MSRvid", "2012test", 0, "none", "none", a[0], b[0], "5.000"),
        (1, "main-captions", "MSRvid", "2012test", 1, "none", "none", a[1], b[1], "0.750")])
    ds = open_id(f"glue:{sts}")
    assert ds.regression and list(ds.examples()["label"]) == [5.0, 0.75]
    assert ds.catalogue.measures == ["Pearson", "Spearman"]
    qnli = _write(tmp_path / "QNLI.dev.tsv", [("index", "question", "sentence", "label"),
                                              (0, a[0], b[0], "entailment"), (1, a[1], b[1], "not_entailment")])
    assert list(open_id(f"glue:{qnli}").examples()["label"]) == [0, 1]
    mnli_dir = tmp_path / "MNLI"
    mnli_dir.mkdir()
    header = ("index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
              "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label")
    mnli = _write(mnli_dir / "dev_matched.tsv", [header] + [
        (i, i, f"{i}e", "fiction", "(", "(", "(", "(", a[i], b[i], g, g)
        for i, g in enumerate(["entailment", "neutral", "contradiction"])])
    ds = open_id(f"glue:{mnli}")
    assert ds.glue_task.name == "mnli" and list(ds.examples()["label"]) == [0, 1, 2]
    qqp = _write(tmp_path / "QQP.dev.tsv", [("id", "qid1", "qid2", "question1", "question2", "is_duplicate"),
                                            (7, 1, 2, a[0], b[0], 1), (8, 3, 4, a[1], b[1], 0)])
    ex = open_id(f"glue:{qqp}").examples()
    assert list(ex["id"]) == ["7", "8"] and list(ex["label"]) == [1, 0]
    with pytest.raises(LrbenchError, match="cannot tell the GLUE task"):
        open_id(f"glue:{_write(tmp_path / 'dev.tsv', [('a', 'b')])}").examples()
    bad = _write(tmp_path / "SST-2.bad.tsv", [("sentence", "label"), ("fine", "maybe")])
    with pytest.raises(LrbenchError, match="unexpected label"):
        open_id(f"glue:{bad}").examples()


def test_wikitext_counts(shared):
    ds = open_id(f"wikitext:{shared}/wikitext-2/wiki.test.tokens")
    assert ds.task == "lm" and ds.format == "tokens"
    assert ds.word_count() == 245569  # the standard WikiText-2 test count, end-of-line markers included
    raw = open_id(f"wikitext:{shared}/wikitext-2/wiki.test.raw.crlf-nonempty-lines")
    assert raw.format == "raw" and "\r" not in raw.text()
    short = open_id(f"wikitext:{shared}/wikitext-2/wiki.test.tokens", options={"chars": 1000})
    assert len(short.text()) == 1000 and short.fingerprint() != ds.fingerprint()


def test_ptb_format(shared, tmp_path):
    lines = [l for l in (shared / "wikitext-2" / "wiki.valid.tokens").read_text().split("\n") if l.strip()][:5]
    ptb = tmp_path / "ptb.test.txt"
    ptb.write_text("\n".join(" " + l.strip() + " " for l in lines) + "\n\n")
    ds = open_id(f"wikitext:{ptb}")
    assert ds.format == "ptb"
    assert ds.word_count() == sum(len(l.split()) for l in lines) + len(lines)  # one <eos> per sentence


def test_banking77(shared):
    ds = open_id(f"mteb-classification:{shared}/banking77")
    train, test = ds.train_examples(), ds.examples()
    assert (len(train), len(test), len(ds.label_names)) == (10003, 3080, 77)
    assert test["label"].nunique() == 77 and ds.catalogue.measures == ["accuracy", "macro-F1"]


def test_classification_metrics_match_sklearn_and_scipy(shared):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    stats = pytest.importorskip("scipy.stats")
    gold = open_id(f"glue:{shared}/glue-dev/MRPC.dev.tsv").examples()["label"].to_numpy()
    rng = np.random.RandomState(0)
    pred = np.where(rng.rand(len(gold)) < 0.3, 1 - gold, gold)
    assert metrics.accuracy(gold, pred) == pytest.approx(sklearn_metrics.accuracy_score(gold, pred))
    assert metrics.f1_binary(gold, pred) == pytest.approx(sklearn_metrics.f1_score(gold, pred))
    assert metrics.mcc(gold, pred) == pytest.approx(sklearn_metrics.matthews_corrcoef(gold, pred))
    multi = open_id(f"mteb-classification:{shared}/banking77").examples()["label"].to_numpy()
    mpred = np.where(rng.rand(len(multi)) < 0.4, rng.randint(0, 77, len(multi)), multi)
    assert metrics.f1_macro(multi, mpred) == pytest.approx(sklearn_metrics.f1_score(multi, mpred, average="macro"))
    assert metrics.mcc(multi, mpred) == pytest.approx(sklearn_metrics.matthews_corrcoef(multi, mpred))
    score = gold * 4.0 + rng.rand(len(gold))
    noisy = score + rng.randn(len(gold))
    assert metrics.pearson(score, noisy) == pytest.approx(stats.pearsonr(score, noisy)[0])
    assert metrics.spearman(score, noisy) == pytest.approx(stats.spearmanr(score, noisy)[0])


def test_classification_evaluator_frames(shared):
    ds = open_id(f"glue:{shared}/glue-dev/MRPC.dev.tsv")
    ex = ds.examples()
    pred = pd.DataFrame({"id": ex["id"], "label": 1})  # majority class
    ev = evaluator_for("classification")
    perquery, scores = ev.evaluate(pred, ds, ["accuracy", "f1"])
    got = dict(zip(scores["measure"], scores["value"]))
    assert got["accuracy"] == pytest.approx(279 / 408)
    assert got["F1"] == pytest.approx(2 * 279 / (2 * 279 + 129))
    assert len(perquery) == 408 and set(perquery["value"]) == {0.0, 1.0}
    with pytest.raises(LrbenchError):
        ev.validate("BLEU")
    # MTEB style: several experiments, measures averaged over them
    two = pd.concat([pred.assign(experiment=0), pred.assign(experiment=1, label=ex["label"])])
    _, scores = ev.evaluate(two, ds, ["accuracy"])
    assert scores["value"].iloc[0] == pytest.approx((279 / 408 + 1) / 2)


def test_lm_evaluator(shared):
    ds = open_id(f"wikitext:{shared}/wikitext-2/wiki.test.tokens", options={"chars": 2000})
    frame = pd.DataFrame({"window": [0, 1], "begin": [0, 256], "end": [512, 600], "tokens": [511, 88],
                          "nll": [1500.0, 300.0]})
    perquery, scores = evaluator_for("lm").evaluate(frame, ds, ["ppl", "word_perplexity", "bits_per_byte"])
    got = dict(zip(scores["measure"], scores["value"]))
    assert got["perplexity"] == pytest.approx(math.exp(1800 / 599))
    assert got["word_perplexity"] == pytest.approx(math.exp(1800 / ds.word_count()))
    assert got["bits_per_byte"] == pytest.approx(1800 / math.log(2) / len(ds.text().encode()))
    assert list(perquery["query_id"]) == ["0", "1"]


@pytest.mark.parametrize("suite", ["compression-minilm.yaml", "perplexity-smollm2.yaml", "glue-zero-shot.yaml",
                                   "ci/compression-minilm-ci.yaml", "ci/perplexity-smollm2-ci.yaml",
                                   "ci/glue-zero-shot-ci.yaml"])
def test_suites_validate(shared, suite):
    from lrbench.plan import load_suite

    loaded = load_suite(ROOT / "suites" / suite, strict=False)
    assert not loaded.errors, [e.one_line() for e in loaded.errors]
