"""The OpenAI-compatible generation backend against a local server that serves SmolLM2 (transformers greedy
generation behind /v1/completions and /v1/chat/completions, stdlib http.server on 127.0.0.1): the same
listwise permutations as the transformers backend on DL19 queries, retries after a 500, and the response cache."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from neural_helpers import SMOLLM, bm25_run, ctx, dl19  # noqa: E402

from lrbench.errors import LrbenchError  # noqa: E402

LISTWISE = {"model": SMOLLM, "window": 3, "stride": 2, "doc_max_tokens": 16, "max_new_tokens": 12, "threads": 1}


class SmolServer:
    """A minimal OpenAI-compatible server: greedy SmolLM2 continuations, one at a time; `fail_next` 500s first."""

    def __init__(self):
        from lrbench.runners.neural.loading import load_model

        self.loaded = load_model("causal-lm", SMOLLM, {"threads": 1})
        self.requests = 0
        self.fail_next = 0
        self.served_usage: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    failing = server.fail_next > 0
                    server.fail_next -= failing
                    if failing:
                        self._send(500, {"error": {"message": "busy"}})
                        return
                    text, usage = server.complete(body, chat=self.path.endswith("/chat/completions"))
                choice = {"message": {"role": "assistant", "content": text}} if self.path.endswith(
                    "/chat/completions") else {"text": text}
                self._send(200, {"object": "text_completion", "model": body["model"], "choices": [choice],
                                 "usage": usage})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def complete(self, body: dict, chat: bool) -> str:
        import torch

        tok, model = self.loaded.tokenizer, self.loaded.model
        if chat:
            text = tok.apply_chat_template(body["messages"], tokenize=False, add_generation_prompt=True)
            ids = tok(text, add_special_tokens=False)["input_ids"]
        else:
            prompt = body["prompt"]
            ids = prompt if isinstance(prompt, list) else tok(prompt, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 max_new_tokens=body["max_tokens"], do_sample=False, num_beams=1,
                                 pad_token_id=self.loaded.pad_id, temperature=None, top_p=None, top_k=None)
        new = out[0, len(ids):]
        self.usage = {"prompt_tokens": len(ids), "completion_tokens": int(new.numel())}
        self.served_usage.append(self.usage)
        return tok.decode(new, skip_special_tokens=True), {**self.usage, "total_tokens": len(ids) + int(new.numel())}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def smol_server():
    from lrbench.models import resolve

    try:
        resolve(SMOLLM)
    except Exception as exc:
        pytest.skip(f"SmolLM2 not available offline: {exc}")
    server = SmolServer()
    yield server
    server.close()


def rerank(params, shared, tmp_path, queries=2):
    from lrbench.runners.llm.listwise import ListwiseRunner

    ds = dl19(shared, queries_limit=queries)
    return ListwiseRunner(params).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=4))


def orders(output):
    run = output.frame("run")
    return {q: list(g["doc_id"]) for q, g in run.groupby("query_id")}


def test_served_permutations_equal_the_transformers_backend(smol_server, shared, tmp_path):
    local = rerank(LISTWISE, shared, tmp_path / "local")
    served = {"backend": "openai", "base_url": smol_server.base_url, "concurrency": 4}
    before = smol_server.requests
    by_ids = rerank({**LISTWISE, **served}, shared, tmp_path / "ids")
    made = smol_server.requests - before
    by_chat = rerank({**LISTWISE, **served, "endpoint": "chat"}, shared, tmp_path / "chat")
    assert orders(by_ids) == orders(local) == orders(by_chat)
    # the reranking did change the BM25 order, so equality is not the trivial one
    bm25 = bm25_run(dl19(shared, queries_limit=2))
    top = {q: list(g.sort_values("score", ascending=False)["doc_id"][:4]) for q, g in bm25.groupby("query_id")}
    assert orders(local) != top
    windows = local.profile["windows"]
    assert by_ids.profile["windows"] == windows and by_ids.profile["windows_ok"] == local.profile["windows_ok"]
    # every window plus the warm-up's; a window whose prompt came up before is answered from the cache
    assert by_ids.profile["generation_requests"] == made
    assert made + by_ids.profile["generation_cache_hits"] == windows + 1
    gens = by_ids.frames["generations"]
    # one row per window (the warm-up's request is left out), its query and repair beside the request
    assert len(gens) == windows and (gens["generation"].str.len() > 0).all()
    assert gens["query_id"].notna().all() and int(gens["repaired"].sum()) == by_ids.profile["windows_with_repairs"]
    assert (~gens["cached"]).sum() <= made
    assert gens["prompt"].str.contains("Search query:").all()


def test_cache_answers_a_second_run_and_retries_after_a_500(smol_server, shared, tmp_path):
    params = {**LISTWISE, "backend": "openai", "base_url": smol_server.base_url, "max_retries": 2}
    smol_server.fail_next = 1
    before = smol_server.requests
    first = rerank(params, shared, tmp_path, queries=1)
    assert first.profile["generation_retries"] == 1
    assert smol_server.requests - before == first.profile["generation_requests"]
    again = smol_server.requests
    second = rerank(params, shared, tmp_path, queries=1)  # same cache folder
    assert smol_server.requests == again  # 0 requests: every reply came from the cache
    assert second.profile["generation_requests"] == 0 and second.frames["generations"]["cached"].all()
    assert orders(second) == orders(first)
    smol_server.fail_next = 5  # more failures than retries: one clear error
    with pytest.raises(LrbenchError) as err:
        rerank({**params, "response_cache": False}, shared, tmp_path / "nocache", queries=1)
    assert "HTTP 500" in str(err.value)
    smol_server.fail_next = 0


def test_generations_are_stored_next_to_the_run(smol_server, shared, tmp_path):
    from lrbench.executors.core import Engine
    from lrbench.presentation.leaderboard import load
    from lrbench.store.store import LocalStore
    from lrbench.plan import load_suite

    base = shared / "trec-dl-2019-passage"
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""name: served-listwise
datasets:
  - id: candidates:{base}/rank_llm_candidates/BM25.top100.dl19.json
    qrels: {base}/qrels.dl19-passage.txt
    queries_limit: 1
systems:
  - {{name: bm25, type: given}}
  - name: served
    type: llm-listwise
    input: bm25
    depth: 3
    params: {{model: {SMOLLM}, window: 3, stride: 2, doc_max_tokens: 16, max_new_tokens: 12, backend: openai,
              base_url: "{smol_server.base_url}"}}
""")
    result = Engine(load_suite(suite), tmp_path / "out").run()
    assert not result.failed, [c.error for c in result.failed]
    _, info = load(tmp_path / "out")
    cell = next(c for c in info["cells"] if c["system"] == "served")
    gens = LocalStore(tmp_path / "out").read_frame(cell["key"], "generations")
    # every window is a row; the warm-up's request is not one
    profile = cell["profile"]
    assert len(gens) == profile["windows"] == profile["generation_requests"] + profile["generation_cache_hits"] - 1 >= 1
    assert profile["backend"] == "openai"


def test_served_integer_grades_equal_the_transformers_backend(smol_server, shared, tmp_path):
    from lrbench.runners.llm.pointwise import PointwiseRunner

    ds = dl19(shared, queries_limit=1)
    params = {"model": SMOLLM, "score_mode": "generate-integer", "expectation": False, "doc_max_tokens": 24,
              "batch_size": 1, "threads": 1}  # one sequence per call, as the server generates
    local = PointwiseRunner(params).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path / "local", depth=3))
    served = PointwiseRunner({**params, "backend": "openai", "base_url": smol_server.base_url}).run(
        ds, {"bm25": bm25_run(ds)}, ctx(tmp_path / "served", depth=3))
    assert list(served.frame("run")["score"]) == list(local.frame("run")["score"])
    assert served.profile["unparsed_answers"] == local.profile["unparsed_answers"]
    assert len(served.frames["generations"]) == 3 + 2  # the warm-up scores two passages


def test_backend_params_are_checked_when_parsed():
    from lrbench.runners.llm.listwise import ListwiseRunner
    from lrbench.runners.llm.pointwise import PointwiseRunner

    with pytest.raises(LrbenchError, match="needs base_url"):
        ListwiseRunner({"model": SMOLLM, "backend": "openai"})
    with pytest.raises(LrbenchError, match="next-token logits"):
        ListwiseRunner({"model": SMOLLM, "backend": "openai", "base_url": "http://x", "mode": "first"})
    with pytest.raises(LrbenchError, match="next-token logits"):
        PointwiseRunner({"model": SMOLLM, "backend": "vllm"})
    PointwiseRunner({"model": SMOLLM, "backend": "vllm", "score_mode": "generate-integer", "expectation": False})


def test_served_tokens_come_from_usage_and_price_gives_cost_per_1k_queries(smol_server, shared, tmp_path):
    price = {"input": 0.5, "output": 2.0}
    params = {**LISTWISE, "backend": "openai", "base_url": smol_server.base_url, "price": price}
    from lrbench.runners.llm.listwise import ListwiseRunner

    ds = dl19(shared, queries_limit=2)

    def rerank3():  # depth 3 = one window per query, never the warm-up's prompt (2 documents)
        return ListwiseRunner(params).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=3))

    smol_server.served_usage.clear()
    first = rerank3()
    p = first.profile
    assert p["generation_requests"] == len(smol_server.served_usage)  # no cache hits yet
    served = smol_server.served_usage[1:]  # the first request is the warm-up, which no cost counts
    assert p["model_calls"] == len(served) == p["windows"]
    assert p["tokens_in"] == sum(u["prompt_tokens"] for u in served) > 0
    assert p["tokens_out"] == sum(u["completion_tokens"] for u in served) > 0
    expected = 1000 * (p["tokens_in"] * 0.5 + p["tokens_out"] * 2.0) / 1e6 / 2
    assert p["price_per_1k_queries"] == pytest.approx(expected)
    # the cached run costs what the method costs: the same tokens, read from the cache with each reply
    second = rerank3()
    assert second.profile["generation_requests"] == 0
    assert (second.profile["tokens_in"], second.profile["tokens_out"]) == (p["tokens_in"], p["tokens_out"])
    # price is not part of the cell key: changing it never recomputes a cell
    assert "price" in ListwiseRunner.schedule_params
