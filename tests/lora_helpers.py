"""Train a small LoRA adapter with peft on all-MiniLM-L6-v2 from real SciFact (query, relevant abstract) pairs:
used by tests/test_adapters.py and benchmarks/lora_squeeze_sweep.py."""

from __future__ import annotations

import json
from pathlib import Path

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def scifact_pairs(shared: Path, qrels_rows: slice) -> list[tuple[str, str]]:
    """(query, title + abstract) for the SciFact test qrels rows in `qrels_rows` (file order)."""
    src = shared / "beir-scifact"
    queries = {json.loads(line)["_id"]: json.loads(line)["text"] for line in open(src / "queries.jsonl")}
    qrels = [line.split("\t")[:2] for line in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]][qrels_rows]
    wanted = {d for _, d in qrels}
    docs = {}
    for line in open(src / "corpus.jsonl"):
        row = json.loads(line)
        if row["_id"] in wanted:
            docs[row["_id"]] = row["title"] + " " + row["text"]
    return [(queries[q], docs[d]) for q, d in qrels if q in queries and d in docs]


def train_lora(pairs, folder: Path, rank: int = 8, steps: int = 8, batch: int = 8, lr: float = 5e-3,
               max_length: int = 64, seed: int = 0) -> tuple[int, list[float]]:
    """Contrastive LoRA (query/value, in-batch negatives, temperature 0.05) on MiniLM; saved to `folder`.
    Returns (trainable parameters, losses)."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    from lrbench.models import resolve

    torch.manual_seed(seed)
    path = resolve(MINILM).path
    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = get_peft_model(transformers.AutoModel.from_pretrained(path),
                           LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["query", "value"],
                                      lora_dropout=0.0))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    def embed(texts):
        enc = tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        h = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    losses = []
    for step in range(steps):
        start = (step * batch) % max(1, len(pairs) - batch + 1)
        chunk = pairs[start:start + batch]
        q, d = embed([c[0] for c in chunk]), embed([c[1] for c in chunk])
        loss = torch.nn.functional.cross_entropy(q @ d.T / 0.05, torch.arange(len(chunk)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters() if p.requires_grad), losses
