"""Cell keys: the hash of a cell's parsed, typed configuration, never of the YAML as written.

A key hashes the runner's `Params` with every default filled in (minus its `schedule_params`), the typed
`compress:` block, the depth, the dataset fingerprint, whether a reranker cut to a depth keeps its input's tail,
the input cell's key (every input's, for fusion), what `key_extra` adds (a model
revision, the hash of a run file), the runner version and KEY_FORMAT. Writing a default out or leaving it
out is the same cell; changing a default is a new cell; changing how the work is spread is not.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lrbench.suites.cells import canonical_json
from lrbench.suites.schema import SystemSpec

#: bump when what a key hashes changes: cells stored under another format are simply not found (recomputed)
KEY_FORMAT = 2


def canonical_params(runner_cls, params) -> dict[str, Any]:
    """The runner's parsed params (its `Params`, defaults filled in) as JSON, without the params that only
    schedule work."""
    dumped = params.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if k not in runner_cls.schedule_params}


def cell_config(system: SystemSpec, runner_cls, params, compress, dataset_fingerprint: str,
                input_key: str | dict[str, str] | None, extra: str = "") -> dict[str, Any]:
    """Everything that determines the cell's output, from its parsed params and typed compress block (None
    without one): what the key hashes and meta.json records."""
    return {
        "key_format": KEY_FORMAT,
        "type": system.type,
        "runner_version": runner_cls.version,
        "params": canonical_params(runner_cls, params),
        "compress": None if compress is None else compress.model_dump(mode="json"),
        "depth": system.depth,
        # only a reranker cut to a depth has a tail: other cells keep their keys
        **({"keep_tail": system.keep_tail} if system.depth and system.input else {}),
        "input": input_key,
        "dataset": dataset_fingerprint,
        "extra": extra,
    }


def key_of(config: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:20]
