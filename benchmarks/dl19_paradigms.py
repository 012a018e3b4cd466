"""TREC DL19 reranking paradigms (suites/dl19-paradigms-ci.yaml, or the full suite with --suite) through
`lrbench.run`: nDCG@10, RR(rel=2)@10, p50 latency per query, generated tokens per query and peak memory per system.

    python benchmarks/dl19_paradigms.py --threads 1 --summary          # CI subset: 10 queries, BM25 top-20
    python benchmarks/dl19_paradigms.py --only minilm-late smollm-integer
    python benchmarks/dl19_paradigms.py --suite suites/dl19-paradigms.yaml --device cuda   # full table

Same options as benchmarks/neural_dl19.py; results in benchmarks/out/<suite name>/.
"""

from __future__ import annotations

import neural_dl19 as nd

COLUMNS = ["nDCG@10", "RR(rel=2)@10", "latency_ms_p50", "generated_tokens_per_query", "peak_rss_mb",
           "peak_cuda_mb", "wall_seconds"]


def main():
    nd.run_suite(nd.arguments("dl19-paradigms-ci.yaml").parse_args(), columns=COLUMNS)


if __name__ == "__main__":
    main()
