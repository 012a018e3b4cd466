"""Evaluators, one per task kind: they turn a cell's output frame into per-item values and aggregate scores.

The dataset's task kind picks the evaluator. Ranking uses ir-measures; classification, language
modelling and others register their own here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.results.evaluate import aggregate, evaluate_run, parse_measure

SCORE_COLUMNS = ["measure", "value"]


class Evaluator:
    task: ClassVar[str]
    #: the name of the frame a runner's output stores for this task
    frame: ClassVar[str]
    default_measures: ClassVar[list[str]] = []

    def canonical(self, measure: str) -> str:
        return measure

    def validate(self, measure: str) -> None:
        """Raise LrbenchError when the measure is not supported."""

    def evaluate(self, frame: pd.DataFrame, dataset, measures: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return (per-item values [measure, query_id, value], scores [measure, value])."""
        raise NotImplementedError


class RankingEvaluator(Evaluator):
    task = "ranking"
    frame = "run"
    default_measures = ["nDCG@10"]

    def canonical(self, measure: str) -> str:
        return str(parse_measure(measure))

    def validate(self, measure: str) -> None:
        parse_measure(measure)

    def evaluate(self, frame, dataset, measures):
        import pandas as pd

        perquery = evaluate_run(frame, dataset.judged_qrels, measures, dataset.excluded())
        scores = pd.DataFrame(sorted(aggregate(perquery).items()), columns=SCORE_COLUMNS)
        return perquery, scores


EVALUATORS: dict[str, type[Evaluator]] = {"ranking": RankingEvaluator}


def register_evaluator(cls: type[Evaluator]) -> type[Evaluator]:
    EVALUATORS[cls.task] = cls
    return cls


def evaluator_for(task: str) -> Evaluator:
    return EVALUATORS[task]()

# Classification and language-modelling evaluators register themselves on import.
from lrbench.results import tasks as _tasks  # noqa: E402,F401
