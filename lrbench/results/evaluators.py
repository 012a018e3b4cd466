"""Evaluators, one per task kind (lrbench/results/tasks/): the dataset's task kind picks one.

Measure names, directions and aggregations live in lrbench.measures; an evaluator computes them.
"""

from __future__ import annotations

from lrbench.results.tasks.base import SCORE_COLUMNS, Evaluator
from lrbench.results.tasks.classification import ClassificationEvaluator
from lrbench.results.tasks.lm import LanguageModelEvaluator
from lrbench.results.tasks.ranking import RankingEvaluator

EVALUATORS: dict[str, type[Evaluator]] = {cls.task: cls for cls in
                                          (RankingEvaluator, ClassificationEvaluator, LanguageModelEvaluator)}


def register_evaluator(cls: type[Evaluator]) -> type[Evaluator]:
    EVALUATORS[cls.task] = cls
    return cls


def evaluator_for(task: str) -> Evaluator:
    return EVALUATORS[task]()


__all__ = ["EVALUATORS", "Evaluator", "SCORE_COLUMNS", "evaluator_for", "register_evaluator"]
