"""mteb-classification vs mteb's own AbsTaskClassification.evaluate (Banking77Classification task object).

mteb gets the same train/test texts and the same integer labels (categories.json order), the same model
(all-MiniLM-L6-v2 through mteb's SentenceTransformerEncoderWrapper) and encode batch size 32; it samples, fits and scores with its own code. The lrbench side runs a suite through the Python API.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from equiv.common import MINILM, SHARED, cell_frame, minilm_path, run_suite

BANKING = SHARED / "banking77"


def _split(name: str, limit: int | None = None) -> pd.DataFrame:
    frame = pd.read_csv(BANKING / f"{name}.csv", keep_default_na=False)
    return frame.iloc[:limit] if limit else frame


def label_index() -> dict[str, int]:
    """Category -> integer label: the order of the source data's categories.json (PolyAI's, also the label
    ids of the mteb/banking77 Hub dataset)."""
    return {name: i for i, name in enumerate(json.loads((BANKING / "categories.json").read_text()))}


def mteb_task(n_experiments: int, samples_per_label: int, test_limit: int | None):
    """mteb's Banking77Classification with its data replaced by the local CSVs (the Hub is offline)."""
    import mteb
    from datasets import Dataset, DatasetDict

    train, test = _split("train"), _split("test", test_limit)
    index = label_index()
    task = mteb.get_task("Banking77Classification")
    task.n_experiments, task.samples_per_label = n_experiments, samples_per_label
    task.dataset = {"default": DatasetDict({
        split: Dataset.from_dict({"text": list(f["text"]), "label": [index[c] for c in f["category"]]})
        for split, f in (("train", train), ("test", test))})}
    task.data_loaded = True
    return task


def mteb_samples(task) -> list[list[int]]:
    """The training indices of each experiment, from mteb's own _undersample_data loop."""
    train = task.dataset["default"]["train"]
    idxs, out = None, []
    for i in range(task.n_experiments):
        _, idxs, chosen = task._undersample_data(train, i, idxs)
        out.append([int(j) for j in chosen])
    return out


def mteb_evaluate(n_experiments: int = 10, samples_per_label: int = 8, test_limit: int | None = None) -> dict:
    """mteb's run: accuracy, per-experiment accuracies and predictions, and the samples it drew."""
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    task = mteb_task(n_experiments, samples_per_label, test_limit)
    model = SentenceTransformerEncoderWrapper(SentenceTransformer(minilm_path(), device="cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        scores = task.evaluate(model, "test", encode_kwargs={"batch_size": 32}, prediction_folder=Path(tmp))
        saved = json.loads(next(Path(tmp).glob("*.json")).read_text())
    subset = scores["default"]
    return {"accuracy": float(subset["accuracy"]),
            "experiment_accuracy": [float(s["accuracy"]) for s in subset["scores_per_experiment"]],
            "predictions": [np.asarray(p, dtype=int) for p in saved["default"]["test"]],
            "samples": mteb_samples(task)}


def lrbench_evaluate(folder: Path, n_experiments: int = 10, samples_per_label: int = 8,
                     test_limit: int | None = None) -> dict:
    """lrbench's run of the same configuration through a suite (accuracy from its evaluator)."""
    from lrbench.runners.tasks.mteb_protocol import undersample

    dataset = {"id": f"mteb-classification:{BANKING}", "name": "banking77", "measures": ["accuracy"]}
    if test_limit:
        dataset.update(queries_limit=test_limit, queries_sample="first")  # the reference reads the first rows
    suite = {"name": "equiv-banking77", "datasets": [dataset],
             "systems": [{"name": "minilm", "type": "mteb-classification",
                          "params": {"model": MINILM, "batch_size": 32, "n_experiments": n_experiments,
                                     "samples_per_label": samples_per_label}}]}
    results, _ = run_suite(suite, folder)
    frame = cell_frame(results, "banking77", "minilm", "predictions")
    labels = _split("train")["category"]
    index = label_index()
    return {"accuracy": results.cell("banking77", "minilm").score("accuracy"),
            "predictions": [_in_test_order(g) for _, g in frame.groupby("experiment", sort=True)],
            "samples": undersample(labels.map(index).to_numpy(), samples_per_label, n_experiments, 42)}


def _in_test_order(group: pd.DataFrame) -> np.ndarray:
    position = group["id"].str.removeprefix("test-").astype(int)
    return group.assign(position=position).sort_values("position")["label"].to_numpy()


def compare(ours: dict, theirs: dict) -> dict:
    """What differs: samples and predictions per experiment, and the accuracy."""
    same_samples = [a == b for a, b in zip(ours["samples"], theirs["samples"])]
    same_predictions = [len(a) == len(b) and bool((a == b).all())
                        for a, b in zip(ours["predictions"], theirs["predictions"])]
    return {"accuracy_diff": abs(ours["accuracy"] - theirs["accuracy"]),
            "experiments": len(theirs["samples"]),
            "same_samples": same_samples, "same_predictions": same_predictions,
            "equal": (len(ours["samples"]) == len(theirs["samples"]) and all(same_samples) and all(same_predictions)
                      and abs(ours["accuracy"] - theirs["accuracy"]) < 1e-9)}
