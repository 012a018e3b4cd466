"""Evaluators for the non-ranking task kinds: classification (GLUE, MTEB) and language modelling."""

from lrbench.results.tasks.classification import ClassificationEvaluator
from lrbench.results.tasks.lm import LanguageModelEvaluator

__all__ = ["ClassificationEvaluator", "LanguageModelEvaluator"]
