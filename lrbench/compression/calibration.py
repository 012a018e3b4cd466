"""Calibration texts for data-aware compression, drawn from any lrbench dataset (no torch here)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

from lrbench.errors import LrbenchError


def texts_hash(texts: list[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def _lm_chunks(text: str, samples: int, offset: int, chars: int = 2000) -> list[str]:
    """Consecutive chunks of about `chars` characters, cut at line ends."""
    chunks, current = [], []
    size = 0
    for line in text.split("\n"):
        current.append(line)
        size += len(line) + 1
        if size >= chars:
            chunks.append("\n".join(current))
            current, size = [], 0
            if len(chunks) >= offset + samples:
                break
    return chunks[offset: offset + samples]


def calibration_texts(spec: dict, base_dir: Path) -> list[str]:
    """`{dataset: ID, samples: N, offset: K}` -> N texts from the dataset, skipping the first K.

    ranking datasets give corpus documents; classification datasets their training texts (or examples);
    language-modelling datasets consecutive ~2000-character chunks of their text.
    """
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    samples = int(spec.get("samples", 256))
    offset = int(spec.get("offset", 0))
    try:
        dataset = open_dataset(DatasetSpec(id=spec["dataset"]), base_dir)
        dataset.check()
    except LrbenchError as exc:
        raise LrbenchError(exc.message, key="compress.calibration.dataset", hint=exc.hint) from None
    if dataset.task == "ranking":
        texts = []
        for i, (_, text) in enumerate(dataset.docs()):
            if i >= offset:
                texts.append(text)
            if len(texts) >= samples:
                break
    elif dataset.task == "lm":
        texts = _lm_chunks(dataset.text(), samples, offset)
    else:
        frame = dataset.train_examples() if hasattr(dataset, "train_examples") else dataset.examples()
        frame = frame.iloc[offset: offset + samples]
        pairs = frame["text_pair"] if "text_pair" in frame else [None] * len(frame)
        texts = [t if not p else f"{t}\n{p}" for t, p in zip(frame["text"], pairs)]
    if not texts:
        raise LrbenchError(f"calibration dataset {spec['dataset']} gave no texts", key="compress.calibration",
                           hint="lower offset or use a dataset with documents or text")
    return texts


def calibration_errors(compress, base_dir: Path) -> list[LrbenchError]:
    """What `lrbench validate` finds wrong with a compress block's calibration dataset (typed, or a dict as
    written), resolved against the suite folder as `run` resolves it (paths, ids; no data is read)."""
    from lrbench.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    if isinstance(compress, dict):
        spec = compress.get("calibration")
        dataset = spec.get("dataset") if isinstance(spec, dict) else None
    else:
        dataset = getattr(getattr(compress, "calibration", None), "dataset", None)
    if not isinstance(dataset, str):
        return []
    try:
        open_dataset(DatasetSpec(id=dataset), base_dir).check()
    except LrbenchError as exc:
        return [LrbenchError(exc.message, key="compress.calibration.dataset",
                             hint="calibration paths resolve against the suite file's folder")]
    return []


def make_calibration(compress, base_dir: Path) -> Callable[[], list[str]] | None:
    """A callable returning the calibration texts of a compress block (typed, or a dict as written), or None
    when it has none."""
    from lrbench.compression.config import parse_compress

    calibration = getattr(parse_compress(compress), "calibration", None) if compress else None
    if calibration is None:
        return None
    spec = calibration.model_dump()
    cached: list[list[str]] = []

    def load() -> list[str]:
        if not cached:
            cached.append(calibration_texts(spec, base_dir))
        return cached[0]

    return load
