"""CLI listing/show, and the offline mirror seeding an empty ir_datasets home."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.datasets.mirror import dataset_folder, seed_from_mirror

runner = CliRunner()


def test_mirror_copies_only_the_dataset_and_only_missing_files(tmp_path, shared):
    mirror = shared / "ir_datasets"
    home = tmp_path / "home"
    copied = seed_from_mirror("beir/scifact/test", mirror, home)
    assert [p.relative_to(home).as_posix() for p in copied] == ["beir/scifact/source.zip"]
    assert (home / "beir/scifact/source.zip").read_bytes() == (mirror / "beir/scifact/source.zip").read_bytes()
    assert not (home / "cranfield").exists()
    assert seed_from_mirror("beir/scifact/test", mirror, home) == []  # nothing missing any more
    assert dataset_folder("cranfield", mirror) == mirror / "cranfield"
    assert dataset_folder("msmarco-passage/trec-dl-2019", mirror) is None


def test_list_runners_datasets_measures():
    for what, expected in (("runners", "bm25"), ("datasets", "scifact"), ("measures", "nDCG")):
        result = runner.invoke(app, ["list", what])
        assert result.exit_code == 0, result.output
        assert expected in result.output
    bad = runner.invoke(app, ["list", "models-and-more"])
    assert bad.exit_code == 2 and "choose one of" in bad.output


def test_run_then_show_json(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ndatasets: [{id: irds:cranfield}]\nmeasures: [nDCG@10, P@10]\n"
                     "baseline: bm25\nsystems: [{name: bm25, type: bm25}]\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(suite), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 computed, 0 cached" in result.output and "(baseline)" in result.output
    shown = runner.invoke(app, ["show", str(out), "--json"])
    rows = json.loads(shown.stdout)["rows"]
    assert {r["measure"] for r in rows} == {"nDCG@10", "P@10"}
    md = (out / "leaderboard.md").read_text()
    assert "| bm25 (baseline) |" in md
    missing = runner.invoke(app, ["show", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not a results folder" in missing.output


def test_data_info_and_seed(tmp_path, shared, monkeypatch):
    info = runner.invoke(app, ["data", "info", "irds:cranfield"])
    assert info.exit_code == 0, info.output
    assert "1,400" in info.output and "225" in info.output and "-1: 225" in info.output
    monkeypatch.setenv("IR_DATASETS_HOME", str(tmp_path / "home"))
    seeded = runner.invoke(app, ["data", "seed", "irds:cranfield", "--mirror", str(shared / "ir_datasets")])
    assert seeded.exit_code == 0 and (tmp_path / "home" / "cranfield" / "cran.tar.gz").exists()
    monkeypatch.delenv("LRBENCH_MIRROR")
    nomirror = runner.invoke(app, ["data", "seed", "cranfield"])
    assert nomirror.exit_code == 2 and "LRBENCH_MIRROR" in nomirror.output
