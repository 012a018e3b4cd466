"""Classification evaluator (GLUE, MTEB classification): accuracy, F1, macro-F1, MCC, Pearson, Spearman.

Frame `predictions`: id, label (predicted label id, or a float for regression), and optionally
`experiment` (MTEB runs several): each measure is computed per experiment, then averaged, and
`subset` (a name, e.g. "test"): the predictions cover only that part of the examples, the rest being held
out by the runner (an in-context exemplar pool); only the predicted examples are scored.
Per example (perquery): `accuracy` = correctness (averaged over experiments), or `abs_error` for regression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.errors import LrbenchError
from lrbench.evaluation.tasks.base import SCORE_COLUMNS, Evaluator
from lrbench.evaluation.tasks.metrics import METRICS


class ClassificationEvaluator(Evaluator):
    task = "classification"
    frame = "predictions"

    def evaluate(self, frame: pd.DataFrame, dataset, measures: list[str]):
        import numpy as np
        import pandas as pd

        gold = dataset.examples().set_index("id")["label"]
        if gold.isna().any():
            raise LrbenchError(f"{dataset.spec.label} has examples without labels (a test split?)",
                               hint="evaluate on a labelled split such as dev")
        frame = frame.copy()
        frame["id"] = frame["id"].astype(str)
        if "subset" in frame:  # the runner predicts a declared part of the examples (see the docstring)
            unknown = set(frame["id"]) - set(gold.index.astype(str))
            if unknown:
                raise ValueError(f"predictions name {len(unknown)} unknown example(s), e.g. {sorted(unknown)[:3]}")
            gold = gold[gold.index.astype(str).isin(set(frame["id"]))]
        missing = set(gold.index.astype(str)) - set(frame["id"])
        if missing:
            raise ValueError(f"predictions lack {len(missing)} example(s), e.g. {sorted(missing)[:3]}")
        frame["gold"] = frame["id"].map(gold.rename(index=str))
        if "experiment" not in frame:
            frame["experiment"] = 0
        scores = []
        for measure in dict.fromkeys(self.canonical(m) for m in measures):
            fn = METRICS[measure]
            values = [fn(part["gold"].to_numpy(), part["label"].to_numpy())
                      for _, part in frame.groupby("experiment", sort=True)]
            scores.append((measure, float(np.mean(values))))
        regression = bool(getattr(dataset, "regression", False))
        if regression:
            per = (frame["label"].astype(float) - frame["gold"].astype(float)).abs()
            name = "abs_error"
        else:
            per = (frame["label"] == frame["gold"]).astype(float)
            name = "accuracy"
        perquery = (frame.assign(value=per).groupby("id", sort=False)["value"].mean().reset_index()
                    .rename(columns={"id": "query_id"}))
        perquery.insert(0, "measure", name)
        return perquery[["measure", "query_id", "value"]], pd.DataFrame(scores, columns=SCORE_COLUMNS)
