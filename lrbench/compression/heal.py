"""Healing: brief distillation of the factored layers toward the dense model's outputs (feature mimicking).

Only the LowRankLinear parameters train; the loss is the mean squared error between the student's and
the dense teacher's last hidden states on the calibration texts (padding masked out).
"""

from __future__ import annotations

import random
import time

import torch

from lrbench.compression.layers import LowRankLinear, _batches, _model_device


def heal(student, teacher, tokenizer, texts: list[str], spec: dict, *, max_length: int = 256) -> dict:
    steps = int(spec.get("steps", 200))
    lr = float(spec.get("lr", 1e-4))
    batch_size = int(spec.get("batch_size", 8))
    started = time.perf_counter()
    trainable = [p for m in student.modules() if isinstance(m, LowRankLinear) for p in m.parameters()]
    if not trainable:
        return {"steps": 0, "note": "no layer was factored; nothing to heal"}
    frozen = {p: p.requires_grad for p in student.parameters()}
    for p in student.parameters():
        p.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    teacher.eval()
    student.eval()  # no dropout: mimic the deterministic dense features
    device = _model_device(student)
    order = list(range(len(texts)))
    rng = random.Random(0)
    optimizer = torch.optim.Adam(trainable, lr=lr)
    losses = []
    step = 0
    try:
        while step < steps:
            rng.shuffle(order)
            batch_texts = [texts[i] for i in order]
            for batch in _batches(tokenizer, batch_texts, batch_size, max_length, device):
                if step >= steps:
                    break
                mask = batch["attention_mask"].unsqueeze(-1).to(torch.float32)
                with torch.no_grad():
                    target = teacher(**batch, output_hidden_states=True).hidden_states[-1]
                out = student(**batch, output_hidden_states=True).hidden_states[-1]
                loss = (((out - target) ** 2) * mask).sum() / (mask.sum() * out.shape[-1])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
                step += 1
    finally:
        for p, flag in frozen.items():
            p.requires_grad_(flag)
    head = sum(losses[:5]) / max(len(losses[:5]), 1)
    tail = sum(losses[-5:]) / max(len(losses[-5:]), 1)
    return {"steps": step, "lr": lr, "batch_size": batch_size, "loss_first5": head, "loss_last5": tail,
            "seconds": time.perf_counter() - started}
