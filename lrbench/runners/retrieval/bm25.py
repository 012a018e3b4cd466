"""`bm25`: BM25 first-stage retrieval, embedded (bm25s) or Lucene-exact (pyserini in its own process)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from lrbench.checked_cache import publish_checked, read_checked
from lrbench.errors import LrbenchError
from lrbench.runners.base import Output, RunContext, Runner, RunnerParams, top_k
from lrbench.runners.bm25_tokens import CorpusTokenizer, bm25s_tokenize
from lrbench.runners.cost import Cost
from lrbench.datasets.base import RUN_COLUMNS, digest


class BM25Params(RunnerParams):
    backend: Literal["bm25s", "pyserini"] = "bm25s"
    k1: float = Field(0.9, ge=0, description="term-frequency saturation")
    b: float = Field(0.4, ge=0, le=1, description="document-length normalisation")
    k: int = Field(1000, ge=1, description="documents retrieved per query")
    method: Literal["lucene", "robertson", "atire", "bm25l", "bm25+"] = "lucene"
    stemmer: str | None = "english"   # a PyStemmer algorithm; None to disable
    stopwords: str | None = "en"
    threads: int = Field(1, ge=1, description="search threads of the pyserini backend; bm25s searches a query at a "
                         "time, for per-query latencies")


class BM25Runner(Runner):
    """BM25 retrieval over the dataset's corpus (bm25s by default; backend: pyserini for Lucene)."""

    type = "bm25"
    version = "2"  # 2: the top k taken from the positive scores, ties at the k-th by corpus order
    Params = BM25Params
    schedule_params = frozenset({"threads"})

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        p: BM25Params = self.params
        if not dataset.has_docs():
            raise LrbenchError(f"{dataset.spec.label} has no document collection for BM25",
                               hint="use a dataset with a corpus, or the 'given' system for candidate lists")
        queries = dataset.eval_queries()
        if p.backend == "pyserini":
            run, profile = _pyserini_search(dataset, queries, p, ctx)
            run = top_k(run, p.k)
        else:  # bm25s returns at most k documents a query: nothing to cut (Output.frame orders the run)
            run, profile = _bm25s_search(dataset, queries, p, ctx)
        return Output(run=run, profile=profile)


# -- bm25s ------------------------------------------------------------------------------

def _bm25s_tokenize(texts, p: BM25Params):
    return bm25s_tokenize(texts, p.stemmer, p.stopwords)


def _bm25s_corpus(docs, p: BM25Params, chunk: int = 20_000) -> tuple[list[str], list[list[int]], dict[str, int]]:
    """(doc ids, token ids per document, vocabulary) from a document stream, tokenized `chunk` documents at a
    time: only ids are kept, never the corpus' texts or token strings. The same tokens and vocabulary as
    bm25s' own indexing; only the numbering of the vocabulary differs."""
    import itertools

    tokenize = CorpusTokenizer(p.stemmer, p.stopwords)
    doc_ids: list[str] = []
    token_ids: list[list[int]] = []
    stream = iter(docs)
    while batch := list(itertools.islice(stream, chunk)):
        doc_ids += [doc_id for doc_id, _ in batch]
        token_ids += tokenize(text for _, text in batch)
    return doc_ids, token_ids, tokenize.vocab


def _bm25s_search(dataset, queries: dict[str, str], p: BM25Params, ctx: RunContext):
    import bm25s
    import numpy as np
    import pyarrow as pa

    settings = {k: getattr(p, k) for k in ("k1", "b", "method", "stemmer", "stopwords")}
    index_dir = ctx.cache_dir / "bm25s" / digest(dataset.corpus_fingerprint(), json.dumps(settings, sort_keys=True))[:24]
    started = time.perf_counter()
    if read_checked(index_dir) is not None:  # every file as it was written, else rebuilt below
        retriever = bm25s.BM25.load(str(index_dir))
        doc_ids = json.loads((index_dir / "doc_ids.json").read_text())
        index_cached = True
    else:
        doc_ids, token_ids, vocab = _bm25s_corpus(ctx.progress(dataset.docs(), description="indexing corpus"), p)
        retriever = bm25s.BM25(k1=p.k1, b=p.b, method=p.method)
        retriever.index((token_ids, vocab), show_progress=False)
        del token_ids

        def save(tmp: Path) -> None:
            retriever.save(str(tmp))
            (tmp / "doc_ids.json").write_text(json.dumps(doc_ids))

        publish_checked(index_dir, save)  # a process that finished the same index first keeps its own
        index_cached = False
    index_seconds = time.perf_counter() - started

    qids = list(queries)
    k = min(p.k, len(doc_ids))
    hits, latencies, zero, cost = [], [], 0, Cost()  # hits per query: (query number, document numbers, scores)
    search_start = time.perf_counter()
    # one tokenizer call for every query (a call per query rebuilds the stemmer and stopword list each time); each
    # query's latency carries an equal share of it
    all_tokens = _bm25s_tokenize([queries[qid] for qid in qids], p) if qids else []
    tokenize_share = (time.perf_counter() - search_start) / max(len(qids), 1)
    for n, tokens in enumerate(ctx.progress(all_tokens, total=len(qids), description="BM25 retrieval")):
        t0 = time.perf_counter()
        if not tokens:
            latencies.append(time.perf_counter() - t0 + tokenize_share)
            continue
        idx, scores = _top_positive(retriever.get_scores(tokens), k)
        latencies.append(time.perf_counter() - t0 + tokenize_share)
        cost.count("postings_scored", _postings(retriever, tokens))
        zero += max(0, k - len(idx))  # documents sharing no term with the query: not retrieved (as Lucene)
        hits.append((np.full(len(idx), n), idx, scores))
    # the run is built from arrays once (a Python tuple per hit cost as much as the search), its id columns taken
    # from the ids in Arrow (no Python string per hit; the frame has the columns pandas would make of them), its
    # rows in the order the stored run keeps (ordered here on integer codes, Output.frame only checks it)
    found = [np.concatenate(part) for part in zip(*hits)] if hits else [np.zeros(0, int)] * 3
    doc_values = pa.array(doc_ids, pa.string())
    order = _stored_order(qids, doc_values, *found)
    run = pa.table({"query_id": _taken(pa.array(qids, pa.string()), found[0][order]),
                    "doc_id": _taken(doc_values, found[1][order]),
                    "score": found[2][order].astype(float)}).to_pandas()[RUN_COLUMNS]
    search_seconds = time.perf_counter() - search_start
    lat = np.array(latencies) * 1000 if latencies else np.zeros(1)
    profile = {
        "backend": "bm25s", "index_seconds": index_seconds, "index_cached": index_cached,
        "zero_score_docs_dropped": zero,
        "search_seconds": search_seconds, "queries": len(qids), "docs": len(doc_ids),
        "latency_ms_p50": float(np.percentile(lat, 50)), "latency_ms_p95": float(np.percentile(lat, 95)),
        "latency_ms_p99": float(np.percentile(lat, 99)),
        "throughput_qps": len(qids) / search_seconds if search_seconds else None,
        **cost.profile(len(qids)),
    }
    return run, profile


def _top_positive(scores, k: int):
    """(document numbers, scores) of the k highest positive scores, in corpus order; of documents tied at the
    k-th score, those first in the corpus. A document that shares no term with the query scores 0 and is never
    retrieved. bm25s' own top-k runs np.argpartition over every document's score, most of them 0, which under
    numpy 2.4 costs 15 ms for 100,000 documents (0.8 ms without the ties); only the positive scores are
    ranked here."""
    import numpy as np

    docs = np.flatnonzero(scores > 0)
    values = scores[docs]
    if len(docs) > k:
        kth = np.partition(values, len(values) - k)[len(values) - k]
        above = values > kth
        tied = np.flatnonzero(values == kth)[:k - int(above.sum())]
        keep = np.sort(np.concatenate([np.flatnonzero(above), tied]))
        docs, values = docs[keep], values[keep]
    return docs, values


def _stored_order(qids: list[str], doc_values, queries, docs, scores):
    """The order of the hits (query numbers, document numbers, scores) that the stored run keeps: query id,
    score descending, doc id descending (`lrbench.runners.base._ranked`), from integer codes of the ids."""
    import numpy as np
    import pyarrow.compute as pc

    from lrbench.datasets.ranking_order import ranked_order

    if not len(queries):
        return np.zeros(0, np.int64)
    query_code = np.empty(len(qids), np.int64)
    query_code[sorted(range(len(qids)), key=qids.__getitem__)] = np.arange(len(qids))
    found = np.zeros(len(doc_values), bool)
    found[docs] = True
    retrieved = np.flatnonzero(found)  # the documents some query retrieved, by number
    by_id = pc.sort_indices(_taken(doc_values, retrieved)).to_numpy()  # Arrow orders strings bytewise, as pandas
    doc_code = np.empty(len(doc_values), np.int64)
    doc_code[retrieved[by_id]] = np.arange(len(retrieved))[::-1]  # descending: the largest id gets code 0
    return ranked_order(query_code[queries], scores, doc_code[docs])


def _taken(values, positions, chunk: int = 1 << 18):
    """values[positions] (an Arrow string array) as an Arrow string column, in chunks that stay far below
    Arrow's 2 GiB per string array."""
    import numpy as np
    import pyarrow as pa

    positions = np.asarray(positions, dtype=np.int64)
    parts = [values.take(positions[i:i + chunk]) for i in range(0, len(positions), chunk)]
    return pa.chunked_array(parts, pa.string())


def _postings(retriever, tokens: list[str]) -> int:
    """Postings a query scores: the document frequency of each of its tokens (as often as it occurs)."""
    indptr, vocab = retriever.scores["indptr"], retriever.vocab_dict
    return int(sum(indptr[vocab[t] + 1] - indptr[vocab[t]] for t in tokens if t in vocab))


# -- pyserini (subprocess) --------------------------------------------------------------

def _pyserini_search(dataset, queries: dict[str, str], p: BM25Params, ctx: RunContext):
    """Index and search in a child process: pyserini's JVM and torch imports stay out of our profile."""
    import pandas as pd

    index_dir = ctx.cache_dir / "lucene" / digest(dataset.corpus_fingerprint(), "title+text")[:24]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if read_checked(index_dir) is None:  # no index, or a damaged one (removed): the worker builds it
            corpus_dir = tmp / "corpus"
            corpus_dir.mkdir()
            with open(corpus_dir / "docs.jsonl", "w", encoding="utf-8") as fh:
                for doc_id, text in ctx.progress(dataset.docs(), description="writing corpus for Lucene"):
                    fh.write(json.dumps({"id": doc_id, "contents": text}) + "\n")
        else:
            corpus_dir = None
        (tmp / "queries.json").write_text(json.dumps(queries))
        request = {"index_dir": str(index_dir), "corpus_dir": str(corpus_dir) if corpus_dir else None,
                   "queries": str(tmp / "queries.json"), "out": str(tmp / "run.tsv"),
                   "k1": p.k1, "b": p.b, "k": p.k, "threads": p.threads}
        (tmp / "request.json").write_text(json.dumps(request))
        proc = subprocess.run([sys.executable, "-m", "lrbench.runners.retrieval.pyserini_worker", str(tmp / "request.json")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [l for l in proc.stderr.strip().splitlines() if l and not l[0].isspace()] or ["no output"]
            last = lines[-1]
            raise LrbenchError(f"pyserini backend failed: {last}",
                               hint="install the lucene extra: pip install -e '.[lucene]'")
        run = pd.read_csv(tmp / "run.tsv", sep="\t", names=RUN_COLUMNS, dtype={"query_id": str, "doc_id": str},
                          keep_default_na=False)
        profile = json.loads((tmp / "profile.json").read_text())
    profile["backend"] = "pyserini"
    return run, profile
