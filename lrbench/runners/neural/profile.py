"""Profiling for neural cells: warm per-query latency, throughput, peak memory, model size."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lrbench.runners.cost import Cost


class PeakMemory:
    """Peak resident memory of this process while the block runs (psutil, sampled every `interval` s),
    plus peak CUDA memory allocated by torch when a CUDA device is in use."""

    def __init__(self, device: str = "cpu", interval: float = 0.02):
        self.device = device
        self.interval = interval
        self.peak_rss = 0
        self.start_rss = 0
        self.peak_cuda = None
        self._stop = threading.Event()

    def _sample(self):
        import psutil

        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        import psutil

        self.start_rss = self.peak_rss = psutil.Process().memory_info().rss
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        import psutil

        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, psutil.Process().memory_info().rss)
        if self.device.startswith("cuda"):
            import torch

            self.peak_cuda = torch.cuda.max_memory_allocated()

    def as_dict(self) -> dict:
        out = {"peak_rss_mb": round(self.peak_rss / 2**20, 1), "rss_start_mb": round(self.start_rss / 2**20, 1)}
        if self.peak_cuda is not None:
            out["peak_cuda_mb"] = round(self.peak_cuda / 2**20, 1)
        return out


def latency_stats(seconds: list[float], prefix: str = "latency_ms") -> dict:
    import numpy as np

    if not seconds:
        return {}
    ms = np.asarray(seconds) * 1000.0
    return {f"{prefix}_p50": float(np.percentile(ms, 50)), f"{prefix}_p95": float(np.percentile(ms, 95)),
            f"{prefix}_p99": float(np.percentile(ms, 99)), f"{prefix}_mean": float(ms.mean())}


def single_query_latency(texts: list[str], n: int, search_one) -> dict:
    """Per-query latency from the first `n` texts, each searched alone with `search_one(text)` (encode + search):
    what a query costs when it is not batched with others."""
    n = min(n, len(texts))
    if not n:
        return {}
    watch = Stopwatch()
    for text in texts[:n]:
        with watch.timed():
            search_one(text)
    return {**latency_stats(watch.latencies), "latency_source": f"{n} single queries, timed one at a time"}


def size_on_disk_mb(path: str) -> float | None:
    folder = Path(path)
    if not folder.is_dir():
        return None
    weights = [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".pt", ".gguf",
                                                                             ".onnx")]
    return round(sum(p.stat().st_size for p in weights) / 2**20, 1)


def count_params(model) -> int:
    """Each parameter tensor once (tied weights, an lm_head sharing the input embeddings, count once), plus the
    parameter-equivalent of any sparse layer's stored indices (`index_params()`)."""
    seen: set[int] = set()
    tensors = sum(p.numel() for p in model.parameters() if not (id(p) in seen or seen.add(id(p))))
    indices = sum(m.index_params() for m in model.modules() if hasattr(m, "index_params"))
    return int(round(tensors + indices))


class Stopwatch(Cost):
    """One run's record: per-query wall times and work counters, and (a `Cost`) its FLOPs, calls and tokens."""

    def __init__(self):
        super().__init__()
        self.latencies: list[float] = []
        self.docs = 0
        self.tokens = 0
        self.started = time.perf_counter()

    def timed(self):
        watch = self

        class _Block:
            def __enter__(self):
                self.t0 = time.perf_counter()
                return self

            def __exit__(self, *exc):
                if exc[0] is None:
                    watch.latencies.append(time.perf_counter() - self.t0)

        return _Block()

    def as_dict(self) -> dict:
        busy = sum(self.latencies)
        return {
            "queries": len(self.latencies), "docs_scored": self.docs, "tokens": self.tokens,
            "scoring_seconds": busy,
            "docs_per_second": self.docs / busy if busy else None,
            "tokens_per_second": self.tokens / busy if busy else None,
            **latency_stats(self.latencies),
        }

    def first_stage_dict(self, corpus_docs_per_second: float | None) -> dict:
        """`as_dict` for a first stage, whose timed blocks are query batches: no per-batch latencies or query
        count (the runner reports the search's own), and docs/s is the corpus encoding rate, not documents
        counted during the search (none are)."""
        timed = {k: v for k, v in self.as_dict().items() if not k.startswith("latency_ms") and k != "queries"}
        return {**timed, "docs_per_second": corpus_docs_per_second}
