"""Shared fixtures: real data from ../shared/data, isolated caches per test session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()

# Set before anything imports ir_datasets: it computes its cache paths at import time.
# Once per process: a test module that imports this file under another name must not point the caches elsewhere.
_TMP = Path(os.environ.get("LRBENCH_TESTS_TMP") or tempfile.mkdtemp(prefix="lrbench-tests-"))
os.environ["LRBENCH_TESTS_TMP"] = str(_TMP)
os.environ["IR_DATASETS_HOME"] = str(_TMP / "irds")
os.environ["LRBENCH_CACHE"] = str(_TMP / "cache")
os.environ["LRBENCH_MIRROR"] = str(SHARED / "ir_datasets")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# ir_datasets bakes IR_DATASETS_HOME into its registry when first imported: import it now, so a test that points
# IR_DATASETS_HOME elsewhere for a while cannot become the home every later test reads from.
import ir_datasets  # noqa: E402,F401


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    return SHARED


_ISOLATED_ENV = ("LRBENCH_MIRROR", "LRBENCH_CACHE", "LRBENCH_DATA", "LRBENCH_OFFLINE", "IR_DATASETS_HOME",
                 "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_DATASETS_CACHE", "HF_HOME")


@pytest.fixture(autouse=True)
def _restore_environment():
    """`--mirror` and `lrbench.run(mirror=...)` set LRBENCH_MIRROR for the rest of the process, as documented; a
    test that points them at a temporary mirror must not leave later tests reading from it."""
    saved = {name: os.environ.get(name) for name in _ISOLATED_ENV}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


STRICT_INSTALL = os.environ.get("LRBENCH_STRICT_INSTALL") == "1"


def _missing_install(report) -> bool:
    from installs import IMPORTORSKIP, MISSING

    text = str(report.longrepr)
    return report.skipped and (MISSING in text or IMPORTORSKIP in text or "install the reference extra" in text)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under LRBENCH_STRICT_INSTALL=1 a test skipped for a missing install fails: CI must run every test."""
    outcome = yield
    report = outcome.get_result()
    if STRICT_INSTALL and _missing_install(report):
        report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if STRICT_INSTALL and _missing_install(report):
        report.outcome = "failed"


def pytest_collection_modifyitems(config, items):
    """A test that loads packaged model weights which are not installed skips, naming the install step."""
    from installs import mark_model_tests

    mark_model_tests(items)
