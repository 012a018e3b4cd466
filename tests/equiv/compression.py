"""compress whiten / asvd / svd vs the definitions in the SVD-LLM and ASVD papers, on all-MiniLM-L6-v2 layers.

The layers' calibration inputs X (one row per real token) are captured here with forward hooks on the dense
model, one text at a time, and everything on the reference side is float64 numpy:
- whiten (SVD-LLM, Wang et al. 2024, Theorem 3.2): with S the Cholesky factor of X^T X, truncating the SVD of
  W S to rank k loses ||(W - W') X^T||_F = sqrt(sum_{i>k} sigma_i(W S)^2).
- asvd (ASVD, Yuan et al. 2023): s_j = mean_t |x_tj|^alpha; W' = [SVD_k(W diag(s))] diag(s)^-1.
- svd: W' = the rank-k truncated SVD of W (Eckart-Young).
lrbench's factored layer W' = second.weight @ first.weight comes from `compress_model`.
"""

from __future__ import annotations

import copy

import numpy as np

from equiv.common import SHARED, minilm_path

TOLERANCE = 1e-4
MAX_LENGTH = 128


def calibration_texts(n: int) -> list[str]:
    import json

    texts = []
    with open(SHARED / "beir-scifact" / "corpus.jsonl") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if len(texts) == n:
                break
    return texts


def dense_minilm():
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(minilm_path()).eval(), AutoTokenizer.from_pretrained(minilm_path())


def layer_inputs(model, tokenizer, names: list[str], texts: list[str]) -> dict[str, np.ndarray]:
    """Each named Linear's inputs over the texts, one text per forward pass (no padding): tokens x features."""
    import torch

    modules = dict(model.named_modules())
    rows: dict[str, list] = {n: [] for n in names}
    handles = [modules[n].register_forward_hook(
        lambda m, inp, out, n=n: rows[n].append(inp[0][0].detach().double().numpy())) for n in names]
    try:
        with torch.inference_mode():
            for text in texts:
                model(**tokenizer(text, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"))
    finally:
        for h in handles:
            h.remove()
    return {n: np.concatenate(r) for n, r in rows.items()}


def lrbench_factored(model, tokenizer, method: str, ratio: float, targets: list[str], texts: list[str]):
    """{layer: (W' float64, rank)} for the layers lrbench factored."""
    from lrbench.compression.lowrank import LowRankLinear, compress_model

    # the block must name a dataset (the texts' source); a callable passed in is what is used
    config = {"method": method, "ratio": ratio, "targets": targets,
              "calibration": {"dataset": f"beir:{SHARED / 'beir-scifact'}", "max_length": MAX_LENGTH, "batch_size": 1}}
    compressed, _ = compress_model(copy.deepcopy(model), config, tokenizer=tokenizer,
                                   calibration=lambda: list(texts))
    return {name: ((m.second.weight.detach().double() @ m.first.weight.detach().double()).numpy(), m.rank)
            for name, m in compressed.named_modules() if isinstance(m, LowRankLinear)}


def whiten_theorem_loss(W: np.ndarray, X: np.ndarray, rank: int) -> float:
    S = np.linalg.cholesky(X.T @ X)
    sigma = np.linalg.svd(W @ S, compute_uv=False)
    return float(np.sqrt((sigma[rank:] ** 2).sum()))


def asvd_reference(W: np.ndarray, X: np.ndarray, rank: int, alpha: float = 0.5) -> np.ndarray:
    s = np.abs(X).mean(axis=0) ** alpha
    U, S, Vt = np.linalg.svd(W * s, full_matrices=False)
    return (U[:, :rank] * S[:rank]) @ Vt[:rank] / s


def svd_reference(W: np.ndarray, rank: int) -> np.ndarray:
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    return (U[:, :rank] * S[:rank]) @ Vt[:rank]


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-30)


def compare(method: str, ratio: float, targets: list[str], n_texts: int, *, rank_shift: int = 0,
            alpha: float = 0.5) -> dict:
    """Per factored layer, the relative difference between lrbench and the paper's formula.
    rank_shift / alpha change the reference side only (for the tests' deliberate perturbations)."""
    model, tokenizer = dense_minilm()
    texts = calibration_texts(n_texts)
    factored = lrbench_factored(model, tokenizer, method, ratio, targets, texts)
    inputs = layer_inputs(model, tokenizer, list(factored), texts)
    weights = {n: m.weight.detach().double().numpy() for n, m in model.named_modules() if n in factored}
    layers = {}
    for name, (approx, rank) in factored.items():
        W, X, k = weights[name], inputs[name], rank + rank_shift
        if method == "whiten":
            loss, theorem = float(np.linalg.norm((W - approx) @ X.T)), whiten_theorem_loss(W, X, k)
            layers[name] = {"rank": rank, "loss": loss, "theorem": theorem, "relative_diff": _relative(loss, theorem)}
        else:
            ref = asvd_reference(W, X, k, alpha) if method == "asvd" else svd_reference(W, k)
            layers[name] = {"rank": rank,
                            "relative_diff": float(np.linalg.norm(approx - ref) / np.linalg.norm(ref))}
    worst = max((v["relative_diff"] for v in layers.values()), default=float("inf"))
    return {"layers": layers, "max_diff": worst, "tokens": int(next(iter(inputs.values())).shape[0]),
            "equal": bool(layers) and worst <= TOLERANCE}
