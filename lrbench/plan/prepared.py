"""The plan of a suite run: its cell specs in dependency order, each parsed once into a `PreparedCell`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrbench.plan.graph import order_cells, select_only
from lrbench.plan.keys import cell_config, key_of
from lrbench.plan.parse import parse_config, parsed_key
from lrbench.suites.cells import CellSpec, expand_cells
from lrbench.suites.loader import LoadedSuite


@dataclass(frozen=True)
class PreparedCell:
    """One cell ready to run or to be found in the store: its spec parsed once. The key is computed from
    `params` and `compress`, and the runner receives these same objects."""

    spec: CellSpec
    params: Any  # the runner's Params instance
    compress: Any  # the typed compress block (lrbench.compression.config), or None
    runner_cls: type
    #: the opened dataset; None in a pickled copy (what a worker gets), which reopens it from `spec.dataset`
    dataset: Any
    measures: tuple[str, ...]
    #: the input cell's key; {input system: key} when the cell reads several (fusion)
    input_key: str | dict[str, str] | None
    config: dict[str, Any]
    key: str

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "dataset": None}  # datasets hold open files and caches: workers reopen them

    # -- the cell's identity, from its spec -------------------------------------------------------
    @property
    def system(self):
        return self.spec.system

    @property
    def dataset_spec(self):
        return self.spec.dataset

    @property
    def point(self) -> dict[str, Any]:
        return self.spec.point

    @property
    def input_systems(self) -> list[str]:
        return self.spec.input_systems

    @property
    def input_system(self) -> str | None:
        return self.spec.input_system

    @property
    def system_label(self) -> str:
        return self.spec.system_label

    @property
    def dataset_label(self) -> str:
        return self.spec.dataset_label

    @property
    def task(self) -> str:
        return self.dataset.task

    @property
    def label(self) -> str:
        return f"{self.system_label} on {self.dataset_label}"

    def runner(self):
        """The runner of this cell, given the parsed params the key was computed from."""
        return self.runner_cls(self.params)


@dataclass
class Plan:
    """The cells of one run, in an order where every reranker comes after its input system."""

    loaded: LoadedSuite
    cells: list[CellSpec]
    _datasets: dict[str, Any] = field(default_factory=dict, repr=False)
    _keys: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def suite(self):
        return self.loaded.suite

    @property
    def base_dir(self) -> Path:
        return self.loaded.base_dir

    def dataset(self, cell: CellSpec):
        from lrbench.datasets import open_dataset

        label = cell.dataset.label
        if label not in self._datasets:
            self._datasets[label] = open_dataset(cell.dataset, self.base_dir)
        return self._datasets[label]

    def input_key(self, cell: CellSpec) -> str | dict[str, str] | None:
        """The input cell's key, or {system: key} for several inputs: each one enters this cell's key."""
        keys = {name: self._keys.get((cell.dataset.label, name)) for name in cell.input_systems}
        if len(keys) > 1:
            return keys
        return next(iter(keys.values()), None)

    def prepare(self, cell: CellSpec) -> PreparedCell:
        """The spec parsed (once: by the suite's checks) and keyed; its input cells must have been prepared
        first (plan order)."""
        from lrbench.runners.registry import get_runner

        dataset = self.dataset(cell)
        runner_cls = get_runner(cell.system.type)
        parsed = self.loaded.parsed.get(parsed_key(cell.system.name, cell.point)) or \
            parse_config(runner_cls, cell.params, cell.compress, self.base_dir)  # a suite that was not checked
        input_key = self.input_key(cell)
        extra = runner_cls.key_extra(parsed.params, self.base_dir)
        config = cell_config(cell.system, runner_cls, parsed.params, parsed.compress, dataset.fingerprint(),
                             input_key, extra)
        key = key_of(config)
        self._keys[(cell.dataset.label, cell.system_label)] = key
        return PreparedCell(cell, parsed.params, parsed.compress, runner_cls, dataset,
                            tuple(measures_for(self.loaded, cell, dataset)), input_key, config, key)


def measures_for(loaded: LoadedSuite, cell: CellSpec, dataset) -> list[str]:
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
