"""Classification and regression metrics as GLUE defines them (numpy only; checked against sklearn/scipy in tests)."""

from __future__ import annotations


def accuracy(gold, pred) -> float:
    import numpy as np

    gold, pred = np.asarray(gold), np.asarray(pred)
    return float((gold == pred).mean())


def _confusion(gold, pred):
    import numpy as np

    labels = np.unique(np.concatenate([np.asarray(gold), np.asarray(pred)]))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, pred):
        matrix[index[g], index[p]] += 1
    return labels, matrix


def f1_binary(gold, pred, positive=1) -> float:
    import numpy as np

    gold, pred = np.asarray(gold), np.asarray(pred)
    tp = int(((pred == positive) & (gold == positive)).sum())
    fp = int(((pred == positive) & (gold != positive)).sum())
    fn = int(((pred != positive) & (gold == positive)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def f1_macro(gold, pred) -> float:
    import numpy as np

    labels, m = _confusion(gold, pred)
    tp = np.diag(m).astype(float)
    denom = m.sum(0) + m.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return float(f1.mean())


def mcc(gold, pred) -> float:
    """Matthews correlation (multi-class form, as sklearn computes it)."""
    import numpy as np

    _, m = _confusion(gold, pred)
    t, p = m.sum(1).astype(float), m.sum(0).astype(float)
    c, s = float(np.trace(m)), float(m.sum())
    cov_ytyp = c * s - t @ p
    cov_ypyp = s * s - p @ p
    cov_ytyt = s * s - t @ t
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp))


def pearson(gold, pred) -> float:
    import numpy as np

    return float(np.corrcoef(np.asarray(gold, float), np.asarray(pred, float))[0, 1])


def spearman(gold, pred) -> float:
    import numpy as np
    import pandas as pd

    g = pd.Series(np.asarray(gold, float)).rank(method="average")
    p = pd.Series(np.asarray(pred, float)).rank(method="average")
    return pearson(g, p)


METRICS = {"accuracy": accuracy, "F1": f1_binary, "macro-F1": f1_macro, "MCC": mcc,
           "Pearson": pearson, "Spearman": spearman}
