"""SmolLM2-135M (offline Q4_1 GGUF copy, dequantized to fp32) under low-rank compression, on the CPU:

1. WikiText-2 test perplexity (a prefix of `--chars` characters of wiki.test.tokens; sliding window
   `--context`/`--stride`) for svd / asvd / whiten at ratios 1.0 / 0.8 / 0.6, calibration on WikiText-2 valid;
2. SST-2 dev zero-shot-lm accuracy (lm-eval prompt) at ratio 1.0 and 0.8 (whiten).

Runs generated suites through lrbench.run; writes benchmarks/out/compression_smollm2.md
and .json. Usage: .venv/bin/python benchmarks/compression_smollm2.py [--chars 20000] [--sst2-limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
OUT = ROOT / "benchmarks" / "out"
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
TARGETS = ["*self_attn*", "*mlp*"]


def run_suite(suite: dict, name: str):
    import lrbench
    from lrbench.presentation.leaderboard import load

    path = OUT / f"{name}.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    started = time.perf_counter()
    result = lrbench.run(path, out=OUT / name)
    for cell in result.outcome.cells:
        print(f"  {cell.status:8s} {cell.cell.system_label:18s} {cell.seconds:7.1f}s {cell.error or ''}", flush=True)
    board, info = load(OUT / name)
    return board, info, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chars", type=int, default=20000)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--stride", type=int, default=256)
    ap.add_argument("--calibration-samples", type=int, default=32)
    ap.add_argument("--sst2-limit", type=int, default=None)
    ap.add_argument("--skip-sst2", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    calibration = {"dataset": f"wikitext:{DATA}/wikitext-2/wiki.valid.tokens",
                   "samples": args.calibration_samples, "max_length": 512}
    lm = {"model": MODEL, "context_length": args.context, "stride": args.stride, "batch_size": 2, "threads": args.threads}
    systems = [{"name": "dense", "type": "lm-perplexity", "params": lm}]
    for method in ("svd", "asvd", "whiten"):
        block = {"method": method, "ratio": [0.8, 0.6], "targets": TARGETS}
        if method != "svd":
            block["calibration"] = calibration
        systems.append({"name": method, "type": "lm-perplexity", "params": lm, "compress": block})
    suite = {"name": "bench-smollm2-ppl",
             "datasets": [{"id": f"wikitext:{DATA}/wikitext-2/wiki.test.tokens", "name": "wikitext2-test",
                           "options": {"chars": args.chars}}],
             "measures": ["perplexity", "word_perplexity", "bits_per_byte"], "baseline": "dense",
             "systems": systems}
    lines = [f"# SmolLM2-135M-Instruct (Q4_1 GGUF copy, fp32) low-rank compression, CPU", ""]
    print("perplexity suite", flush=True)
    board, info, seconds = run_suite(suite, "bench-smollm2-ppl")
    table = board.pivot(index="system", columns="measure", values="value")
    protocol = None
    rows = []
    for cell in info["cells"]:
        prof = cell["profile"]
        protocol = prof.get("protocol", {}).get("label", protocol)
        comp = prof.get("compression") or {}
        rows.append({"system": cell["system"], "params": prof.get("params"),
                     "ppl": float(table.loc[cell["system"], "perplexity"]),
                     "word_ppl": float(table.loc[cell["system"], "word_perplexity"]),
                     "bpb": float(table.loc[cell["system"], "bits_per_byte"]),
                     "tokens_per_second": prof.get("tokens_per_second"),
                     "compress_seconds": comp.get("wall_seconds"),
                     "layers_factored": comp.get("layers_factored"), "layers_dense": len(comp.get("layers_dense", []))})
    lines += [f"## WikiText-2 perplexity ({seconds:.0f}s)", "", f"protocol: {protocol}; calibration: {calibration}",
              "", "| system | params | token ppl | word ppl | bits/byte | tok/s | compress s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['system']} | {r['params']:,} | {r['ppl']:.2f} | {r['word_ppl']:.2f} | {r['bpb']:.4f} | "
                     f"{(r['tokens_per_second'] or 0):.0f} | {(r['compress_seconds'] or 0):.0f} |")
    result = {"perplexity": rows, "protocol": protocol, "calibration": calibration}
    if not args.skip_sst2:
        print("sst2 suite", flush=True)
        zs = {"model": MODEL, "protocol": "zero-shot-lm", "batch_size": 16, "threads": args.threads}
        ds = {"id": f"glue:{DATA}/glue-dev/SST-2.dev.tsv", "name": "sst2-dev"}
        if args.sst2_limit:
            ds["queries_limit"] = args.sst2_limit
        suite = {"name": "bench-smollm2-sst2", "datasets": [ds], "baseline": "dense", "systems": [
            {"name": "dense", "type": "glue", "params": zs},
            {"name": "whiten", "type": "glue", "params": zs,
             "compress": {"method": "whiten", "ratio": [0.8], "targets": TARGETS, "calibration": calibration}}]}
        board, info, seconds = run_suite(suite, "bench-smollm2-sst2")
        lines += ["", f"## SST-2 dev zero-shot-lm ({seconds:.0f}s)", "",
                  "prompt: lm-eval's `{sentence}\\nQuestion: Is this sentence positive or negative?\\nAnswer:`, "
                  "choices ' negative' / ' positive'", "", "| system | examples | accuracy |", "|---|---:|---:|"]
        sst = []
        for cell in info["cells"]:
            acc = float(board[(board.system == cell["system"]) & (board.measure == "accuracy")]["value"].iloc[0])
            sst.append({"system": cell["system"], "accuracy": acc, "examples": cell["profile"].get("examples")})
            lines.append(f"| {cell['system']} | {cell['profile'].get('examples')} | {acc:.4f} |")
        result["sst2"] = sst
    (OUT / "compression_smollm2.md").write_text("\n".join(lines) + "\n")
    (OUT / "compression_smollm2.json").write_text(json.dumps(result, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
