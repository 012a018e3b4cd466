"""FIRST's wall time per query against full generation on the same DL19 windows, side by side in one process.

Three ways of ranking each query's window (SmolLM2-135M-Instruct, `recipe: first`, BM25 top-`depth` with
`window` = `depth`, so every mode sees the same single window per query):
- `first (KV cache)`: the prompt runs once with its KV cache, one step on from it (lrbench's FIRST now);
- `first (two forwards)`: the former path, a full forward for the first token and another over prompt + token;
- `generate`: `mode: generate`, the whole permutation generated (same prompt, identifiers and window).
One model is loaded and shared; the order of the three alternates from query to query and round to round, so a
change in the machine's load hits all of them. Writes benchmarks/results/first-cached/summary.json:

    OMP_NUM_THREADS=2 python benchmarks/first_cached.py --queries 3 --depth 20 --rounds 2 --threads 2
    lrbench tables benchmarks/PARADIGMS_RESULTS.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--queries", type=int, default=4)
    args.add_argument("--depth", type=int, default=20)
    args.add_argument("--rounds", type=int, default=2)
    args.add_argument("--threads", type=int, default=2)
    args.add_argument("--device", default="cpu")
    a = args.parse_args()

    from conftest import SHARED
    from neural_helpers import SMOLLM, bm25_run, ctx, dl19
    from test_listwise_first_cached import TwoForwardsListwise

    from lrbench.presentation.summaries import machine, write_summary
    from lrbench.runners.llm.listwise import ListwiseRunner
    from lrbench.runners.neural.profile import Stopwatch

    base = {"model": SMOLLM, "recipe": "first", "window": a.depth, "stride": a.depth, "device": a.device,
            "threads": a.threads}
    runners = {"first (KV cache)": ListwiseRunner(base), "first (two forwards)": TwoForwardsListwise(base),
               "generate": ListwiseRunner({**base, "mode": "generate"})}
    ds = dl19(SHARED, queries_limit=a.queries)
    scratch = ROOT / "benchmarks" / "out" / "first-cached"
    first = runners["first (KV cache)"]
    lists, texts, _ = first.candidate_lists(ds, {"bm25": bm25_run(ds)}, ctx(scratch, depth=a.depth))
    loaded = first.load(ctx(scratch))
    for runner in runners.values():  # warm-up, not timed; counters every mode keeps
        runner.counts = {"windows": 0, "ok": 0, "repaired": 0, "partial": 0}
        runner.generated = 0
        runner.rank_group(loaded, [(lists[0][1], lists[0][2][:2])], texts, Stopwatch())
        runner.counts = {"windows": 0, "ok": 0, "repaired": 0, "partial": 0}
        runner.generated = 0
    started = machine()
    names = list(runners)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    tokens: dict[str, int] = {n: 0 for n in names}
    rankings: dict[str, dict] = {n: {} for n in names}
    for round_ in range(a.rounds):
        for i, (qid, query, docs) in enumerate(lists):
            shift = (round_ * len(lists) + i) % len(names)
            for name in names[shift:] + names[:shift]:
                watch = Stopwatch()
                t0 = time.perf_counter()
                ranked = runners[name].rank_group(loaded, [(query, docs)], texts, watch)[0]
                seconds[name].append(time.perf_counter() - t0)
                tokens[name] += watch.tokens
                rankings[name][qid] = ranked
    assert rankings["first (KV cache)"] == rankings["first (two forwards)"], "the cached FIRST ranks differently"
    windows = {n: runners[n].counts["windows"] for n in names}
    generate_mean = statistics.mean(seconds["generate"])
    rows = [{"mode": n, "seconds_per_query_mean": statistics.mean(seconds[n]),
             "seconds_per_query_median": statistics.median(seconds[n]),
             "vs_generate": statistics.mean(seconds[n]) / generate_mean, "timed_queries": len(seconds[n]),
             "tokens_through_model_per_query": tokens[n] / len(seconds[n]), "windows": windows[n],
             "generated_tokens_per_query": runners[n].generated / len(seconds[n])} for n in names]
    command = (f"OMP_NUM_THREADS={a.threads} python benchmarks/first_cached.py --queries {a.queries} "
               f"--depth {a.depth} --rounds {a.rounds} --threads {a.threads}" +
               (f" --device {a.device}" if a.device != "cpu" else ""))
    columns = {"mode": "mode", "seconds_per_query_mean": "s / query (mean)",
               "seconds_per_query_median": "s / query (median)", "vs_generate": "/ generate",
               "tokens_through_model_per_query": "tokens through the model / query",
               "generated_tokens_per_query": "generated tokens / query", "timed_queries": "timed queries"}
    notes = [f"DL19, first {len(lists)} judged queries, BM25 top-{a.depth}, one window of {a.depth} per query "
             f"(identical for every mode), SmolLM2-135M-Instruct, {loaded.dtype}, {a.device}, {a.threads} threads",
             f"{a.rounds} rounds; the three modes run one after another per query, in an order that rotates",
             "first (KV cache) and first (two forwards) produced the same rankings on every query"]
    path = write_summary(HERE / "results" / "first-cached" / "summary.json", name="first-cached", command=command,
                         columns=columns, rows=rows, started=started, notes=notes)
    for row in rows:
        print({k: row[k] for k in columns})
    print(path)


if __name__ == "__main__":
    main()
