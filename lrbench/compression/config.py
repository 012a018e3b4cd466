"""The `compress:` block: parsing and validation (no torch here, so `lrbench validate` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrbench.errors import LrbenchError

METHODS = ("svd", "asvd", "whiten", "afm")
NEEDS_CALIBRATION = ("asvd", "whiten", "afm")
ALLOCATIONS = ("uniform", "heavy-tail")
KEYS = ("method", "ratio", "energy", "allocation", "targets", "calibration", "heal", "rank_multiple", "alpha",
        "exclude")
CALIBRATION_KEYS = ("dataset", "samples", "offset", "max_length", "batch_size", "split")
HEAL_KEYS = ("steps", "lr", "batch_size")


@dataclass
class CompressConfig:
    method: str
    ratio: float | None = None
    energy: float | None = None
    allocation: str = "uniform"
    targets: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    calibration: dict[str, Any] | None = None
    heal: dict[str, Any] | None = None
    rank_multiple: int = 8
    alpha: float = 0.5  # ASVD's activation-scaling exponent

    def canonical(self) -> dict[str, Any]:
        return {"method": self.method, "ratio": self.ratio, "energy": self.energy, "allocation": self.allocation,
                "targets": self.targets, "exclude": self.exclude, "calibration": self.calibration,
                "heal": self.heal, "rank_multiple": self.rank_multiple, "alpha": self.alpha}


def _err(message: str, key: str, hint: str | None = None) -> LrbenchError:
    return LrbenchError(message, key=f"compress.{key}" if key else "compress", hint=hint)


def config_problems(block: Any, *, sweep_ok: bool = True) -> list[LrbenchError]:
    """Every problem with a `compress:` block (a ratio list is a sweep when sweep_ok)."""
    if isinstance(block, dict) and block.get("method") == "lora-squeeze":  # compresses an adapter, own keys
        from lrbench.compression.lora_squeeze import lora_squeeze_problems

        return lora_squeeze_problems(block, sweep_ok=sweep_ok)
    if not isinstance(block, dict):
        return [_err("compress must be a mapping", "", "e.g. compress: {method: svd, ratio: 0.6}")]
    problems = []
    for key in block:
        if key not in KEYS:
            import difflib

            near = difflib.get_close_matches(str(key), KEYS, n=1)
            problems.append(_err(f"unknown key '{key}'", str(key),
                                 (f"did you mean '{near[0]}'? " if near else "") + f"allowed: {', '.join(KEYS)}"))
    method = block.get("method", "svd")
    if method not in METHODS:
        problems.append(_err(f"unknown method '{method}'", "method", f"use one of {', '.join(METHODS)}"))
    ratio, energy = block.get("ratio"), block.get("energy")
    if ratio is None and energy is None:
        problems.append(_err("give ratio (fraction of each layer's parameters kept) or energy",
                             "ratio", "e.g. ratio: 0.6, or energy: 0.95"))
    if ratio is not None and energy is not None:
        problems.append(_err("ratio and energy are alternatives", "energy", "keep one of them"))
    ratios = ratio if isinstance(ratio, list) and sweep_ok else [ratio] if ratio is not None else []
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r <= 1:
            problems.append(_err(f"ratio must be a number in (0, 1], got {r!r}", "ratio",
                                 "1.0 keeps every layer dense; 0.5 keeps half of each target layer's parameters"))
    if energy is not None and (isinstance(energy, bool) or not isinstance(energy, (int, float))
                               or not 0 < energy <= 1):
        problems.append(_err(f"energy must be a number in (0, 1], got {energy!r}", "energy", "e.g. energy: 0.95"))
    allocation = block.get("allocation", "uniform")
    if allocation not in ALLOCATIONS:
        problems.append(_err(f"unknown allocation '{allocation}'", "allocation", f"use {' or '.join(ALLOCATIONS)}"))
    elif allocation == "heavy-tail" and ratio is None:
        problems.append(_err("allocation: heavy-tail spreads a global parameter budget", "allocation",
                             "add ratio: the fraction of the targets' parameters kept overall"))
    for name in ("targets", "exclude"):
        globs = block.get(name)
        if globs is not None and (not isinstance(globs, list) or not all(isinstance(g, str) for g in globs)
                                  or (name == "targets" and not globs)):
            problems.append(_err(f"{name} must be a non-empty list of module-name globs", name,
                                 'e.g. targets: ["*attention*", "*mlp*"]'))
    calibration = block.get("calibration")
    if method in NEEDS_CALIBRATION and not calibration:
        problems.append(_err(f"method {method} needs calibration data", "calibration",
                             "add calibration: {dataset: irds:beir/scifact/test, samples: 256}"))
    if calibration is not None:
        if not isinstance(calibration, dict) or "dataset" not in calibration:
            problems.append(_err("calibration must be a mapping with a dataset", "calibration",
                                 "e.g. calibration: {dataset: irds:beir/scifact/test, samples: 256}"))
        else:
            for key in calibration:
                if key not in CALIBRATION_KEYS:
                    problems.append(_err(f"unknown key '{key}'", f"calibration.{key}",
                                         f"allowed: {', '.join(CALIBRATION_KEYS)}"))
            samples = calibration.get("samples", 256)
            if not isinstance(samples, int) or samples < 1:
                problems.append(_err("samples must be a positive integer", "calibration.samples"))
    heal = block.get("heal")
    if heal is not None:
        if not isinstance(heal, dict):
            problems.append(_err("heal must be a mapping", "heal", "e.g. heal: {steps: 200, lr: 1e-4}"))
        else:
            for key in heal:
                if key not in HEAL_KEYS:
                    problems.append(_err(f"unknown key '{key}'", f"heal.{key}", f"allowed: {', '.join(HEAL_KEYS)}"))
            if not calibration:
                problems.append(_err("heal distils on the calibration texts", "heal",
                                     "add calibration: {dataset: ..., samples: N}"))
            steps = heal.get("steps", 200)
            if not isinstance(steps, int) or steps < 1:
                problems.append(_err("heal.steps must be a positive integer", "heal.steps"))
    multiple = block.get("rank_multiple", 8)
    if not isinstance(multiple, int) or multiple < 1:
        problems.append(_err("rank_multiple must be a positive integer", "rank_multiple"))
    return problems


def parse_config(block: dict[str, Any]) -> CompressConfig:
    """One sweep point's block -> CompressConfig, or the first problem as an LrbenchError."""
    problems = config_problems(block, sweep_ok=False)
    if problems:
        raise problems[0]
    return CompressConfig(
        method=block.get("method", "svd"),
        ratio=float(block["ratio"]) if block.get("ratio") is not None else None,
        energy=float(block["energy"]) if block.get("energy") is not None else None,
        allocation=block.get("allocation", "uniform"),
        targets=list(block.get("targets") or []),
        exclude=list(block.get("exclude") or []),
        calibration=dict(block["calibration"]) if block.get("calibration") else None,
        heal=dict(block["heal"]) if block.get("heal") else None,
        rank_multiple=int(block.get("rank_multiple", 8)),
        alpha=float(block.get("alpha", 0.5)),
    )
