"""Runner registry: built-in runners, third-party runners from the `lrbench.runners` entry point group, and
runners registered in-process with `register_runner` (notebooks, tests).

Each source maps a type name to something with `load()` and `value` (an `importlib.metadata.EntryPoint` or
the small stand-ins below), so listing and lookup treat all three alike. Built-ins win over entry points
of the same name; in-process registrations win over both.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points

from lrbench.errors import LrbenchError
from lrbench.runners.base import Runner

ENTRY_POINT_GROUP = "lrbench.runners"

#: type -> "module:Class"; imported only when a suite uses the type, so heavy runners cost nothing otherwise
BUILTIN_RUNNERS = {
    "bm25": "lrbench.runners.retrieval.bm25:BM25Runner",
    "given": "lrbench.runners.combine.given:GivenRunner",
    "embedder": "lrbench.runners.retrieval.embedder:EmbedderRunner",
    "cross-encoder": "lrbench.runners.rerankers.cross_encoder:CrossEncoderRunner",
    "llm-pointwise": "lrbench.runners.llm.pointwise:PointwiseRunner",
    "llm-listwise": "lrbench.runners.llm.listwise:ListwiseRunner",
    "llm-groupwise": "lrbench.runners.llm.groupwise:GroupwiseRunner",
    "llm-setwise": "lrbench.runners.llm.setwise:SetwiseRunner",
    "icr": "lrbench.runners.llm.icr:ICRRunner",
    "sparse-encoder": "lrbench.runners.retrieval.sparse_encoder:SparseEncoderRunner",
    "late-interaction": "lrbench.runners.retrieval.late_interaction:LateInteractionRunner",
    "cur-retrieval": "lrbench.runners.retrieval.cur_retrieval:CurRetrievalRunner",
    "lm-perplexity": "lrbench.runners.tasks.lm_perplexity:PerplexityRunner",
    "glue": "lrbench.runners.tasks.glue:GlueRunner",
    "mteb-classification": "lrbench.runners.tasks.mteb_classification:MtebClassificationRunner",
    "fusion": "lrbench.runners.combine.fusion:FusionRunner",
}


class _Builtin:
    def __init__(self, value: str):
        self.value = value

    def load(self) -> type[Runner]:
        module, _, attr = self.value.partition(":")
        return getattr(import_module(module), attr)


class _Registered:
    def __init__(self, cls: type[Runner]):
        self.cls = cls
        self.value = f"{cls.__module__}:{cls.__qualname__}"

    def load(self) -> type[Runner]:
        return self.cls


_REGISTERED: dict[str, _Registered] = {}


@lru_cache(maxsize=1)
def _installed() -> dict[str, object]:
    third_party = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return {**third_party, **{name: _Builtin(value) for name, value in BUILTIN_RUNNERS.items()}}


def _entry_points() -> dict[str, object]:
    """Every known runner type -> its loader (built-in, entry point or registered in this process)."""
    return {**_installed(), **_REGISTERED}


def register_runner(cls: type[Runner]) -> type[Runner]:
    """Make `cls` available as `type: <cls.type>` in this process (usable as a class decorator)."""
    if not isinstance(cls, type) or not issubclass(cls, Runner) or not getattr(cls, "type", None):
        raise LrbenchError(f"{cls!r} is not a Runner subclass with a `type`",
                           hint="subclass lrbench.runners.base.Runner and set `type = \"my-runner\"`")
    _REGISTERED[cls.type] = _Registered(cls)
    return cls


def _loader(type_name: str):
    """Registered and built-in types win over entry points, so only other names need the (slow) entry-point scan."""
    if type_name in _REGISTERED:
        return _REGISTERED[type_name]
    if type_name in BUILTIN_RUNNERS:
        return _Builtin(BUILTIN_RUNNERS[type_name])
    return _entry_points().get(type_name)


def get_runner(type_name: str) -> type[Runner]:
    loader = _loader(type_name)
    if loader is None:
        eps = _entry_points()
        near = difflib.get_close_matches(type_name, list(eps), n=1)
        hint = (f"did you mean '{near[0]}'? " if near else "") + f"known types: {', '.join(sorted(eps))}"
        raise LrbenchError(f"unknown runner type '{type_name}'", key="type", hint=hint)
    try:
        cls = loader.load()
    except Exception as exc:
        raise LrbenchError(f"runner type '{type_name}' failed to import: {type(exc).__name__}: {exc}",
                           key="type", hint="install the package that provides it") from None
    return cls
