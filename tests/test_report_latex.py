"""`lrbench report --format latex` on real results (BM25 variants on Cranfield and SciFact): the tables are
well-formed LaTeX, their values are the leaderboard's and their letters agree with the Markdown report."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import lrbench
from lrbench.cli import app
from lrbench.presentation.latex import escape, letter, to_latex
from lrbench.presentation.report import build_report, to_markdown
from report_fixtures import run_sweep_suite

SCIFACT_SUITE = {
    "name": "latex-scifact",
    "datasets": [{"id": "irds:beir/scifact/test", "name": "scifact", "measures": ["nDCG@10", "R@100"]}],
    "baseline": "bm25",
    "systems": [
        {"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4}},
        {"name": "bm25_robertson", "type": "bm25", "params": {"k1": 1.2, "b": 0.75, "method": "robertson"}},
        {"name": "bm25-b0", "type": "bm25", "params": {"k1": 0.9, "b": 0.0}},
    ],
}
ENTRY = re.compile(r"^(?:\\textbf\{)?(?P<value>-?\d+\.\d+)\}?(?:\$\^\{(?P<marks>[a-z]+)\}\$)?"
                   r"(?:\\hphantom\{\$\^\{(?P<blank>[a-z]+)\}\$\})?$")


def _shared() -> None:
    if not (Path(__file__).resolve().parents[2] / "shared" / "data").exists():
        pytest.skip("../shared/data is not available")


@pytest.fixture(scope="module")
def cranfield(tmp_path_factory) -> Path:
    _shared()
    return run_sweep_suite(tmp_path_factory.mktemp("latex-cranfield"))


@pytest.fixture(scope="module")
def scifact(tmp_path_factory) -> Path:
    _shared()
    folder = tmp_path_factory.mktemp("latex-scifact")
    (folder / "suite.yaml").write_text(yaml.safe_dump(SCIFACT_SUITE, sort_keys=False))
    result = lrbench.run(folder / "suite.yaml", out=folder / "results")
    assert not result.failed, result.failed
    return folder / "results"


def check_structure(tex: str) -> list[list[str]]:
    """Balanced braces and environments, one tabular whose every row has as many cells as its column spec;
    returns the body rows split into cells (header first)."""
    depth = 0
    for ch in re.sub(r"\\[{}#&%$_]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a closing brace without its opening one"
    assert depth == 0, "unbalanced braces"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+\*?)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} closes another environment"
    assert not stack
    spec = re.findall(r"\\begin\{tabular\}\{([^}]*)\}", tex)
    assert len(spec) == 1
    columns = len(re.findall(r"[lcr]", spec[0]))
    body = tex.split(r"\toprule")[1].split(r"\bottomrule")[0]
    rows = []
    for line in body.splitlines():
        if not line.strip() or line.strip() == r"\midrule":
            continue
        assert line.endswith(r" \\"), line
        cells = re.split(r"(?<!\\)&", line[:-3])
        assert len(cells) == columns, f"{len(cells)} cells for {columns} columns: {line}"
        rows.append([c.strip() for c in cells])
    return rows


def parse(tex: str) -> tuple[list[str], dict[str, dict[str, tuple[float, str, bool]]], dict[str, str]]:
    """measures, system -> measure -> (value, letters, bold), system -> its letter."""
    header, *rows = check_structure(tex)
    measures = [re.sub(r"\\textbf\{(.*)\}(\$\\downarrow\$)?", r"\1", h).replace(r"\_", "_") for h in header[2:]]
    table, letters = {}, {}
    for row in rows:
        system = row[1].replace(r" \textit{(baseline)}", "").replace(r"\_", "_")
        letters[system] = row[0]
        table[system] = {}
        for measure, entry in zip(measures, row[2:]):
            match = ENTRY.match(entry)
            assert match, entry
            table[system][measure] = (float(match["value"]), match["marks"] or "", entry.startswith(r"\textbf"))
    return measures, table, letters


def markdown_markers(results: Path, baseline: str, **kwargs) -> dict[tuple[str, str], str]:
    """(system, measure) -> the ▲/▼ the Markdown report prints against baseline."""
    text = to_markdown(build_report(results, baseline=baseline, **kwargs))
    against = text.split(f"**Against the baseline {baseline}**")[1].split("\n\n_")[0]
    out = {}
    for line in against.splitlines()[4:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        marker = re.search(r"<sup>(.)</sup>", cells[2])
        out[(cells[0].replace("\\|", "|"), cells[1])] = marker.group(1) if marker else ""
    return out


@pytest.mark.parametrize("which", ["cranfield", "scifact"])
def test_latex_values_bold_and_letters_agree_with_the_markdown_report(which, request):
    results = request.getfixturevalue(which)
    report = build_report(results)
    (dataset, tex), = to_latex(report).items()
    measures, table, letters = parse(tex)
    board = pd.read_parquet(results / "leaderboard.parquet")
    assert set(table) == set(board["system"]) and len(table) >= 3
    for system, scores in table.items():
        for measure, (value, _, bold) in scores.items():
            stored = board[(board["system"] == system) & (board["measure"] == measure)]["value"].item()
            assert f"{value:.4f}" == f"{stored:.4f}"
            best = board[board["measure"] == measure]["value"].max()
            assert bold == (stored == best)
    # letter r on a row <=> `lrbench report --baseline r` marks that row ▲; every system serves as reference
    seen = 0
    for reference in table:
        markers = markdown_markers(results, reference)
        for system in table:
            if system == reference:
                continue
            for measure in measures:
                up = markers[(system, measure)] == "▲"
                assert (letters[reference] in table[system][measure][1]) == up, (system, reference, measure)
                seen += up
    assert seen >= 2  # real differences exist on both datasets (b=0 is far worse than b=0.4)
    assert "Holm-Bonferroni" in tex and "paired t-test" in tex


def test_stricter_alpha_drops_letters_and_still_agrees(cranfield):
    loose = parse(to_latex(build_report(cranfield))["cranfield"])[1]
    strict = parse(to_latex(build_report(cranfield, alpha=1e-6))["cranfield"])[1]
    count = lambda t: sum(len(m) for s in t.values() for _, m, _ in s.values())  # noqa: E731
    assert count(strict) < count(loose)
    markers = markdown_markers(cranfield, "bm25", alpha=1e-6)
    for (system, measure), marker in markers.items():
        assert ("a" in strict[system][measure][1]) == (marker == "▲")


def test_the_structure_check_can_fail(cranfield):
    tex = to_latex(build_report(cranfield))["cranfield"]
    check_structure(tex)
    broken_row = tex.replace(r"bm25-robertson &", r"bm25-robertson", 1)
    with pytest.raises(AssertionError, match="cells for"):
        check_structure(broken_row)
    with pytest.raises(AssertionError, match="unbalanced"):
        check_structure(tex.replace(r"\textbf{\#}", r"\textbf{\#", 1))


def test_cli_and_api_write_one_table_per_dataset(cranfield, tmp_path):
    res = CliRunner().invoke(app, ["report", str(cranfield), "--format", "latex", "--out", str(tmp_path / "tex")])
    assert res.exit_code == 0, res.output
    assert [p.name for p in (tmp_path / "tex").iterdir()] == ["cranfield.tex"]
    written = lrbench.Results(cranfield).to_latex(tmp_path / "api", test="wilcoxon")
    assert list(written) == ["cranfield"] and "Wilcoxon" in written["cranfield"].read_text()
    res = CliRunner().invoke(app, ["report", str(cranfield), "--format", "pdf"])
    assert res.exit_code == 2 and "md, html or latex" in res.output


def test_escape_and_letters():
    assert escape("a_b & c%[x=1]") == r"a\_b \& c\%[x=1]"
    assert [letter(i) for i in (0, 25, 26, 27)] == ["a", "z", "aa", "ab"]
