"""all-MiniLM-L6-v2 dense retrieval on BEIR SciFact test (suites/scifact-minilm.yaml) through `lrbench.run`, timed.

Reference: MTEB's published result for sentence-transformers/all-MiniLM-L6-v2 on SciFact (test),
main score nDCG@10 = 0.64508 (see benchmarks/NEURAL_RESULTS.md for the source and the differences).

    python benchmarks/neural_scifact.py [--threads N] [--device cuda] [--summary]
"""

from __future__ import annotations

import neural_dl19 as nd

MTEB_NDCG10 = 0.64508


def main():
    args = nd.arguments("scifact-minilm.yaml").parse_args()
    res = nd.run_suite(args, columns=["nDCG@10", "R@100", "latency_ms_p50", "docs_per_second", "wall_seconds"])
    board = res.leaderboard.set_index(["system", "measure"])["value"]
    print(f"nDCG@10 {board['minilm', 'nDCG@10']:.5f} vs MTEB {MTEB_NDCG10} "
          f"(difference {board['minilm', 'nDCG@10'] - MTEB_NDCG10:+.6f})")


if __name__ == "__main__":
    main()
