"""Data that silently loses points: relevant judged documents missing from the corpus, duplicate document ids,
BM25's zero-score documents."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from helpers import write_suite
from neural_helpers import scifact_slice


def _drop_relevant(folder, n):
    """Remove the first n relevant documents from the slice's corpus; their ids."""
    qrels = [l.split("\t") for l in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    gone = list(dict.fromkeys(d for _, d, _ in qrels))[:n]
    lines = (folder / "corpus.jsonl").read_text().splitlines()
    (folder / "corpus.jsonl").write_text("".join(l + "\n" for l in lines if json.loads(l)["_id"] not in gone))
    return gone


def test_judged_documents_absent_from_the_corpus_are_counted_warned_and_shown(shared, tmp_path):
    import lrbench
    from lrbench.cli.progress import Reporter

    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=6, n_extra=40)
    gone = _drop_relevant(folder, 3)
    suite = write_suite(tmp_path, {"name": "absent", "datasets": [{"id": f"beir:{folder}", "name": "slice"}],
                                   "systems": [{"name": "bm25", "type": "bm25"}, {"name": "b0", "type": "bm25",
                                                                                 "params": {"b": 0.0}}]})

    class Recorder(Reporter):
        messages: list = []

        def warn(self, message):
            Recorder.messages.append(message)

    lrbench.run(suite, tmp_path / "out", reporter=Recorder())
    warned = [m for m in Recorder.messages if "not in the corpus" in m]
    assert len(warned) == 1 and "slice: 3 relevant judged document(s)" in warned[0] and gone[0] in warned[0]
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "## slice (6 queries, 3 judged documents not in the corpus)" in text
    meta = json.loads(next((tmp_path / "out" / "cells").rglob("meta.json")).read_text())
    assert meta["dataset_profile"]["absent_judged_docs"] == 3
    assert meta["profile"]["zero_score_docs_dropped"] > 0  # 46 documents, k=1000: most share no term


def test_validate_reports_duplicate_document_ids_that_run_refuses(shared, tmp_path):
    from lrbench.cli import app

    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=3, n_extra=10)
    lines = (folder / "corpus.jsonl").read_text().splitlines()
    (folder / "corpus.jsonl").write_text("\n".join(lines + [lines[2]]) + "\n")
    suite = write_suite(tmp_path, {"name": "dup", "datasets": [{"id": f"beir:{folder}"}],
                                   "systems": [{"name": "bm25", "type": "bm25"}]})
    result = CliRunner().invoke(app, ["validate", str(suite)])
    assert result.exit_code == 2, result.output
    assert f"corpus.jsonl:{len(lines) + 1}" in result.output and "appears twice (first on line 3)" in result.output


def test_a_full_corpus_pass_finds_the_absent_judged_documents_the_index_finds(shared, tmp_path, monkeypatch):
    """A run streams the corpus once; the relevant judged documents noted on the way give the same count and
    examples as looking them up in the corpus index, which is then never built. A partial pass notes nothing."""
    import itertools

    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    monkeypatch.setenv("LRBENCH_CACHE", str(tmp_path / "cache"))
    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=6, n_extra=40)
    gone = _drop_relevant(folder, 2)
    spec = DatasetSpec(id=f"beir:{folder}")
    looked_up = open_dataset(spec, tmp_path).absent_judged
    assert looked_up[0] == 2 and set(looked_up[1]) == set(gone)  # perturbation: the dropped documents count

    monkeypatch.setenv("LRBENCH_CACHE", str(tmp_path / "cold-cache"))
    streamed = open_dataset(spec, tmp_path)
    streamed.eval_queries()  # a run reads the qrels before it streams the corpus
    list(itertools.islice(streamed.docs(), 3))
    assert "_judged_seen" not in streamed.__dict__
    assert sum(1 for _ in streamed.docs()) == len((folder / "corpus.jsonl").read_text().splitlines())
    assert streamed.absent_judged == looked_up
    assert (tmp_path / "cache" / "doc-index").exists() and not (tmp_path / "cold-cache" / "doc-index").exists()
