"""The evaluator interface: a cell's output frame -> per-item values and aggregate scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # loaded on first use: cached reruns never need it
    import pandas as pd

from lrbench.evaluation import measures as measure_table

SCORE_COLUMNS = ["measure", "value"]


class Evaluator:
    task: ClassVar[str]
    #: the name of the frame a runner's output stores for this task
    frame: ClassVar[str]

    @property
    def default_measures(self) -> list[str]:
        return list(measure_table.DEFAULT_MEASURES.get(self.task, []))

    def canonical(self, measure: str) -> str:
        return measure_table.canonical(measure, self.task)

    def validate(self, measure: str) -> None:
        """Raise LrbenchError when the measure is not supported."""
        measure_table.measure(measure, self.task)

    def companions(self, measures: list[str]) -> list[str]:
        """Measures stored beside the asked ones (never leaderboard columns), e.g. Judged@k for rankings."""
        return []

    def evaluate(self, frame: pd.DataFrame, dataset, measures: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return (per-item values [measure, query_id, value], scores [measure, value])."""
        raise NotImplementedError
