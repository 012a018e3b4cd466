"""Load a suite file and check everything that can be checked without running it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from lrbench.errors import LrbenchError
from lrbench.suites.schema import DatasetSpec, Suite, SystemSpec
from lrbench.suites.yamlsrc import LocatedYaml, load_yaml


@dataclass
class LoadedSuite:
    suite: Suite
    path: Path
    located: LocatedYaml
    errors: list[LrbenchError] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.parent.resolve()


def _key_path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_for(loc) -> type[BaseModel]:
    model: type[BaseModel] = Suite
    for part in loc[:-1]:
        if part == "datasets":
            model = DatasetSpec
        elif part == "systems":
            model = SystemSpec
    return model


def _pydantic_errors(exc: ValidationError, located: LocatedYaml) -> list[LrbenchError]:
    errors = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = located.line_of(loc)
        if err["type"] == "extra_forbidden":
            allowed = list(_model_for(loc).model_fields)
            near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = (f"did you mean '{near[0]}'? " if near else "") + f"allowed keys: {', '.join(allowed)}"
            errors.append(LrbenchError(f"unknown key '{loc[-1]}'", file=located.file, line=line,
                                       key=_key_path(loc), hint=hint))
        elif err["type"] == "missing":
            errors.append(LrbenchError("required key is missing", file=located.file, line=line,
                                       key=_key_path(loc), hint=f"add '{loc[-1]}:'"))
        else:
            errors.append(LrbenchError(err["msg"], file=located.file, line=line, key=_key_path(loc),
                                       hint="see the suite reference in README.md"))
    return errors


def _semantic_errors(suite: Suite, located: LocatedYaml, base_dir: Path) -> list[LrbenchError]:
    from lrbench.results.evaluators import evaluator_for
    from lrbench.runners.registry import get_runner
    from lrbench.suites.cells import expand_system
    from lrbench.suites.datasets import open_dataset

    errors: list[LrbenchError] = []

    def err(message, loc, hint=None):
        errors.append(LrbenchError(message, file=located.file, line=located.line_of(loc),
                                   key=_key_path(loc), hint=hint))

    names = [s.name for s in suite.systems]
    for i, system in enumerate(suite.systems):
        if names.count(system.name) > 1 and names.index(system.name) != i:
            err(f"duplicate system name '{system.name}'", ("systems", i, "name"), "give each system a unique name")
        try:
            runner = get_runner(system.type)
        except LrbenchError as e:
            err(e.message, ("systems", i, "type"), e.hint)
            runner = None
        if runner is not None:
            for _, params, _ in expand_system(system):
                try:
                    runner.parse_params(params)
                except LrbenchError as e:
                    err(e.message, ("systems", i) + tuple(e.key.split(".")), e.hint)
                    break
            if runner.needs_input and not system.input_names:
                err(f"a {system.type} system reranks another system's run", ("systems", i),
                    "add input: <first-stage system name> and depth: N")
            count = len(system.input_names)
            if count < runner.min_inputs:
                err(f"a {system.type} system combines at least {runner.min_inputs} runs, got {count}",
                    ("systems", i), "add inputs: [system a, system b]")
            elif runner.max_inputs is not None and count > runner.max_inputs:
                err(f"a {system.type} system reads at most {runner.max_inputs} input run(s), got {count}",
                    ("systems", i, "inputs"), "give input: <one system>")
        if system.compress is not None:
            from lrbench.compression.config import config_problems

            for problem in config_problems(system.compress):
                err(problem.message, ("systems", i) + tuple(problem.key.split(".")), problem.hint)
        for j, name in enumerate(system.input_names):
            loc = ("systems", i, "inputs", j) if system.inputs else ("systems", i, "input")
            if name not in names:
                near = difflib.get_close_matches(name, names, n=1)
                err(f"input names unknown system '{name}'", loc,
                    f"did you mean '{near[0]}'?" if near else f"systems: {', '.join(names)}")
            elif name == system.name:
                err("a system cannot be its own input", loc)
            elif suite.system(name).sweep:
                err(f"input '{name}' is a sweep", loc,
                    "read a single configuration: add a system without sweep for it")
            elif system.input_names.index(name) != j:
                err(f"input '{name}' is listed twice", loc, "list each input system once")
    if suite.baseline and suite.baseline not in names:
        near = difflib.get_close_matches(suite.baseline, names, n=1)
        err(f"baseline names unknown system '{suite.baseline}'", ("baseline",),
            f"did you mean '{near[0]}'?" if near else f"systems: {', '.join(names)}")
    for i, spec in enumerate(suite.datasets):
        try:
            dataset = open_dataset(spec, base_dir)
            dataset.source_files()  # resolves and checks local paths without reading them
        except LrbenchError as e:
            err(e.message, ("datasets", i) + (tuple(e.key.split(".")[1:]) if e.key else ()), e.hint)
            continue
        evaluator = evaluator_for(dataset.task)
        own = spec.measures is not None
        for j, measure in enumerate(spec.measures if own else suite.measures):
            try:
                evaluator.validate(measure)
            except LrbenchError as e:
                err(e.message, ("datasets", i, "measures", j) if own else ("measures", j), e.hint)
    from lrbench.suites.expect import expectation_errors

    for message, loc, hint in expectation_errors(suite):
        err(message, loc, hint)
    return errors


def load_suite(path: str | Path, *, strict: bool = True) -> LoadedSuite:
    """Parse and validate. strict: raise the first error; otherwise collect them all in `.errors`."""
    path = Path(path)
    located = load_yaml(path)
    if not isinstance(located.data, dict):
        raise LrbenchError("a suite must be a YAML mapping with name, datasets, systems", file=str(path), line=1,
                           hint="see suites/quickstart.yaml")
    try:
        suite = Suite(**located.data)
    except ValidationError as exc:
        errors = _pydantic_errors(exc, located)
        if strict or not errors:
            raise errors[0] from None
        return LoadedSuite(Suite.model_construct(name=str(located.data.get("name", path.stem)),
                                                 datasets=[], systems=[]), path, located, errors)
    loaded = LoadedSuite(suite, path, located)
    loaded.errors = _semantic_errors(suite, located, loaded.base_dir)
    if strict and loaded.errors:
        raise loaded.errors[0]
    return loaded
