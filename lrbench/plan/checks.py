"""Every semantic check of a parsed suite: what can be known before running is checked before running.

`suite_errors(loaded)` is what `lrbench validate` prints and what `lrbench run` raises the first of, so
both see the same problems, each as one LrbenchError located at the suite's file:line and key.
"""

from __future__ import annotations

import difflib
from lrbench.errors import LrbenchError
from lrbench.plan.graph import input_cycle
from lrbench.plan.parse import check_config, parsed_key
from lrbench.plan.resources import HINT as RESOURCES_HINT, ResourceProblem, parse_resources
from lrbench.suites.cells import applies_to, expand_system, sweep_points
from lrbench.suites.expect import parse_expectation
from lrbench.suites.loader import LoadedSuite
from lrbench.suites.schema import Suite, SystemSpec


def _near(name: str, names, what: str) -> str:
    near = difflib.get_close_matches(name, list(names), n=1)
    return f"did you mean '{near[0]}'?" if near else f"{what}: {', '.join(names)}"


class _Collector:
    def __init__(self, loaded: LoadedSuite):
        self.loaded = loaded
        self.errors: list[LrbenchError] = []

    def __call__(self, message: str, loc: tuple, hint: str | None = None, key: str | None = None) -> None:
        self.errors.append(self.loaded.error(message, loc, hint, key))


def suite_errors(loaded: LoadedSuite) -> list[LrbenchError]:
    """Every problem of a parsed suite, in file order of the checks (systems, datasets, expectations)."""
    err = _Collector(loaded)
    suite = loaded.suite
    _check_names(suite, err)
    _check_graph(suite, err)
    runners = {i: _check_runner(loaded, i, system, err) for i, system in enumerate(suite.systems)}
    tasks = _check_datasets(loaded, err)
    _check_applicability(suite, runners, tasks, err)
    _check_expectations(suite, tasks, err)
    return err.errors


# -- names and the input graph -------------------------------------------------------------

def _check_names(suite: Suite, err) -> None:
    from lrbench.safety import safe_name

    try:
        safe_name(suite.name)  # it names the default results folder: results/<name>
    except LrbenchError as exc:
        err(exc.message, ("name",), exc.hint)
    names = [s.name for s in suite.systems]
    for i, name in enumerate(names):
        if names.index(name) != i:
            err(f"duplicate system name '{name}'", ("systems", i, "name"), "give each system a unique name")
    labels = [d.label for d in suite.datasets]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            err(f"duplicate dataset name '{label}'", ("datasets", i, "name" if suite.datasets[i].name else "id"),
                "give each dataset a unique name: (name: ...)")
    if suite.baseline and suite.baseline not in names:
        err(f"baseline names unknown system '{suite.baseline}'", ("baseline",), _near(suite.baseline, names, "systems"))
    ids = {d.id for d in suite.datasets} | set(labels)
    for i, system in enumerate(suite.systems):
        for j, wanted in enumerate(system.datasets or []):
            if wanted not in ids:
                err(f"names no dataset of the suite: '{wanted}'", ("systems", i, "datasets", j),
                    _near(wanted, sorted(ids), "datasets"))


def _check_graph(suite: Suite, err) -> None:
    names = [s.name for s in suite.systems]
    inputs = {s.name: s.input_names for s in suite.systems}
    reported: set[frozenset] = set()
    for i, system in enumerate(suite.systems):
        for j, name in enumerate(system.input_names):
            loc = ("systems", i, "inputs", j) if system.inputs else ("systems", i, "input")
            if name not in names:
                err(f"input names unknown system '{name}'", loc, _near(name, names, "systems"))
            elif name == system.name:
                err("a system cannot be its own input", loc, "name a first-stage system")
            elif suite.system(name).sweep:
                err(f"input '{name}' is a sweep", loc,
                    "read a single configuration: add a system without sweep for it")
            elif system.input_names.index(name) != j:
                err(f"input '{name}' is listed twice", loc, "list each input system once")
            else:
                cycle = input_cycle(inputs, system.name)
                if cycle and frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    err(f"input cycle: {' -> '.join(cycle)}", loc,
                        "every chain of input: must end at a first-stage system")


# -- runners, params, compress, resources ------------------------------------------------------

def _sweep_loc(system: SystemSpec, i: int, key: str) -> tuple:
    """Where a param or compress key is written: its sweep axis when the sweep sets it."""
    for axis in system.sweep or {}:
        if axis.removeprefix("params.") == key.removeprefix("params.") or axis == key:
            return ("systems", i, "sweep", axis)
    return ("systems", i) + tuple(key.split("."))


def _check_runner(loaded: LoadedSuite, i: int, system: SystemSpec, err):
    from lrbench.runners.registry import get_runner

    try:
        runner = get_runner(system.type)
    except LrbenchError as e:
        err(e.message, ("systems", i, "type"), e.hint)
        return None
    seen: set[tuple[str, str]] = set()
    for point, params, compress in expand_system(system):  # every point: each may break a different rule
        # the parse a run keys and runs with (the plan reuses it); a compress block on a model-less runner is
        # reported below
        parsed, problems = check_config(runner, params, compress if runner.loads_model else None, loaded.base_dir)
        if parsed is not None:
            loaded.parsed[parsed_key(system.name, point)] = parsed
            if parsed.compress is not None:
                from lrbench.compression.calibration import calibration_errors

                problems = [*problems, *calibration_errors(parsed.compress, loaded.base_dir)]
        for problem in problems:
            key = problem.key or "params"
            if (key, problem.message) not in seen:
                seen.add((key, problem.message))
                err(problem.message, _sweep_loc(system, i, key), problem.hint)
    if runner.needs_input and not system.input_names:
        err(f"a {system.type} system reranks another system's run", ("systems", i),
            "add input: <first-stage system name> and depth: N")
    count = len(system.input_names)
    if count < runner.min_inputs:
        err(f"a {system.type} system combines at least {runner.min_inputs} runs, got {count}", ("systems", i),
            "add inputs: [system a, system b]")
    elif runner.max_inputs is not None and count > runner.max_inputs:
        err(f"a {system.type} system reads at most {runner.max_inputs} input run(s), got {count}",
            ("systems", i, "inputs"), "give input: <one system>")
    if system.compress is not None and not runner.loads_model:
        err(f"compress: needs a model, and a {system.type} system has none", ("systems", i, "compress"),
            "compress a model-backed system (embedder, cross-encoder, llm-*, lm-perplexity, glue ...)")
    try:
        parse_resources(system.resources)
    except ResourceProblem as problem:
        sub = (problem.sub,) if problem.sub else ()
        err(str(problem), ("systems", i, "resources") + sub, RESOURCES_HINT,
            key=f"systems.{system.name}.resources" + (f".{problem.sub}" if problem.sub else ""))
    return runner


# -- datasets, measures ------------------------------------------------------------------------

def _check_datasets(loaded: LoadedSuite, err) -> dict[int, str | None]:
    """Open each dataset (resolving paths, reading nothing) and check its options and measures.
    Returns each dataset's task kind (None when it cannot be opened)."""
    from lrbench.evaluation.measures import measure
    from lrbench.datasets import open_dataset

    suite = loaded.suite
    tasks: dict[int, str | None] = {}
    for i, spec in enumerate(suite.datasets):
        tasks[i] = None
        try:
            dataset = open_dataset(spec, loaded.base_dir)
            dataset.check()  # resolves local paths and ids without reading data
            tasks[i] = dataset.task
        except LrbenchError as e:
            err(e.message, ("datasets", i) + (tuple(e.key.split(".")[1:]) if e.key else ()), e.hint)
            continue
        for key in spec.options:
            if key not in dataset.option_keys:
                allowed = ", ".join(dataset.option_keys) or "none"
                near = difflib.get_close_matches(str(key), dataset.option_keys, n=1)
                err(f"unknown option '{key}' for {dataset.scheme}: datasets" +
                    (f" (did you mean '{near[0]}'?)" if near else ""), ("datasets", i, "options", key),
                    f"{dataset.scheme}: options are: {allowed}")
        own = spec.measures is not None
        for j, name in enumerate(spec.measures if own else suite.measures):
            try:
                measure(name, dataset.task)
            except LrbenchError as e:
                err(e.message, ("datasets", i, "measures", j) if own else ("measures", j), e.hint)
    return tasks


def _check_applicability(suite: Suite, runners: dict, tasks: dict[int, str | None], err) -> None:
    """A runner only on task kinds it declares; a reranker only where its input system runs."""
    for i, system in enumerate(suite.systems):
        runner = runners.get(i)
        datasets = [(j, d) for j, d in enumerate(suite.datasets) if applies_to(system, d)]
        if runner is not None:
            for j, spec in datasets:
                task = tasks.get(j)
                if task is not None and task not in runner.task_kinds:
                    err(f"a {system.type} system does not run on {task} datasets ('{spec.label}')",
                        ("systems", i, "type"),
                        f"{system.type} runs on: {', '.join(runner.task_kinds)}; restrict it with datasets: [...]")
                    break
        for j, name in enumerate(system.input_names):
            if name not in {s.name for s in suite.systems}:
                continue
            missing = [d.label for _, d in datasets if not applies_to(suite.system(name), d)]
            if missing:
                loc = ("systems", i, "inputs", j) if system.inputs else ("systems", i, "input")
                err(f"input '{name}' does not run on dataset '{missing[0]}'", loc,
                    f"restrict this system to the datasets of '{name}' with datasets: [...]")
                break


# -- expectations ---------------------------------------------------------------------------------

def _check_expectations(suite: Suite, tasks: dict[int, str | None], err) -> None:
    from lrbench.evaluation.measures import canonical
    from lrbench.suites.cells import CellSpec

    names = [s.name for s in suite.systems]
    labels = [CellSpec(suite.datasets[0], s, p, {}, None).system_label
              for s in suite.systems for p in sweep_points(s)] if suite.datasets else []
    known = set(names) | set(labels)
    datasets = {d.id: j for j, d in enumerate(suite.datasets)} | {d.label: j for j, d in enumerate(suite.datasets)}
    for i, raw in enumerate(suite.expect):
        try:
            exp = parse_expectation(raw, i)
        except LrbenchError as e:
            field = e.key.split(".", 1)[1] if e.key and "." in e.key else None
            err(e.message, ("expect", i, field) if field else ("expect", i), e.hint)
            continue
        fields = ["system"] + (["min_delta_vs"] if exp.kind == "delta" else []) + \
            (["latency_p50_ratio_vs"] if exp.kind == "latency" else [])
        for field, name in zip(fields, exp.references()):
            if name not in known:
                err(f"names unknown system '{name}'", ("expect", i, field), _near(name, sorted(known), "systems"))
        if exp.dataset is not None and exp.dataset not in datasets:
            err(f"names unknown dataset '{exp.dataset}'", ("expect", i, "dataset"),
                _near(exp.dataset, list(datasets), "datasets"))
            continue
        if exp.kind not in ("value", "delta"):
            continue
        for j in [datasets[exp.dataset]] if exp.dataset else range(len(suite.datasets)):
            spec, task = suite.datasets[j], tasks.get(j) or "ranking"
            evaluated = spec.measures if spec.measures is not None else suite.measures
            if evaluated and canonical(exp.measure, task) not in {canonical(m, task) for m in evaluated}:
                err(f"measure '{exp.measure}' is not evaluated on dataset '{spec.label}'", ("expect", i, "measure"),
                    f"add it to the measures of '{spec.label}' (evaluated: {', '.join(evaluated)})")
                break


def data_errors(loaded: LoadedSuite) -> list[LrbenchError]:
    """What only reading the data finds (duplicate document ids): `lrbench validate` runs these after the
    suite's own checks pass, `lrbench run` meets them when it reads the data."""
    from lrbench.datasets import open_dataset

    errors = []
    for spec in loaded.suite.datasets:
        try:
            open_dataset(spec, loaded.base_dir).check_data()
        except LrbenchError as e:
            errors.append(e)
    return errors
