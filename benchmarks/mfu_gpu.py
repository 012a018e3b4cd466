"""Model FLOPs utilisation (MFU) and throughput on one GPU, through lrbench's own model paths, in bf16.

    python benchmarks/mfu_gpu.py part PART --stage .gpu/mfu --out PART.json [--device cuda] [sizes]
    python benchmarks/mfu_gpu.py summary PART.json... --out summary.json --command "..."
    (on the GPU machine through benchmarks/mfu_gpu.sh, which stages what the parts read and runs them in turn)

Parts (each a separate process, so a slow one is cut by its own timeout):
  embedder        `LoadedModel.encode` (tokenise, length-bucketed batches, forward, mean pooling, normalise) over
                  the SciFact corpus (title + abstract) repeated up to --docs; also the forward alone on the same
                  padded batches
  cross-encoder   `CrossEncoderRunner.score_pairs` per query: SciFact's 300 queries, each with --depth passages
  pointwise       yes/no scoring: `YesNo` prompts (the pointwise runner's template, passages cut to 256 tokens),
                  scored by `next_token_logits` in batches of --batch-size prompts
  first           FIRST (`recipe: first`): one window of 20 passages per query (the listwise runner's prompt,
                  cut to fit 4096 tokens), `logits_after_first_token`: one prompt pass, one cached step
Shapes: all-MiniLM-L6-v2's and BERT-base's (a one-logit head for the cross-encoder), SmolLM2-135M-Instruct's
config and tokenizer for the LLM parts. Every model has random bf16 weights: a fixed number of forward passes
takes the same time whatever the values, so these are throughput figures, never quality.

Passages of a query: the corpus in file order, `depth` at a time from query i * depth (real text with the corpus's
length distribution, not a first-stage ranking). FLOPs: lrbench's FlopMeter (`loaded.charging(cost)`) on the
batches really run (padding included); MFU = FLOPs / wall time / the card's dense bf16 peak (from its name, or
--peak-tflops). The LLM parts time the model calls on prompts built beforehand (prompt building is CPU work,
reported as prompt_seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENCODERS = {
    "MiniLM-L6-H384": dict(num_hidden_layers=6, hidden_size=384, intermediate_size=1536, num_attention_heads=12),
    "BERT-base": dict(num_hidden_layers=12, hidden_size=768, intermediate_size=3072, num_attention_heads=12),
    "BERT-large": dict(num_hidden_layers=24, hidden_size=1024, intermediate_size=4096, num_attention_heads=16),
}
EMBEDDER_MAX_LENGTH = {"MiniLM-L6-H384": 256, "BERT-base": 512, "BERT-large": 512}
SMOLLM = "SmolLM2-135M"
PARTS = ("embedder", "cross-encoder", "pointwise", "first")
LABELS = {"embedder": "embedder encode", "cross-encoder": "cross-encoder scoring", "pointwise": "pointwise yes/no",
          "first": "FIRST (prompt + 1 cached step)"}
# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendor's data sheets; the first name found wins
PEAKS = (("H200", 989.0), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("A100", 312.0),
         ("L40S", 362.0), ("A10G", 70.0))


def peak_tflops(device_name: str) -> float | None:
    """The card's dense bf16 peak in TFLOP/s from its name (H100 SXM / H200: 989), None when unknown."""
    name = device_name.upper()
    return next((peak for key, peak in PEAKS if key.upper() in name), None)


def read_corpus(stage: Path) -> list[str]:
    with open(stage / "corpus.jsonl", encoding="utf-8") as fh:
        return [f"{d.get('title', '')} {d.get('text', '')}".strip() for d in map(json.loads, fh)]


def read_queries(stage: Path, n: int) -> list[str]:
    with open(stage / "queries.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh][:n]


def passages_for(i: int, corpus: list[str], depth: int) -> list[str]:
    return [corpus[(i * depth + j) % len(corpus)] for j in range(depth)]


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def loaded_model(kind: str, model, tokenizer, device: str, dtype, max_length: int):
    from lrbench.models.registry import ResolvedModel
    from lrbench.runners.neural.loading import LoadedModel, Pooling

    resolved = ResolvedModel(model_id="random-init", path="", revision="random", source="random init", local=True)
    return LoadedModel(kind=kind, model=model, tokenizer=tokenizer, resolved=resolved, device=device, dtype=dtype,
                       threads=1, load_seconds=0.0, max_length=max_length, pooling=Pooling(mode="mean", normalize=True))


def bert(shape: str, tokenizer, device: str, dtype, head: bool):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    config = BertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=512, num_labels=1,
                        **ENCODERS[shape])
    torch.manual_seed(0)
    model = BertForSequenceClassification(config) if head else BertModel(config, add_pooling_layer=False)
    return model.to(device=device, dtype=dtype).eval()


def timed(loaded, device: str, fn):
    """(seconds, Cost) of fn() with the FLOP meter charging."""
    from lrbench.runners.neural.profile import Stopwatch

    watch = Stopwatch()
    sync(device)
    started = time.perf_counter()
    with loaded.charging(watch):
        fn(watch)
    sync(device)
    return time.perf_counter() - started, watch


def row(part: str, model: str, batch: int, items: int, item_unit: str, seconds: float, flops: float, tokens: int,
        peak: float, **extra) -> dict:
    return {"part": LABELS[part], "model": model, "batch": batch, "items": items, "item_unit": item_unit,
            "items_per_s": items / seconds, "tokens_per_s": tokens / seconds, "tflops_per_s": flops / seconds / 1e12,
            "mfu_pct": 100 * flops / seconds / (peak * 1e12), "mfu_forward_pct": None, "seconds": seconds,
            "flops": flops, "tokens": tokens, **extra}


def part_embedder(a, stage: Path, device: str, dtype, peak: float):
    import torch
    from transformers import AutoTokenizer

    from lrbench.runners.neural.batching import length_batches, pad_batch

    tokenizer = AutoTokenizer.from_pretrained(str(stage / "minilm"))
    corpus = read_corpus(stage)
    texts = (corpus * (a.docs // len(corpus) + 1))[:a.docs]
    for shape in a.shapes:
        loaded = loaded_model("embedder", bert(shape, tokenizer, device, dtype, head=False), tokenizer, device,
                              dtype, EMBEDDER_MAX_LENGTH[shape])
        loaded.encode(texts[:4 * a.batch_size], batch_size=a.batch_size)  # warm-up (kernels, allocator)
        t0 = time.perf_counter()
        enc = loaded.tokenize(texts)
        tokenize_s = time.perf_counter() - t0
        stats: dict = {}
        seconds, cost = timed(loaded, device, lambda w: loaded.encode(texts, batch_size=a.batch_size, stats=stats))
        ids = enc["input_ids"]
        extra = [k for k in ("token_type_ids",) if k in enc and k in tokenizer.model_input_names]
        ready = []
        for b in length_batches([len(x) for x in ids], a.batch_size):  # the batches encode() ran
            t = pad_batch([ids[i] for i in b], loaded.pad_id, "right", {k: [enc[k][i] for i in b] for k in extra})
            ready.append({k: v.to(device) for k, v in t.items()})
        sync(device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            for t in ready:
                loaded.model(**t)
        sync(device)
        forward_s = time.perf_counter() - t0
        yield row("embedder", shape, a.batch_size, len(texts), "docs", seconds, cost.flops, stats["tokens"], peak,
                  mfu_forward_pct=100 * cost.flops / forward_s / (peak * 1e12), forward_seconds=forward_s,
                  tokenize_seconds=tokenize_s)
        loaded = ready = None  # free the model before the next shape


def part_cross_encoder(a, stage: Path, device: str, dtype, peak: float):
    from transformers import AutoTokenizer

    from lrbench.runners.neural.profile import Stopwatch
    from lrbench.runners.rerankers.cross_encoder import CrossEncoderRunner

    tokenizer = AutoTokenizer.from_pretrained(str(stage / "minilm"))
    corpus, queries = read_corpus(stage), read_queries(stage, a.queries)
    runner = CrossEncoderRunner({"model": "random-init", "batch_size": a.depth, "dtype": "bfloat16"})
    for shape in a.shapes:
        loaded = loaded_model("cross-encoder", bert(shape, tokenizer, device, dtype, head=True), tokenizer, device,
                              dtype, 512)
        runner.prepare(loaded)
        runner.score_pairs(loaded, queries[0], passages_for(0, corpus, a.depth), Stopwatch())  # warm-up

        def score(watch):
            for i, q in enumerate(queries):
                runner.score_pairs(loaded, q, passages_for(i, corpus, a.depth), watch)

        seconds, cost = timed(loaded, device, score)
        yield row("cross-encoder", shape, a.depth, len(queries) * a.depth, "pairs", seconds, cost.flops, cost.tokens,
                  peak)
        loaded = None  # free the model before the next shape


def smollm(stage: Path, device: str, dtype):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder = stage / "smollm2"
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(folder)))
    return loaded_model("causal-lm", model.to(device=device, dtype=dtype).eval(), tokenizer, device, dtype, 8192)


def part_pointwise(a, stage: Path, device: str, dtype, peak: float):
    from lrbench.runners.llm.pointwise import PointwiseRunner
    from lrbench.runners.neural.llm import next_token_logits

    loaded = smollm(stage, device, dtype)
    corpus, queries = read_corpus(stage), read_queries(stage, a.queries)
    runner = PointwiseRunner({"model": "random-init", "batch_size": a.batch_size, "dtype": "bfloat16"})
    runner.prepare(loaded)
    t0 = time.perf_counter()
    prompts = [p for i, q in enumerate(queries)
               for p in runner.mode.prompts(loaded, q, passages_for(i, corpus, a.depth))]
    prompt_s = time.perf_counter() - t0
    next_token_logits(loaded, prompts[:2 * a.batch_size], a.batch_size)  # warm-up
    seconds, cost = timed(loaded, device, lambda w: next_token_logits(loaded, prompts, a.batch_size, True, w))
    yield row("pointwise", SMOLLM, a.batch_size, len(prompts), "prompts", seconds, cost.flops, cost.tokens, peak,
              prompt_seconds=prompt_s)


def part_first(a, stage: Path, device: str, dtype, peak: float):
    from lrbench.runners.llm.listwise import ListwiseRunner, greedy_first
    from lrbench.runners.neural.llm import logits_after_first_token

    loaded = smollm(stage, device, dtype)
    corpus, queries = read_corpus(stage), read_queries(stage, a.queries)
    runner = ListwiseRunner({"model": "random-init", "recipe": "first", "dtype": "bfloat16",
                             **({"window": a.window, "stride": a.window} if a.window else {})})
    window = runner.params.window
    t0 = time.perf_counter()
    prompts = [runner._prompt(loaded, q, passages_for(i, corpus, window)) for i, q in enumerate(queries)]
    prompt_s = time.perf_counter() - t0
    eos = loaded.tokenizer.eos_token_id

    def run(batch, watch=None):
        return logits_after_first_token(loaded, batch, a.batch_size, lambda first: greedy_first(first, eos), True,
                                        watch)

    run(prompts[:a.batch_size])  # warm-up
    seconds, cost = timed(loaded, device, lambda w: run(prompts, w))
    yield row("first", SMOLLM, a.batch_size, len(prompts), "windows", seconds, cost.flops, cost.tokens, peak,
              prompt_seconds=prompt_s, window=window)


PLANNED = {"embedder": ["MiniLM-L6-H384", "BERT-base"], "cross-encoder": ["MiniLM-L6-H384", "BERT-base"],
           "pointwise": [SMOLLM], "first": [SMOLLM]}  # the default shapes, for a part that wrote nothing
RUNS = {"embedder": part_embedder, "cross-encoder": part_cross_encoder, "pointwise": part_pointwise,
        "first": part_first}


def run_part(a) -> None:
    import torch
    import transformers

    from lrbench.presentation.summaries import machine

    started = machine()
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    name = torch.cuda.get_device_name(0) if a.device.startswith("cuda") else a.device
    peak = a.peak_tflops or peak_tflops(name)
    if peak is None:
        raise SystemExit(f"no known bf16 peak for '{name}': pass --peak-tflops")
    dtype = getattr(torch, a.dtype)
    out = {"part": a.part, "device": name, "peak_tflops": peak, "dtype": a.dtype, "torch": torch.__version__,
           "transformers": transformers.__version__, "machine": started, "rows": [],
           "planned": a.shapes if a.part in ("embedder", "cross-encoder") else [SMOLLM]}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    for r in RUNS[a.part](a, a.stage, a.device, dtype, peak):
        r.update(device=name, dtype=a.dtype)
        out["rows"].append(r)
        a.out.write_text(json.dumps(out, indent=2))  # row by row: a timeout keeps the rows already measured
        print(f"{r['part']} {r['model']}: MFU {r['mfu_pct']:.1f}% ({r['tflops_per_s']:.0f} TFLOP/s), "
              f"{r['items_per_s']:,.0f} {r['item_unit']}/s, {r['tokens_per_s']:,.0f} tokens/s", flush=True)


def summarize(a) -> None:
    from lrbench.presentation.summaries import write_summary

    parts = sorted((json.loads(p.read_text()) for p in a.parts if p.exists()), key=lambda p: PARTS.index(p["part"]))
    if not parts:
        raise SystemExit("no part wrote results")
    rows = [r for p in parts for r in p["rows"]]
    started = dict(parts[0]["machine"])
    if not started.get("git_commit") and a.commit:  # the GPU machine gets the tree without .git
        started["git_commit"] = a.commit
    columns = {"part": "part", "model": "model", "device": "device", "batch": "batch", "items": "items",
               "item_unit": "of", "items_per_s": "items/s", "tokens_per_s": "tokens/s",
               "tflops_per_s": "TFLOP/s", "mfu_pct": "MFU %", "mfu_forward_pct": "MFU % (forward alone)"}
    peak, dtype = parts[0]["peak_tflops"], parts[0]["dtype"]
    notes = [f"MFU = FLOPs counted by lrbench's FlopMeter on the batches run (padding included) / wall time / "
             f"{peak:g} TFLOP/s (the card's dense bf16 peak); tokens/s counts real (non-padding) tokens.",
             f"Random {dtype} weights in the real shapes (all-MiniLM-L6-v2, BERT-base, SmolLM2-135M-Instruct's config "
             "and tokenizer): the time of a fixed number of forward passes does not depend on the weight values, so "
             "these are throughput figures, never quality.",
             "embedder: LoadedModel.encode over SciFact passages (tokenisation included); the last column times the "
             "forward alone on the same padded batches. cross-encoder: CrossEncoderRunner.score_pairs, one query's "
             "passages per call (batch = passages per query). pointwise / FIRST: next_token_logits / "
             "logits_after_first_token on prompts built beforehand by the pointwise / listwise (recipe first) runners."]
    measured = {(r["part"], r["model"]) for r in rows}
    planned = {p: [(LABELS[p], m) for m in models] for p, models in PLANNED.items()}
    for p in parts:
        planned[p["part"]] = [(LABELS[p["part"]], m) for m in p["planned"]]
    missing = [f"{part} {model}" for p in PARTS for part, model in planned[p] if (part, model) not in measured]
    if missing:
        notes.append("not measured (cut by its time limit or failed, see log.txt): " + ", ".join(missing))
    write_summary(a.out, name="mfu-gpu", command=a.command, columns=columns, rows=rows, started=started, notes=notes,
                  extra={"peak_tflops": peak, "dtype": dtype, "torch": parts[0]["torch"],
                         "transformers": parts[0]["transformers"]})
    print(f"wrote {a.out}: {len(rows)} rows" + (f"; missing: {', '.join(missing)}" if missing else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("part", help="measure one part, write its rows as JSON")
    p.add_argument("part", choices=PARTS)
    p.add_argument("--stage", type=Path, default=Path(".gpu/mfu"), help="what `mfu_gpu.sh pack` staged")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="cuda", help="cpu only for a local check of the script")
    p.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float32"), help="float32: CPU check only")
    p.add_argument("--peak-tflops", type=float, help="override the peak read from the card's name")
    p.add_argument("--shapes", nargs="+", default=["MiniLM-L6-H384", "BERT-base"], choices=list(ENCODERS))
    p.add_argument("--docs", type=int, default=40000, help="embedder: passages encoded")
    p.add_argument("--queries", type=int, default=300, help="cross-encoder, pointwise, first: SciFact queries")
    p.add_argument("--depth", type=int, default=100, help="cross-encoder, pointwise: passages per query")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--window", type=int, help="first: passages per window (default: the recipe's 20)")
    s = sub.add_parser("summary", help="gather the parts into a benchmark summary")
    s.add_argument("parts", type=Path, nargs="+")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--command", required=True, help="the command that produced the parts (shown in the footer)")
    s.add_argument("--commit", help="git commit of the tree that ran, when the machine has no .git")
    a = parser.parse_args()
    run_part(a) if a.cmd == "part" else summarize(a)


if __name__ == "__main__":
    main()
