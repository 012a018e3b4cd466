"""Ranking evaluator: ir-measures per query (trec_eval -c style), scores are their means; Judged@k is stored
for every cutoff of the asked measures."""

from __future__ import annotations

from lrbench.evaluation.evaluate import aggregate, evaluate_run
from lrbench.evaluation.measures import judged_at
from lrbench.evaluation.tasks.base import SCORE_COLUMNS, Evaluator


class RankingEvaluator(Evaluator):
    task = "ranking"
    frame = "run"

    def companions(self, measures):
        return judged_at(measures)

    def evaluate(self, frame, dataset, measures):
        import pandas as pd

        asked = {self.canonical(m) for m in measures}
        measures = [*measures, *(m for m in self.companions(measures) if self.canonical(m) not in asked)]
        perquery = evaluate_run(frame, dataset.judged_qrels, measures, dataset.excluded())
        scores = pd.DataFrame(sorted(aggregate(perquery).items()), columns=SCORE_COLUMNS)
        return perquery, scores
