"""Model loading with offline resolution, the compression hook, and the embedder `encode` path."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrbench.errors import LrbenchError
from lrbench.models.registry import ResolvedModel, import_hint, resolve
from lrbench.runners.neural.batching import finished, length_batches, pad_batch
from lrbench.runners.neural.device import dtype_name, select_device, select_dtype, set_threads
from lrbench.runners.neural.profile import count_params, size_on_disk_mb

KINDS = ("embedder", "cross-encoder", "causal-lm", "masked-lm")


@dataclass
class Pooling:
    mode: str = "mean"        # mean | cls | max | lasttoken
    normalize: bool = False
    max_length: int | None = None
    source: str = "default"


def read_st_config(folder: str) -> Pooling:
    """Pooling, normalisation and max length from a sentence-transformers folder, when present."""
    root = Path(folder)
    modules = root / "modules.json"
    if not modules.exists():
        return Pooling()
    pooling = Pooling(source="sentence-transformers config")
    for module in json.loads(modules.read_text()):
        kind = module.get("type", "")
        if kind.endswith("Pooling"):
            cfg_path = root / module.get("path", "") / "config.json"
            cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
            if cfg.get("pooling_mode_cls_token"):
                pooling.mode = "cls"
            elif cfg.get("pooling_mode_max_tokens"):
                pooling.mode = "max"
            elif cfg.get("pooling_mode_lasttoken"):
                pooling.mode = "lasttoken"
            else:
                pooling.mode = "mean"
        elif kind.endswith("Normalize"):
            pooling.normalize = True
    sbert = root / "sentence_bert_config.json"
    if sbert.exists():
        pooling.max_length = json.loads(sbert.read_text()).get("max_seq_length")
    return pooling


@dataclass
class LoadedModel:
    """A model ready to run: what `load_model` returns."""

    kind: str
    model: Any
    tokenizer: Any
    resolved: ResolvedModel
    device: str
    dtype: Any
    threads: int
    load_seconds: float
    max_length: int
    pooling: Pooling = field(default_factory=Pooling)
    compression: dict | None = None
    compression_seconds: float = 0.0

    def charging(self, cost):
        """Count the forward passes run inside the block (FLOPs, calls, input tokens) into `cost`
        (lrbench.runners.cost.Cost); see lrbench.runners.neural.flops."""
        from lrbench.runners.neural.flops import meter_for

        return meter_for(self).charging(cost)

    # -- the embedder path ---------------------------------------------------------------
    def tokenize(self, texts: list[str], max_length: int | None = None, **kwargs) -> dict[str, list]:
        return self.tokenizer(list(texts), truncation=True, max_length=max_length or self.max_length,
                              padding=False, **kwargs)

    def encode(self, texts: list[str], batch_size: int = 32, prefix: str = "", sort: bool = True,
               max_length: int | None = None, stats: dict | None = None):
        """Embed `texts` (numpy float32, one row per text, input order) with the model's pooling and
        normalisation; batches are bucketed by token length unless sort=False. `stats`, when given, gets
        `tokens` (non-padding tokens seen) added."""
        return finished(self.encode_steps(texts, batch_size, prefix, sort, max_length, stats))

    def encode_steps(self, texts: list[str], batch_size: int = 32, prefix: str = "", sort: bool = True,
                     max_length: int | None = None, stats: dict | None = None):
        """`encode` one batch at a time: yields the number of texts each batch embedded (for progress within
        a long call) and returns the embeddings."""
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        enc = self.tokenize([prefix + t for t in texts], max_length)
        ids = enc["input_ids"]
        extra_keys = [k for k in ("token_type_ids",) if k in enc and k in self.tokenizer.model_input_names]
        rows = [None] * len(ids)
        for batch in length_batches([len(x) for x in ids], batch_size, sort):
            with torch.inference_mode():  # not held across the yield: the caller's code runs in between
                tensors = pad_batch([ids[i] for i in batch], self.pad_id, "right",
                                    {k: [enc[k][i] for i in batch] for k in extra_keys})
                tensors = {k: v.to(self.device) for k, v in tensors.items()}
                hidden = self.model(**tensors).last_hidden_state
                emb = pool(hidden, tensors["attention_mask"], self.pooling.mode)
                if self.pooling.normalize:
                    emb = torch.nn.functional.normalize(emb, p=2, dim=-1)
                emb = emb.float().cpu().numpy()
                tokens = int(tensors["attention_mask"].sum())
            for row, i in enumerate(batch):
                rows[i] = emb[row]
            if stats is not None:
                stats["tokens"] = stats.get("tokens", 0) + tokens
            yield len(batch)
        return np.stack(rows)

    @property
    def pad_id(self) -> int:
        return pad_token_id(self.tokenizer)

    def info(self) -> dict:
        """Profile fields describing the model (and its compression, when compressed)."""
        info = {
            "model": self.resolved.model_id, "model_revision": self.resolved.revision,
            "model_source": self.resolved.source, "load_seconds": self.load_seconds,
            "params": count_params(self.model), "size_on_disk_mb": size_on_disk_mb(self.resolved.path),
            "dtype": dtype_name(self.dtype), "device": self.device, "threads": self.threads,
            "max_length": self.max_length,
        }
        if self.compression is not None:
            info.update(compression=self.compression, compression_seconds=self.compression_seconds)
        return info


def pool(hidden, mask, mode: str):
    import torch

    if mode == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).max(dim=1).values
    if mode == "lasttoken":  # right padding: the last real token of each row
        last = mask.sum(dim=1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


def _param(params, name, default=None):
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


def compress_with_block(model, tokenizer, compress, calibration, cache_dir, base_dir: Path | None = None):
    """Compress `model` per an explicit, typed `compress:` block -> (model, report); one clear error when this
    build has no lrbench.compression. A calibration dataset in the block is read relative to `base_dir` (the
    suite's folder)."""
    try:
        from lrbench.compression import compress_model
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("lrbench.compression"):
            raise LrbenchError("compression not available", key="compress",
                               hint="this lrbench build has no lrbench.compression; remove compress:") from None
        raise
    return compress_model(model, compress, tokenizer=tokenizer, calibration=calibration, cache_dir=cache_dir,
                          base_dir=base_dir)


def _refuse_random_head(model_id: str, info: dict, allowed: bool) -> None:
    """A checkpoint without a classification head gets a freshly initialised one: its scores are noise."""
    missing = [k for k in info.get("missing_keys", []) if k.split(".")[0] in ("classifier", "score", "pre_classifier")
               or ".classifier." in k or k.startswith(("classifier", "score"))]
    if missing and not allowed:
        raise LrbenchError(f"model '{model_id}' has no classification head ({missing[0]} is not in the checkpoint): "
                           "it would score with random weights", key="params.model",
                           hint="use a trained cross-encoder checkpoint, or set allow_random_head: true "
                                "to test mechanics only")


def load_model(kind: str, model_id: str, params=None, *, compress=None,
               calibration: list[str] | None = None, cache_dir: Path | None = None,
               attn_implementation: str | None = None, base_dir: Path | None = None) -> LoadedModel:
    """Resolve `model_id` offline, load it as `kind` on the chosen device/dtype, and compress it when asked.

    params (dict or a NeuralParams): revision, device, dtype, threads, max_length, trust_remote_code,
    pooling/normalize (embedders), num_labels (cross-encoders).
    """
    import torch
    import transformers

    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; one of {KINDS}")
    params = params or {}
    resolved = resolve(model_id, _param(params, "revision"))
    device = select_device(_param(params, "device", "auto"))
    dtype = select_dtype(_param(params, "dtype", "float32"), device)
    threads = set_threads(_param(params, "threads"))
    trust = bool(_param(params, "trust_remote_code", False))
    revision = None if resolved.local else _param(params, "revision")
    started = time.perf_counter()
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": trust}
    if revision:
        kwargs["revision"] = revision
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(resolved.path, trust_remote_code=trust,
                                                               **({"revision": revision} if revision else {}))
        if kind == "embedder":
            model = transformers.AutoModel.from_pretrained(resolved.path, **kwargs)
        elif kind == "cross-encoder":
            num_labels = _param(params, "num_labels")
            if num_labels:
                kwargs["num_labels"] = num_labels
            model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
                resolved.path, output_loading_info=True, **kwargs)
            _refuse_random_head(model_id, info, bool(_param(params, "allow_random_head", False)))
        elif kind == "masked-lm":
            model = transformers.AutoModelForMaskedLM.from_pretrained(resolved.path, **kwargs)
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(resolved.path, **kwargs)
    except OSError as exc:
        if resolved.local:
            raise LrbenchError(f"cannot load model '{model_id}' from {resolved.path}: {exc}".splitlines()[0],
                               key="params.model", hint=import_hint(model_id)) from None
        raise LrbenchError(f"model '{model_id}' could not be loaded (Hub unreachable or unknown id)",
                           key="params.model", hint=import_hint(model_id)) from None
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise LrbenchError(f"model '{model_id}' needs custom code", key="params.trust_remote_code",
                               hint="set trust_remote_code: true in the suite if you trust this model") from None
        raise
    model.eval()
    model.to(device)
    pooling = read_st_config(resolved.path) if kind == "embedder" else Pooling()
    if kind == "embedder":
        mode = _param(params, "pooling", "auto")
        if mode and mode != "auto":
            pooling.mode = mode
        normalize = _param(params, "normalize")
        if normalize is not None:
            pooling.normalize = bool(normalize)
    max_length = _param(params, "max_length") or pooling.max_length or min(
        int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    loaded = LoadedModel(kind, model, tokenizer, resolved, device, dtype, threads, 0.0, int(max_length), pooling)
    if compress:
        compress_started = time.perf_counter()
        model, report = compress_with_block(model, tokenizer, compress, calibration, cache_dir, base_dir)
        loaded.model = model
        loaded.compression = report
        loaded.compression_seconds = time.perf_counter() - compress_started
    loaded.load_seconds = time.perf_counter() - started
    return loaded


def chat_wrap(tokenizer, system: str | None = None, use_chat: bool = True) -> tuple[str, str]:
    """The text before and after a user message under the tokenizer's chat template (with the
    assistant turn opened), or ("", "") when there is no template or use_chat is False."""
    if not use_chat or not getattr(tokenizer, "chat_template", None):
        return "", ""
    marker = "\x00LRBENCH_CONTENT\x00"
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": marker}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    before, _, after = rendered.partition(marker)
    return before, after


def pad_token_id(tokenizer) -> int:
    """The id to pad with: the tokenizer's pad token, else its end-of-sequence token (decoder-only models)."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
