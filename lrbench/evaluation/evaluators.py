"""Evaluators, one per task kind (lrbench/evaluation/tasks/): the dataset's task kind picks one.

Measure names, directions and aggregations live in lrbench.evaluation.measures; an evaluator computes them.
"""

from __future__ import annotations

from lrbench.evaluation.tasks.base import SCORE_COLUMNS, Evaluator
from lrbench.evaluation.tasks.classification import ClassificationEvaluator
from lrbench.evaluation.tasks.lm import LanguageModelEvaluator
from lrbench.evaluation.tasks.ranking import RankingEvaluator

EVALUATORS: dict[str, type[Evaluator]] = {cls.task: cls for cls in
                                          (RankingEvaluator, ClassificationEvaluator, LanguageModelEvaluator)}


def register_evaluator(cls: type[Evaluator]) -> type[Evaluator]:
    EVALUATORS[cls.task] = cls
    return cls


def evaluator_for(task: str) -> Evaluator:
    return EVALUATORS[task]()


__all__ = ["EVALUATORS", "Evaluator", "SCORE_COLUMNS", "evaluator_for", "register_evaluator"]
