"""A compress block's calibration dataset resolves against the suite folder for every task kind, and
`lrbench validate` checks it there."""

from __future__ import annotations

from typer.testing import CliRunner

from helpers import write_suite
from neural_helpers import MINILM, scifact_slice

COMPRESS = {"method": "whiten", "ratio": 0.6, "targets": ["*attention.self.query*"],
            "calibration": {"dataset": "beir:data/scifact", "samples": 8, "max_length": 32}}


def test_a_ranking_cell_reads_its_calibration_data_beside_the_suite(shared, tmp_path, monkeypatch):
    import lrbench

    suite_dir = tmp_path / "suites"
    folder = scifact_slice(shared, suite_dir / "data" / "scifact", n_queries=3, n_extra=20)
    suite = write_suite(suite_dir, {
        "name": "calib", "datasets": [{"id": f"beir:{folder}", "name": "slice"}],
        "systems": [{"name": "dense", "type": "embedder", "params": {"model": MINILM, "threads": 1, "k": 10},
                     "compress": COMPRESS}]})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working folder holds no data/scifact
    assert CliRunner().invoke(__import__("lrbench.cli", fromlist=["app"]).app, ["validate", str(suite)]).exit_code == 0
    results = lrbench.run(suite, tmp_path / "out")
    assert not results.failed, results.failed
    report = results.profile("dense")["compression"]
    assert report["layers_factored"] > 0 and report["calibration"]["texts"] == 8


def test_validate_resolves_calibration_paths_against_the_suite_folder(shared, tmp_path, monkeypatch):
    from lrbench.cli import app

    suite_dir = tmp_path / "suites"
    folder = scifact_slice(shared, suite_dir / "data" / "scifact", n_queries=3, n_extra=5)
    bad = {**COMPRESS, "calibration": {"dataset": "beir:nowhere/scifact", "samples": 8}}
    suite = write_suite(suite_dir, {
        "name": "calib", "datasets": [{"id": f"beir:{folder}"}],
        "systems": [{"name": "dense", "type": "embedder", "params": {"model": MINILM}, "compress": bad}]})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "scifact").symlink_to(folder)  # present in the working folder, not beside the suite
    result = CliRunner().invoke(app, ["validate", str(suite)])
    assert result.exit_code == 2, result.output
    assert "compress.calibration.dataset" in result.output and "suites/nowhere/scifact" in result.output
