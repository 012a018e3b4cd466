"""Language-modelling evaluator: token perplexity, word perplexity, bits per byte, mean NLL.

Frame `nll`: one row per scored window: window, begin, end (token offsets), tokens (scored tokens),
nll (summed negative log-likelihood in nats). Aggregates use the sums, never a mean of window values;
per window (perquery) holds each window's token perplexity, for significance tests.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.evaluation.tasks.base import SCORE_COLUMNS, Evaluator


class LanguageModelEvaluator(Evaluator):
    task = "lm"
    frame = "nll"

    def evaluate(self, frame: pd.DataFrame, dataset, measures: list[str]):
        import numpy as np
        import pandas as pd

        total_nll = float(frame["nll"].sum())
        tokens = int(frame["tokens"].sum())
        if tokens == 0:
            raise ValueError("no token was scored")
        values = {"perplexity": math.exp(total_nll / tokens), "nll": total_nll / tokens,
                  "word_perplexity": math.exp(total_nll / dataset.word_count()),
                  "bits_per_byte": total_nll / (math.log(2) * dataset.byte_count())}
        scores = [(m, values[m]) for m in dict.fromkeys(self.canonical(x) for x in measures)]
        perquery = pd.DataFrame({"measure": "perplexity", "query_id": frame["window"].astype(str),
                                 "value": np.exp(frame["nll"] / frame["tokens"].clip(lower=1))})
        return perquery, pd.DataFrame(scores, columns=SCORE_COLUMNS)
