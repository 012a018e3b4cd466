"""PEFT adapters and LoRA-Squeeze: a LoRA adapter trained for a few steps on real SciFact (query, relevant
abstract) pairs on all-MiniLM-L6-v2, saved, loaded through a suite (merged and not), squeezed to rank 2 and
checked against the truncated-SVD reconstruction of its update."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers import write_suite
from lora_helpers import MINILM, scifact_pairs, train_lora

RANK, TARGET = 8, 2


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A rank-8 LoRA on query/value, 8 contrastive steps on the first 16 SciFact qrels pairs."""
    from conftest import SHARED

    if not SHARED.exists():
        pytest.skip("../shared/data is not available")
    folder = tmp_path_factory.mktemp("lora") / "minilm-lora"
    trainable, losses = train_lora(scifact_pairs(SHARED, slice(0, 16)), folder, rank=RANK, steps=8)
    return folder, trainable, losses


def _suite(tmp_path, shared, folder, systems):
    base = shared / "trec-dl-2019-passage"
    return write_suite(tmp_path, {
        "name": "lora",
        "datasets": [{"id": f"candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json",
                      "qrels": str(base / "qrels.dl19-passage.txt"), "queries_limit": 1}],
        "measures": ["nDCG@10"],
        "systems": [{"name": "bm25", "type": "given"}] + [
            {"type": "embedder", "input": "bm25", "depth": 5, **s} for s in systems]})


def test_lora_trained_saved_loaded_through_a_suite_and_squeezed(adapter, shared, tmp_path):
    import lrbench

    folder, trainable, losses = adapter
    assert losses[-1] < losses[0]  # the adapter learned something: it is not the zero update
    params = {"model": MINILM, "adapter": str(folder)}
    path = _suite(tmp_path, shared, folder, [
        {"name": "base", "params": {"model": MINILM}},
        {"name": "lora-merged", "params": {**params, "merge": True}},
        {"name": "lora-unmerged", "params": {**params, "merge": False}},
        {"name": "lora-sq", "params": {**params, "merge": False}, "compress": {"method": "lora-squeeze"},
         "sweep": {"compress.target_rank": [TARGET]}}])
    result = lrbench.run(path, out=tmp_path / "out")
    assert not result.failed, result.failed
    import pandas as pd

    by = {}
    for meta in (tmp_path / "out").rglob("meta.json"):
        prof = json.loads(meta.read_text())["profile"]
        if "model" not in prof:
            continue  # the bm25 input
        run = pd.read_parquet(meta.parent / "run.parquet")
        key = ("base" if "adapter" not in prof else "sq" if "adapter_rank_after_squeeze" in prof
               else "merged" if prof["adapter_merged"] else "unmerged")
        by[key] = (prof, run.sort_values("doc_id").reset_index(drop=True))
    assert set(by) == {"base", "merged", "unmerged", "sq"}
    prof = by["unmerged"][0]
    assert prof["adapter_rank"] == RANK and prof["adapter_trainable_params"] == trainable
    assert prof["adapter_target_modules"] and prof["adapter_type"] == "LORA"
    assert "+adapter-sha256:" in prof["model_revision"]  # corpus/token embedding caches tell adapters apart
    # merging changes nothing in the scores; the adapter changes them
    np.testing.assert_allclose(by["merged"][1]["score"], by["unmerged"][1]["score"], atol=1e-5)
    assert np.abs(by["merged"][1]["score"] - by["base"][1]["score"]).max() > 1e-3
    sq = by["sq"][0]
    assert sq["adapter_rank_after_squeeze"] == TARGET and sq["compression"]["method"] == "lora-squeeze"
    assert sq["adapter_params_after_squeeze"] == sq["adapter_params"] == trainable * TARGET // RANK
    assert by["merged"][0]["adapter_params"] == trainable  # counted before the merge folds it into the weights
    assert sq["compression"]["squeezed"] == 12  # query and value of 6 layers


def test_squeezed_output_equals_truncated_svd_reconstruction(adapter, tmp_path):
    """Rank-2 squeezed adapter == base weights + scaling * truncated SVD (rank 2) of each layer's B A."""
    import transformers
    from peft import PeftModel

    from lrbench.models import resolve
    from lrbench.runners.base import RunContext
    from lrbench.runners.retrieval.embedder import EmbedderRunner

    folder, _, _ = adapter
    ctx = RunContext(cache_dir=tmp_path / "cache", suite_dir=tmp_path,
                     compress={"method": "lora-squeeze", "target_rank": TARGET})
    texts = ["what causes muscle fatigue", "Vitamin D deficiency is common among elderly patients in winter."]
    got = {}
    for merge in (False, True):
        loaded = EmbedderRunner({"model": MINILM, "adapter": str(folder), "merge": merge}).load(ctx)
        got[merge] = loaded.encode(texts)
    # the reference, built by hand from the saved adapter with a full SVD
    path = resolve(MINILM).path
    base = transformers.AutoModel.from_pretrained(path).eval()
    peft_model = PeftModel.from_pretrained(transformers.AutoModel.from_pretrained(path), str(folder)).eval()
    with torch.no_grad():
        for name, module in peft_model.named_modules():
            if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
                A, B = module.lora_A["default"].weight.double(), module.lora_B["default"].weight.double()
                U, S, Vh = torch.linalg.svd(B @ A, full_matrices=False)
                delta = module.scaling["default"] * (U[:, :TARGET] * S[:TARGET]) @ Vh[:TARGET]
                target = base.get_submodule(name.removeprefix("base_model.model."))
                target.weight += delta.float()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        h = base(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    ref = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(got[False], ref, atol=1e-5)
    np.testing.assert_allclose(got[True], ref, atol=1e-5)
    # and rank 2 differs from the full adapter (the squeeze really dropped something)
    full = EmbedderRunner({"model": MINILM, "adapter": str(folder)}).load(
        RunContext(cache_dir=tmp_path / "cache", suite_dir=tmp_path)).encode(texts)
    assert np.abs(full - ref).max() > 1e-5


def test_lora_squeeze_block_validation(tmp_path, shared):
    from lrbench.errors import LrbenchError
    from lrbench.runners.base import RunContext
    from lrbench.runners.retrieval.embedder import EmbedderRunner
    from lrbench.plan import load_suite

    path = _suite(tmp_path, shared, None, [
        {"name": "bad", "params": {"model": MINILM}, "compress": {"method": "lora-squeeze", "target_rank": 0,
                                                                  "ratio": 0.5}}])
    lines = [e.one_line() for e in load_suite(path, strict=False).errors]
    assert any("suite.yaml:" in x and "target_rank must be a positive integer" in x for x in lines), lines
    assert any("unknown key 'ratio'" in x for x in lines), lines
    ctx = RunContext(cache_dir=tmp_path / "c", suite_dir=tmp_path, compress={"method": "lora-squeeze",
                                                                             "target_rank": 2})
    with pytest.raises(LrbenchError) as exc:
        EmbedderRunner({"model": MINILM}).load(ctx)
    assert "has none" in exc.value.one_line() and "params.adapter" in exc.value.one_line()
    with pytest.raises(LrbenchError) as exc:
        EmbedderRunner({"model": MINILM, "adapter": str(tmp_path)}).load(ctx)
    assert exc.value.key == "params.adapter"
