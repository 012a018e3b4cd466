"""`lrbench log RESULTS --to mlflow|wandb`: one experiment-tracker run per stored cell, read from the store.

Each run holds the cell's canonical config flattened as params (`config.params.k1`, `config.type`, ...) plus
dataset, system, suite and cell key; its scores as metrics (the leaderboard's values); and the numeric entries of
its profile as `profile/<name>` metrics. MLflow writes to a local file store (no server) or any tracking URI;
W&B runs offline unless WANDB_MODE says otherwise. The packages are the `logging` extra, imported here only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrbench.errors import LrbenchError
from lrbench.store.resultsdir import ResultsDir

TARGETS = ("mlflow", "wandb")
_MLFLOW_PARAM_CHARS = 6000  # MLflow refuses longer param values


@dataclass(frozen=True)
class CellRecord:
    name: str
    key: str
    params: dict[str, Any]
    metrics: dict[str, float]  # display measure -> stored score
    profile: dict[str, float]


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """Nested dicts as dotted keys; lists as JSON; None left out."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if value is None:
        return {}
    if isinstance(value, (list, tuple)):
        return {prefix: json.dumps(value, sort_keys=True, default=str)}
    return {prefix: value}


def records(data: ResultsDir) -> list[CellRecord]:
    out = []
    for cell in data.cells:
        params = {"suite": data.suite_name, "dataset": cell.dataset, "dataset_id": cell.dataset_id,
                  "dataset_fingerprint": cell.fingerprint, "system": cell.system, "system_name": cell.system_name,
                  "cell_key": cell.key, **flatten(cell.meta.get("config") or {}, "config")}
        metrics = {display: float(score) for display, canon in data.measures(cell.dataset)
                   if (score := cell.score(canon)) is not None}
        profile = {name: float(value) for name, value in (cell.meta.get("profile") or {}).items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)}
        out.append(CellRecord(f"{cell.system} on {cell.dataset}", cell.key,
                              {k: v for k, v in params.items() if v is not None}, metrics, profile))
    return out


def mlflow_name(name: str) -> str:
    """A measure as an MLflow metric name (letters, digits, _ - . / : and spaces): nDCG@10 -> nDCG_at_10."""
    return re.sub(r"[^\w.\- /:]", "_", name.replace("@", "_at_"))


def _require(package: str):
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise LrbenchError(f"logging to {package} needs the {package} package, which is not installed",
                           key="--to", hint="pip install 'lrbench[logging]' (scripts/install.sh installs it)") from None


@contextlib.contextmanager
def _env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@dataclass
class Logged:
    target: str
    where: str  # the tracking URI or the W&B folder
    experiment: str
    runs: list[str]  # run ids (MLflow) or offline run folders (W&B)
    skipped: int = 0  # cells already logged to this experiment (MLflow)


def tracking_uri(folder: str | Path) -> str:
    text = str(folder)
    return text if "://" in text or text.startswith("file:") else "file:" + str(Path(text).resolve())


def log_mlflow(data: ResultsDir, experiment: str, folder: str | Path) -> Logged:
    """One MLflow run per cell; a cell whose key this experiment already holds is not logged twice."""
    _require("mlflow")
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    uri = tracking_uri(folder)
    # MLflow 3 keeps its file store behind this switch; a local folder is what `lrbench log` promises
    with _env("MLFLOW_ALLOW_FILE_STORE", "true") if uri.startswith("file:") else contextlib.nullcontext():
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        exp_id = found.experiment_id if found else client.create_experiment(experiment)
        done = {run.data.tags.get("lrbench/cell_key") for run in client.search_runs([exp_id], max_results=50_000)}
        result = Logged("mlflow", uri, experiment, [])
        for record in records(data):
            if record.key in done:
                result.skipped += 1
                continue
            run = client.create_run(exp_id, run_name=record.name, tags={"lrbench/cell_key": record.key})
            params = [Param(k, str(v)[:_MLFLOW_PARAM_CHARS]) for k, v in record.params.items()]
            metrics = [Metric(mlflow_name(k), v, 0, 0) for k, v in record.metrics.items()]
            metrics += [Metric(f"profile/{mlflow_name(k)}", v, 0, 0) for k, v in record.profile.items()]
            for start in range(0, max(len(params), 1), 100):  # MLflow takes at most 100 params per batch
                client.log_batch(run.info.run_id, metrics=metrics if start == 0 else [],
                                 params=params[start:start + 100])
            client.set_terminated(run.info.run_id)
            result.runs.append(run.info.run_id)
    return result


def log_wandb(data: ResultsDir, experiment: str, folder: str | Path) -> Logged:
    """One W&B run per cell, offline unless WANDB_MODE is set; the summary holds scores and profile."""
    wandb = _require("wandb")
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    result = Logged("wandb", str(folder), experiment, [])
    for record in records(data):
        run = wandb.init(project=experiment, name=record.name, dir=str(folder), config=record.params,
                         mode=os.environ.get("WANDB_MODE", "offline"), reinit="create_new", job_type="lrbench",
                         settings=wandb.Settings(silent=True, console="off", x_disable_stats=True))
        run.summary.update({**record.metrics, **{f"profile/{k}": v for k, v in record.profile.items()}})
        result.runs.append(str(Path(run.dir).parent))
        run.finish()
    return result


def log_results(results: str | Path, to: str, *, experiment: str | None = None,
                folder: str | Path | None = None) -> Logged:
    """Log every cell of a results folder to MLflow (default folder ./mlruns) or W&B (./wandb's parent: .)."""
    if to not in TARGETS:
        raise LrbenchError(f"unknown logging target '{to}'", key="--to", hint=f"choose one of: {', '.join(TARGETS)}")
    data = ResultsDir(results)
    if not data.cells:
        raise LrbenchError(f"{results} has no finished cells", hint="run `lrbench run SUITE --out DIR` first")
    experiment = experiment or data.suite_name
    if to == "mlflow":
        return log_mlflow(data, experiment, folder if folder is not None else "mlruns")
    return log_wandb(data, experiment, folder if folder is not None else ".")


__all__ = ["TARGETS", "CellRecord", "Logged", "records", "flatten", "mlflow_name", "log_results", "log_mlflow",
           "log_wandb", "tracking_uri"]
