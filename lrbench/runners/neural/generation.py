"""Generation backends for the LLM runners: an OpenAI-compatible server, or vLLM / SGLang in-process.

The runners build the same prompt token ids as with transformers (chat template, truncation, identifiers);
only the step that turns a prompt into generated text moves. Params (mixed into the LLM runners' params):

    backend: openai            # transformers (default) | openai | vllm | sglang
    base_url: http://127.0.0.1:8000/v1
    api_key_env: OPENAI_API_KEY  # the variable holding the key (never the key itself)
    endpoint: completions      # completions: the prompt's token ids (exact; vLLM, SGLang, llama.cpp servers)
                               # chat: system + user messages, the server applies its chat template (hosted APIs)
    served_model: NAME         # the model name the server knows (default: params.model)
    concurrency: 8             # requests in flight (how much of a batch runs at once)
    max_retries: 4             # 5xx, 429 and connection errors: exponential backoff
    response_cache: true       # replies kept in the lrbench cache, keyed by model, prompt and decoding params

Decoding is greedy (temperature 0), stopping at the model's end of turn, as the transformers backend. Every
generation is kept for audit: the runners store them as the cell's `generations` frame. Only generating modes
run on these backends (llm-listwise mode generate, llm-pointwise score_mode generate-integer with expectation
false, llm-groupwise mode generate, llm-setwise compare generate / reason); modes that read next-token logits need
backend: transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from lrbench.atomic import write_text
from lrbench.errors import LrbenchError
from lrbench.runners.base import RunnerParams

#: params that change how requests are spread or retried, never the output: left out of cell keys
#: (price changes what the report computes, never the run)
GENERATION_SCHEDULE_PARAMS = frozenset({"concurrency", "max_retries", "request_timeout", "response_cache", "price"})
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class TokenPrice(RunnerParams):
    """Prices per million tokens (any one currency), e.g. price: {input: 0.15, output: 0.60}."""

    input: float = Field(ge=0, description="per million prompt tokens")
    output: float = Field(ge=0, description="per million completion tokens")
    currency: str = "USD"

    def profile(self, cost, queries: int) -> dict:
        total = (cost.tokens_in * self.input + cost.tokens_out * self.output) / 1e6
        return {"price_per_1k_queries": 1000.0 * total / max(1, queries), "price_currency": self.currency,
                "price_input_per_mtok": self.input, "price_output_per_mtok": self.output}


class GenerationParams(RunnerParams):
    backend: Literal["transformers", "openai", "vllm", "sglang"] = "transformers"
    base_url: str | None = Field(None, description="openai: the server's API root, e.g. http://127.0.0.1:8000/v1")
    api_key_env: str | None = Field(None, description="openai: environment variable that holds the API key")
    endpoint: Literal["completions", "chat"] = "completions"
    served_model: str | None = Field(None, description="the model name the server expects (default: model)")
    concurrency: int = Field(8, ge=1, description="requests in flight at once")
    max_retries: int = Field(4, ge=0)
    request_timeout: float = Field(300.0, gt=0)
    response_cache: bool = True
    price: TokenPrice | None = Field(None, description="served backends: what a million tokens cost, giving the "
                                                       "cost per 1,000 queries in the profile")


def check_backend(params, generating: bool, what: str) -> None:
    """Bad combinations, found when params are parsed."""
    if params.backend == "transformers":
        return
    if not generating:
        raise LrbenchError(f"{what} reads next-token logits, which backend: {params.backend} does not give",
                           key="params.backend", hint="use backend: transformers, or a generating mode")
    if params.backend == "openai" and not params.base_url:
        raise LrbenchError("backend: openai needs base_url", key="params.base_url",
                           hint="e.g. base_url: http://127.0.0.1:8000/v1 (a vLLM, SGLang or llama.cpp server)")
    if params.backend != "openai" and params.endpoint == "chat":
        raise LrbenchError(f"endpoint: chat is for backend: openai, not {params.backend}", key="params.endpoint")


# -- the tokenizer-only model the runners see ----------------------------------------------------

@dataclass
class BackendModel:
    """Stands in for LoadedModel when a backend generates: the tokenizer builds prompts, `backend` answers."""

    tokenizer: Any
    resolved: Any
    backend: "GenerationBackend"
    load_seconds: float
    max_length: int = 8192
    model: Any = None
    device: str = "remote"
    dtype: Any = None
    threads: int = 0
    compression: dict | None = None

    @property
    def pad_id(self) -> int:
        from lrbench.runners.neural.loading import pad_token_id

        return pad_token_id(self.tokenizer)

    @contextmanager
    def charging(self, cost):
        """Count the backend's requests and served tokens made inside the block into `cost`."""
        previous, self.backend.cost = self.backend.cost, cost
        try:
            yield cost
        finally:
            self.backend.cost = previous

    def info(self) -> dict:
        return {"model": self.resolved.model_id, "model_revision": self.resolved.revision,
                "model_source": self.resolved.source, "load_seconds": self.load_seconds, "device": self.device,
                **self.backend.describe()}


def load_for_backend(runner, ctx, location: str) -> BackendModel:
    """The tokenizer of the system's model at `location` (resolved offline like any model) and its backend."""
    from transformers import AutoTokenizer

    from lrbench.models import resolve

    p = runner.params
    if ctx.compress:
        raise LrbenchError(f"backend: {p.backend} serves the model as it is: it cannot apply compress:",
                           key="compress", hint="use backend: transformers to compress the model")
    started = time.perf_counter()
    resolved = resolve(location, p.revision)
    revision = None if resolved.local else p.revision
    tokenizer = AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=p.trust_remote_code,
                                              **({"revision": revision} if revision else {}))
    cache = ResponseCache(Path(ctx.cache_dir) / "generations") if p.response_cache else None
    name = p.served_model or p.model
    if p.backend == "openai":
        backend: GenerationBackend = OpenAIBackend(p, name, tokenizer, cache)
    elif p.backend == "vllm":
        backend = VllmBackend(p, name, resolved.path, cache)
    else:
        backend = SglangBackend(p, name, resolved.path, cache)
    runner.generation_backend = backend
    return BackendModel(tokenizer, resolved, backend, time.perf_counter() - started)


def attach_generations(runner, output):
    """Add the backend's generations (frame `generations`) and its counters (profile) to a runner's output."""
    backend = getattr(runner, "generation_backend", None)
    if backend is not None:
        import pandas as pd

        output.frames["generations"] = pd.DataFrame(backend.records, columns=GENERATION_COLUMNS)
        output.profile.update(backend.stats())
    return output


def generated_ids(loaded, prompts: list[list[int]], max_new: int) -> list[list[int]] | None:
    """Continuations as token ids from the model's backend; None when the model generates itself."""
    backend = getattr(loaded, "backend", None)
    if backend is None:
        return None
    tok = loaded.tokenizer
    return [tok(text, add_special_tokens=False)["input_ids"] for text in backend.generate(prompts, max_new)]


def generated_texts(loaded, prompts: list[list[int]], max_new: int) -> list[str] | None:
    """Continuations as text from the model's backend; None when the model generates itself."""
    backend = getattr(loaded, "backend", None)
    return None if backend is None else backend.generate(prompts, max_new)


# -- response cache --------------------------------------------------------------------------------

class ResponseCache:
    """One JSON file per request (model, endpoint, prompt, decoding params), written atomically."""

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def key(request: dict) -> str:
        return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored entry: `text` and the server's `usage` (token counts; absent in older entries)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            return entry if isinstance(entry.get("text"), str) else None
        except (FileNotFoundError, ValueError, AttributeError):
            return None

    def put(self, key: str, request: dict, text: str, usage: dict | None = None) -> None:
        write_text(self._path(key), json.dumps({"request": request, "text": text, "usage": usage or {}},
                                               ensure_ascii=False))


# -- backends --------------------------------------------------------------------------------------

GENERATION_COLUMNS = ["request_key", "prompt", "generation", "cached", "seconds"]


@dataclass
class GenerationBackend:
    """Shared: decoding params, cache look-ups, records for audit and counters."""

    params: Any
    model_name: str
    cache: ResponseCache | None
    records: list = field(default_factory=list)
    counters: dict = field(default_factory=lambda: {"requests": 0, "cache_hits": 0, "retries": 0})
    seconds: float = 0.0
    #: the run's Cost while `BackendModel.charging` holds it: calls (one per prompt) and the served token counts
    cost: Any = None

    kind = ""

    def request(self, prompt: list[int], max_new: int) -> dict:
        """What identifies a generation: the cache key's content."""
        return {"backend": self.kind, "model": self.model_name, "prompt_ids": list(prompt),
                "max_tokens": int(max_new), "temperature": 0.0}

    def generate(self, prompts: list[list[int]], max_new: int) -> list[str]:
        started = time.perf_counter()
        requests = [self.request(p, max_new) for p in prompts]
        keys = [ResponseCache.key(r) for r in requests]
        entries = [self.cache.get(k) if self.cache else None for k in keys]
        texts: list[str | None] = [e["text"] if e else None for e in entries]
        usages = [(e.get("usage") or {}) if e else {} for e in entries]
        todo = [i for i, t in enumerate(texts) if t is None]
        self.counters["cache_hits"] += len(prompts) - len(todo)
        timings = {}
        if todo:
            answers = self._generate([requests[i] for i in todo], [prompts[i] for i in todo])
            for i, (text, seconds, usage) in zip(todo, answers):
                texts[i], timings[i], usages[i] = text, seconds, usage
                if self.cache:
                    self.cache.put(keys[i], requests[i], text, usage)
        if self.cost is not None:  # a cached reply costs what it cost when it was made: the method's cost
            self.cost.add(calls=len(prompts),
                          tokens_in=sum(u.get("prompt_tokens", len(p)) for u, p in zip(usages, prompts)),
                          tokens_out=sum(u.get("completion_tokens", 0) for u in usages))
        for i, key in enumerate(keys):
            self.records.append((key, self.prompt_text(prompts[i]), texts[i], i not in timings, timings.get(i, 0.0)))
        self.seconds += time.perf_counter() - started
        return texts  # type: ignore[return-value]

    def prompt_text(self, prompt: list[int]) -> str:
        return ""

    def _generate(self, requests: list[dict], prompts: list[list[int]]) -> list[tuple[str, float, dict]]:
        """(text, seconds, usage) per request; usage: the OpenAI `usage` fields the backend knows."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"backend": self.kind, "served_model": self.model_name}

    def stats(self) -> dict:
        return {"generation_requests": self.counters["requests"], "generation_cache_hits": self.counters["cache_hits"],
                "generation_retries": self.counters["retries"], "generation_seconds": self.seconds}


class OpenAIBackend(GenerationBackend):
    """Any OpenAI-compatible server: /completions with the prompt's token ids, or /chat/completions."""

    kind = "openai"

    def __init__(self, params, model_name: str, tokenizer, cache):
        super().__init__(params, model_name, cache)
        self.tokenizer = tokenizer
        self.url = params.base_url.rstrip("/") + ("/chat/completions" if params.endpoint == "chat" else "/completions")
        self.key = os.environ.get(params.api_key_env) if params.api_key_env else None
        if params.api_key_env and not self.key:
            raise LrbenchError(f"environment variable {params.api_key_env} is not set", key="params.api_key_env",
                               hint=f"export {params.api_key_env}=... (the API key for {params.base_url})")
        self._lock = threading.Lock()

    def prompt_text(self, prompt: list[int]) -> str:
        return self.tokenizer.decode(prompt, skip_special_tokens=False)

    def request(self, prompt: list[int], max_new: int) -> dict:
        body = {"model": self.model_name, "max_tokens": int(max_new), "temperature": 0.0, "n": 1}
        if self.params.endpoint == "chat":
            body["messages"] = self._messages(prompt)
        else:
            body["prompt"] = list(prompt)
        return {"endpoint": self.params.endpoint, **body}

    def _messages(self, prompt: list[int]) -> list[dict]:
        """The system and user turns that the prompt's chat template rendered (the server renders them again)."""
        from lrbench.runners.neural.loading import chat_wrap

        text = self.prompt_text(prompt)
        system = getattr(self.params, "system", None)
        before, after = chat_wrap(self.tokenizer, system, True)
        if not before or not (text.startswith(before) and text.endswith(after)):
            raise LrbenchError("endpoint: chat needs a prompt under the model's chat template",
                               key="params.endpoint", hint="use endpoint: completions (chat: false, or no template)")
        user = text[len(before): len(text) - len(after)]
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]

    def _generate(self, requests, prompts):
        with ThreadPoolExecutor(max_workers=min(self.params.concurrency, len(requests))) as pool:
            return list(pool.map(self._post, requests))

    def _post(self, request: dict) -> tuple[str, float, dict]:
        body = {k: v for k, v in request.items() if k != "endpoint"}
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        attempt = 0
        while True:
            started = time.perf_counter()
            with self._lock:
                self.counters["requests"] += 1
            try:
                req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.params.request_timeout) as resp:
                    reply = json.loads(resp.read().decode())
                usage = {k: int(v) for k, v in (reply.get("usage") or {}).items()
                         if k in ("prompt_tokens", "completion_tokens") and isinstance(v, int)}
                return self._text(reply), time.perf_counter() - started, usage
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:200]
                if exc.code not in RETRY_STATUS or attempt >= self.params.max_retries:
                    raise LrbenchError(f"{self.url} answered HTTP {exc.code}: {detail}", key="params.base_url",
                                       hint="check the server's log and the served model name") from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt >= self.params.max_retries:
                    raise LrbenchError(f"cannot reach {self.url}: {exc}", key="params.base_url",
                                       hint="start the server, or fix base_url") from None
            attempt += 1
            with self._lock:
                self.counters["retries"] += 1
            time.sleep(min(30.0, 0.25 * 2 ** attempt) * (0.5 + random.random() / 2))

    def _text(self, reply: dict) -> str:
        try:
            choice = reply["choices"][0]
            return choice["message"]["content"] if self.params.endpoint == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise LrbenchError(f"{self.url} sent no completion: {json.dumps(reply)[:200]}",
                               key="params.base_url", hint="is this an OpenAI-compatible API?") from None

    def describe(self) -> dict:
        return {**super().describe(), "base_url": self.params.base_url, "endpoint": self.params.endpoint,
                "concurrency": self.params.concurrency}


class _InProcess(GenerationBackend):
    """vLLM or SGLang in this process: the prompts' token ids in, greedy text out, all prompts in one call."""

    package = ""

    def __init__(self, params, model_name: str, path: str, cache):
        super().__init__(params, model_name, cache)
        self.path = path
        self._engine = None

    def engine(self):
        if self._engine is None:
            try:
                __import__(self.package)
            except ImportError:
                raise LrbenchError(f"backend: {self.kind} needs the {self.package} package",
                                   key="params.backend", hint=f"pip install {self.package} (on a GPU machine), "
                                                              "or use backend: openai with its server") from None
            import torch

            if not torch.cuda.is_available():
                raise LrbenchError(f"backend: {self.kind} runs on a GPU; none is visible", key="params.backend",
                                   hint="use backend: transformers on CPU")
            self._engine = self._start()
        return self._engine

    def _generate(self, requests, prompts):
        started = time.perf_counter()
        engine = self.engine()
        self.counters["requests"] += len(prompts)
        texts = self._run(engine, prompts, requests[0]["max_tokens"])
        per = (time.perf_counter() - started) / max(1, len(prompts))
        return [(t, per, {"prompt_tokens": len(p)}) for t, p in zip(texts, prompts)]


class VllmBackend(_InProcess):
    kind = package = "vllm"

    def _start(self):
        from vllm import LLM

        return LLM(model=self.path, tokenizer=self.path, dtype="auto")

    def _run(self, engine, prompts, max_new):
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        outs = engine.generate([TokensPrompt(prompt_token_ids=p) for p in prompts],
                               SamplingParams(temperature=0.0, max_tokens=max_new), use_tqdm=False)
        return [o.outputs[0].text for o in outs]


class SglangBackend(_InProcess):
    kind = package = "sglang"

    def _start(self):
        import sglang

        return sglang.Engine(model_path=self.path)

    def _run(self, engine, prompts, max_new):
        outs = engine.generate(input_ids=prompts, sampling_params={"temperature": 0.0, "max_new_tokens": max_new})
        return [o["text"] for o in outs]
