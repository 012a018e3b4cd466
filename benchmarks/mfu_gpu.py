"""Embedder encode MFU on a GPU: model FLOPs per second over the card's dense bf16 peak.

    python benchmarks/mfu_gpu.py --tokenizer DIR --corpus corpus.jsonl [--docs 40000] [--out mfu.json]
    (on the GPU machine through benchmarks/mfu_gpu.sh, which stages the tokenizer and corpus)

Two encoder shapes with random weights (FLOPs do not depend on the values): all-MiniLM-L6-v2's (6 layers,
hidden 384, FFN 1536) and BERT-base's (12 layers, hidden 768, FFN 3072), bf16, mean pooling + normalisation,
through the embedder's encode path (`LoadedModel.encode`: tokenise, length-bucketed batches, forward, pool).
Texts: the SciFact corpus (title + abstract), repeated up to --docs.

FLOPs per padded sequence of length s (forward, multiply-add = 2): per layer 8*s*d^2 (Q, K, V, output
projections) + 4*s*d*f (FFN) + 4*s^2*d (scores and weighted sum); embeddings and pooling are left out.
Reported per shape and batching:
  mfu_encode          FLOPs of the padded batches / wall time of LoadedModel.encode (tokenisation included)
  mfu_forward         the same FLOPs / time of the model forward alone on the same padded batches
  useful_mfu_encode   FLOPs of the real (non-padding) tokens only / encode wall time
plus docs/s, and bucketed vs unsorted (sort=False) batching. Peak: --peak-tflops (H200 / H100 SXM dense bf16: 989).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {
    "minilm-l6-h384": dict(num_hidden_layers=6, hidden_size=384, intermediate_size=1536, num_attention_heads=12,
                           max_length=256),
    "bert-base": dict(num_hidden_layers=12, hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                      max_length=512),
}


def read_texts(corpus: Path, n: int) -> list[str]:
    texts = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            texts.append(f"{d.get('title', '')} {d.get('text', '')}".strip())
    return (texts * (n // len(texts) + 1))[:n]


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def forward_flops(lengths: list[int], layers: int, d: int, f: int) -> float:
    return float(sum(layers * (8 * s * d * d + 4 * s * d * f + 4 * s * s * d) for s in lengths))


def padded_lengths(token_lengths: list[int], batch_size: int, sort: bool) -> tuple[list[list[int]], list[int]]:
    """The batches encode() runs (same batching function) and each row's padded length."""
    from lrbench.runners.neural.batching import length_batches

    batches = length_batches(token_lengths, batch_size, sort)
    padded = [max(token_lengths[i] for i in b) for b in batches for _ in b]
    return batches, padded


def build(shape: dict, tokenizer, device: str):
    import torch
    from transformers import BertConfig, BertModel

    from lrbench.models.registry import ResolvedModel
    from lrbench.runners.neural.loading import LoadedModel, Pooling

    cfg = {k: v for k, v in shape.items() if k != "max_length"}
    config = BertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=512, **cfg)
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False).to(device=device, dtype=torch.bfloat16).eval()
    resolved = ResolvedModel(model_id="random-init", path="", revision="random", source="random init", local=True)
    return LoadedModel(kind="embedder", model=model, tokenizer=tokenizer, resolved=resolved, device=device,
                       dtype=torch.bfloat16, threads=1, load_seconds=0.0, max_length=shape["max_length"],
                       pooling=Pooling(mode="mean", normalize=True))


def time_forward(loaded, enc, batches, device) -> float:
    """Seconds of the model forward alone (inputs already padded and on the device)."""
    import torch

    from lrbench.runners.neural.batching import pad_batch

    ids = enc["input_ids"]
    extra = [k for k in ("token_type_ids",) if k in enc]
    ready = []
    for b in batches:
        t = pad_batch([ids[i] for i in b], loaded.pad_id, "right", {k: [enc[k][i] for i in b] for k in extra})
        ready.append({k: v.to(device, non_blocking=True) for k, v in t.items()})
    sync(device)
    started = time.perf_counter()
    with torch.inference_mode():
        for t in ready:
            loaded.model(**t)
    sync(device)
    return time.perf_counter() - started


def measure(name: str, shape: dict, texts: list[str], tokenizer, batch_size: int, peak: float, device: str) -> dict:
    loaded = build(shape, tokenizer, device)
    enc = loaded.tokenize(texts)
    lengths = [len(x) for x in enc["input_ids"]]
    loaded.encode(texts[:2048], batch_size=batch_size)  # warm-up (kernels, allocator)
    layers, d, f = shape["num_hidden_layers"], shape["hidden_size"], shape["intermediate_size"]
    out = {"shape": name, **{k: v for k, v in shape.items()}, "docs": len(texts), "batch_size": batch_size,
           "real_tokens": sum(lengths), "params": sum(p.numel() for p in loaded.model.parameters())}
    useful = forward_flops(lengths, layers, d, f)
    for label, sort in (("bucketed", True), ("unsorted", False)):
        batches, padded = padded_lengths(lengths, batch_size, sort)
        flops = forward_flops(padded, layers, d, f)
        sync(device)
        started = time.perf_counter()
        loaded.encode(texts, batch_size=batch_size, sort=sort)
        sync(device)
        encode_s = time.perf_counter() - started
        forward_s = time_forward(loaded, enc, batches, device)
        out[label] = {"padded_tokens": sum(padded), "flops": flops, "encode_seconds": encode_s,
                      "forward_seconds": forward_s, "docs_per_second": len(texts) / encode_s,
                      "mfu_encode": flops / encode_s / peak, "mfu_forward": flops / forward_s / peak,
                      "useful_mfu_encode": useful / encode_s / peak}
    out["bucketed_speedup_vs_unsorted"] = out["unsorted"]["encode_seconds"] / out["bucketed"]["encode_seconds"]
    del loaded
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokenizer", type=Path, required=True, help="a BERT tokenizer folder (MiniLM's)")
    parser.add_argument("--corpus", type=Path, required=True, help="BEIR corpus.jsonl (SciFact)")
    parser.add_argument("--docs", type=int, default=40000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES))
    parser.add_argument("--device", default="cuda", help="cpu only for a local smoke test of the script")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/mfu_gpu.json"))
    args = parser.parse_args()

    import torch
    import transformers
    from transformers import AutoTokenizer

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    tokenizer = AutoTokenizer.from_pretrained(str(args.tokenizer))
    texts = read_texts(args.corpus, args.docs)
    peak = args.peak_tflops * 1e12
    result = {"device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else args.device,
              "peak_tflops_bf16": args.peak_tflops,
              "torch": torch.__version__, "transformers": transformers.__version__,
              "python": platform.python_version(), "dtype": "bfloat16", "shapes": []}
    for name in args.shapes:
        started = time.perf_counter()
        row = measure(name, SHAPES[name], texts, tokenizer, args.batch_size, peak, args.device)
        row["total_seconds"] = time.perf_counter() - started
        result["shapes"].append(row)
        b = row["bucketed"]
        print(f"{name}: bucketed encode MFU {b['mfu_encode']:.1%} (forward alone {b['mfu_forward']:.1%}, useful "
              f"{b['useful_mfu_encode']:.1%}), {b['docs_per_second']:,.0f} docs/s; unsorted encode MFU "
              f"{row['unsorted']['mfu_encode']:.1%}; bucketed {row['bucketed_speedup_vs_unsorted']:.2f}x faster",
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
