"""TREC DL19 passage: rerank the BM25 top-100 with the systems of suites/dl19-rerank.yaml and report
nDCG@10 / RR(rel=2)@10 / p50 latency per query / peak memory.

    # full table (hours on 2 CPU cores for the LLM rows; minutes on a GPU):
    .venv/bin/python benchmarks/neural_dl19.py --suite suites/dl19-rerank.yaml
    # the CI subset (10 queries, top-20):
    .venv/bin/python benchmarks/neural_dl19.py --suite suites/dl19-rerank-ci.yaml
    # only some systems (run in the order given), or overrides:  --only smollm-first --set smollm-listwise.batch_size=43

Runs go to benchmarks/out/<name>/<system>.tsv with a profile JSON; without ir_measures (e.g. on a bare
GPU machine) the table is computed later with --evaluate benchmarks/out/<name>.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml
from neural_common import OUT, ROOT, context, machine

TYPES = {
    "embedder": ("lrbench.runners.embedder", "EmbedderRunner"),
    "cross-encoder": ("lrbench.runners.cross_encoder", "CrossEncoderRunner"),
    "llm-pointwise": ("lrbench.runners.llm_pointwise", "PointwiseRunner"),
    "llm-listwise": ("lrbench.runners.llm_listwise", "ListwiseRunner"),
    "icr": ("lrbench.runners.icr", "ICRRunner"),
}
MEASURES = ["nDCG@10", "RR(rel=2)@10"]


def runner_class(type_name):
    import importlib

    module, name = TYPES[type_name]
    return getattr(importlib.import_module(module), name)


def open_suite_dataset(suite_path: Path):
    from lrbench.suites.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    suite = yaml.safe_load(suite_path.read_text())
    spec = DatasetSpec(**suite["datasets"][0])
    return suite, open_dataset(spec, suite_path.parent)


def parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_suite(args):
    suite_path = Path(args.suite).resolve()
    suite, ds = open_suite_dataset(suite_path)
    name = args.name or suite["name"]
    out_dir = OUT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    overrides = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        system, _, param = key.partition(".")
        overrides.setdefault(system, {})[param] = parse_value(value)
    bm25 = ds.candidates()
    bm25.to_csv(out_dir / "bm25.tsv", sep="\t", index=False)
    systems = suite["systems"]
    if args.only:  # run in the order given (most wanted first, so a time limit loses the least)
        systems = sorted(systems, key=lambda s: args.only.index(s["name"]) if s["name"] in args.only else -1)
    for system in systems:
        if system["type"] == "given" or (args.only and system["name"] not in args.only):
            continue
        params = {**system.get("params", {}), **overrides.get(system["name"], {})}
        if args.device:
            params["device"] = args.device
        if args.threads:
            params["threads"] = args.threads
        t0 = time.perf_counter()
        try:
            runner = runner_class(system["type"])(params)
            out = runner.run(ds, {"bm25": bm25}, context(depth=system.get("depth")))
        except Exception as exc:  # keep going: one failed system must not lose the others
            import traceback

            traceback.print_exc()
            (out_dir / f"{system['name']}.error").write_text(f"{type(exc).__name__}: {exc}")
            continue
        wall = time.perf_counter() - t0
        out.run.to_csv(out_dir / f"{system['name']}.tsv", sep="\t", index=False)
        record = {"system": system["name"], "type": system["type"], "params": params, "depth": system.get("depth"),
                  "wall_seconds": wall, "profile": out.profile, "machine": machine()}
        (out_dir / f"{system['name']}.json").write_text(json.dumps(record, indent=2, default=str))
        print(f"{system['name']}: {wall:.1f}s p50 {out.profile.get('latency_ms_p50', 0):.0f} ms", flush=True)
        if args.after_each:
            import subprocess

            subprocess.run(args.after_each, shell=True, check=False)
    (out_dir / "suite.json").write_text(json.dumps({"suite": str(suite_path.relative_to(ROOT)),
                                                    "queries": len(ds.eval_queries())}))
    return out_dir


def evaluate_dir(out_dir: Path, suite_path: Path | None = None):
    import pandas as pd

    from lrbench.results.evaluators import evaluator_for
    from lrbench.runners.base import Output

    info = json.loads((out_dir / "suite.json").read_text())
    _, ds = open_suite_dataset(suite_path or ROOT / info["suite"])
    judged = set(ds.eval_queries())
    rows = []
    for tsv in sorted(out_dir.glob("*.tsv")):
        run = pd.read_csv(tsv, sep="\t", dtype={"query_id": str, "doc_id": str})
        run = run[run["query_id"].isin(judged)]
        _, scores = evaluator_for("ranking").evaluate(Output(run=run).frame("run"), ds, MEASURES)
        row = {"system": tsv.stem, **{r.measure: float(r.value) for r in scores.itertuples()}}
        meta = out_dir / f"{tsv.stem}.json"
        if meta.exists():
            rec = json.loads(meta.read_text())
            p = rec["profile"]
            row.update(p50_ms=p.get("latency_ms_p50"), p95_ms=p.get("latency_ms_p95"),
                       peak_rss_mb=p.get("peak_rss_mb"), peak_cuda_mb=p.get("peak_cuda_mb"),
                       device=rec["machine"].get("gpu") or f"cpu x{p.get('threads')}", dtype=p.get("dtype"),
                       batch_size=p.get("batch_size"), wall_s=rec["wall_seconds"], load_s=p.get("load_seconds"),
                       docs_per_s=p.get("docs_per_second"),
                       windows=(f"{p['windows_ok']}/{p['windows_partial']}/{p['windows_repaired']}"
                                if "windows_ok" in p else None))
        rows.append(row)
    table = pd.DataFrame(rows)
    (out_dir / "table.json").write_text(table.to_json(orient="records", indent=2))
    print(f"{info['suite']}: {info['queries']} queries")
    print(markdown(table))
    return table


def markdown(table) -> str:
    def fmt(v):
        if v is None or v != v:
            return ""
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def arguments(default_suite: str) -> argparse.ArgumentParser:
    """The options of run_suite (shared with dl19_paradigms.py)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default=str(ROOT / "suites" / default_suite))
    ap.add_argument("--name")
    ap.add_argument("--only", nargs="*", help="run only these systems, in this order")
    ap.add_argument("--set", nargs="*", help="SYSTEM.PARAM=VALUE overrides")
    ap.add_argument("--device")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--evaluate", help="only score/tabulate the runs saved in this folder")
    ap.add_argument("--no-eval", action="store_true", help="run only; score later with --evaluate")
    ap.add_argument("--after-each", help="shell command run after each system (e.g. to copy results out)")
    return ap


def main():
    args = arguments("dl19-rerank-ci.yaml").parse_args()
    if args.evaluate:
        evaluate_dir(Path(args.evaluate), Path(args.suite).resolve() if args.suite else None)
        return
    out_dir = run_suite(args)
    if not args.no_eval:
        evaluate_dir(out_dir, Path(args.suite).resolve())


if __name__ == "__main__":
    main()
