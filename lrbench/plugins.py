"""Plugins without packaging: `lrbench run --plugin my_runner.py` or `plugins: [my_module]` in a suite imports a
module whose import registers runners (`register_runner`), dataset schemes or measures, before the suite is checked.

A plugin is a module name importable from the suite's folder or the working folder, or a path to a `.py` file.
Its folder is put on `sys.path` and on `PYTHONPATH`, so worker processes (`--executor process`, Ray on this
machine) import the same module by name when they unpickle a cell's runner class.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from lrbench.errors import LrbenchError

_LOADED: dict[str, str] = {}


def _on_path(folder: Path) -> None:
    folder = str(folder.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if folder not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([folder, *parts])


def load_plugin(name: str, base_dir: Path | None = None, key: str = "--plugin") -> str:
    """Import one plugin (a module name, or a .py file relative to `base_dir` or absolute); returns the module
    name. Importing the same plugin twice is a no-op."""
    if name in _LOADED:
        return _LOADED[name]
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if name.endswith(".py"):
        path = Path(name).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise LrbenchError(f"plugin file {path} not found", key=key,
                               hint="give a .py file (relative to the suite folder) or an importable module name")
        _on_path(path.parent)
        module = path.stem
    else:
        module = name
        _on_path(base)
    try:
        importlib.import_module(module)
    except LrbenchError:
        raise
    except Exception as exc:  # a plugin's own error, in one line
        detail = str(exc).strip().splitlines()
        raise LrbenchError(f"plugin '{name}' failed to import: {type(exc).__name__}: {detail[0] if detail else ''}",
                           key=key, hint="fix the plugin, or check that its module is importable from the suite "
                                         "folder") from None
    _LOADED[name] = module
    return module


def load_plugins(names: list[str] | None, base_dir: Path | None = None, key: str = "plugins") -> list[str]:
    return [load_plugin(name, base_dir, f"{key}[{i}]" if key == "plugins" else key)
            for i, name in enumerate(names or [])]
