"""Write a CPU-sized BEIR SciFact slice: the first N test queries, their judged abstracts and the first M others.

The slice keeps the BEIR folder layout (corpus.jsonl, queries.jsonl, qrels/test.tsv), so `beir:` reads it as it
reads the full folder. Usage: python benchmarks/scifact_slice.py [--queries 100] [--others 400] [--out DIR]
(default out: benchmarks/out/scifact-slice, which suites/compression-sparse-lowrank-minilm.yaml reads).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=str((ROOT / ".." / "shared" / "data" / "beir-scifact").resolve()))
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--others", type=int, default=400, help="unjudged abstracts kept, in corpus order")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "scifact-slice"))
    args = ap.parse_args()
    source, out = Path(args.source), Path(args.out)
    lines = (source / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [line.split("\t") for line in lines[1:] if line.strip()]
    qids = list(dict.fromkeys(r[0] for r in rows))[: args.queries]
    rows = [r for r in rows if r[0] in set(qids)]
    judged = {r[1] for r in rows}
    corpus, others = [], 0
    for line in open(source / "corpus.jsonl", encoding="utf-8"):
        doc_id = str(json.loads(line)["_id"])
        if doc_id in judged or others < args.others:
            others += doc_id not in judged
            corpus.append(line.rstrip("\n"))
    queries = [line.rstrip("\n") for line in open(source / "queries.jsonl", encoding="utf-8")
               if str(json.loads(line)["_id"]) in set(qids)]
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    (out / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    (out / "queries.jsonl").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (out / "qrels" / "test.tsv").write_text("\n".join([header] + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")
    print(f"{out}: {len(queries)} queries, {len(corpus)} abstracts ({len(judged)} judged)")


if __name__ == "__main__":
    main()
