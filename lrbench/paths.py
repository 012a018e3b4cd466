"""Where lrbench keeps caches (indexes, embeddings, fingerprints, models) and, by default, results."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = Path(os.environ.get("LRBENCH_CACHE", Path.home() / ".cache" / "lrbench")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def default_out_dir(suite_name: str) -> Path:
    from lrbench.safety import safe_name

    return Path("results") / safe_name(suite_name)
