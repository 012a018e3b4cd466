"""Runner registry: built-in runners, third-party runners from the `lrbench.runners` entry point group, and
runners registered in-process with `register_runner` (notebooks, tests). In-process registrations win over
built-ins, built-ins over entry points of the same name (lrbench.registry).
"""

from __future__ import annotations

from lrbench.errors import LrbenchError
from lrbench.registry import Registry
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
    "llm-pairwise": "lrbench.runners.llm.pairwise:PairwiseRunner",
    "icr": "lrbench.runners.llm.icr:ICRRunner",
    "sparse-encoder": "lrbench.runners.retrieval.sparse_encoder:SparseEncoderRunner",
    "late-interaction": "lrbench.runners.retrieval.late_interaction:LateInteractionRunner",
    "cur-retrieval": "lrbench.runners.retrieval.cur_retrieval:CurRetrievalRunner",
    "lm-perplexity": "lrbench.runners.tasks.lm_perplexity:PerplexityRunner",
    "glue": "lrbench.runners.tasks.glue:GlueRunner",
    "icl-exemplars": "lrbench.runners.tasks.icl:IclExemplarRunner",
    "mteb-classification": "lrbench.runners.tasks.mteb_classification:MtebClassificationRunner",
    "fusion": "lrbench.runners.combine.fusion:FusionRunner",
}


RUNNERS: Registry[type[Runner]] = Registry("runner type", group=ENTRY_POINT_GROUP, builtins=BUILTIN_RUNNERS,
                                           key="type", hint="see lrbench list runners")


def register_runner(cls: type[Runner]) -> type[Runner]:
    """Make `cls` available as `type: <cls.type>` in this process (usable as a class decorator)."""
    if not isinstance(cls, type) or not issubclass(cls, Runner) or not getattr(cls, "type", None):
        raise LrbenchError(f"{cls!r} is not a Runner subclass with a `type`",
                           hint="subclass lrbench.runners.base.Runner and set `type = \"my-runner\"`")
    return RUNNERS.register(cls.type, cls)


def get_runner(type_name: str) -> type[Runner]:
    return RUNNERS.get(type_name)
