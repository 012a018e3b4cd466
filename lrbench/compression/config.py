"""The `compress:` block as typed models (no torch here, so `lrbench validate` stays fast).

`parse_compress(block)` gives a `LowRankConfig` (svd, asvd, whiten, afm), a `SparseLowRankConfig` or a
`LoraSqueezeConfig`, defaults
filled in, its combinations checked; its `model_dump(mode="json")` is what a cell key hashes, so a default written out or left out is
the same cell. Numbers are strict: `ratio: true` or `ratio: "0.5"` are errors, not 1.0 and 0.5.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lrbench.errors import LrbenchError

METHODS = ("svd", "asvd", "whiten", "afm")
NEEDS_CALIBRATION = ("asvd", "whiten", "afm")
ALLOCATIONS = ("uniform", "heavy-tail")


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CalibrationSpec(_Block):
    dataset: str = Field(description="any lrbench dataset id; ranking datasets give documents")
    samples: int = Field(256, ge=1)
    offset: int = Field(0, ge=0, description="skip this many texts first")
    max_length: int = Field(256, ge=1, description="tokens per calibration text")
    batch_size: int = Field(8, ge=1)
    split: str | None = None


class HealSpec(_Block):
    steps: int = Field(200, ge=1)
    lr: float = Field(1e-4, gt=0, strict=False)  # YAML reads 1e-4 (no dot) as text: accept it as a number
    batch_size: int = Field(8, ge=1)


def _nonempty_targets(cls, value):
    if not value:
        raise ValueError("targets must be a non-empty list of module-name globs, or left out")
    return value


class LowRankConfig(_Block):
    method: Literal["svd", "asvd", "whiten", "afm"] = "svd"
    ratio: float | None = Field(None, gt=0, le=1, description="fraction of each target layer's parameters kept")
    energy: float | None = Field(None, gt=0, le=1, description="fraction of each layer's spectral energy kept")
    allocation: Literal["uniform", "heavy-tail"] = "uniform"
    targets: list[str] = Field(default_factory=list, description="module-name globs; default: every Linear "
                                                                 "but output heads")
    exclude: list[str] = Field(default_factory=list)
    calibration: CalibrationSpec | None = None
    heal: HealSpec | None = None
    rank_multiple: int = Field(8, ge=1)
    alpha: float = Field(0.5, description="ASVD's activation-scaling exponent")

    _targets_given = field_validator("targets")(_nonempty_targets)

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class LoraSqueezeConfig(_Block):
    """LoRA-Squeeze (lrbench.compression.lora_squeeze): compress a loaded LoRA adapter to a lower rank."""

    method: Literal["lora-squeeze"]
    target_rank: int = Field(ge=1)
    oversample: int = Field(8, ge=0)
    niter: int = Field(4, ge=0)
    seed: int = 0

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SparseLowRankConfig(_Block):
    """Sparse plus low-rank (lrbench.compression.sparse_lowrank): W ~ U V + S at a fixed rank and density of S."""

    method: Literal["sparse-lowrank"]
    rank: int = Field(ge=1, description="rank of U V in every target layer (capped at the layer's full rank)")
    sparsity: float = Field(ge=0, lt=1, strict=False,
                            description="fraction of each layer's entries kept in S (SLTrain's delta); 0: no S")
    support: Literal["magnitude", "random"] = "magnitude"
    seed: int = Field(0, description="seed of the random support")
    iterations: int = Field(2, ge=0, description="alternations low-rank <-> sparse after the first fit")
    factor: Literal["svd", "whiten"] = Field("svd", description="how U V is fitted to W - S")
    targets: list[str] = Field(default_factory=list, description="module-name globs; default: every Linear "
                                                                 "but output heads")
    exclude: list[str] = Field(default_factory=list)
    calibration: CalibrationSpec | None = None

    _targets_given = field_validator("targets")(_nonempty_targets)

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


CompressConfig = Union[LowRankConfig, SparseLowRankConfig, LoraSqueezeConfig]

_HINTS = {
    "ratio": "a number in (0, 1]: 1.0 keeps every layer dense; 0.5 keeps half of each target layer's parameters",
    "energy": "a number in (0, 1], e.g. energy: 0.95",
    "method": f"use one of {', '.join(METHODS)}, sparse-lowrank or lora-squeeze",
    "rank": "a positive integer; sweep with sweep: {compress.rank: [32, 64]}",
    "sparsity": "a number in [0, 1): the fraction of each layer's entries kept in the sparse part, e.g. 0.02",
    "support": "use magnitude (largest entries of W - UV) or random (fixed, seeded)",
    "factor": "use svd or whiten (whiten needs calibration)",
    "allocation": f"use {' or '.join(ALLOCATIONS)}",
    "targets": 'e.g. targets: ["*attention*", "*mlp*"]',
    "calibration": "e.g. calibration: {dataset: irds:beir/scifact/test, samples: 256}",
    "heal": "e.g. heal: {steps: 200, lr: 1e-4}",
    "target_rank": "a positive integer; sweep ranks with sweep: {compress.target_rank: [1, 2, 4]}",
}


#: what a number field must be, in the words of the error message
_RULES = {"ratio": "a number in (0, 1]", "energy": "a number in (0, 1]", "target_rank": "a positive integer",
          "rank_multiple": "a positive integer", "samples": "a positive integer", "steps": "a positive integer",
          "batch_size": "a positive integer", "max_length": "a positive integer", "rank": "a positive integer",
          "sparsity": "a number in [0, 1)", "iterations": "a non-negative integer"}


def _model_for(block: dict) -> type[_Block]:
    return {"lora-squeeze": LoraSqueezeConfig, "sparse-lowrank": SparseLowRankConfig}.get(block.get("method"),
                                                                                        LowRankConfig)


def compress_errors(block: Any) -> list[LrbenchError]:
    """Every problem with one sweep point's `compress:` block, each keyed compress.<field>."""
    return check_compress(block)[1]


def check_compress(block: Any) -> tuple[CompressConfig | None, list[LrbenchError]]:
    """One sweep point's block parsed once: (its typed config, or None when it has problems; every problem)."""
    if not isinstance(block, dict):
        return None, [LrbenchError("compress must be a mapping", key="compress",
                                   hint="e.g. compress: {method: svd, ratio: 0.6}")]
    model = _model_for(block)
    try:
        cfg = model(**block)
    except ValidationError as exc:
        return None, [_error(err, model) for err in exc.errors()]
    problems = [LrbenchError(message, key=f"compress.{field}", hint=_HINTS.get(field))
                for field, message in _inconsistencies(cfg)]
    return (None if problems else cfg), problems


def _inconsistencies(cfg: _Block) -> list[tuple[str, str]]:
    """(field, message) for combinations the fields' own types cannot rule out."""
    if isinstance(cfg, SparseLowRankConfig):
        needs = cfg.factor == "whiten" and cfg.calibration is None
        return [("calibration", "factor whiten needs calibration data")] if needs else []
    if not isinstance(cfg, LowRankConfig):
        return []
    out = []
    if cfg.ratio is None and cfg.energy is None:
        out.append(("ratio", "give ratio (fraction of each layer's parameters kept) or energy"))
    if cfg.ratio is not None and cfg.energy is not None:
        out.append(("energy", "ratio and energy are alternatives: keep one of them"))
    if cfg.allocation == "heavy-tail" and cfg.ratio is None:
        out.append(("allocation", "allocation: heavy-tail spreads a global parameter budget: add ratio"))
    if cfg.method in NEEDS_CALIBRATION and cfg.calibration is None:
        out.append(("calibration", f"method {cfg.method} needs calibration data"))
    if cfg.heal is not None and cfg.calibration is None:
        out.append(("heal", "heal distils on the calibration texts: add calibration: {dataset: ..., samples: N}"))
    return out


def _error(err: dict, model: type[_Block]) -> LrbenchError:
    loc = [str(p) for p in err["loc"]]
    field = loc[0] if loc else ""
    key = "compress" + "".join(f".{p}" for p in loc)
    if err["type"] == "extra_forbidden":
        sub = {"calibration": CalibrationSpec, "heal": HealSpec}.get(field) if len(loc) > 1 else None
        allowed = list((sub or model).model_fields)
        near = difflib.get_close_matches(loc[-1], allowed, n=1)
        extra = f" for method {block_method(model)}" if model is not LowRankConfig else ""
        return LrbenchError(f"unknown key '{loc[-1]}'{extra}" + (f" (did you mean '{near[0]}'?)" if near else ""),
                            key=key, hint=f"allowed: {', '.join(allowed)}")
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return LrbenchError(f"{loc[-1]} is required", key=key, hint=_HINTS.get(field))
    if loc[-1] in _RULES and err["type"] != "value_error":
        return LrbenchError(f"{loc[-1]} must be {_RULES[loc[-1]]}, got {err.get('input')!r}", key=key,
                            hint=_HINTS.get(field))
    if field and err["type"] not in ("value_error",):
        message = f"{message[:1].lower()}{message[1:]}, got {err.get('input')!r}"
    return LrbenchError(message, key=key, hint=_HINTS.get(field))


def block_method(model: type[_Block]) -> str:
    return {LoraSqueezeConfig: "lora-squeeze", SparseLowRankConfig: "sparse-lowrank"}.get(model, "svd")


def parse_compress(block: dict[str, Any] | CompressConfig) -> CompressConfig:
    """One sweep point's block -> its typed config (defaults filled), or the first problem as an LrbenchError.
    An already typed config (what a runner's context carries) is returned as it is."""
    if isinstance(block, (LowRankConfig, LoraSqueezeConfig, SparseLowRankConfig)):
        return block
    cfg, problems = check_compress(block)
    if problems:
        raise problems[0]
    return cfg


def canonical_compress(block: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a cell key hashes for a compress block: the typed config with every default written out."""
    return None if block is None else parse_compress(block).model_dump(mode="json")


parse_config = parse_compress  # the name the compression code calls it by
