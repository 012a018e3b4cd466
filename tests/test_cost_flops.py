"""Hardware-independent cost: the analytic FLOPs count against torch's FlopCounterMode on real cells, its
determinism, the one parameter count of the model-runner base, and FLOPs budgets in `expect:`."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from neural_helpers import MINILM, SMOLLM, bm25_run, ctx, dl19, module_scifact_slice, scifact_slice

torch = pytest.importorskip("torch")


@pytest.fixture
def flop_counter(monkeypatch):
    """Every block a run charges to its Cost is also run under FlopCounterMode; yields the counted totals.
    torch has no FLOP formula for the CPU flash-attention kernel SDPA dispatches to: its own SDPA formula is
    registered for it (and removed afterwards)."""
    from torch.utils import flop_counter as fc

    from lrbench.runners.neural.loading import LoadedModel

    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    added = op not in fc.flop_registry and op.default not in fc.flop_registry
    if added:
        fc.register_flop_formula(op)(lambda q, k, v, *args, out_shape=None, **kw: fc.sdpa_flop_count(q, k, v))
    counted: list[int] = []
    charging = LoadedModel.charging

    @contextmanager
    def both(self, cost):
        with charging(self, cost), fc.FlopCounterMode(display=False) as counter:
            yield cost
        counted.append(counter.get_total_flops())

    monkeypatch.setattr(LoadedModel, "charging", both)
    yield counted
    if added:
        for key in (op, op.default):
            fc.flop_registry.pop(key, None)


@pytest.fixture(scope="module")
def scifact(tmp_path_factory):
    from lrbench.runners.retrieval.bm25 import BM25Runner

    ds, tmp = module_scifact_slice(tmp_path_factory, "cost", n_queries=8, n_extra=60)

    first = BM25Runner({"k": 20}).run(ds, {}, ctx(tmp))
    return ds, {"bm25": first.frame("run")}, first.profile


def _minilm_rerank(scifact, tmp_path, threads: int = 1, depth: int | None = None):
    from lrbench.runners.retrieval.embedder import EmbedderRunner

    ds, inputs, _ = scifact
    return EmbedderRunner({"model": MINILM, "threads": threads, "batch_size": 8}).run(ds, inputs,
                                                                                     ctx(tmp_path, depth=depth))


def test_minilm_cell_flops_equal_the_flop_counter(scifact, tmp_path, flop_counter):
    out = _minilm_rerank(scifact, tmp_path)
    p = out.profile
    assert len(flop_counter) == 1 and flop_counter[0] > 0
    assert p["flops"] == pytest.approx(flop_counter[0], rel=0.02)
    queries = out.run["query_id"].nunique()
    assert p["flops_per_query"] == pytest.approx(p["flops"] / queries)
    # one forward per batch of 8 texts: each query's documents not encoded for an earlier query (each distinct
    # document is encoded once), then the query itself; queries in the order the rerank loop takes them
    seen, calls = set(), 0
    for _, docs in sorted(out.run.groupby("query_id")["doc_id"]):
        new = set(docs) - seen
        seen |= new
        calls += -(-len(new) // 8) + 1
    assert p["docs_encoded"] == len(seen)
    assert p["model_calls"] == calls
    assert p["calls_per_query"] == pytest.approx(p["model_calls"] / queries)
    assert p["tokens_per_query"] * queries == p["tokens_in"] > 0 and p["tokens_out"] == 0
    # tokens in are the texts' own tokens, as the encoder counts them: batches of 8 pad, padding is not input
    assert p["tokens_in"] == p["tokens"]
    # perturbation: a count 3% off the real work fails the 2% comparison
    assert p["flops"] * 0.97 != pytest.approx(flop_counter[0], rel=0.02)


def test_smollm_pointwise_batch_flops_equal_the_flop_counter(shared, tmp_path, flop_counter):
    from lrbench.runners.cost import Cost
    from lrbench.runners.llm.pointwise import PointwiseRunner

    ds = dl19(shared, queries_limit=1)
    run = bm25_run(ds)
    qid = next(iter(ds.eval_queries()))
    docs = [str(d) for d in run[run["query_id"].astype(str) == qid]["doc_id"][:8]]
    assert len(docs) == 8
    texts = ds.doc_texts(set(docs))
    runner = PointwiseRunner({"model": SMOLLM, "threads": 1, "batch_size": 8})
    loaded = runner.load(ctx(tmp_path))
    runner.prepare(loaded)
    cost = Cost()
    with loaded.charging(cost):
        from lrbench.runners.neural.profile import Stopwatch

        runner.score_pairs(loaded, ds.eval_queries()[qid], [texts[d] for d in docs], Stopwatch())
    assert cost.calls == 1 and cost.flops == pytest.approx(flop_counter[0], rel=0.02)


def test_generation_counts_each_prompt_token_once_and_its_flops_equal_the_flop_counter(tmp_path, flop_counter):
    """Greedy generation in left-padded batches with the KV cache: decoding steps read no new input tokens
    (transformers 5 hands the backbone its cache as `cache`, not `past_key_values`)."""
    from lrbench.runners.cost import Cost
    from lrbench.runners.llm.pointwise import PointwiseRunner
    from lrbench.runners.llm.score_modes import generate

    runner = PointwiseRunner({"model": SMOLLM, "threads": 1, "score_mode": "generate-integer"})
    loaded = runner.load(ctx(tmp_path))
    prompts = [loaded.tokenizer(text)["input_ids"] for text in
               ("Count from one to ten:", "Name three rivers that flow through Europe, then stop:")]
    cost = Cost()
    with loaded.charging(cost):
        out = generate(loaded, prompts, 6, 8, None)
    assert cost.tokens_in == sum(len(p) for p in prompts)  # the prompts once, padding and decoding steps excluded
    assert cost.calls == 6 and all(out)
    assert cost.flops == pytest.approx(flop_counter[0], rel=0.02)


def test_flops_are_identical_across_runs_and_thread_counts(scifact, tmp_path):
    one = _minilm_rerank(scifact, tmp_path / "a", threads=1, depth=6).profile
    again = _minilm_rerank(scifact, tmp_path / "b", threads=1, depth=6).profile
    two = _minilm_rerank(scifact, tmp_path / "c", threads=2, depth=6).profile
    assert one["threads"] == 1 and two["threads"] == 2
    for key in ("flops", "model_calls", "tokens_in", "flops_per_query"):
        assert one[key] == again[key] == two[key], key


def test_count_params_counts_tied_weights_once_through_both_families(tmp_path):
    from lrbench.runners.llm.pointwise import PointwiseRunner
    from lrbench.runners.retrieval.embedder import EmbedderRunner
    from lrbench.runners.tasks.lm_perplexity import PerplexityRunner
    from lrbench.runners.tasks.mteb_classification import MtebClassificationRunner

    for model, runners in ((SMOLLM, (PointwiseRunner, PerplexityRunner)),
                           (MINILM, (EmbedderRunner, MtebClassificationRunner))):
        counts = set()
        for cls in runners:
            loaded = cls({"model": model}).load(ctx(tmp_path))
            expected = sum(p.numel() for p in loaded.model.parameters())
            counts.add(loaded.info()["params"])
            assert loaded.info()["params"] == expected
        assert len(counts) == 1
        if model == SMOLLM:  # tied embeddings: counted twice they would add the vocabulary x hidden matrix again
            every = sum(p.numel() for _, p in loaded.model.named_parameters(remove_duplicate=False))
            assert every > expected


def test_bm25_and_fusion_count_what_they_touch(scifact, tmp_path):
    from lrbench.runners.combine.fusion import FusionRunner

    ds, inputs, bm25_profile = scifact
    assert bm25_profile["postings_scored"] > 0
    assert bm25_profile["postings_scored_per_query"] == bm25_profile["postings_scored"] / bm25_profile["queries"]
    fused = FusionRunner({"method": "rrf"}).run(ds, {"a": inputs["bm25"], "b": inputs["bm25"]}, ctx(tmp_path))
    assert fused.profile["docs_touched"] == 2 * len(inputs["bm25"])


def test_flops_budget_in_expect_passes_and_fails(shared, tmp_path):
    from typer.testing import CliRunner

    from lrbench.cli import app
    from lrbench.errors import LrbenchError
    from lrbench.presentation.gate import check_expectations
    from lrbench.store.resultsdir import ResultsDir
    from lrbench.suites.expect import FlopsBudgetExpectation, parse_expectation

    folder = scifact_slice(shared, tmp_path / "scifact", n_queries=4, n_extra=30)
    suite = tmp_path / "budget.yaml"
    suite.write_text(f"""name: budget
datasets: [{{id: "beir:{folder}", name: scifact}}]
measures: [nDCG@10]
systems:
  - {{name: bm25, type: bm25, params: {{k: 10}}}}
  - {{name: minilm, type: embedder, input: bm25, params: {{model: {MINILM}, threads: 1}}}}
expect:
  - {{system: minilm, max_flops_per_query: 1.0e+15}}
""")
    result = CliRunner().invoke(app, ["gate", str(suite), "--out", str(tmp_path / "out")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    results = ResultsDir(tmp_path / "out")
    measured = results.cell("scifact", "minilm").profile.flops_per_query
    assert measured > 1e9

    def outcome(system, budget):
        return check_expectations(results, [(FlopsBudgetExpectation(system=system, max_flops_per_query=budget),
                                             "s.yaml", 1)])[0]

    assert outcome("minilm", measured).outcome == "OK"  # deterministic: the exact figure passes
    assert outcome("minilm", measured * 0.999).outcome == "FAIL"
    assert outcome("minilm", measured * 2).outcome == "OK"
    missing = outcome("bm25", 1e12)
    assert missing.outcome == "FAIL" and "no flops_per_query" in missing.detail
    with pytest.raises(LrbenchError):
        parse_expectation({"system": "minilm", "max_flops_per_query": 1e12, "tolerance": 0.1}, 0)
    assert parse_expectation({"system": "minilm", "max_flops_per_query": 1e12}, 0).kind == "flops"
    # a failing budget makes the gate fail (cells come from the cache)
    suite.write_text(suite.read_text().replace("1.0e+15", f"{measured / 2:.6e}"))
    result = CliRunner().invoke(app, ["gate", str(suite), "--out", str(tmp_path / "out2")], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "flops_per_query" in result.output, result.output


def test_splade_first_stage_counts_its_flops_and_a_warm_run_reports_the_cold_corpus_cost(tmp_path_factory, tmp_path):
    from lrbench.runners.retrieval.sparse_encoder import SparseEncoderRunner

    ds, _ = module_scifact_slice(tmp_path_factory, "splade-cost", n_queries=4, n_extra=30)
    params = {"model": "rasyosef/splade-tiny", "threads": 1, "batch_size": 16}
    cold = SparseEncoderRunner(params).run(ds, {}, ctx(tmp_path)).profile
    warm = SparseEncoderRunner(params).run(ds, {}, ctx(tmp_path)).profile
    assert cold["corpus_cached"] is False and warm["corpus_cached"] is True
    assert cold["corpus_flops"] > 0 and cold["corpus_model_calls"] > 0 and cold["flops_per_query"] > 0
    for key in ("corpus_flops", "corpus_model_calls", "corpus_tokens_in", "corpus_tokens", "flops", "model_calls"):
        assert warm[key] == cold[key], key
