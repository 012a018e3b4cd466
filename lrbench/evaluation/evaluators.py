"""Evaluators, one per task kind (lrbench/evaluation/tasks/): the dataset's task kind picks one.

Measure names, directions and aggregations live in lrbench.evaluation.measures; an evaluator computes them.
A third party adds a task kind with `register_evaluator` or the `lrbench.evaluation.evaluators` entry point group.
"""

from __future__ import annotations

from lrbench.evaluation.tasks.base import SCORE_COLUMNS, Evaluator
from lrbench.registry import Registry

#: named after this module: the layering checks read a quoted lrbench dotted name as an import of it
ENTRY_POINT_GROUP = "lrbench.evaluation.evaluators"

#: task kind -> "module:Class", imported on first use
BUILTIN_EVALUATORS = {
    "ranking": "lrbench.evaluation.tasks.ranking:RankingEvaluator",
    "classification": "lrbench.evaluation.tasks.classification:ClassificationEvaluator",
    "lm": "lrbench.evaluation.tasks.lm:LanguageModelEvaluator",
}

EVALUATORS: Registry[type[Evaluator]] = Registry("task kind", group=ENTRY_POINT_GROUP, builtins=BUILTIN_EVALUATORS)


def register_evaluator(cls: type[Evaluator]) -> type[Evaluator]:
    return EVALUATORS.register(cls.task, cls)


def evaluator_for(task: str) -> Evaluator:
    return EVALUATORS.get(task)()


__all__ = ["EVALUATORS", "Evaluator", "SCORE_COLUMNS", "evaluator_for", "register_evaluator"]
