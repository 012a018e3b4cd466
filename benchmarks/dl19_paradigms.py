"""TREC DL19 reranking paradigms (suites/dl19-paradigms-ci.yaml, or the full suite with --suite): nDCG@10,
RR(rel=2)@10, p50 latency per query, generated tokens per query and peak memory per system.

    .venv/bin/python benchmarks/dl19_paradigms.py                      # CI subset: 10 queries, BM25 top-20
    .venv/bin/python benchmarks/dl19_paradigms.py --only minilm-late smollm-integer   # in this order
    .venv/bin/python benchmarks/dl19_paradigms.py --suite suites/dl19-paradigms.yaml --device cuda  # full table
    .venv/bin/python benchmarks/dl19_paradigms.py --evaluate benchmarks/out/dl19-paradigms-ci

Runs one system after another through benchmarks/neural_dl19.py (runs and profiles in benchmarks/out/<name>/);
the table goes to benchmarks/out/<name>/paradigms.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import neural_dl19 as nd
from neural_common import ROOT

nd.TYPES.update({"late-interaction": ("lrbench.runners.late_interaction", "LateInteractionRunner"),
                 "llm-groupwise": ("lrbench.runners.llm_groupwise", "GroupwiseRunner")})


def table(out_dir: Path, suite: Path):
    if not (out_dir / "suite.json").exists():  # a run stopped before its last system: tabulate what is there
        _, ds = nd.open_suite_dataset(suite)
        (out_dir / "suite.json").write_text(json.dumps({"suite": str(suite.relative_to(ROOT)),
                                                        "queries": len(ds.eval_queries())}))
    frame = nd.evaluate_dir(out_dir, suite)
    gen, modes = [], []
    for system in frame["system"]:
        meta = out_dir / f"{system}.json"
        prof = json.loads(meta.read_text())["profile"] if meta.exists() else {}
        gen.append(prof.get("generated_tokens_per_query", 0.0 if meta.exists() else None))
        modes.append(prof.get("score_mode") or prof.get("mode") or "")
    frame.insert(3, "gen_tokens_per_query", gen)
    frame.insert(1, "mode", modes)
    keep = ["system", "mode", "nDCG@10", "RR(rel=2)@10", "p50_ms", "gen_tokens_per_query", "peak_rss_mb",
            "peak_cuda_mb", "device", "wall_s"]
    frame = frame[[c for c in keep if c in frame.columns]]
    text = nd.markdown(frame)
    (out_dir / "paradigms.md").write_text(text + "\n")
    print(text)
    return frame


def main():
    args = nd.arguments("dl19-paradigms-ci.yaml").parse_args()
    suite = Path(args.suite).resolve()
    out_dir = Path(args.evaluate) if args.evaluate else nd.run_suite(args)
    if args.evaluate or not args.no_eval:
        table(out_dir, suite)


if __name__ == "__main__":
    main()
