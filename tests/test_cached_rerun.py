"""A fully cached rerun prints the stored leaderboard without the executor (and without pandas)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import write_suite

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import sys; from lrbench.cli import app\n"
         "try:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
         "print('PANDAS' if 'pandas' in sys.modules else 'NO-PANDAS', file=sys.stderr)\nsys.exit(code)")


def _run(suite: Path, out: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", PROBE, "run", str(suite), "--out", str(out)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_cached_rerun_skips_the_executor_until_something_changes(shared, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), LRBENCH_CACHE=str(tmp_path / "cache"), COLUMNS="120")
    suite = {"name": "rerun", "datasets": [{"id": f"beir:{shared / 'cranfield' / 'beir-format'}", "name": "cran",
                                            "measures": ["nDCG@10", "P@10"], "relevance": {1: 4, 2: 3, 3: 2, 4: 1}}],
             "systems": [{"name": "bm25", "type": "bm25"}]}
    path = write_suite(tmp_path, suite)
    out = tmp_path / "out"
    first = _run(path, out, env)
    assert "1 computed, 0 cached" in first.stderr and "PANDAS" in first.stderr
    second = _run(path, out, env)
    assert "0 computed, 1 cached" in second.stderr and "NO-PANDAS" in second.stderr
    board = lambda text: [line for line in text.splitlines() if "bm25" in line]  # noqa: E731
    assert board(second.stdout) == board(first.stdout) and board(first.stdout)
    # another measure: the receipt no longer matches, the executor re-scores from the stored run
    suite["datasets"][0]["measures"].append("AP")
    write_suite(tmp_path, suite)
    third = _run(path, out, env)
    assert "0 computed, 1 cached" in third.stderr and "PANDAS" in third.stderr and "AP" in third.stdout
    # a changed query set changes the dataset's fingerprint, hence the key: computed again
    import shutil

    data = tmp_path / "cran"
    shutil.copytree(shared / "cranfield" / "beir-format", data)
    lines = (data / "queries.jsonl").read_text().splitlines()
    (data / "queries.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    suite["datasets"][0]["id"] = f"beir:{data}"
    write_suite(tmp_path, suite)
    assert "1 computed, 0 cached" in _run(path, out, env).stderr
    assert (out / "rerun.json").exists() and "NO-PANDAS" in _run(path, out, env).stderr


def test_cached_rerun_skips_the_checks_only_under_the_same_code(shared, tmp_path, monkeypatch):
    """The receipt is written by code with one signature; with the same code and suite the checks are skipped,
    another signature (an upgraded lrbench) takes the full path, checks included."""
    import json

    from lrbench import rerun
    from lrbench.cli import app
    from lrbench.plan import checks
    from typer.testing import CliRunner

    suite = {"name": "rerun-checks", "datasets": [{"id": f"beir:{shared / 'cranfield' / 'beir-format'}",
                                                   "name": "cran", "measures": ["nDCG@10"]}],
             "systems": [{"name": "bm25", "type": "bm25"}]}
    path, out = write_suite(tmp_path, suite), tmp_path / "out"
    monkeypatch.setenv("LRBENCH_CACHE", str(tmp_path / "cache"))
    cli = CliRunner()
    assert cli.invoke(app, ["run", str(path), "--out", str(out)]).exit_code == 0
    calls = []
    real = checks.suite_errors
    monkeypatch.setattr(checks, "suite_errors", lambda loaded: calls.append(1) or real(loaded))
    cached = cli.invoke(app, ["run", str(path), "--out", str(out)])
    assert cached.exit_code == 0 and "0 computed, 1 cached" in cached.output and calls == []
    receipt = json.loads((out / "rerun.json").read_text())
    monkeypatch.setattr(rerun, "code_signature", lambda: "other code")
    again = cli.invoke(app, ["run", str(path), "--out", str(out)])
    assert again.exit_code == 0 and "0 computed, 1 cached" in again.output and calls == [1]
    assert json.loads((out / "rerun.json").read_text())["suite"] != receipt["suite"]  # rewritten for this code


def test_plain_cached_run_answers_before_the_cli_framework(shared, tmp_path):
    """`lrbench run SUITE --out DIR` on a cached suite is answered by lrbench.entrypoint without importing typer;
    any other option, or a changed suite, goes to the full command."""
    from lrbench.entrypoint import plain_run

    assert plain_run(["run", "s.yaml"]) == ("s.yaml", None)
    assert plain_run(["run", "-o", "out", "s.yaml"]) == ("s.yaml", "out")
    assert plain_run(["run", "s.yaml", "--out=out"]) == ("s.yaml", "out")
    for other in (["run", "s.yaml", "--force"], ["run"], ["validate", "s.yaml"], ["run", "a.yaml", "b.yaml"],
                  ["--debug", "run", "s.yaml"], ["run", "s.yaml", "--out"]):
        assert plain_run(other) is None, other
    probe = ("import sys; sys.argv = ['lrbench', *sys.argv[1:]]\nfrom lrbench.entrypoint import main\n"
             "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
             "print('TYPER' if 'typer' in sys.modules else 'NO-TYPER', file=sys.stderr)\nsys.exit(code)")
    env = dict(os.environ, PYTHONPATH=str(ROOT), LRBENCH_CACHE=str(tmp_path / "cache"), COLUMNS="120")
    suite = {"name": "entry", "datasets": [{"id": f"beir:{shared / 'cranfield' / 'beir-format'}", "name": "cran",
                                            "measures": ["nDCG@10"]}], "systems": [{"name": "bm25", "type": "bm25"}]}
    path, out = write_suite(tmp_path, suite), tmp_path / "out"

    def entry(*extra):
        proc = subprocess.run([sys.executable, "-c", probe, "run", str(path), "--out", str(out), *extra], env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc

    first = entry()
    assert "1 computed" in first.stderr and "TYPER" in first.stderr.split()
    cached = entry()
    assert "0 computed, 1 cached" in cached.stderr and "NO-TYPER" in cached.stderr
    board = lambda text: [line for line in text.splitlines() if "bm25" in line]  # noqa: E731
    assert board(cached.stdout) == board(first.stdout)
    assert "TYPER" in entry("--only", "bm25").stderr.split()  # another option: the full command
