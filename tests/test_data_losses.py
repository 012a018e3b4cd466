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
