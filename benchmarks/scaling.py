"""Benchmark: how cost grows with the corpus (1k..500k passages) and the query set (100, 1,000 queries).

    python benchmarks/scaling.py run [--out benchmarks/out/scaling] [--sizes ...] [--dense-max 5000]
                                     [--rerank-queries 100 1000] [--rerank-max 500000]
    python benchmarks/scaling.py report   # summaries, PNG and benchmarks/SCALING.md from benchmarks/results/scaling

`run` builds the corpora (benchmarks/scaling_data.py: real text from ../shared/data, concatenated,
de-duplicated, extended with sentence windows), writes one suite per corpus size and query count, and runs
each stage with `lrbench run --only STAGE` in its own process (a fresh process per stage, so each cell's
peak RSS is its own): BM25 (bm25s, top-100), the MiniLM dense first stage (top-100; only up to --dense-max
passages, CPU encoding of larger corpora does not fit a short run) and a MiniLM-shaped cross-encoder
reranking BM25's top-100 (for each --rerank-queries count, up to --rerank-max passages). After its stages, each
suite runs once whole (every cell cached, so cells.json lists them all) and its folder is summarized with
`lrbench summarize` into --summary (default benchmarks/results/scaling, committed) beside processes.json.
Every number in the report is read from those summaries (the cells' meta.json profiles). `report` writes the
benchmark summaries per-size.json and growth.json there (lrbench.presentation.summaries: the rows, and the machine,
commits and dates the cells recorded), the plot, and the page, whose tables `lrbench tables benchmarks/SCALING.md`
generates from those summaries.

The reranker is all-MiniLM-L6-v2 with a freshly initialised one-logit head (the only cross-encoder-shaped
model offline): its scores are meaningless, it measures cost only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from scaling_data import build  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
STAGES = {  # system name -> (suite entry, the profile fields that time it)
    "bm25": {"type": "bm25", "params": {"k1": 0.9, "b": 0.4, "k": 100}},
    "dense": {"type": "embedder", "params": {"model": MINILM, "k": 100, "batch_size": 32, "threads": 2}},
    "rerank": {"type": "cross-encoder", "input": "bm25", "depth": 100,
               "params": {"model": MINILM, "num_labels": 1, "allow_random_head": True, "batch_size": 32,
                          "max_length": 128, "threads": 2}},
}


def suite_text(name: str, data: Path, stages: list[str], queries_limit: int | None = None) -> str:
    systems = [{"name": s, **STAGES[s]} for s in stages]
    dataset = {"id": f"beir:{data}", "name": "corpus", "measures": ["nDCG@10"]}
    if queries_limit:
        dataset["queries_limit"] = queries_limit
    suite = {"name": name, "datasets": [dataset], "systems": systems}
    return json.dumps(suite, indent=2)  # JSON is YAML


def run_stage(suite: Path, results: Path, stage: str, env: dict, log, force: bool = False) -> dict:
    """The stage's process: wall time, peak RSS, and whether it computed its cell (a cached stage measures
    nothing and is not recorded)."""
    cmd = [sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(results), "--only", stage,
           *(["--force"] if force else [])]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    log.write(err)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (status {status}); see the log")
    computed = next((int(line.split()[0]) for line in err.splitlines() if " computed, " in line), 0)
    return {"stage": stage, "process_seconds": round(wall, 3), "process_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "computed": computed}


def plans(args) -> list[tuple[int, str, int, int | None, list[str]]]:
    """(query count, folder name, corpus size, queries_limit, stages) of one run, per corpus size."""
    out = []
    for size in args.sizes:
        for nq in args.queries:
            stages = ["bm25"] + (["dense"] if size <= args.dense_max else [])
            out.append((nq, f"c{size}-q{nq}", size, None, stages))
        for nq in args.rerank_queries if size <= args.rerank_max else []:
            out.append((nq, f"c{size}-r{nq}", size, nq, ["bm25", "rerank"]))
    return [(nq, name, size, limit, [s for s in stages if s in args.stages]) for nq, name, size, limit, stages in out]


def run(args) -> None:
    out = args.out
    data = out / "data"
    info = build(data, args.sizes, sorted(set(args.queries) | set(args.rerank_queries)))
    env = dict(os.environ, LRBENCH_CACHE=str(out / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    (out / "suites").mkdir(parents=True, exist_ok=True)
    args.summary.mkdir(parents=True, exist_ok=True)
    record = args.summary / "processes.json"  # a later run with other sizes adds to it
    done = json.loads(record.read_text()) if record.exists() else {"data": {}, "processes": []}
    data_info = {**done["data"], **info,
                 "real_in_corpus": {**done["data"].get("real_in_corpus", {}), **info["real_in_corpus"]}}
    command = "python benchmarks/scaling.py " + " ".join(sys.argv[1:])
    data_info["commands"] = [c for c in done["data"].get("commands", []) if c != command] + [command]
    processes = done["processes"]
    with open(out / "run.log", "a") as log:
        for nq, name, size, limit, stages in plans(args):
            if not stages:
                continue
            suite = out / "suites" / f"{name}.yaml"
            suite.write_text(suite_text(f"scaling-{name}", data / f"c{size}-q{nq}", stages, limit))
            results = out / "results" / name
            for stage in stages:
                print(f"{name}: {stage}", flush=True)
                row = {"corpus": size, "queries": nq, "folder": name,
                       **run_stage(suite, results, stage, env, log, args.force and stage in args.force)}
                if not row.pop("computed"):
                    continue  # cached: the recorded process (if any) is the one that computed the cell
                processes = [p for p in processes if (p["folder"], p["stage"]) != (name, stage)] + [row]
                record.write_text(json.dumps({"data": data_info, "processes": processes}, indent=2))
            lrbench_cli(["run", str(suite), "--out", str(results)], env, log)  # all cached: lists every cell
            summarize_keeping(results, args.summary / name, env, log)


def lrbench_cli(argv: list[str], env: dict, log) -> None:
    subprocess.run([sys.executable, "-m", "lrbench", *argv], env=env, stdout=log, stderr=log, check=True)


def summarize_keeping(results: Path, summary: Path, env: dict, log) -> None:
    """`lrbench summarize` the results folder into `summary`, keeping the summary's cells of stages this results
    folder lacks: a later run of some stages (`--stages bm25`, or from a fresh --out) must not drop the cells
    an earlier run summarized for the others."""
    import shutil

    from lrbench.store.store import LocalStore

    fresh = summary.with_name(summary.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    lrbench_cli(["summarize", str(results), str(fresh)], env, log)
    if (summary / "cells").is_dir():
        new, old = LocalStore(fresh), LocalStore(summary)
        stages = {new.meta(key).get("system", {}).get("name") for key in new.keys()}
        for key in old.keys():
            if old.meta(key).get("system", {}).get("name") not in stages:
                shutil.copytree(summary / "cells" / key, fresh / "cells" / key)
        shutil.rmtree(summary)
    fresh.rename(summary)


# -- report ---------------------------------------------------------------------------------------

def collect(summary: Path) -> tuple[list[dict], list[dict]]:
    """One row per (corpus, queries, stage) from the cells' profiles in the summaries, and those cells' meta.json."""
    from lrbench.store.store import LocalStore

    procs = json.loads((summary / "processes.json").read_text())["processes"]
    rows, metas = [], []
    for p in procs:
        if p["stage"] == "bm25" and "-r" in p["folder"]:
            continue  # the reranker's input: the same BM25 as in the q folders, from the cached index
        meta = stage_meta(LocalStore(summary / p["folder"]), p["stage"])
        if meta is None:
            continue
        prof = meta.get("profile", {})
        metas.append(meta)
        row = {**p, "cell_seconds": prof.get("wall_seconds"), "cell_peak_rss_mb": prof.get("peak_rss_mb_process"),
               "runner_peak_rss_mb": prof.get("peak_rss_mb")}
        if p["stage"] == "bm25":
            row.update(index=None if prof.get("index_cached") else prof.get("index_seconds"),
                       search=prof.get("search_seconds"))
        elif p["stage"] == "dense":
            row.update(index=None if prof.get("corpus_cached") else prof.get("corpus_seconds"),
                       search=prof.get("search_seconds"), latency_p50_ms=prof.get("latency_ms_p50"))
        else:
            row.update(search=prof.get("scoring_seconds"), pairs=prof.get("docs_scored"))
        rows.append(row)
    return rows, metas


def stage_meta(store, stage: str) -> dict | None:
    """The meta.json of the stage's cell in a results folder (each `--only` run rewrites cells.json with its
    own cells, so the cells are found in the store by their system name)."""
    for key in store.keys():
        meta = store.meta(key)
        if meta.get("system", {}).get("name") == stage:
            return meta
    return None


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(time) on log(size)."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x and y and y > 0]
    if len(pts) < 2:
        return None
    mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


SERIES = [  # (label, stage, field, query count or None for any)
    ("BM25 indexing", "bm25", "index", None),
    ("BM25 search, 100 queries", "bm25", "search", 100),
    ("BM25 search, 1,000 queries", "bm25", "search", 1000),
    ("dense encoding (MiniLM)", "dense", "index", None),
    ("dense search, 100 queries", "dense", "search", 100),
    ("dense search, 1,000 queries", "dense", "search", 1000),
    ("rerank top-100, 100 queries (cell wall)", "rerank", "cell_seconds", 100),
    ("rerank top-100, 100 queries (scoring)", "rerank", "search", 100),
    ("rerank cell process peak RSS (MB), 100 queries", "rerank", "cell_peak_rss_mb", 100),
    ("rerank top-100, 1,000 queries (cell wall)", "rerank", "cell_seconds", 1000),
    ("rerank top-100, 1,000 queries (scoring)", "rerank", "search", 1000),
    ("rerank cell process peak RSS (MB), 1,000 queries", "rerank", "cell_peak_rss_mb", 1000),
]


def series(rows, stage, field, nq):
    return sorted((r["corpus"], r[field]) for r in rows
                  if r["stage"] == stage and r.get(field) is not None and (nq is None or r["queries"] == nq))


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, stage, field, nq in SERIES:
        pts = series(rows, stage, field, nq)
        if pts and field != "cell_peak_rss_mb" and len(pts) > 1:
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("corpus passages")
    ax.set_ylabel("seconds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def sizes_of(rows, stage: str, queries: int | None = None) -> list[int]:
    return sorted({r["corpus"] for r in rows if r["stage"] == stage and queries in (None, r["queries"])})


def goal(label: str) -> str:
    if label.startswith(("BM25 indexing", "dense encoding")):
        return "<= 1.05"
    if label.startswith("rerank cell process peak RSS"):
        return "~ 0 (flat)"
    return "< 0.1" if label.startswith("rerank") else ""


PER_SIZE = {"corpus": "corpus", "queries": "queries", "stage": "stage", "process_seconds": "process s",
            "process_peak_rss_mb": "process peak RSS MB", "cell_seconds": "cell s", "index": "index/encode s",
            "search": "search/score s"}
GROWTH = {"series": "series", "sizes": "sizes", "k": "k", "goal": "goal"}


def write_summaries(rows: list[dict], metas: list[dict], info: dict, summary: Path) -> list[Path]:
    """per-size.json and growth.json beside the results folders: the rows, and the machine and dates the cells
    recorded (their runs recorded no load average)."""
    from lrbench.presentation.summaries import recorded_machine, write_summary

    started = recorded_machine(metas)
    extra = {"run_commands": info.get("commands", [])}
    note = ("the runs are the `scaling.py run` commands above; machine, dates and commits are those the cells "
            "recorded in meta.json, which records no load average")
    per_size = sorted(rows, key=lambda r: (r["corpus"], r["queries"], list(STAGES).index(r["stage"])))
    growth = []
    for label, stage, field, nq in SERIES:
        pts = series(rows, stage, field, nq)
        k = exponent(pts)
        if k is not None:
            growth.append({"series": label, "sizes": ", ".join(f"{x:,}" for x, _ in pts), "k": k,
                           "goal": goal(label), "points": pts})
    command = "python benchmarks/scaling.py report"
    return [write_summary(summary / "per-size.json", name="scaling-per-size", command=command, columns=PER_SIZE,
                          rows=per_size, started=started, notes=[note], extra=extra),
            write_summary(summary / "growth.json", name="scaling-growth", command=command, columns=GROWTH,
                          rows=growth, started=started, notes=[note], extra=extra)]


def marker(path: Path) -> list[str]:
    return [f"<!-- lrbench-table summary={path.relative_to(ROOT).as_posix()} -->", "<!-- /lrbench-table -->"]


def report(args) -> None:
    from lrbench.presentation.tables import regenerate

    rows, metas = collect(args.summary)
    info = json.loads((args.summary / "processes.json").read_text())["data"]
    per_size, growth = write_summaries(rows, metas, info, args.summary)
    md = ROOT / "benchmarks" / "SCALING.md"
    png = ROOT / "benchmarks" / "scaling.png"
    plot(rows, png)
    lines = ["# How cost grows with the corpus and the query set", "",
             "Written by `python benchmarks/scaling.py report` from the results summaries in "
             "`benchmarks/results/scaling/` that `python benchmarks/scaling.py run` wrote (each stage one "
             "`lrbench run --only STAGE` process on 2 CPU cores). The report writes the benchmark summaries "
             "`benchmarks/results/scaling/per-size.json` and `growth.json`, the plot and this page; the tables are "
             "generated from those summaries by `lrbench tables benchmarks/SCALING.md` (the report runs it). "
             "Do not edit by hand.",
             "", "Commands, in order: " + ", then ".join(f"`{c}`" for c in info.get("commands", [])) +
             ", then `python benchmarks/scaling.py report`.", "",
             "Columns: *process s* and *process peak RSS* are the whole `lrbench run` process (start-up, dataset "
             "fingerprint, the cell); *cell s* is the cell's wall time; *index/encode s* is BM25 indexing "
             "(`index_seconds`, only where the index was built, not loaded) or dense corpus encoding "
             "(`corpus_seconds`); *search/score s* is BM25 or dense search of all queries (`search_seconds`) or the "
             "reranker's scoring (`scoring_seconds`).", "",
             "## Data", "",
             f"- Passage pool: {info['real_distinct']:,} distinct real passages (BEIR SciFact, the DL19 candidate "
             "passages, Cranfield, WikiText-2 test/valid paragraphs, Banking77 utterances), concatenated and "
             f"de-duplicated, plus {info['derived_distinct']:,} derived passages: windows of 1 to 8 consecutive "
             "sentences of the real passages (stride one sentence, at least 5 words, de-duplicated). The pool is "
             "shuffled (seed 0); a corpus of N passages is its first N, so the corpora are nested and share one "
             "length distribution. Real passages per corpus: " +
             ", ".join(f"{int(k):,}: {v:,}" for k, v in info["real_in_corpus"].items()) + ".",
             "- Queries: judged BEIR test topics (SciFact, NFCorpus, FiQA, TREC-COVID), the judged DL19 topics and "
             "Cranfield, shuffled (seed 0), first 100 or 1,000, with their real qrels. Most judged documents are "
             "not in these corpora: the relevance numbers in these folders measure nothing; this page is about cost.",
             "- Reranker: all-MiniLM-L6-v2 with a randomly initialised one-logit head (type cross-encoder, "
             "max_length 128, batch 32): the only cross-encoder-shaped model offline. Its scores are meaningless; "
             "it stands for a MiniLM cross-encoder's cost.",
             "- Dense first stage (all-MiniLM-L6-v2, exact search, top-100) at "
             f"{', '.join(f'{c:,}' for c in sizes_of(rows, 'dense'))} passages: CPU encoding of larger corpora "
             "does not fit a run on 2 cores. BM25 runs at "
             f"{', '.join(f'{c:,}' for c in sizes_of(rows, 'bm25'))} passages. The reranker reranks BM25's top-100 "
             + "; ".join(f"for {nq:,} queries at {', '.join(f'{c:,}' for c in sizes_of(rows, 'rerank', nq))} "
                         "passages" for nq in sorted({r['queries'] for r in rows if r['stage'] == 'rerank'}))
             + " (its cost is the number of pairs, queries x 100, whatever the corpus).", "",
             "## Per size", "", *marker(per_size), "",
             "## Growth exponents (time ~ size^k, least squares on log-log)", "", *marker(growth), "",
             "![log-log plot of stage time against corpus size](scaling.png)", ""]
    md.write_text("\n".join(lines), encoding="utf-8")
    text, _ = regenerate(md, ROOT)
    md.write_text(text, encoding="utf-8")
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "scaling")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 25000, 100000, 500000])
    parser.add_argument("--queries", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--dense-max", type=int, default=5000)
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=list(STAGES))
    parser.add_argument("--rerank-queries", type=int, nargs="+", default=[100],
                        help="query counts reranked, top-100 each")
    parser.add_argument("--rerank-max", type=int, default=500000, help="largest corpus the reranker runs on")
    parser.add_argument("--force", nargs="+", choices=list(STAGES), default=[],
                        help="recompute these stages' cells (their caches, e.g. the BM25 index, still apply)")
    parser.add_argument("--summary", type=Path, default=ROOT / "benchmarks" / "results" / "scaling",
                        help="where the results summaries and processes.json go (report reads them)")
    args = parser.parse_args()
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
