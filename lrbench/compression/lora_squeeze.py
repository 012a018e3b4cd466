"""LoRA-Squeeze: compress a loaded LoRA adapter post hoc to a lower rank.

For every LoRA layer (peft) with update scaling * B @ A (B: out x r, A: r x in), the product B @ A is
factored by randomized SVD (torch.svd_lowrank with q = min(r, target + oversample) columns, so that it is
exact whenever q reaches the update's rank, as for any LoRA update) and truncated to `target_rank`:
B' = U_r' S_r'^1/2, A' = S_r'^1/2 V_r'^T, scaling unchanged. B' A' is then the best rank-r' approximation of
B A (Eckart-Young), i.e. the truncated-SVD reconstruction. Layers whose rank is already <= target stay as they are.

compress: {method: lora-squeeze, target_rank: 4}   (sweep: {compress.target_rank: [1, 2, 4, 8]})
Only for systems that load an adapter (params.adapter); importing this module does not import torch.
"""

from __future__ import annotations

import time

from lrbench.errors import LrbenchError

def lora_layers(model) -> list[tuple[str, object]]:
    """(name, module) of every peft LoRA layer (modules with lora_A / lora_B dicts)."""
    return [(n, m) for n, m in model.named_modules()
            if hasattr(m, "lora_A") and hasattr(m, "lora_B") and hasattr(m.lora_A, "keys")]


def squeeze_pair(A, B, target: int, oversample: int = 8, niter: int = 4, seed: int = 0):
    """(A', B') of rank min(target, r) with B' @ A' the rank-target truncated SVD of B @ A."""
    import torch

    r = A.shape[0]
    k = min(target, r)
    product = (B.double() @ A.double())
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        U, S, V = torch.svd_lowrank(product, q=min(r, k + oversample), niter=niter)
    finally:
        torch.random.set_rng_state(generator_state)
    root = S[:k].sqrt()
    return (root[:, None] * V[:, :k].T).to(A.dtype), (U[:, :k] * root).to(B.dtype)


def squeeze_model(model, config: dict):
    """Squeeze every LoRA layer of a peft model to config['target_rank'] in place; return (model, report)."""
    import torch
    from torch import nn

    from lrbench.compression.config import parse_compress

    cfg = parse_compress(config)
    started = time.perf_counter()
    target = cfg.target_rank
    layers = lora_layers(model)
    if not layers:
        raise LrbenchError("lora-squeeze compresses a LoRA adapter, and this model has none", key="compress.method",
                           hint="load one with params.adapter: PATH (a peft LoRA folder) on this system")
    before = after = squeezed = 0
    ranks_before = set()
    with torch.no_grad():
        for _, layer in layers:
            for name in list(layer.lora_A.keys()):
                A, B = layer.lora_A[name].weight, layer.lora_B[name].weight
                r = A.shape[0]
                ranks_before.add(r)
                before += A.numel() + B.numel()
                if r <= target:
                    after += A.numel() + B.numel()
                    continue
                A2, B2 = squeeze_pair(A, B, target, cfg.oversample, cfg.niter, cfg.seed)
                new_a = nn.Linear(A.shape[1], A2.shape[0], bias=False, dtype=A.dtype, device=A.device)
                new_b = nn.Linear(B2.shape[1], B.shape[0], bias=False, dtype=B.dtype, device=B.device)
                new_a.weight.copy_(A2)
                new_b.weight.copy_(B2)
                layer.lora_A[name], layer.lora_B[name] = new_a, new_b
                if isinstance(getattr(layer, "r", None), dict):
                    layer.r[name] = A2.shape[0]
                after += A2.numel() + B2.numel()
                squeezed += 1
    report = {"method": "lora-squeeze", "target_rank": target, "ranks_before": sorted(ranks_before),
              "lora_layers": len(layers), "squeezed": squeezed, "adapter_params_before": before,
              "adapter_params_after": after, "adapter_param_ratio": after / before if before else None,
              "seconds": time.perf_counter() - started}
    return model, report
