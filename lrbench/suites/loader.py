"""Parse a suite (a YAML file, or a dict and a base folder) into the typed model, every error with file:line.

This is the schema half of validation only: what needs runners, datasets or measures is checked by the plan
layer (`lrbench.plan.load_suite`), which is what `lrbench validate` and `lrbench run` both call.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lrbench.errors import LrbenchError
from lrbench.suites.schema import DatasetSpec, Suite, SystemSpec
from lrbench.suites.yamlsrc import LocatedYaml, load_yaml

DICT_SOURCE = "<suite dict>"


@dataclass
class LoadedSuite:
    suite: Suite
    path: Path | None
    located: LocatedYaml
    errors: list[LrbenchError] = field(default_factory=list)
    #: relative paths in the suite resolve against this folder (the suite file's folder by default)
    root: Path | None = None
    #: set once the plan layer's semantic checks have run on this suite
    checked: bool = False
    #: what those checks parsed, for the plan to reuse: {(system name, sweep point as JSON): parsed params and
    #: compress block}
    parsed: dict = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        if self.root is not None:
            return Path(self.root).resolve()
        return self.path.parent.resolve() if self.path else Path.cwd()

    @property
    def file(self) -> str:
        return self.located.file

    def error(self, message: str, loc: tuple, hint: str | None = None, key: str | None = None) -> LrbenchError:
        """An error located at a key path of the suite (file:line where the suite came from a file)."""
        return LrbenchError(message, file=self.file, line=self.located.line_of(loc), key=key or key_path(loc),
                            hint=hint)


def key_path(loc) -> str:
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
    raw = exc.errors()
    unknown = {(tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in raw if e["type"] == "extra_forbidden"}
    errors = []
    for err in sorted(raw, key=lambda e: e["type"] != "extra_forbidden"):  # a typo first, then what it hides
        loc = tuple(err["loc"])
        line = located.line_of(loc)
        if err["type"] == "extra_forbidden":
            allowed = list(_model_for(loc).model_fields)
            near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = f"unknown key '{loc[-1]}'" + (f" (did you mean '{near[0]}'?)" if near else "")
            errors.append(LrbenchError(message, file=located.file, line=line, key=key_path(loc),
                                       hint=f"allowed keys: {', '.join(allowed)}"))
        elif err["type"] == "missing":
            # 'systems is missing' next to an unknown key 'systemz' is the same mistake: report it once
            if any(parent == loc[:-1] and difflib.get_close_matches(str(loc[-1]), [name], n=1)
                   for parent, name in unknown):
                continue
            errors.append(LrbenchError("required key is missing", file=located.file, line=line,
                                       key=key_path(loc), hint=f"add '{loc[-1]}:'"))
        else:
            message = err["msg"].removeprefix("Value error, ")
            errors.append(LrbenchError(message, file=located.file, line=line, key=key_path(loc),
                                       hint="see the suite reference in docs/"))
    return errors


def parse_located(located: LocatedYaml, *, path: Path | None = None, base_dir: Path | None = None,
                  strict: bool = True) -> LoadedSuite:
    """Typed suite from parsed data. strict: raise the first error; otherwise collect them in `.errors`."""
    if not isinstance(located.data, dict):
        raise LrbenchError("a suite must be a mapping with name, datasets, systems", file=located.file, line=1,
                           hint="see suites/quickstart.yaml")
    try:
        suite = Suite(**located.data)
    except ValidationError as exc:
        errors = _pydantic_errors(exc, located)
        if strict or not errors:
            raise errors[0] from None
        name = located.data.get("name")
        empty = Suite.model_construct(name=str(name or (path.stem if path else "suite")), datasets=[], systems=[],
                                      measures=[], expect=[], baseline=None, description="")
        return LoadedSuite(empty, path, located, errors, root=base_dir)
    return LoadedSuite(suite, path, located, root=base_dir)


def parse_suite(path: str | Path, *, strict: bool = True) -> LoadedSuite:
    """Parse a suite file (schema checks only; see `lrbench.plan.load_suite` for the full validation)."""
    path = Path(path)
    return parse_located(load_yaml(path), path=path, strict=strict)


def parse_suite_data(data: dict[str, Any], base_dir: str | Path, *, strict: bool = True,
                     file: str = DICT_SOURCE) -> LoadedSuite:
    """Parse a suite given as a dict (the Python API); relative paths resolve against `base_dir`."""
    return parse_located(LocatedYaml(data, {}, file), base_dir=Path(base_dir), strict=strict)
