"""Load and validate a suite: the schema (lrbench.suites.loader), then every semantic check (plan.checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lrbench.errors import LrbenchError
from lrbench.suites.loader import LoadedSuite, parse_suite, parse_suite_data


def check(loaded: LoadedSuite, *, strict: bool = True) -> LoadedSuite:
    """Run the semantic checks once; strict: raise the first problem, else collect them in `.errors`."""
    from lrbench.plan.checks import suite_errors

    if not loaded.checked:
        if not loaded.errors:  # a suite that failed its schema has nothing sound to check further
            loaded.errors = _plugin_errors(loaded) or suite_errors(loaded)
        loaded.checked = True
    if strict and loaded.errors:
        raise loaded.errors[0]
    return loaded


def _plugin_errors(loaded: LoadedSuite) -> list[LrbenchError]:
    """The suite's `plugins:` imported first: the runners they register are what the checks look up."""
    from lrbench.plugins import load_plugins

    for i, name in enumerate(loaded.suite.plugins):
        try:
            load_plugins([name], loaded.base_dir)
        except LrbenchError as exc:
            return [loaded.error(exc.message, ("plugins", i), hint=exc.hint)]
    return []


def use_mirror(mirror: str | Path | None) -> None:
    """Point dataset loading at an offline ir_datasets mirror (the same as LRBENCH_MIRROR=DIR)."""
    import os

    if mirror is None:
        return
    path = Path(mirror).expanduser()
    if not path.is_dir():
        raise LrbenchError(f"mirror {mirror} is not a folder", key="mirror",
                           hint="point it at a folder laid out as an ir_datasets cache")
    os.environ["LRBENCH_MIRROR"] = str(path.resolve())


def load_suite(source: str | Path | dict[str, Any], base_dir: str | Path | None = None, *,
               mirror: str | Path | None = None, strict: bool = True) -> LoadedSuite:
    """A suite file, or a dict whose relative paths resolve against `base_dir` (default: the working folder),
    parsed and validated: the object `lrbench validate`, `lrbench run` and the Python API all use."""
    use_mirror(mirror)
    if isinstance(source, dict):
        loaded = parse_suite_data(source, Path(base_dir) if base_dir is not None else Path.cwd(), strict=strict)
    else:
        loaded = parse_suite(source, strict=strict)
        if base_dir is not None:
            loaded.root = Path(base_dir)
    return check(loaded, strict=strict)
