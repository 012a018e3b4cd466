"""Bad input: one clear line naming file, line, key and fix; a non-zero exit; nothing half-written."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lrbench.cli import app

runner = CliRunner()

GOOD = """name: t
datasets:
  - id: irds:cranfield
measures: [nDCG@10]
systems:
  - name: bm25
    type: bm25
"""


def _invoke(tmp_path, text, command="validate"):
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    result = runner.invoke(app, [command, str(path), *(["--out", str(tmp_path / "out")] if command == "run" else [])])
    return path, result


def _one_error_line(result) -> str:
    lines = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert lines, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_good_suite_validates(tmp_path):
    _, result = _invoke(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_malformed_yaml_names_file_and_line(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("    type: bm25", "    type: [bm25"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{path}:" in line and "malformed YAML" in line


def test_unknown_key_suggests_nearest(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("    type: bm25", "    type: bm25\n    parms: {k1: 1}"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{path}:8:" in line and "systems[0].parms" in line and "did you mean 'params'" in line


def test_unknown_runner_type_lists_known_and_nearest(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("type: bm25", "type: bm52"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{path}:7:" in line and "unknown runner type 'bm52'" in line
    assert "did you mean 'bm25'" in line and "given" in line


def test_unknown_dataset_id(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("irds:cranfield", "nosuch:thing"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{path}:3:" in line and "unknown dataset id 'nosuch:thing'" in line and "irds:" in line


def test_unknown_irds_id_when_running(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("irds:cranfield", "irds:beir/scifakt/test"), command="run")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "unknown ir_datasets id 'beir/scifakt/test'" in line and "beir/scifact/test" in line
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_missing_file(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("irds:cranfield", "beir:no/such/folder"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{path}:3:" in line and "file not found" in line and "no/such/folder" in line


def test_unparseable_measure(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("[nDCG@10]", "[nDCG@10, nDGC@10]"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{path}:4:" in line and "measures" in line and "nDGC@10" in line


def test_bad_runner_param(tmp_path):
    path, result = _invoke(tmp_path, GOOD.replace("    type: bm25", "    type: bm25\n    params: {k3: 1}"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "systems[0].params.k3" in line and "k1" in line


def test_validate_reports_every_error(tmp_path):
    text = GOOD.replace("type: bm25", "type: bm52").replace("[nDCG@10]", "[nDGC@10]") + "baseline: bm2\n"
    _, result = _invoke(tmp_path, text)
    assert result.exit_code == 2
    errors = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert len(errors) == 3, result.output


def test_run_exits_nonzero_on_invalid_suite_and_writes_nothing(tmp_path):
    _, result = _invoke(tmp_path, GOOD.replace("type: bm25", "type: bm52"), command="run")
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_offline_download_failure_is_one_line(tmp_path, monkeypatch):
    """A collection that is neither cached nor mirrored fails its cells (exit 1), with a hint about the mirror."""
    monkeypatch.setenv("LRBENCH_MIRROR", str(tmp_path))  # an empty mirror
    _, result = _invoke(tmp_path, GOOD.replace("irds:cranfield", "irds:vaswani"), command="run")
    assert result.exit_code == 1
    lines = [l for l in result.output.splitlines() if l.startswith("failed:")]
    assert lines and "Traceback" not in result.output
    assert "irds:vaswani" in lines[0] and "--mirror" in lines[0]
