"""The report's efficiency table: a dense first stage shows its corpus encoding rate, a cached index says so."""

from __future__ import annotations

from helpers import write_suite
from neural_helpers import MINILM, scifact_slice


def _efficiency_rows(text: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = text[text.index("Efficiency"):].splitlines()
    header = next(l for l in lines if l.startswith("| dataset"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    rows = {}
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[1]] = dict(zip(columns, cells))
    return columns, rows


def test_dense_first_stage_docs_per_second_and_cached_indexes(shared, tmp_path):
    import lrbench
    from lrbench.presentation.report import build_report, to_markdown

    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=4, n_extra=60)
    suite = write_suite(tmp_path, {
        "name": "eff", "datasets": [{"id": f"beir:{folder}", "name": "scifact"}],
        "systems": [{"name": "bm25", "type": "bm25"},
                    {"name": "dense", "type": "embedder", "params": {"model": MINILM, "threads": 1, "k": 20}}]})
    lrbench.run(suite, tmp_path / "first")
    _, first = _efficiency_rows(to_markdown(build_report(tmp_path / "first")))
    assert float(first["dense"]["docs/s"].replace(",", "")) > 1  # corpus encoding rate, not a search-time 0.0
    assert "cached" not in first["bm25"]["index s"] and "cached" not in first["dense"]["index s"]

    lrbench.run(suite, tmp_path / "second")  # another folder: cells recomputed, indexes read from the cache
    text = to_markdown(build_report(tmp_path / "second"))
    _, second = _efficiency_rows(text)
    assert second["bm25"]["index s"].endswith("(cached)") and second["dense"]["index s"].endswith("(cached)")
    assert second["dense"].get("docs/s", "–") == "–"  # no encoding happened: no rate to show
    assert "(cached): read from the cache" in text
