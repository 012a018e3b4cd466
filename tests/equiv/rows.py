"""The benchmark's rows on full slices: name -> function returning a dict (or a list of dicts) with row,
reference, slice, metric, max_diff, equal (and optionally layer, note, details). Used by
benchmarks/equivalence.py; the tests run the same comparisons on small slices."""

from __future__ import annotations

import tempfile
from pathlib import Path

from equiv.common import ROOT, SHARED


def _work(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"lrbench-equiv-{name}-"))


def cross_encoder() -> list[dict]:
    from equiv import cross_encoder as ce

    work = _work("ce")
    checkpoint = ce.fresh_head_checkpoint(work / "minilm-fresh-head")
    ds, run = ce.dl19_pairs(queries_limit=None, depth=100)
    ours = ce.lrbench_scores(checkpoint, ds, run, work / "cache")
    rows = []
    for name, fn in (("sentence-transformers CrossEncoder.predict", ce.sentence_transformers_scores),
                     ('rerankers Reranker(model_type="cross-encoder")', ce.rerankers_scores)):
        result = ce.compare(ours, fn(checkpoint, ds, run))
        rows.append({"row": "cross-encoder" if not rows else "cross-encoder (rerankers)", "reference": name,
                     "slice": f"DL19 BM25 top-100, 43 queries ({result['pairs']} pairs)",
                     "metric": f"score (abs); document pairs ordered differently: {result['order_swaps']} "
                               f"(+ {result['near_tie_swaps']} within 2e-5: near ties)", "max_diff": result["max_diff"],
                     "equal": result["equal"], "details": result,
                     "layer": "all-MiniLM-L6-v2 + a seeded fresh single-logit head: mechanics only (pairing, "
                              "truncation, batching, which logit); the scores carry no quality"})
    rows[1]["command"] = "python benchmarks/equivalence.py --only cross-encoder"
    return rows


def late_interaction() -> dict:
    from equiv import late_interaction as li

    work = _work("li")
    ds, run = li.dl19_pairs(queries_limit=None, depth=100)
    ours = li.lrbench_scores(ds, run, work / "cache")
    result = li.compare(ours, li.pylate_scores(ds, run, work / "cache"), tolerance=li.TOLERANCE)
    return {"row": "late-interaction", "reference": "pylate colbert_scores (ColBERT MaxSim)",
            "slice": f"DL19 BM25 top-100, 43 queries ({result['pairs']} pairs), MiniLM, ColBERT markers",
            "metric": f"MaxSim score (abs); document pairs ordered differently: {result['order_swaps']} "
                      f"(+ {result['near_tie_swaps']} near ties)", "max_diff": result["max_diff"],
            "equal": result["equal"], "details": result,
            "layer": "the MaxSim scoring, from the same token embeddings (lrbench's)"}


def embedder() -> list[dict]:
    from equiv import embedder as em

    folder, work = SHARED / "beir-scifact", _work("em")
    ours = em.lrbench_run(folder, work)
    rows = []
    for name, fn in (("beir DenseRetrievalExactSearch (SentenceBERT, cos_sim)", em.beir_run),
                     ("sentence-transformers encode + cosine", em.sentence_transformers_run)):
        result = em.compare(ours, fn(folder))
        rows.append({"row": "embedder" if not rows else "embedder (sentence-transformers)", "reference": name,
                     "slice": "BEIR SciFact test, all 300 queries, 5,183 abstracts, all-MiniLM-L6-v2",
                     "metric": f"ordered top-10 per query ({result['identical_top10']}/{result['queries']} "
                               "identical); max_diff: cosine on shared top-10 pairs",
                     "max_diff": result["max_diff"], "equal": result["equal"], "details": result})
    rows[1]["command"] = "python benchmarks/equivalence.py --only embedder"
    return rows


def mteb_classification() -> dict:
    from equiv import mteb_classification as mc
    from equiv.common import run_suite

    results, _ = run_suite(ROOT / "suites" / "mteb-banking77.yaml", _work("mteb"))
    ours = results.cell("banking77", "all-MiniLM-L6-v2").score("accuracy")
    theirs = mc.mteb_evaluate()
    diff = abs(ours - theirs["accuracy"])
    return {"row": "mteb-classification", "reference": "mteb AbsTaskClassification.evaluate (Banking77Classification)",
            "slice": "Banking77 full: 10 experiments x 8 per label, 3,080 test texts, all-MiniLM-L6-v2",
            "metric": f"accuracy (lrbench {ours:.4f}, mteb {theirs['accuracy']:.4f}; MTEB publishes 0.8004)",
            "max_diff": diff, "equal": diff < 1e-9,
            "details": {"lrbench": ours, "mteb": theirs["accuracy"],
                        "mteb_experiments": theirs["experiment_accuracy"]},
            "command": "lrbench run suites/mteb-banking77.yaml; python benchmarks/equivalence.py --only "
                       "mteb-classification"}


def lm_perplexity() -> list[dict]:
    from equiv import lm_perplexity as lp

    model, tokenizer = lp.load_model()
    work = _work("ppl")
    chars = lp.aligned_chars(tokenizer, 20000, 1024)
    theirs = lp.lm_eval_perplexity(model, tokenizer, chars, max_length=1024)
    ours = lp.lrbench_perplexity(work / "a", chars, context=1025, stride=1024)
    guide = lp.guide_perplexity(model, tokenizer, 20000, context=1024, stride=512)
    strided = lp.lrbench_perplexity(work / "b", 20000, context=1024, stride=512)
    return [
        {"row": "lm-perplexity", "reference": "lm-eval HFLM.loglikelihood_rolling (wikitext task scoring)",
         "slice": f"WikiText-2 test, first {chars:,} chars ({ours['tokens']:,} tokens scored), SmolLM2-135M, "
                  "lm-eval max_length 1024 = lrbench context 1025 / stride 1024",
         "metric": f"token perplexity, relative (lrbench {ours['perplexity']:.4f}, lm-eval {theirs['perplexity']:.4f})",
         "max_diff": lp.relative(ours, theirs), "equal": lp.relative(ours, theirs) <= lp.TOLERANCE,
         "layer": "lm-eval gets the text after its first token with that token as prefix (see tests/equiv/"
                  "lm_perplexity.py); the slice ends where lm-eval's last window is full"},
        {"row": "lm-perplexity (guide)", "reference": "transformers perplexity guide, strided loop",
         "slice": f"WikiText-2 test, first 20,000 chars ({strided['tokens']:,} tokens), SmolLM2-135M, "
                  "context 1024, stride 512",
         "metric": f"token perplexity, relative (lrbench {strided['perplexity']:.4f}, guide {guide['perplexity']:.4f})",
         "max_diff": lp.relative(strided, guide), "equal": lp.relative(strided, guide) <= lp.TOLERANCE,
         "command": "python benchmarks/equivalence.py --only lm-perplexity"},
    ]


def glue() -> list[dict]:
    from equiv import glue as gl
    from equiv.lm_perplexity import load_model

    model, tokenizer = load_model()
    work = _work("glue")
    rows = []
    for task in ("sst2", "mrpc", "rte"):
        theirs = gl.lm_eval_predictions(task, model, tokenizer, work / "lm-eval", None)
        result = gl.compare(gl.lrbench_predictions(task, work / task, None), theirs)
        rows.append({"row": f"glue zero-shot-lm ({task})", "reference": f"lm-eval task {task} (its YAML prompt, "
                     "request building and HFLM.loglikelihood)",
                     "slice": f"GLUE {task} dev, all {result['examples']} examples, SmolLM2-135M",
                     "metric": f"predictions ({result['identical']}/{result['examples']} identical)",
                     "max_diff": result["examples"] - result["identical"], "equal": result["equal"],
                     "details": result, "command": "python benchmarks/equivalence.py --only glue"})
    return rows


def compression() -> list[dict]:
    from equiv import compression as cp

    targets = ["*attention.self.*", "*attention.output.dense", "*intermediate.dense", "*output.dense"]
    rows = []
    for method, reference, metric in (
            ("whiten", "SVD-LLM Theorem 3.2: loss = sqrt(sum of truncated sigma_i(W S)^2)",
             "per-layer reconstruction loss ||(W-W')X||_F vs the theorem, relative"),
            ("asvd", "ASVD: W' = SVD_k(W diag(s)) diag(s)^-1, s_j = mean|x_j|^0.5",
             "||W'_lrbench - W'_formula||_F / ||W'_formula||_F, worst layer"),
            ("svd", "truncated SVD (Eckart-Young)", "||W'_lrbench - W'_svd||_F / ||W'_svd||_F, worst layer")):
        result = cp.compare(method, 0.6, targets, n_texts=64)
        rows.append({"row": f"compress {method}", "reference": reference,
                     "slice": f"all-MiniLM-L6-v2, {len(result['layers'])} Linears at ratio 0.6, calibration "
                              f"64 SciFact abstracts ({result['tokens']:,} tokens)",
                     "metric": metric, "max_diff": result["max_diff"], "equal": result["equal"],
                     "details": result, "command": "python benchmarks/equivalence.py --only compression"})
    return rows


ROWS = {"cross-encoder": cross_encoder, "late-interaction": late_interaction, "embedder": embedder,
        "mteb-classification": mteb_classification, "lm-perplexity": lm_perplexity, "glue": glue,
        "compression": compression}
