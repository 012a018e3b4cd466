"""The Python API: the docs page's example run as written, equal to the CLI; dict suites, given frames, evaluate."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import lrbench
from lrbench.errors import LrbenchError
from tests.helpers import write_suite

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"


def docs_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "docs/python-api.md has no python example"
    return blocks[0]


def test_import_lrbench_is_light():
    code = "import sys, lrbench; print('pandas' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_docs_example_runs_and_matches_the_cli(tmp_path, shared, monkeypatch):
    from typer.testing import CliRunner

    from lrbench.cli import app

    # the page is written for the repository root; run it in a scratch folder with the mirror made absolute
    code = docs_example()
    assert '"../shared/data/' in code
    code = code.replace('"../shared/data/', f'"{shared}/')
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    res, again, suite = namespace["res"], namespace["again"], namespace["suite"]

    # the CLI on the same suite, as a YAML file, into another folder: the same leaderboard
    yaml_path = write_suite(tmp_path, suite, "scifact-nb.yaml")
    cli = CliRunner().invoke(app, ["run", str(yaml_path), "--out", str(tmp_path / "cli"),
                                   "--mirror", str(shared / "ir_datasets")])
    assert cli.exit_code == 0, cli.output
    cli_board = pd.read_parquet(tmp_path / "cli" / "leaderboard.parquet")
    key = ["dataset", "system", "measure"]
    pd.testing.assert_frame_equal(res.leaderboard.sort_values(key).reset_index(drop=True),
                                  cli_board.sort_values(key).reset_index(drop=True))
    assert res.count("computed") == 2 and not res.failed
    assert set(res.leaderboard["system"]) == {"bm25", "bm25-robertson"}

    # the other accessors agree with the leaderboard
    board = res.leaderboard.set_index(["system", "measure"])["value"]
    per_query = namespace["per_query"]
    ndcg = per_query[per_query["measure"] == "nDCG@10"]["value"]
    assert len(ndcg) == 300 and ndcg.mean() == pytest.approx(board["bm25", "nDCG@10"], abs=1e-12)
    run = namespace["run"]
    assert list(run.columns) == ["query_id", "doc_id", "rank", "score"] and run["query_id"].nunique() == 300
    deltas = namespace["deltas"].set_index("measure")
    assert deltas.loc["nDCG@10", "delta"] == pytest.approx(board["bm25-robertson", "nDCG@10"] - board["bm25", "nDCG@10"])
    assert deltas.loc["nDCG@10", "wins"] + deltas.loc["nDCG@10", "ties"] + deltas.loc["nDCG@10", "losses"] == 300
    assert (tmp_path / "results" / "scifact-nb" / "report.md").read_text().count("bm25-robertson") >= 1

    # evaluate() from the qrels file gives what the cell stored from ir_datasets' qrels
    means = namespace["scores"].means
    assert means["nDCG@10"] == pytest.approx(board["bm25", "nDCG@10"], abs=1e-12)
    assert means["R@100"] == pytest.approx(board["bm25", "R@100"], abs=1e-12)

    # the in-memory run as a given system scores exactly what bm25 scored
    given = again.leaderboard.set_index(["system", "measure"])["value"]
    for measure in ("nDCG@10", "R@100"):
        assert given["my-run", measure] == pytest.approx(given["bm25", measure], abs=1e-12)
    assert (again.count("cached"), again.count("computed")) == (2, 1)


def dl19_suite(shared: Path, **system) -> dict:
    base = shared / "trec-dl-2019-passage"
    return {"name": "dl19-api", "measures": ["nDCG@10", "RR(rel=2)@10"],
            "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json", "name": "dl19",
                          "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 5}],
            "systems": [{"name": "bm25", "type": "given"}, {"name": "mine", "type": "given", **system}]}


def cell_keys(results) -> dict[str, str]:
    return dict(zip(results.cells["system"], results.cells["key"]))


def test_given_frame_key_follows_content_not_row_order(tmp_path, shared):
    first = lrbench.run(dl19_suite(shared), out=tmp_path / "a")
    run = first.run("bm25")[["query_id", "doc_id", "score"]]
    shuffled = run.sample(frac=1.0, random_state=0)
    changed = run.assign(score=run["score"] * -1.0)

    same = lrbench.run(dl19_suite(shared, params={"run": run}), out=tmp_path / "b")
    reordered = lrbench.run(dl19_suite(shared, params={"run": shuffled}), out=tmp_path / "b")
    flipped = lrbench.run(dl19_suite(shared, params={"run": changed}), out=tmp_path / "b")
    assert cell_keys(same)["mine"] == cell_keys(reordered)["mine"] != cell_keys(flipped)["mine"]
    assert reordered.count("cached") == 2 and flipped.count("computed") == 1
    board = same.leaderboard.set_index(["system", "measure"])["value"]
    assert board["mine", "nDCG@10"] == board["bm25", "nDCG@10"]
    worse = flipped.leaderboard.set_index(["system", "measure"])["value"]
    assert worse["mine", "nDCG@10"] < worse["bm25", "nDCG@10"]


def test_load_suite_dict_resolves_against_base_dir_and_reports_keys(tmp_path, shared):
    base = shared / "trec-dl-2019-passage"
    suite = dl19_suite(shared)
    suite["datasets"][0].update(id="candidates:rank_llm_candidates/BM25.top100.dl19.json",
                                qrels="qrels.dl19-passage.txt")
    loaded = lrbench.load_suite(suite, base_dir=base)
    assert loaded.base_dir == base.resolve() and [s.name for s in loaded.suite.systems] == ["bm25", "mine"]
    with pytest.raises(LrbenchError) as err:
        lrbench.load_suite(suite)  # relative to the working folder: not there
    assert "<suite dict>" in err.value.one_line() and "datasets[0]" in err.value.one_line()
    with pytest.raises(LrbenchError) as err:
        lrbench.load_suite({**suite, "systemz": []}, base_dir=base)
    assert "unknown key 'systemz'" in err.value.one_line()
    yaml_path = write_suite(tmp_path, dl19_suite(shared))
    assert lrbench.load_suite(yaml_path).base_dir == tmp_path.resolve()
    with pytest.raises(LrbenchError, match="not a folder"):
        lrbench.run(yaml_path, out=tmp_path / "x", mirror=tmp_path / "missing")


def test_evaluate_checks_columns_and_matches_a_cell(tmp_path, shared):
    res = lrbench.run(dl19_suite(shared), out=tmp_path / "r", only=["bm25"])
    qrels = shared / "trec-dl-2019-passage" / "qrels.dl19-passage.txt"
    run = res.run("bm25", "dl19")
    ev = lrbench.evaluate(run, qrels, ["nDCG@10", "RR(rel=2)@10"])
    stored = res.perquery("bm25", "dl19", "nDCG@10").set_index("query_id")["value"]
    mine = ev.perquery[ev.perquery["measure"] == "nDCG@10"].set_index("query_id")["value"]
    # evaluate() scores every judged query in the file; the cell only its 5 queries, which must agree
    assert len(stored) == 5 and (mine.loc[stored.index] - stored).abs().max() < 1e-12
    assert list(ev.means.index) == ["nDCG@10", "RR(rel=2)@10"]
    with pytest.raises(LrbenchError, match="run lacks column"):
        lrbench.evaluate(run.drop(columns=["score"]), qrels, "nDCG@10")
    with pytest.raises(LrbenchError, match="cannot parse measure"):
        lrbench.evaluate(run, qrels, ["nDCG@@10"])


def test_results_name_errors_and_open_results(tmp_path, shared):
    res = lrbench.run(dl19_suite(shared), out=tmp_path / "r")
    reopened = lrbench.open_results(tmp_path / "r")
    pd.testing.assert_frame_equal(reopened.leaderboard, res.leaderboard)
    assert reopened.failed == [] and reopened.count("computed") == 0
    with pytest.raises(LrbenchError, match="no system 'bm2'"):
        res.perquery("bm2")
    with pytest.raises(LrbenchError, match="no dataset 'scifact'"):
        res.run("bm25", "scifact")
    with pytest.raises(LrbenchError, match="unknown test"):
        res.compare("mine", "bm25", test="z")
