"""The per-query view on real Cranfield results: the queries that gained and lost most, in compare and report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.presentation.compare import compare_targets, to_markdown as compare_markdown
from lrbench.presentation.movers import movers, query_texts
from lrbench.presentation.report import build_report, to_markdown
from lrbench.store.resultsdir import ResultsDir
from report_fixtures import run_sweep_suite


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    if not (Path(__file__).resolve().parents[2] / "shared" / "data").exists():
        pytest.skip("../shared/data is not available")
    return run_sweep_suite(tmp_path_factory.mktemp("movers"))


def _expected(results: Path, a: str, b: str, top: int):
    """Independently: per-query B - A on nDCG@10 sorted by pandas."""
    data = ResultsDir(results)
    canon = data.measures("cranfield")[0][1]
    x, y = data.cell("cranfield", a).values(canon), data.cell("cranfield", b).values(canon)
    delta = (y - x.loc[y.index]).rename("d").reset_index().sort_values(["d", "index"], ascending=[False, True])
    gains = delta[delta["d"] > 0].head(top)
    losses = delta[delta["d"] < 0].sort_values(["d", "index"]).head(top)
    return list(zip(gains["index"], gains["d"])), list(zip(losses["index"], losses["d"]))


def test_compare_lists_the_largest_gains_and_losses_with_query_text(results):
    measure = ResultsDir(results).measures("cranfield")[0]
    assert measure[0] == "nDCG@10"
    comparison = compare_targets([str(results), "bm25", "bm25-robertson"], top=4)
    (moved,) = comparison.movers
    gains, losses = _expected(results, "bm25", "bm25-robertson", 4)
    assert [(r.query_id, pytest.approx(r.delta)) for r in moved.gains] == gains
    assert [(r.query_id, pytest.approx(r.delta)) for r in moved.losses] == losses
    assert len(gains) == len(losses) == 4 and gains[0][1] > 0.3 and losses[0][1] < -0.3
    texts = query_texts(ResultsDir(results), "cranfield")
    assert len(texts) == 225 and all(r.text == texts[r.query_id] and r.text for r in moved.gains + moved.losses)
    text = compare_markdown(comparison)
    section = text.split("**Queries that moved most: bm25 vs bm25-robertson on cranfield, nDCG@10 (B against A)**")[1]
    first = next(line for line in section.splitlines() if line.startswith("| gain |"))
    assert first.startswith(f"| gain | {gains[0][0]} | ") and first.endswith(f"| {gains[0][1]:+.4f} |")
    assert section.index("| gain |") < section.index("| loss |")
    # the other order swaps gains and losses, with the sign: one delta convention, B - A
    swapped = compare_targets([str(results), "bm25-robertson", "bm25"], top=4).movers[0]
    assert [(r.query_id, -r.delta) for r in swapped.losses] == [(r.query_id, r.delta) for r in moved.gains]
    assert not compare_targets([str(results), "bm25", "bm25-robertson"]).movers  # the API default lists none


def test_report_lists_each_system_against_the_baseline(results):
    text = to_markdown(build_report(results, top=3))
    for system in ("bm25-robertson", "bm25-b[b=0.0]", "bm25-b[b=0.75]"):
        title = f"**Queries that moved most: {system} against bm25 on cranfield, nDCG@10**"
        assert title in text
        table = text.split(title)[1].split("\n\n_")[0]
        gains, losses = _expected(results, "bm25", system, 3)
        rows = [line for line in table.splitlines() if line.startswith(("| gain", "| loss"))]
        assert [r.split(" | ")[1] for r in rows] == [q for q, _ in gains + losses]
        assert [r.split(" | ")[-1].rstrip(" |") for r in rows] == [f"{d:+.4f}" for _, d in gains + losses]
    assert "Queries that moved most" not in to_markdown(build_report(results, top=0))


def test_cli_top_option(results, tmp_path):
    res = CliRunner().invoke(app, ["compare", str(results), "bm25", "bm25-robertson", "--top", "2",
                                   "--out", str(tmp_path / "c.md")], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c.md").read_text().count("| gain |") == 2
    res = CliRunner().invoke(app, ["report", str(results), "--top", "-1", "--no-plots"])
    assert res.exit_code == 2 and "--top" in res.output


def test_unchanged_queries_are_neither_gains_nor_losses(results):
    cell = ResultsDir(results).cell("cranfield", "bm25")
    same = movers(cell, cell, ResultsDir(results).measures("cranfield")[0], 5)
    assert same.paired == 225 and not same.gains and not same.losses
