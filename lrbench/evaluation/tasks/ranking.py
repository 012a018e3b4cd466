"""Ranking evaluator: ir-measures per query (trec_eval -c style), scores are their means."""

from __future__ import annotations

from lrbench.evaluation.evaluate import aggregate, evaluate_run
from lrbench.evaluation.tasks.base import SCORE_COLUMNS, Evaluator


class RankingEvaluator(Evaluator):
    task = "ranking"
    frame = "run"

    def evaluate(self, frame, dataset, measures):
        import pandas as pd

        perquery = evaluate_run(frame, dataset.judged_qrels, measures, dataset.excluded())
        scores = pd.DataFrame(sorted(aggregate(perquery).items()), columns=SCORE_COLUMNS)
        return perquery, scores
