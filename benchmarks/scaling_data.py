"""Corpora of 1k..500k passages and up to 1,000 judged queries, built from the real text in ../shared/data.

    python benchmarks/scaling_data.py OUT_DIR --sizes 1000 5000 25000 100000 500000

How the passage pool is made (deterministic, so every run builds the same bytes):
1. Real passages, each once: BEIR SciFact (title + abstract), the DL19 candidate passages
   (passages_union_of_candidates.tsv), Cranfield (BEIR layout), the WikiText-2 test (raw) and valid
   (tokenized) paragraphs (non-heading lines) and the Banking77 train and test utterances. Exact duplicate texts are dropped.
2. Derived passages, for the sizes the real text cannot fill: windows of 1 to 8 consecutive sentences
   (split after . ! or ? followed by a space) of every real passage, stride one sentence; windows shorter
   than 5 words, and texts already in the pool, are dropped.
3. The pool is shuffled with a fixed seed (0) and each corpus of size N is its first N passages, so the
   corpora are nested and share one length distribution (a fair growth exponent).

Queries: the SciFact, NFCorpus, FiQA and TREC-COVID BEIR test topics, the judged DL19 topics and the Cranfield
queries, shuffled with seed 0; the first Q are used, with their real qrels (ids prefixed by collection). Most
judged documents of the other collections are not in these corpora: relevance numbers here measure nothing
but cost.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
from pathlib import Path

DATA = Path(os.environ.get("LRBENCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
BEIR_TOPICS = DATA / "beir-topics-qrels-only"


def real_passages(data: Path = DATA) -> list[tuple[str, str]]:
    out = []
    with open(data / "beir-scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            out.append((f"scifact-{d['_id']}", f"{d.get('title', '')} {d['text']}".strip()))
    with open(data / "trec-dl-2019-passage" / "passages_union_of_candidates.tsv", encoding="utf-8") as fh:
        for line in fh:
            pid, text = line.rstrip("\n").split("\t", 1)
            out.append((f"dl19-{pid}", text))
    with open(data / "cranfield" / "beir-format" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            out.append((f"cran-{d['_id']}", f"{d.get('title', '')} {d['text']}".strip()))
    for split, name in (("test", "wiki.test.raw.crlf-nonempty-lines"), ("valid", "wiki.valid.tokens")):
        with open(data / "wikitext-2" / name, encoding="utf-8") as fh:
            n = 0
            for line in fh:
                text = line.strip()
                if text and not text.startswith("="):
                    out.append((f"wt2{split}-{n}", text))
                    n += 1
    import csv

    for split in ("train", "test"):
        with open(data / "banking77" / f"{split}.csv", encoding="utf-8") as fh:
            out += [(f"b77{split}-{n}", row["text"]) for n, row in enumerate(csv.DictReader(fh))]
    return out


def derived_passages(real: list[tuple[str, str]], widths=(1, 2, 3, 4, 5, 6, 7, 8)):
    for doc_id, text in real:
        sentences = [s for s in SENTENCE_END.split(text) if s]
        for width in widths:
            for start in range(0, max(0, len(sentences) - width + 1)):
                window = " ".join(sentences[start:start + width])
                if len(window.split()) >= 5:
                    yield f"{doc_id}-w{width}s{start}", window


def passage_pool(limit: int) -> tuple[list[tuple[str, str]], dict]:
    seen, pool = set(), []
    real = real_passages()
    for doc_id, text in real:
        if text not in seen:
            seen.add(text)
            pool.append((doc_id, text))
    n_real = len(pool)
    for doc_id, text in derived_passages(real):  # all of them, whatever the limit: one pool, nested corpora
        if text not in seen:
            seen.add(text)
            pool.append((doc_id, text))
    if len(pool) < limit:
        raise SystemExit(f"only {len(pool)} distinct passages, fewer than {limit}")
    random.Random(0).shuffle(pool)
    return pool, {"real_distinct": n_real, "derived_distinct": len(pool) - n_real}


def _read_tsv_topics(path: Path) -> dict[str, str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return dict(line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line)


def _read_qrels(path: Path, sep=None, header=False) -> list[tuple[str, str, int]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.split(sep)
            if header and n == 0:
                continue
            qid, docid, rel = (parts[0], parts[2], parts[3]) if len(parts) == 4 else parts[:3]
            rows.append((qid, docid, int(rel)))
    return rows


def judged_queries() -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    queries, qrels = [], []
    for name in ("scifact", "nfcorpus", "fiqa", "trec-covid"):
        topics = _read_tsv_topics(BEIR_TOPICS / f"topics.beir-v1.0.0-{name}.test.tsv.gz")
        rows = _read_qrels(BEIR_TOPICS / f"qrels.beir-v1.0.0-{name}.test.txt")
        judged = {q for q, _, _ in rows}
        queries += [(f"{name}-{q}", t) for q, t in topics.items() if q in judged]
        qrels += [(f"{name}-{q}", f"{name}-{d}", r) for q, d, r in rows]
    dl19 = DATA / "trec-dl-2019-passage"
    rows = _read_qrels(dl19 / "qrels.dl19-passage.txt")
    judged = {q for q, _, _ in rows}
    queries += [(f"dl19-{q}", t) for q, t in _read_tsv_topics(dl19 / "topics.dl19-passage.txt").items() if q in judged]
    qrels += [(f"dl19-{q}", f"dl19-{d}", r) for q, d, r in rows]
    cran = DATA / "cranfield" / "beir-format"
    with open(cran / "queries.jsonl", encoding="utf-8") as fh:
        queries += [(f"cran-{d['_id']}", d["text"]) for d in map(json.loads, fh)]
    # Cranfield grades run 1 (best) .. 4 (minimal), -1 not relevant
    qrels += [(f"cran-{q}", f"cran-{d}", 5 - r if 1 <= r <= 4 else 0)
              for q, d, r in _read_qrels(cran / "qrels" / "test.tsv", sep="\t", header=True)]
    random.Random(0).shuffle(queries)
    return queries, qrels


def write_beir(folder: Path, passages, queries, qrels) -> None:
    """One BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for doc_id, text in passages:
            fh.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid, text in queries:
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    wanted = {q for q, _ in queries}
    with open(folder / "qrels" / "test.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q, d, r in qrels:
            if q in wanted:
                fh.write(f"{q}\t{d}\t{r}\n")


def build(out: Path, sizes: list[int], query_counts: list[int]) -> dict:
    """out/c{size}-q{queries}/ BEIR folders; the same bytes for the same arguments (so cached cells stay valid)."""
    pool, counts = passage_pool(max(sizes))
    queries, qrels = judged_queries()
    for size in sizes:
        for nq in query_counts:
            folder = out / f"c{size}-q{nq}"
            if not (folder / "qrels" / "test.tsv").exists():
                write_beir(folder, pool[:size], queries[:nq], qrels)
    info = {**counts, "pool": len(pool), "queries_available": len(queries),
            "real_in_corpus": {size: sum("-w" not in d for d, _ in pool[:size]) for size in sizes}}
    return info


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 25000, 100000, 500000])
    parser.add_argument("--queries", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    print(json.dumps(build(args.out, args.sizes, args.queries), indent=2))


if __name__ == "__main__":
    main()
