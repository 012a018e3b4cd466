"""MTEB's classification protocol (AbsTaskClassification with logistic regression), without model code.

Each of `n_experiments` (10) experiments creates a fresh `RandomState(seed)` (seed 42) and shuffles the index
list left by the previous experiment (so experiment k sees the same permutation applied k times), then keeps
the first `samples_per_label` (8) examples of each label; a LogisticRegression(random_state=seed, max_iter=100)
fits their embeddings and predicts every test example. This is mteb's `_undersample_data` (1.x and 2.x); the
equivalence test (tests/test_equiv_mteb_classification.py) checks the samples against mteb itself.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def first_per_label(idxs, labels, samples_per_label: int) -> list[int]:
    """The first `samples_per_label` indices of each label, in the order of `idxs`."""
    counter: dict = defaultdict(int)
    chosen = []
    for i in idxs:
        if counter[labels[i]] < samples_per_label:
            chosen.append(int(i))
            counter[labels[i]] += 1
    return chosen


def undersample(labels, samples_per_label: int = 8, n_experiments: int = 10, seed: int = 42) -> list[list[int]]:
    """Training indices per experiment, exactly as mteb's _undersample_data draws them."""
    labels = np.asarray(labels)
    idxs = np.arange(len(labels))
    out = []
    for _ in range(n_experiments):
        # A new generator per experiment, not one for all: mteb re-seeds before every shuffle.
        np.random.RandomState(seed).shuffle(idxs)
        out.append(first_per_label(idxs, labels, samples_per_label))
    return out


def logreg_experiments(experiments: list[list[int]], train_emb: dict, train_labels, test_emb, *, seed: int = 42,
                       max_iter: int = 100) -> list[np.ndarray]:
    """Predicted test labels per experiment; train_emb maps a training index to its embedding."""
    from sklearn.linear_model import LogisticRegression

    train_labels = np.asarray(train_labels)
    predictions = []
    for chosen in experiments:
        X = np.stack([train_emb[i] for i in chosen])
        clf = LogisticRegression(random_state=seed, max_iter=max_iter)
        clf.fit(X, train_labels[chosen])
        predictions.append(clf.predict(test_emb))
    return predictions
