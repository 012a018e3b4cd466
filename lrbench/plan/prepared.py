"""The plan of a suite run: its cells in dependency order, each prepared (dataset, runner, key, measures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrbench.plan.graph import order_cells, select_only
from lrbench.plan.keys import cell_config, key_of
from lrbench.suites.cells import Cell, expand_cells
from lrbench.suites.loader import LoadedSuite


@dataclass
class PreparedCell:
    """One cell ready to run or to be found in the store."""

    cell: Cell
    dataset: Any  # lrbench.datasets.Dataset
    runner_cls: type
    key: str
    config: dict[str, Any]
    measures: list[str]
    #: the input cell's key; {input system: key} when the cell reads several (fusion)
    input_key: str | dict[str, str] | None = None

    @property
    def task(self) -> str:
        return self.dataset.task

    @property
    def label(self) -> str:
        return f"{self.cell.system_label} on {self.cell.dataset_label}"


@dataclass
class Plan:
    """The cells of one run, in an order where every reranker comes after its input system."""

    loaded: LoadedSuite
    cells: list[Cell]
    _datasets: dict[str, Any] = field(default_factory=dict, repr=False)
    _keys: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def suite(self):
        return self.loaded.suite

    @property
    def base_dir(self) -> Path:
        return self.loaded.base_dir

    def dataset(self, cell: Cell):
        from lrbench.datasets import open_dataset

        label = cell.dataset.label
        if label not in self._datasets:
            self._datasets[label] = open_dataset(cell.dataset, self.base_dir)
        return self._datasets[label]

    def input_of(self, cell: Cell) -> tuple[str, str] | None:
        """(dataset label, system name) of the cell this one reranks (the first input, for fusion)."""
        return (cell.dataset.label, cell.input_system) if cell.input_system else None

    def input_key(self, cell: Cell) -> str | dict[str, str] | None:
        """The input cell's key, or {system: key} for several inputs: each one enters this cell's key."""
        keys = {name: self._keys.get((cell.dataset.label, name)) for name in cell.input_systems}
        if len(keys) > 1:
            return keys
        return next(iter(keys.values()), None)

    def prepare(self, cell: Cell) -> PreparedCell:
        """Key, config and measures of a cell; its input cell must have been prepared first (plan order)."""
        from lrbench.runners.registry import get_runner

        dataset = self.dataset(cell)
        runner_cls = get_runner(cell.system.type)
        input_key = self.input_key(cell)
        extra = runner_cls.key_extra(cell.params, self.base_dir)
        config = cell_config(cell, runner_cls, dataset.fingerprint(), input_key, extra)
        key = key_of(config)
        cell.key, cell.config = key, config
        self._keys[(cell.dataset.label, cell.system_label)] = key
        cell.measures = measures_for(self.loaded, cell, dataset)
        return PreparedCell(cell, dataset, runner_cls, key, config, cell.measures, input_key)


def measures_for(loaded: LoadedSuite, cell: Cell, dataset) -> list[str]:
    """The dataset's own measures, else the suite's, else the catalogue's, else its task kind's defaults."""
    from lrbench.evaluation.measures import DEFAULT_MEASURES

    if cell.dataset.measures:
        return cell.dataset.measures
    if loaded.suite.measures:
        return loaded.suite.measures
    if getattr(dataset, "catalogue", None):
        return dataset.catalogue.measures
    own = getattr(dataset, "default_measures", None)
    return list(own) if own else list(DEFAULT_MEASURES.get(dataset.task, []))


def build_plan(loaded: LoadedSuite, only: list[str] | None = None) -> Plan:
    """The cells to run (all, or `--only` these systems and their inputs), validated, in dependency order."""
    from lrbench.plan.load import check

    check(loaded)
    return Plan(loaded, order_cells(select_only(expand_cells(loaded.suite), only)))
