"""`lrbench report` and `lrbench compare` on a real Cranfield results folder (BM25 variants and a b-sweep)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.store.store import LocalStore
from lrbench.statistics import significance as stats
from lrbench.presentation.compare import compare_targets, to_markdown as compare_markdown
from lrbench.presentation.plots import pareto_front
from lrbench.presentation.render import write_report
from lrbench.presentation.report import build_report, to_markdown
from lrbench.store.resultsdir import ResultsDir
from report_fixtures import run_sweep_suite

scipy_stats = pytest.importorskip("scipy.stats")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory, request) -> Path:
    if not (Path(__file__).resolve().parents[2] / "shared" / "data").exists():
        pytest.skip("../shared/data is not available")
    return run_sweep_suite(tmp_path_factory.mktemp("report"))


def _perquery(results: Path, system: str, measure: str) -> pd.Series:
    data = ResultsDir(results)
    return data.cell("cranfield", system).values(measure)


def test_markdown_report_numbers_match_an_independent_computation(results, tmp_path):
    report = build_report(results)
    text = to_markdown(report)
    systems = ["bm25", "bm25-robertson", "bm25-b[b=0.0]", "bm25-b[b=0.75]"]
    base = _perquery(results, "bm25", "AP")
    assert len(base) == 225
    others = [_perquery(results, s, "AP").loc[base.index] for s in systems[1:]]
    pvalues = [scipy_stats.ttest_rel(o.to_numpy(), base.to_numpy()).pvalue for o in others]
    # Holm by hand: sort, multiply by (m - rank), running max, cap at 1
    order = np.argsort(pvalues)
    adjusted = np.empty(3)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (3 - rank) * pvalues[i]))
        adjusted[i] = running
    leaderboard = text.split("**Leaderboard**")[1].split("**Against")[0]
    against = text.split("**Against the baseline bm25**")[1].split("## ")[0]
    for system, series, p, adj in zip(systems[1:], others, pvalues, adjusted):
        ci = scipy_stats.t.interval(0.95, len(series) - 1, loc=series.mean(), scale=scipy_stats.sem(series))
        assert f"{series.mean():.4f} ± {(ci[1] - ci[0]) / 2:.4f}" in leaderboard
        row = next(l for l in against.splitlines() if l.startswith(f"| {system} | AP |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] == ("<0.0001" if p < 1e-4 else f"{p:.4f}")
        assert cells[5] == ("<0.0001" if adj < 1e-4 else f"{adj:.4f}")
        diff = series.to_numpy() - base.to_numpy()
        wtl = f"{(diff > 0).sum()}/{(diff == 0).sum()}/{(diff < 0).sum()}"
        assert cells[6] == wtl
        marked = "<sup>" in cells[2]
        assert marked == (adj < 0.05)
        if marked:
            assert ("▲" in cells[2]) == (series.mean() > base.mean())
    # b=0 is far worse than b=0.4 on Cranfield AP: a significant drop must be marked
    assert re.search(r"\| bm25-b\[b=0\.0\] \| AP \| -0\.\d+<sup>▼</sup>", against)
    assert "(baseline)" in leaderboard and "Holm-Bonferroni" in text


def test_report_files_plots_and_reproducibility(results, tmp_path):
    out = tmp_path / "rep" / "report.md"
    written = write_report(build_report(results), out)
    names = sorted(p.name for p in written)
    assert names == ["report-delta-cranfield.png", "report-pareto-cranfield.png", "report-quality-latency.png",
                     "report.md"]
    for path in written[1:]:
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000
    text = out.read_text()
    for path in written[1:]:
        assert f"]({path.name})" in text  # linked from the Markdown
    data = ResultsDir(results)
    for cell in data.cells:  # every cell key and dataset fingerprint is in the reproducibility block
        assert cell.key in text and cell.fingerprint in text
    for item in ("| lrbench |", "| lrbench git commit |", "| python |", "| torch |", "| transformers |",
                 "| ir-measures |", "| CPU |", "| GPU |"):
        assert item in text
    assert "p50 ms" in text and "queries/s" in text  # efficiency from the bm25 profiles
    assert "on the front:" in text


def test_pareto_front_hand_example():
    # (cost, quality): (1, .5) (2, .4) dominated, (3, .7), (4, .7) dominated (same quality, more cost), (5, .9)
    points = [(3, 0.7), (1, 0.5), (2, 0.4), (5, 0.9), (4, 0.7)]
    assert pareto_front(points) == [1, 0, 3]


def test_other_tests_and_baseline_option(results):
    wil = build_report(results, test="wilcoxon")
    rnd = build_report(results, test="randomization", permutations=2000)
    base = _perquery(results, "bm25", "P@10")
    other = _perquery(results, "bm25-robertson", "P@10").loc[base.index]
    fam_w = wil.stats["cranfield"]["families"]["P@10"]
    row = next(c for c in fam_w if c.system == "bm25-robertson")
    ref = scipy_stats.wilcoxon(other.to_numpy(), base.to_numpy(), method="asymptotic", correction=False)
    assert row.test.pvalue == pytest.approx(ref.pvalue, rel=1e-9)
    fam_r = rnd.stats["cranfield"]["families"]["P@10"]
    assert 0 < next(c for c in fam_r if c.system == "bm25-robertson").test.pvalue <= 1
    assert "Wilcoxon signed-rank test" in wil.legend and "randomization" in rnd.legend
    swapped = build_report(results, baseline="bm25-robertson")
    assert "**Against the baseline bm25-robertson**" in to_markdown(swapped)
    with pytest.raises(LrbenchError, match="unknown system 'nope'"):
        build_report(results, baseline="nope")
    with pytest.raises(LrbenchError, match="not a results folder"):
        build_report(results / "cells")


def test_report_cli(results, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli" / "r.md"
    res = runner.invoke(app, ["report", str(results), "--out", str(out), "--no-plots", "--test", "wilcoxon"])
    assert res.exit_code == 0, res.output
    assert out.exists() and not list(out.parent.glob("*.png"))
    res = runner.invoke(app, ["report", str(results), "--format", "pdf"])
    assert res.exit_code == 2 and "unknown format" in res.output
    res = runner.invoke(app, ["report", str(results), "--test", "z"])
    assert res.exit_code == 2 and "unknown test" in res.output
    html = tmp_path / "cli" / "r.html"
    res = runner.invoke(app, ["report", str(results), "--format", "html", "--out", str(html)])
    assert res.exit_code == 0, res.output
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 3 and "<script>" in page
    assert not list(html.parent.glob("*.png"))  # plots are embedded, nothing left next to it


def test_compare_two_systems_and_two_folders(results, tmp_path):
    two = compare_targets([str(results), "bm25-robertson", "bm25"])
    row = next(r for r in two.rows if r.measure == "nDCG@10")
    a = _perquery(results, "bm25-robertson", "nDCG@10")
    b = _perquery(results, "bm25", "nDCG@10").loc[a.index]
    assert row.delta == pytest.approx(b.mean() - a.mean())  # B - A: the second against the first, as in the report
    assert row.pvalue == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue, rel=1e-9)
    assert row.adjusted == pytest.approx(row.pvalue)  # one system compared: Holm leaves p unchanged
    assert str(row.wtl) == str(stats.win_tie_loss(b.to_numpy(), a.to_numpy()))
    assert two.latency and two.latency[0][1] == "bm25-robertson vs bm25"

    same = compare_targets([str(results), str(results)])
    assert len(same.rows) == 4 * 3 and all(r.delta == 0 and math.isnan(r.pvalue) for r in same.rows)
    text = compare_markdown(same)
    assert "| cranfield | bm25-b[b=0.0] | AP |" in text

    res = CliRunner().invoke(app, ["compare", str(results), "bm25-b[b=0.0]", "bm25", "--out", str(tmp_path / "c.md")],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    written = (tmp_path / "c.md").read_text()
    assert "<sup>▲</sup>" in written and "<sup>▼</sup>" not in written  # bm25 (B) beats b=0 (A)
    assert "Δ = B − A" in written
    res = CliRunner().invoke(app, ["compare", str(results), "bm25-b", "bm25"])
    assert res.exit_code == 2 and "is a sweep" in res.output
    res = CliRunner().invoke(app, ["compare", str(results)])
    assert res.exit_code == 2 and "2 or 3 arguments" in res.output


def test_compare_latency_ratio_keeps_its_significant_digits():
    from lrbench.presentation.compare import ResultsComparison as Compared, rich_table

    c = Compared("main", "branch", "t", 0.05, latency=[("dl19", "ce", 20992.0, 0.54), ("dl19", "bm25", 2.0, 3.0)])
    text = compare_markdown(c)
    assert "| 2.57e-05x |" in text and "| 1.5x |" in text and "0.00x" not in text
    assert "B / A" in text
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(rich_table(c))
    printed = console.export_text()
    assert "2.57e-05x" in printed and "Δ = B − A" in printed


def test_report_states_the_delta_convention(results):
    text = to_markdown(build_report(results))
    assert "Δ = system − baseline" in text


def test_corpus_level_scores_get_no_ci(results, tmp_path):
    """A stored score that is not the mean of its per-query values (as perplexity is) is shown without a CI."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(results, copy)
    cell = ResultsDir(copy).cell("cranfield", "bm25-robertson")
    scores = pd.read_parquet(cell.dir / "scores.parquet")
    scores.loc[scores["measure"] == "AP", "value"] += 0.01
    LocalStore(copy).update(cell.key, {"scores": scores})  # through the store: its checksum follows
    text = to_markdown(build_report(copy))
    row = next(l for l in text.splitlines() if l.startswith("| bm25-robertson | **") or
               l.startswith("| bm25-robertson | 0."))
    ap = row.strip("|").split("|")[2].strip()
    assert "±" not in ap and f"{scores.set_index('measure').loc['AP', 'value']:.4f}" in ap
    assert "AP: corpus-level score" in text
    vs = next(l for l in text.splitlines() if l.startswith("| bm25-robertson | AP |"))
    assert vs.split("|")[4].strip() == "–"  # no CI of the difference either


def test_direction_aware_markers():
    from lrbench.presentation.report import BaselineComparison
    from lrbench.evaluation.measures import higher_is_better

    assert higher_is_better("nDCG@10") and higher_is_better("accuracy")
    assert not higher_is_better("perplexity") and not higher_is_better("word_perplexity")
    nan_ci = stats.MeanCI(math.nan, math.nan, math.nan, 0)
    test = stats.TestResult("t", -3.0, 0.001, 100)
    lower = BaselineComparison("x", "perplexity", -2.5, nan_ci, test, 0.003, None, higher=False)
    higher = BaselineComparison("x", "nDCG@10", -0.02, nan_ci, test, 0.003, None, higher=True)
    assert lower.marker(0.05) == "▲" and higher.marker(0.05) == "▼"
    assert BaselineComparison("x", "AP", 0.01, nan_ci, test, 0.2, None).marker(0.05) == ""
