"""`lrbench log` and `run --log` on a real Cranfield results folder: MLflow file store and W&B offline runs,
read back with MLflow's own search and by parsing the offline run files."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import lrbench
from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.presentation.tracking import log_results, mlflow_name, tracking_uri
from lrbench.store.resultsdir import ResultsDir
from report_fixtures import SWEEP_SUITE, run_sweep_suite


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    if not (Path(__file__).resolve().parents[2] / "shared" / "data").exists():
        pytest.skip("../shared/data is not available")
    return run_sweep_suite(tmp_path_factory.mktemp("tracking"))


def _board(results: Path) -> dict[tuple[str, str], float]:
    board = pd.read_parquet(results / "leaderboard.parquet")
    return {(s, m): v for s, m, v in zip(board["system"], board["measure"], board["value"])}


def _mlflow_runs(store: Path, experiment: str) -> pd.DataFrame:
    mlflow = pytest.importorskip("mlflow")
    monkey = pytest.MonkeyPatch()
    monkey.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        mlflow.set_tracking_uri(tracking_uri(store))
        return mlflow.search_runs(experiment_names=[experiment])
    finally:
        mlflow.set_tracking_uri(None)
        monkey.undo()


def test_mlflow_file_store_holds_params_metrics_and_profile(results, tmp_path):
    pytest.importorskip("mlflow")
    res = CliRunner().invoke(app, ["log", str(results), "--to", "mlflow", "--dir", str(tmp_path / "mlruns"),
                                   "--experiment", "cranfield-bm25"])
    assert res.exit_code == 0, res.output
    assert "logged 4 run(s)" in res.output
    runs = _mlflow_runs(tmp_path / "mlruns", "cranfield-bm25")
    assert len(runs) == 4
    board, data = _board(results), ResultsDir(results)
    for _, run in runs.iterrows():
        system = run["params.system"]
        cell = data.cell("cranfield", system)
        assert run["tags.mlflow.runName"] == f"{system} on cranfield" and run["params.cell_key"] == cell.key
        for measure in ("nDCG@10", "AP", "P@10"):
            assert run[f"metrics.{mlflow_name(measure)}"] == board[(system, measure)]
        for name, value in cell.params.items():
            assert run[f"params.config.params.{name}"] == str(value)
        assert run["params.config.type"] == "bm25"
        assert run["metrics.profile/latency_ms_p50"] == cell.meta["profile"]["latency_ms_p50"]
    b = runs[runs["params.system"] == "bm25-b[b=0.0]"].iloc[0]
    assert b["params.config.params.b"] == "0.0"
    # a second log adds nothing: the cells (by key) are in the experiment already
    again = log_results(results, "mlflow", experiment="cranfield-bm25", folder=tmp_path / "mlruns")
    assert again.runs == [] and again.skipped == 4
    assert len(_mlflow_runs(tmp_path / "mlruns", "cranfield-bm25")) == 4


def _wandb_records(run_dir: Path) -> list[bytes]:
    """The records of an offline .wandb file (a LevelDB-style log: 32 KiB blocks, 7-byte headers)."""
    raw = next(run_dir.glob("*.wandb")).read_bytes()
    assert raw[:4] == b":W&B"
    block, pos, out, pending = 32768, 7, [], b""
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        pending += raw[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            out.append(pending)
            pending = b""
    return out


def test_wandb_offline_runs_hold_the_scores_in_their_summary(results, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    import json

    from wandb.proto import wandb_internal_pb2 as pb

    monkeypatch.setenv("WANDB_MODE", "offline")
    logged = log_results(results, "wandb", experiment="cranfield-bm25", folder=tmp_path)
    assert len(logged.runs) == 4 and all(Path(r).parent == tmp_path / "wandb" for r in logged.runs)
    board, data = _board(results), ResultsDir(results)
    seen = set()
    for run_dir in map(Path, logged.runs):
        summary, config, name = {}, {}, None
        for data_ in _wandb_records(run_dir):
            record = pb.Record()
            record.ParseFromString(data_)
            kind = record.WhichOneof("record_type")
            if kind == "summary":
                summary.update({u.key: json.loads(u.value_json) for u in record.summary.update if u.key})
            elif kind == "config":
                config.update({u.key: json.loads(u.value_json) for u in record.config.update if u.key})
            elif kind == "run":  # the run record carries the config given to wandb.init
                name = record.run.display_name or name
                config.update({u.key: json.loads(u.value_json) for u in record.run.config.update if u.key})
        system = config["system"]
        seen.add(system)
        assert name == f"{system} on cranfield" and config["cell_key"] == data.cell("cranfield", system).key
        for measure in ("nDCG@10", "AP", "P@10"):
            assert summary[measure] == pytest.approx(board[(system, measure)], rel=1e-12)
        assert summary["profile/wall_seconds"] == pytest.approx(
            data.cell("cranfield", system).meta["profile"]["wall_seconds"])
    assert seen == {"bm25", "bm25-robertson", "bm25-b[b=0.0]", "bm25-b[b=0.75]"}


def test_run_logs_after_the_run_from_the_suite_block_or_the_option(results, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # --log without a folder writes ./mlruns
    suite = dict(SWEEP_SUITE, log={"to": "mlflow", "experiment": "from-suite", "dir": str(tmp_path / "store")})
    path = results.parent / "suite-log.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    run = lrbench.run(path, out=results)  # every cell cached: nothing recomputed, all logged
    assert run.count("cached") == 4 and len(run.last_log.runs) == 4
    assert len(_mlflow_runs(tmp_path / "store", "from-suite")) == 4
    res = CliRunner().invoke(app, ["run", str(results.parent / "suite.yaml"), "--out", str(results), "--log",
                                   "mlflow"], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "logged 4 run(s) to mlflow experiment 'report-cranfield'" in res.output
    assert len(_mlflow_runs(tmp_path / "mlruns", "report-cranfield")) == 4
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(results), "--log", "neptune"])
    assert res.exit_code == 2 and "mlflow or wandb" in res.output


def test_missing_package_is_one_line_naming_the_install(results, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(LrbenchError, match="not installed") as info:
        log_results(results, "mlflow")
    assert "lrbench[logging]" in info.value.one_line()
    with pytest.raises(LrbenchError, match="unknown logging target"):
        log_results(results, "neptune")
