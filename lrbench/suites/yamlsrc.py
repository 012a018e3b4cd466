"""YAML loading that remembers the line of every key, so errors can point at file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lrbench.errors import LrbenchError

Path_ = tuple  # a key path such as ("systems", 1, "type")


class LocatedYaml:
    """Parsed YAML data plus a map from key paths to 1-based line numbers."""

    def __init__(self, data: Any, lines: dict[Path_, int], file: str):
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: Path_) -> int | None:
        """Line of the deepest existing prefix of `path`."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


#: A suite is small; more nodes than this (aliases expanded) is an alias bomb or a mistake.
MAX_NODES = 100_000


class _Walk:
    """Maps key paths to lines, counting nodes with aliases expanded (as everything downstream sees them)."""

    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.lines: dict[Path_, int] = {}

    def error(self, message: str, node: yaml.Node, hint: str) -> LrbenchError:
        return LrbenchError(message, file=self.file, line=node.start_mark.line + 1, hint=hint)

    def walk(self, node: yaml.Node, path: Path_, open_nodes: frozenset = frozenset()) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(f"the suite expands to more than {MAX_NODES:,} YAML values (aliases repeated "
                             "inside aliases?)", node, "write the values out, or use fewer nested aliases")
        if id(node) in open_nodes:
            raise self.error("a YAML alias refers to itself", node, "remove the recursive alias")
        self.lines.setdefault(path, node.start_mark.line + 1)
        inner = open_nodes | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error("a mapping key must be a plain value", key_node, "use a name as the key")
                if key in seen and key != "<<":
                    raise LrbenchError(f"duplicate key '{key}' (first on line {seen[key]})", file=self.file,
                                       line=key_node.start_mark.line + 1, key=_dotted(path + (key,)),
                                       hint="keep one of them: YAML would silently use the last")
                seen[key] = key_node.start_mark.line + 1
                self.walk(value_node, path + (key,), inner)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, path + (i,), inner)


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _decode(path: Path) -> str:
    """The suite's text; a suite is UTF-8 (a BOM is allowed), anything else is one clear error."""
    if path.is_dir():
        raise LrbenchError("is a folder, not a suite file", file=str(path), hint="pass the suite's .yaml file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LrbenchError(f"cannot read the suite file ({exc.strerror})", file=str(path),
                           hint="check the path and its permissions") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and b"\x00" in data[:2]):
        raise LrbenchError("the suite file is UTF-16, not UTF-8", file=str(path), line=1,
                           hint="save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise LrbenchError(f"the suite file is not UTF-8 (byte 0x{data[exc.start]:02x})", file=str(path),
                           line=line, hint="save it as UTF-8") from None


def load_yaml(path: str | Path) -> LocatedYaml:
    path = Path(path)
    if not path.exists():
        raise LrbenchError("suite file not found", file=str(path), hint="check the path")
    text = _decode(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        walk = _Walk(str(path))
        if node is not None:
            walk.walk(node, ())  # bounded before anything expands aliases
        data = yaml.SafeLoader("").construct_document(node) if node is not None else None
    except RecursionError:
        raise LrbenchError("the suite nests too deeply", file=str(path), hint="flatten the YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LrbenchError(f"malformed YAML: {problem}", file=str(path),
                           line=mark.line + 1 if mark else None,
                           hint="fix the YAML syntax (indentation, colons, quotes)") from None
    return LocatedYaml(data, walk.lines, str(path))
