"""PEFT adapters on any transformer-backed system: `adapter: PATH` (a peft folder: adapter_config.json plus
adapter_model.safetensors), `merge: true|false`.

The base model is loaded as usual (offline resolution), the adapter is attached with peft
(PeftModel.from_pretrained), optionally squeezed (compress: {method: lora-squeeze, target_rank: r}), then merged
into the base weights (merge: true, the default: no adapter overhead at inference) or kept as separate LoRA
branches (merge: false). Other compress methods (svd, asvd, ...) act on the merged model, so they need merge: true.
The profile records the adapter's path, type, rank(s), alpha, target modules, trainable-parameter count and
the LoRA parameters the system carries (adapter_params: after the squeeze, if any).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from lrbench.errors import LrbenchError
from lrbench.runners.neural.loading import LoadedModel, compress_with_block, load_model


def adapter_path(adapter: str, suite_dir: Path) -> Path:
    path = Path(adapter).expanduser()
    if not path.is_absolute():
        path = Path(suite_dir) / path
    if not (path / "adapter_config.json").exists():
        raise LrbenchError(f"adapter '{adapter}' is not a peft adapter folder (no adapter_config.json in {path})",
                           key="params.adapter", hint="save one with peft_model.save_pretrained(FOLDER)")
    return path


def adapter_fingerprint(adapter: str, suite_dir: Path) -> str:
    """Content hash of the adapter's files: part of the cell key."""
    path = adapter_path(adapter, suite_dir)
    h = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file() and p.name.startswith("adapter_")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return "adapter-sha256:" + h.hexdigest()[:16]


@dataclasses.dataclass
class AdapterLoadedModel(LoadedModel):
    adapter: dict | None = None

    def info(self) -> dict:
        return {**super().info(), **(self.adapter or {})}


def lora_params(model) -> int:
    return int(sum(p.numel() for n, p in model.named_parameters() if "lora_" in n))


def load_with_adapter(runner, ctx, calibration=None, **kwargs) -> AdapterLoadedModel:
    """NeuralRunner.load for a system with params.adapter."""
    try:
        from peft import PeftModel
    except ModuleNotFoundError:
        raise LrbenchError("adapters need peft", key="params.adapter",
                           hint="pip install 'lrbench[peft]' (or pip install peft)") from None
    p = runner.params
    compress = ctx.compress  # the typed block (lrbench.compression.config), or None
    squeeze = compress is not None and compress.method == "lora-squeeze"
    if compress is not None and not squeeze and not p.merge:
        raise LrbenchError(f"compress method {compress.method} acts on the merged model", key="params.merge",
                           hint="set merge: true, or compress the adapter itself with method: lora-squeeze")
    path = adapter_path(p.adapter, ctx.suite_dir)
    loaded = load_model(runner.model_kind, runner.model_id(ctx), p, compress=None, cache_dir=ctx.cache_dir, **kwargs)
    config = json.loads((path / "adapter_config.json").read_text())
    model = PeftModel.from_pretrained(loaded.model, str(path), is_trainable=False)
    info = {"adapter": str(p.adapter), "adapter_type": config.get("peft_type"), "adapter_rank": config.get("r"),
            "adapter_alpha": config.get("lora_alpha"), "adapter_target_modules": config.get("target_modules"),
            "adapter_trainable_params": lora_params(model), "adapter_merged": bool(p.merge)}
    report = None
    if squeeze:
        model, report = compress_with_block(model, loaded.tokenizer, compress, calibration, ctx.cache_dir,
                                            ctx.suite_dir)
        info["adapter_rank_after_squeeze"] = min(compress.target_rank, int(config.get("r") or 0)) or None
        info["adapter_params_after_squeeze"] = lora_params(model)
    info["adapter_params"] = lora_params(model)  # what this system carries: after the squeeze, if any
    if p.merge:
        model = model.merge_and_unload()
    if compress is not None and not squeeze:
        model, report = compress_with_block(model, loaded.tokenizer, compress, calibration, ctx.cache_dir,
                                            ctx.suite_dir)
    model.eval()
    fields = {f.name: getattr(loaded, f.name) for f in dataclasses.fields(LoadedModel)}
    # caches keyed by the model's revision (corpus embeddings, token embeddings) must tell adapters apart
    revision = f"{loaded.resolved.revision}+{adapter_fingerprint(p.adapter, ctx.suite_dir)}"
    fields.update(model=model, compression=report, resolved=dataclasses.replace(loaded.resolved, revision=revision))
    return AdapterLoadedModel(**fields, adapter=info)
