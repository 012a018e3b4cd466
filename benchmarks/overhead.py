"""lrbench's overhead against the plain library code doing the same work, in CPU time.

Each row runs the same inputs twice: through `lrbench.run` (or `lrbench.evaluate`) and through the library that
lrbench drives (bm25s, sentence-transformers, transformers, rank-llm, ir-measures, pytrec_eval, ranx), written the
way a user of that library would. Every side runs in a fresh child process with one thread; the two sides of a
pair run back to back and the order alternates from pair to pair, so a change in the machine's load hits both.
Times are CPU times, not wall times (the machine is shared): `work` is time.process_time() in the child around the
work itself (the third-party libraries both sides use are imported before the clock starts; lrbench's own imports,
dataset reading, model loading, writing the results and evaluating are inside), `process` is the child's whole
CPU time from resource.getrusage (interpreter start and every import included). The table reports, per row, the
median over pairs of the ratio lrbench / raw. Python's bytecode cache is on, as in an installed environment: an
environment that sets PYTHONDONTWRITEBYTECODE would make every lrbench child compile lrbench's sources again (the
children run without it, and lrbench's, tests/ and benchmarks/ sources are compiled into their __pycache__ folders
before the first pair; --no-bytecode-cache keeps the variable as the environment sets it).

    python benchmarks/overhead.py [--rows bm25,embedder,...] [--pairs 3] [--eval-queries 6980] [--no-bytecode-cache]
    python benchmarks/overhead.py --summary-only      # rebuild summary.json from the per-row records
    python benchmarks/overhead.py --breakdown 5       # where the BM25 row's CPU goes, per part, on both sides
    python benchmarks/overhead.py --breakdown 3 --breakdown-row bm25-500k   # the same on a larger BM25 row
    lrbench tables benchmarks/OVERHEAD.md

Per-row records (every pair's timings and the measured values of both sides) go to
benchmarks/results/overhead/rows/ROW.json; summary.json (the table) is rebuilt from all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

SHARED = Path(os.environ.get("LRBENCH_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()
SCIFACT = SHARED / "beir-scifact"
DL19 = SHARED / "trec-dl-2019-passage"
CANDIDATES = DL19 / "rank_llm_candidates" / "BM25.top100.dl19.json"
DL19_QRELS = DL19 / "qrels.dl19-passage.txt"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
OUT = ROOT / "benchmarks" / "results" / "overhead"
BM25_MEASURES = ["nDCG@10", "R@100", "AP@100"]


# -- shared pieces of the raw sides ------------------------------------------------------------------------

def read_beir(folder: Path):
    """(doc ids, texts 'title text', {qid: query} of judged queries, qrels dict) of a BEIR folder."""
    doc_ids, texts = [], []
    with open(folder / "corpus.jsonl") as fh:
        for line in fh:
            doc = json.loads(line)
            doc_ids.append(doc["_id"])
            texts.append((doc.get("title", "") + " " + doc.get("text", "")).strip())
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        if line.strip():
            q, d, s = line.split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    queries = {}
    with open(folder / "queries.jsonl") as fh:
        for line in fh:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries[q["_id"]] = q["text"]
    return doc_ids, texts, queries, qrels


def dl19_lists(n_queries: int, depth: int):
    """[(qid, query, [(doc id, text)])] of the first `n_queries` judged DL19 queries in the qrels file's order
    (the queries `queries_limit` keeps), each with its BM25 top `depth`, and their qrels."""
    qrels: dict[str, dict[str, int]] = {}
    for line in DL19_QRELS.read_text().splitlines():
        if line.strip():
            q, _, d, r = line.split()
            qrels.setdefault(q, {})[d] = int(r)
    hits = {str(row["hits"][0]["qid"]): row for row in json.loads(CANDIDATES.read_text()) if row["hits"]}
    chosen = [q for q in qrels if q in hits][:n_queries]
    lists = [(q, hits[q]["query"], [(str(h["docid"]), h["content"]) for h in hits[q]["hits"][:depth]])
             for q in chosen]
    return lists, {q: qrels[q] for q in chosen}


def ir_measures_means(measures: list[str], qrels: dict, run: dict) -> dict[str, float]:
    import ir_measures

    parsed = [ir_measures.parse_measure(m) for m in measures]
    return {str(k): float(v) for k, v in ir_measures.calc_aggregate(parsed, qrels, run).items()}


def lrbench_means(results) -> dict[str, float]:
    board = results.leaderboard
    last = board[board["system"] == board["system"].iloc[-1]]
    return {str(m): float(v) for m, v in zip(last["measure"], last["value"])}


def run_lrbench(suite: dict, work: Path):
    import lrbench

    results = lrbench.run(suite, out=work / "results")
    if results.failed:
        raise RuntimeError(f"lrbench cell failed: {results.failed[0]}")
    return lrbench_means(results)


# -- rows: each has the modules both sides import before the clock, and its two sides -----------------------

def bm25_folder(info: dict) -> Path:
    """The row's BEIR folder: SciFact, or the synthetic corpus `prepare` wrote for a larger row."""
    return Path(info.get("beir", SCIFACT))


def bm25_lrbench(work: Path, info: dict) -> dict:
    folder = bm25_folder(info)
    suite = {"name": "overhead-bm25", "datasets": [{"id": f"beir:{folder}", "name": folder.name,
                                                    "measures": BM25_MEASURES}],
             "systems": [{"name": "bm25", "type": "bm25", "params": {"k1": 0.9, "b": 0.4, "k": 1000}}]}
    return run_lrbench(suite, work)


def bm25_raw(work: Path, info: dict) -> dict:
    import bm25s
    import Stemmer

    doc_ids, texts, queries, qrels = read_beir(bm25_folder(info))
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=0.9, b=0.4)
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    qids = list(queries)
    tokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer, return_ids=False,
                            show_progress=False)
    idx, scores = retriever.retrieve(tokens, k=1000, show_progress=False)
    run = {q: {doc_ids[int(i)]: float(s) for i, s in zip(idx[n], scores[n]) if s > 0} for n, q in enumerate(qids)}
    return ir_measures_means(BM25_MEASURES, qrels, run)


def embedder_lrbench(work: Path, info: dict) -> dict:
    suite = {"name": "overhead-embedder", "datasets": [{"id": f"beir:{info['slice']}", "name": "scifact-slice",
                                                        "measures": ["nDCG@10", "R@100"]}],
             "systems": [{"name": "minilm", "type": "embedder",
                          "params": {"model": MINILM, "batch_size": 32, "k": 100, "device": "cpu"}}]}
    return run_lrbench(suite, work)


def embedder_raw(work: Path, info: dict) -> dict:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    doc_ids, texts, queries, qrels = read_beir(Path(info["slice"]))
    model = SentenceTransformer(info["minilm"], device="cpu")
    docs = model.encode(texts, batch_size=32, normalize_embeddings=True)
    qids = list(queries)
    qs = model.encode([queries[q] for q in qids], batch_size=32, normalize_embeddings=True)
    scores = qs @ docs.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :100]
    run = {q: {doc_ids[j]: float(scores[n, j]) for j in top[n]} for n, q in enumerate(qids)}
    return ir_measures_means(["nDCG@10", "R@100"], qrels, run)


def _rerank_suite(name: str, system: dict, n_queries: int, depth: int) -> dict:
    return {"name": f"overhead-{name}", "measures": ["nDCG@10"],
            "datasets": [{"id": f"candidates:{CANDIDATES}", "name": "dl19", "qrels": str(DL19_QRELS),
                          "queries_limit": n_queries}],
            "systems": [{"name": "bm25", "type": "given"}, {**system, "input": "bm25", "depth": depth}]}


CE_QUERIES, CE_DEPTH = 5, 20
CE_ALL_QUERIES = 43  # every judged DL19 query: the row where the fixed costs weigh least


def cross_encoder_lrbench(work: Path, info: dict) -> dict:
    system = {"name": "ce", "type": "cross-encoder",
              "params": {"model": info["checkpoint"], "max_length": 512, "batch_size": 16, "device": "cpu"}}
    return run_lrbench(_rerank_suite("cross-encoder", system, info.get("queries", CE_QUERIES), CE_DEPTH), work)


def cross_encoder_raw(work: Path, info: dict) -> dict:
    import torch
    from sentence_transformers import CrossEncoder

    lists, qrels = dl19_lists(info.get("queries", CE_QUERIES), CE_DEPTH)
    model = CrossEncoder(info["checkpoint"], device="cpu", max_length=512, activation_fn=torch.nn.Identity())
    run = {}
    for qid, query, docs in lists:
        scores = model.predict([(query, text) for _, text in docs], batch_size=16, convert_to_numpy=True)
        run[qid] = {d: float(s) for (d, _), s in zip(docs, scores)}
    return ir_measures_means(["nDCG@10"], qrels, run)


PW_QUERIES, PW_DEPTH, PW_BATCH, PW_DOC_TOKENS = 3, 10, 16, 256
YES_NO = "Passage: {text}\nQuery: {query}\nDoes the passage answer the query? Answer 'Yes' or 'No'"


def pointwise_lrbench(work: Path, info: dict) -> dict:
    system = {"name": "yes-no", "type": "llm-pointwise",
              "params": {"model": SMOLLM, "recipe": "llmrankers_yes_no", "doc_max_tokens": PW_DOC_TOKENS,
                         "batch_size": PW_BATCH, "device": "cpu"}}
    return run_lrbench(_rerank_suite("pointwise", system, PW_QUERIES, PW_DEPTH), work)


def pointwise_raw(work: Path, info: dict) -> dict:
    """llm-rankers' yes/no prompt (no chat template), passages longer than 256 tokens cut to their first 256, each
    query's passages in batches of 16 left-padded with position ids that skip the padding (as `generate` builds
    them), the LM head on the last position only (`logits_to_keep=1`), score logit(Yes) - logit(No)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lists, qrels = dl19_lists(PW_QUERIES, PW_DEPTH)
    tok = AutoTokenizer.from_pretrained(info["smollm"])
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(info["smollm"], dtype=torch.float32).eval()
    yes, no = tok.encode("Yes", add_special_tokens=False)[0], tok.encode("No", add_special_tokens=False)[0]

    def cut(text: str) -> str:
        ids = tok.encode(text, add_special_tokens=False)
        return text if len(ids) <= PW_DOC_TOKENS else tok.decode(ids[:PW_DOC_TOKENS], skip_special_tokens=True)

    run: dict[str, dict[str, float]] = {}
    with torch.inference_mode():
        for qid, query, docs in lists:
            for start in range(0, len(docs), PW_BATCH):
                batch = docs[start:start + PW_BATCH]
                enc = tok([YES_NO.format(text=cut(text), query=query) for _, text in batch], return_tensors="pt",
                          padding=True)
                positions = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
                logits = model(**enc, position_ids=positions, logits_to_keep=1).logits[:, -1, :]
                for (d, _), s in zip(batch, (logits[:, yes] - logits[:, no]).tolist()):
                    run.setdefault(qid, {})[d] = s
    return ir_measures_means(["nDCG@10"], qrels, run)


FIRST_QUERIES, FIRST_DEPTH = 2, 20
FIRST_MORE_QUERIES = 10  # row first-10: the fixed costs (imports, results folder, warm-up) over more work


def first_lrbench(work: Path, info: dict) -> dict:
    system = {"name": "first", "type": "llm-listwise",
              "params": {"model": SMOLLM, "recipe": "first", "window": 20, "stride": 10, "device": "cpu"}}
    return run_lrbench(_rerank_suite("first", system, info.get("queries", FIRST_QUERIES), FIRST_DEPTH), work)


def first_raw(work: Path, info: dict) -> dict:
    """rank-llm's FIRST (RankListwiseOSLLM, use_logits, use_alpha, rank_zephyr_alpha template) with its vLLM engine
    replaced by transformers generation (tests/reference_llm.py: HFGenerator), as in the equivalence tests: one
    prompt pass and one cached decoding step per window, as lrbench's `recipe: first`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from reference_llm import HFGenerator, rank_llm_reranker, rank_llm_request

    lists, qrels = dl19_lists(info.get("queries", FIRST_QUERIES), FIRST_DEPTH)
    tok = AutoTokenizer.from_pretrained(info["smollm"])
    model = AutoModelForCausalLM.from_pretrained(info["smollm"], dtype=torch.float32).eval()
    ranker = rank_llm_reranker(tok, template="rank_zephyr_alpha_template.yaml", use_alpha=True, use_logits=True,
                               window=20, stride=10, generator=HFGenerator(model, tok))
    run = {}
    for qid, query, docs in lists:
        texts = dict(docs)
        result = ranker.rerank_batch([rank_llm_request(query, [d for d, _ in docs], texts)], rank_start=0,
                                     rank_end=FIRST_DEPTH)[0]
        run[qid] = {c.docid: float(len(docs) - i) for i, c in enumerate(result.candidates)}
    return ir_measures_means(["nDCG@10"], qrels, run)


EVAL_MEASURES = ["nDCG@10", "R@100", "AP@100"]


def eval_inputs(info: dict):
    import pandas as pd

    return pd.read_parquet(info["run"]), pd.read_parquet(info["qrels"])


def eval_lrbench(work: Path, info: dict, frames) -> dict:
    import lrbench

    return {str(k): float(v) for k, v in lrbench.evaluate(frames[0], frames[1], EVAL_MEASURES).means.items()}


def _nested(run_df, qrels_df):
    run: dict[str, dict[str, float]] = {}
    for q, d, s in zip(run_df["query_id"].tolist(), run_df["doc_id"].tolist(), run_df["score"].tolist()):
        run.setdefault(q, {})[d] = s
    qrels: dict[str, dict[str, int]] = {}
    for q, d, r in zip(qrels_df["query_id"].tolist(), qrels_df["doc_id"].tolist(), qrels_df["relevance"].tolist()):
        qrels.setdefault(q, {})[d] = int(r)
    return run, qrels


def eval_ir_measures(work: Path, info: dict, frames) -> dict:
    """ir-measures on the DataFrames as they are (it reads a DataFrame's query_id/doc_id/score columns)."""
    run_df, qrels_df = frames
    return ir_measures_means(EVAL_MEASURES, qrels_df, run_df)


def eval_pytrec_eval(work: Path, info: dict, frames) -> dict:
    import pytrec_eval

    run, qrels = _nested(*frames)
    names = {"ndcg_cut_10": "nDCG@10", "recall_100": "R@100", "map_cut_100": "AP@100"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "map_cut.100"}).evaluate(run)
    judged = list(qrels)  # trec_eval -c: a judged query with no results counts 0
    return {name: sum(per_query.get(q, {}).get(key, 0.0) for q in judged) / len(judged) for key, name in names.items()}


def warm_ranx(frames) -> None:
    """ranx compiles its numba kernels in each new process (tens of CPU seconds here): evaluate a small slice
    before the clock, so the row compares evaluation, not compilation (the process column keeps it)."""
    run_df, qrels_df = frames
    some = set(run_df["query_id"].iloc[:3000])
    eval_ranx(Path("."), {}, (run_df[run_df["query_id"].isin(some)], qrels_df[qrels_df["query_id"].isin(some)]))


def eval_ranx(work: Path, info: dict, frames) -> dict:
    from ranx import Qrels, Run, evaluate

    ids = {"query_id": object, "doc_id": object}  # ranx asks for object (not arrow string) id columns
    run_df, qrels_df = frames[0].astype(ids), frames[1].astype({**ids, "relevance": "int64"})
    qrels = Qrels.from_df(qrels_df, q_id_col="query_id", doc_id_col="doc_id", score_col="relevance")
    run = Run.from_df(run_df, q_id_col="query_id", doc_id_col="doc_id", score_col="score")
    values = evaluate(qrels, run, ["ndcg@10", "recall@100", "map@100"], make_comparable=True)
    return {"nDCG@10": float(values["ndcg@10"]), "R@100": float(values["recall@100"]),
            "AP@100": float(values["map@100"])}


BM25_IMPORTS = ["bm25s", "Stemmer", "ir_measures", "numpy", "pandas", "pyarrow"]
# Larger BM25 rows: (passages, queries) of the synthetic corpora of benchmarks/scaling_data.py, where lrbench's
# fixed costs (imports, the results folder) weigh less than on SciFact and its per-document costs show.
BM25_SYNTHETIC = {"bm25-100k": (100_000, 1_000), "bm25-500k": (500_000, 1_000)}


def bm25_row(what: str) -> dict:
    return {"imports": BM25_IMPORTS, "lrbench": bm25_lrbench, "raw": {"bm25s + ir-measures": bm25_raw},
            "what": what}


ROWS = {
    "bm25": bm25_row("BM25 SciFact test, 300 queries x 5,183 docs: index, top-1000, nDCG@10/R@100/AP@100"),
    **{row: bm25_row(f"BM25, synthetic corpus of {docs:,} passages (benchmarks/scaling_data.py), {queries:,} "
                     "judged queries: index, top-1000, nDCG@10/R@100/AP@100")
       for row, (docs, queries) in BM25_SYNTHETIC.items()},
    "embedder": {"imports": ["torch", "transformers", "sentence_transformers", "ir_measures", "numpy", "pandas"],
                 "lrbench": embedder_lrbench, "raw": {"sentence-transformers encode + cosine": embedder_raw},
                 "what": "all-MiniLM-L6-v2, SciFact slice (30 queries, 500 docs): encode, cosine top-100, "
                         "nDCG@10/R@100"},
    **{row: {"imports": ["torch", "transformers", "sentence_transformers", "ir_measures", "numpy", "pandas"],
             "lrbench": cross_encoder_lrbench, "raw": {"CrossEncoder.predict": cross_encoder_raw},
             "what": f"MiniLM + seeded fresh head (mechanics only), DL19 {which} judged queries x BM25 "
                     f"top-{CE_DEPTH}, max_length 512, batch 16, nDCG@10"}
       for row, which in (("cross-encoder", f"first {CE_QUERIES}"), ("cross-encoder-dl19", f"all {CE_ALL_QUERIES}"))},
    "pointwise": {"imports": ["torch", "transformers", "ir_measures", "numpy", "pandas"],
                  "lrbench": pointwise_lrbench, "raw": {"transformers batched forward": pointwise_raw},
                  "what": f"SmolLM2-135M-Instruct, llm-rankers yes/no prompt, passages cut to {PW_DOC_TOKENS} "
                          f"tokens, DL19 first {PW_QUERIES} judged queries x BM25 top-{PW_DEPTH}, batch {PW_BATCH}, "
                          "nDCG@10"},
    **{row: {"imports": ["torch", "transformers", "ir_measures", "numpy", "pandas"],
             "lrbench": first_lrbench, "raw": {"rank-llm FIRST on transformers": first_raw},
             "what": f"SmolLM2-135M-Instruct FIRST, DL19 first {n} judged queries x BM25 top-{FIRST_DEPTH}, "
                     "window 20 stride 10, nDCG@10"}
       for row, n in (("first", FIRST_QUERIES), ("first-10", FIRST_MORE_QUERIES))},
    "evaluation": {"imports": ["ir_measures", "pytrec_eval", "ranx", "numpy", "pandas", "pyarrow"],
                   "inputs": eval_inputs, "lrbench": eval_lrbench,
                   "raw": {"ir-measures": eval_ir_measures, "pytrec_eval": eval_pytrec_eval, "ranx": eval_ranx},
                   "warmup": {"ranx": warm_ranx},
                   "what": None},  # filled in from --eval-queries
}


# -- inputs prepared once by the parent -------------------------------------------------------------------

def prepare(row: str, folder: Path, args) -> dict:
    if row == "embedder":
        from equiv.common import minilm_path
        from neural_helpers import scifact_slice

        return {"slice": str(scifact_slice(SHARED, folder / "scifact-slice", n_queries=30, n_extra=470)),
                "minilm": minilm_path()}
    if row.startswith("cross-encoder"):
        from equiv.cross_encoder import fresh_head_checkpoint

        return {"checkpoint": str(fresh_head_checkpoint(folder / "minilm-fresh-head")),
                "queries": CE_ALL_QUERIES if row == "cross-encoder-dl19" else CE_QUERIES}
    if row in ("pointwise", "first", "first-10"):
        from lrbench.models.registry import resolve

        queries = {"first": FIRST_QUERIES, "first-10": FIRST_MORE_QUERIES}
        return {"smollm": str(resolve(SMOLLM).path), **({"queries": queries[row]} if row in queries else {})}
    if row == "evaluation":
        return synthetic_eval(folder, args.eval_queries, args.eval_depth)
    if row in BM25_SYNTHETIC:
        from scaling_data import build

        docs, queries = BM25_SYNTHETIC[row]
        build(folder, [docs], [queries])
        return {"beir": str(folder / f"c{docs}-q{queries}")}
    return {}


def synthetic_eval(folder: Path, n_queries: int, depth: int, seed: int = 0) -> dict:
    """A run of `depth` scored documents for each of `n_queries` queries and qrels with MS MARCO dev's shape
    (1 to 3 relevant passages a query, about a third of them retrieved), seeded."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    qids = np.repeat([f"q{i}" for i in range(n_queries)], depth)
    docs = rng.integers(0, 8_841_823, size=n_queries * depth)
    run = pd.DataFrame({"query_id": qids, "doc_id": [f"d{d}" for d in docs],
                        "score": rng.standard_normal(n_queries * depth)})
    run = run.drop_duplicates(["query_id", "doc_id"])
    rows = []
    for i in range(n_queries):
        for j in range(int(rng.integers(1, 4))):
            doc = run["doc_id"].iat[i * depth + int(rng.integers(0, depth))] if rng.random() < 0.35 and \
                i * depth < len(run) else f"r{i}_{j}"
            rows.append((f"q{i}", doc, 1))
    qrels = pd.DataFrame(rows, columns=["query_id", "doc_id", "relevance"]).drop_duplicates(["query_id", "doc_id"])
    run.to_parquet(folder / "run.parquet")
    qrels.to_parquet(folder / "qrels.parquet")
    return {"run": str(folder / "run.parquet"), "qrels": str(folder / "qrels.parquet"), "run_rows": len(run),
            "queries": n_queries, "depth": depth}


# -- the BM25 row, part by part ------------------------------------------------------------------------------

def _timed(owner, name: str, label: str, spent: dict) -> None:
    """Replace owner.name by a wrapper that adds its CPU time (process_time, its callees included) to spent[label]."""
    fn = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start

    setattr(owner, name, timed)


def breakdown_lrbench(work: Path, info: dict) -> dict[str, float]:
    """The lrbench side of the BM25 row with a CPU timer on each part: the imports by package (in the order the
    run imports them), then the run with its parts timed by wrappers (no profiler: its own cost would swamp
    the small parts). Parts are exclusive: a part's time leaves out the parts inside it."""
    import importlib

    t = time.process_time
    out: dict[str, float] = {}
    start = t()
    for name in ("pydantic", "pydantic.main", "pydantic.fields"):
        importlib.import_module(name)
    out["import pydantic"] = t() - start
    start = t()
    for name in ("pyarrow.parquet", "pyarrow.dataset"):  # pandas' Parquet writer and reader
        importlib.import_module(name)
    out["import pyarrow.parquet, pyarrow.dataset"] = t() - start
    start = t()
    import bm25s

    import lrbench.api
    import lrbench.executors.core as core
    import lrbench.executors.task as task
    import lrbench.presentation.leaderboard as leaderboard
    import lrbench.rerun  # noqa: F401
    import lrbench.runners.base as base
    import lrbench.runners.retrieval.bm25 as bm25
    import lrbench.store.store as store
    from lrbench.evaluation import evaluate
    from lrbench.evaluation.tasks import ranking
    out["import lrbench (its modules, the suite schema's pydantic models)"] = t() - start
    spent: dict[str, float] = {}
    parts = [(bm25, "_bm25s_corpus", "BM25: read the corpus (validated) and tokenize it"),
             (bm25s.BM25, "index", "BM25: bm25s index"),
             (bm25, "publish_checked", "BM25: save the index to the cache (files, checksums)"),
             (bm25.BM25Runner, "run", "BM25: the rest (queries, per-query retrieval, the run's frame)"),
             (base.Output, "frame", "order the run, ranks"),
             (evaluate, "nested", "evaluate: run and qrels as nested dicts"),
             (evaluate, "judged_rows", "evaluate: Judged@10, Judged@100"),
             (ranking.RankingEvaluator, "evaluate", "evaluate: ir-measures (pytrec_eval) and the rest"),
             (task, "compute_cell", "the cell's meta (versions, environment, dataset profile)"),
             (store.FsspecStore, "put", "store the cell: 3 Parquet files, checksums, meta.json"),
             (leaderboard, "write_leaderboard", "leaderboard: read the cell back (checksums), views, manifest"),
             (core.Engine, "_write_receipt", "rerun receipt (rerun.json)")]
    for owner, name, label in parts:
        _timed(owner, name, label, spent)
    start = t()
    bm25_lrbench(work, info)
    total = t() - start
    nested = {"BM25: the rest (queries, per-query retrieval, the run's frame)":
              ["BM25: read the corpus (validated) and tokenize it", "BM25: bm25s index",
               "BM25: save the index to the cache (files, checksums)"],
              "evaluate: ir-measures (pytrec_eval) and the rest": ["evaluate: run and qrels as nested dicts",
                                                                   "evaluate: Judged@10, Judged@100"],
              "the cell's meta (versions, environment, dataset profile)":
              [label for _, _, label in parts[:8]]}
    for outer, inner in nested.items():
        spent[outer] = spent.get(outer, 0.0) - sum(spent.get(label, 0.0) for label in inner)
    out.update(spent)
    out["lrbench: the rest (suite, plan, store set-up, results object)"] = total - sum(spent.values())
    return out


def breakdown_raw(work: Path, info: dict) -> dict[str, float]:
    """The raw side of the BM25 row (`bm25_raw`, step by step) with a CPU timer on each step."""
    import bm25s
    import Stemmer

    t = time.process_time
    out: dict[str, float] = {}
    start = t()
    doc_ids, texts, queries, qrels = read_beir(bm25_folder(info))
    out["raw: read the corpus, queries, qrels"] = t() - start
    start = t()
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=0.9, b=0.4)
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    out["raw: tokenize the corpus"] = t() - start
    start = t()
    retriever.index(tokens, show_progress=False)
    out["raw: bm25s index"] = t() - start
    start = t()
    qids = list(queries)
    tokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer, return_ids=False,
                            show_progress=False)
    idx, scores = retriever.retrieve(tokens, k=1000, show_progress=False)
    out["raw: tokenize the queries, retrieve"] = t() - start
    start = t()
    run = {q: {doc_ids[int(i)]: float(s) for i, s in zip(idx[n], scores[n]) if s > 0} for n, q in enumerate(qids)}
    out["raw: the run as nested dicts"] = t() - start
    start = t()
    ir_measures_means(BM25_MEASURES, qrels, run)
    out["raw: ir-measures"] = t() - start
    return out


def breakdown(row: str, pairs: int, args) -> Path:
    """`pairs` pairs of children (lrbench side, raw side, order alternating) on a BM25 row's inputs, each part's
    median CPU time."""
    from lrbench.presentation.summaries import machine, write_summary

    started = machine()
    folder = Path(tempfile.mkdtemp(prefix="overhead-breakdown-"))
    bytecode_cache = not args.no_bytecode_cache
    if bytecode_cache:
        fill_bytecode_cache()
    records: dict[str, list[dict]] = {"lrbench": [], "raw": []}
    try:
        info_file = folder / "info.json"
        info_file.write_text(json.dumps(prepare(row, folder, args)))
        for n in range(pairs):
            for side in (["lrbench", "raw"] if n % 2 == 0 else ["raw", "lrbench"]):
                records[side].append(run_side(row, f"breakdown-{side}", info_file, folder / "cache",
                                              bytecode_cache)["values"])
                print(f"breakdown pair {n + 1}/{pairs} {side}: {sum(records[side][-1].values()):.2f} s CPU",
                      flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = []
    for side, runs in records.items():
        for part in runs[0]:
            rows.append({"side": "lrbench" if side == "lrbench" else "bm25s + ir-measures", "part": part,
                         "cpu": statistics.median(r[part] for r in runs)})
    for side in ("lrbench", "bm25s + ir-measures"):
        total = sum(r["cpu"] for r in rows if r["side"] == side)
        rows.append({"side": side, "part": "total (sum of the medians)", "cpu": total})
    notes = [f"CPU seconds (time.process_time), median over the pairs, of each part of the {row} row's work in a "
             "child process as the row runs it (the row's third-party imports before the clock). lrbench's parts "
             "are timed by wrappers around its functions, each part without the parts inside it; the imports are "
             "timed as the run would import them, before the run (a module imported later on counts in the part "
             "that imports it)."]
    flag = "" if row == "bm25" else f" --breakdown-row {row}"
    return write_summary(args.out / f"{row}-breakdown" / "summary.json", name=f"overhead-{row}-breakdown",
                         command=f"python benchmarks/overhead.py --breakdown {pairs}{flag}",
                         columns={"side": "side", "part": "part of the work", "cpu": "CPU s (median)"},
                         rows=rows, started=started, notes=notes,
                         extra={"pairs": pairs, "bytecode_cache": bytecode_cache})


# -- child: one side, one process ---------------------------------------------------------------------------

def child(row: str, side: str, info_file: Path) -> None:
    import importlib

    info = json.loads(info_file.read_text())
    spec = ROWS[row]
    os.environ.setdefault("TQDM_DISABLE", "1")
    for name in spec["imports"]:
        importlib.import_module(name)
    if "torch" in spec["imports"]:
        import torch

        torch.set_num_threads(1)
    frames = spec["inputs"](info) if "inputs" in spec else None
    if side in spec.get("warmup", {}):
        spec["warmup"][side](frames)
    if side.startswith("breakdown-"):  # the BM25 row part by part: values are the parts' CPU times
        fn = {"breakdown-lrbench": breakdown_lrbench, "breakdown-raw": breakdown_raw}[side]
    else:
        fn = spec["lrbench"] if side == "lrbench" else spec["raw"][side]
    work = Path(tempfile.mkdtemp(prefix=f"overhead-{row}-"))
    try:
        start = time.process_time()
        values = fn(work, info, frames) if frames is not None else fn(work, info)
        cpu = time.process_time() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("OVERHEAD " + json.dumps({"work_cpu": cpu, "values": values}))


def bytecode_env(cached: bool) -> dict:
    """The children's environment: os.environ, without PYTHONDONTWRITEBYTECODE when `cached` (a bytecode
    cache in a separate PYTHONPYCACHEPREFIX would not see the installed packages' own)."""
    env = dict(os.environ)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def fill_bytecode_cache() -> None:
    """Compile lrbench and the benchmark's own helpers (tests/, benchmarks/) before the first pair, so that no
    side of any pair compiles them; installed packages carry their bytecode."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "lrbench"), str(ROOT / "tests"),
                    str(HERE)], env=bytecode_env(True), check=True, stdout=subprocess.DEVNULL)


def run_side(row: str, side: str, info_file: Path, cache: Path, bytecode_cache: bool = True) -> dict:
    env = {**bytecode_env(bytecode_cache), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "LRBENCH_CACHE": str(cache), "PYTHONPATH": str(ROOT),
           "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    shutil.rmtree(cache, ignore_errors=True)  # every side starts cold: no index, embedding or fingerprint cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, __file__, "--child", row, side, str(info_file)], env=env,
                          capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{row}/{side} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("OVERHEAD ")][-1]
    out = json.loads(line[len("OVERHEAD "):])
    out["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def measure(row: str, pairs: int, args) -> dict:
    from lrbench.presentation.summaries import machine

    spec = ROWS[row]
    started = machine()
    folder = Path(tempfile.mkdtemp(prefix=f"overhead-inputs-{row}-"))
    try:
        info = prepare(row, folder, args)
        info_file = folder / "info.json"
        info_file.write_text(json.dumps(info))
        bytecode_cache = not args.no_bytecode_cache
        if bytecode_cache:
            fill_bytecode_cache()
        sides = ["lrbench", *spec["raw"]]
        timings: dict[str, list[dict]] = {s: [] for s in sides}
        for n in range(pairs):
            order = sides if n % 2 == 0 else sides[::-1]
            for side in order:
                result = run_side(row, side, info_file, folder / "cache", bytecode_cache)
                timings[side].append(result)
                print(f"{row} pair {n + 1}/{pairs} {side}: work {result['work_cpu']:.2f} s CPU, process "
                      f"{result['process_cpu']:.2f} s CPU, {result['values']}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    what = spec["what"] or (f"evaluate a synthetic run of {info['queries']:,} queries x {info['depth']:,} docs "
                            f"({info['run_rows']:,} rows, seeded), nDCG@10/R@100/AP@100")
    return {"row": row, "what": what, "pairs": pairs, "machine": started, "bytecode_cache": bytecode_cache,
            "load_avg_end": __import__("lrbench.presentation.summaries", fromlist=["x"]).load_average(),
            "timings": timings}


def summary_rows(record: dict) -> list[dict]:
    rows = []
    ours = record["timings"]["lrbench"]
    for side, theirs in record["timings"].items():
        if side == "lrbench":
            continue
        work = [a["work_cpu"] / b["work_cpu"] for a, b in zip(ours, theirs)]
        proc = [a["process_cpu"] / b["process_cpu"] for a, b in zip(ours, theirs)]
        diff = max(abs(a["values"].get(m, float("nan")) - v) for a, b in zip(ours, theirs)
                   for m, v in b["values"].items())
        rows.append({"row": record["row"], "raw": side, "work": record["what"], "pairs": len(work),
                     "lrbench_cpu": statistics.median(a["work_cpu"] for a in ours),
                     "raw_cpu": statistics.median(b["work_cpu"] for b in theirs),
                     "ratio_work": statistics.median(work), "ratio_process": statistics.median(proc),
                     "max_value_diff": diff, "load": (record["machine"].get("load_avg") or [None])[0]})
    return rows


COLUMNS = {"row": "row", "raw": "raw code", "work": "same work on both sides", "pairs": "pairs",
           "lrbench_cpu": "lrbench CPU s (median)", "raw_cpu": "raw CPU s (median)",
           "ratio_work": "lrbench / raw, work CPU", "ratio_process": "lrbench / raw, process CPU",
           "max_value_diff": "max diff of the measures", "load": "load (1 min) at start"}


def write_table_summary(out: Path) -> Path:
    from lrbench.presentation.summaries import write_summary

    records = [json.loads(p.read_text()) for p in sorted((out / "rows").glob("*.json"))]
    order = list(ROWS)
    records.sort(key=lambda r: order.index(r["row"]))
    rows = [r for rec in records for r in summary_rows(rec)]
    first = min(records, key=lambda r: r["machine"]["date"])
    dates = sorted(r["machine"]["date"] for r in records)
    notes = [f"Rows measured between {dates[0]} and {dates[-1]}; each row's load at its start is in its column.",
             "work CPU: time.process_time() in the child around the work (third-party imports before the clock); "
             "process CPU: the child's whole getrusage time. Ratios are medians over the pairs of lrbench / raw.",
             "max diff of the measures: the largest difference between the two sides' mean measures (0: the same "
             "work gave the same numbers)."]
    uncached = [r["row"] for r in records if not r.get("bytecode_cache")]
    notes.append("Python's bytecode cache on (an installed environment's state)" +
                 (f", except for rows {', '.join(uncached)}: measured with PYTHONDONTWRITEBYTECODE, every lrbench "
                  "child compiling lrbench's sources." if uncached else " for every row."))
    return write_summary(out / "summary.json", name="overhead", command="python benchmarks/overhead.py",
                         columns=COLUMNS, rows=rows, started=first["machine"], notes=notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=3, metavar=("ROW", "SIDE", "INFO"), help=argparse.SUPPRESS)
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of {', '.join(ROWS)}")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--eval-queries", type=int, default=6980,
                    help="queries of the synthetic evaluation run (MS MARCO dev: 6980)")
    ap.add_argument("--eval-depth", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--breakdown", type=int, metavar="PAIRS",
                    help="time a BM25 row's parts on both sides over PAIRS pairs (ROW-breakdown/summary.json)")
    ap.add_argument("--breakdown-row", default="bm25", choices=["bm25", *BM25_SYNTHETIC],
                    help="the BM25 row --breakdown measures")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE as the environment sets it (lrbench's sources are then "
                         "compiled again in every child)")
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], Path(args.child[2]))
        return
    if args.breakdown:
        print(f"wrote {breakdown(args.breakdown_row, args.breakdown, args)}")
        return
    if not args.summary_only:
        for row in args.rows.split(","):
            if row not in ROWS:
                raise SystemExit(f"unknown row {row!r}: choose from {', '.join(ROWS)}")
            record = measure(row, args.pairs, args)
            (args.out / "rows").mkdir(parents=True, exist_ok=True)
            (args.out / "rows" / f"{row}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {write_table_summary(args.out)}")


if __name__ == "__main__":
    main()
