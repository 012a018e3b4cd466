"""Name -> object registries (runners, dataset schemes, evaluators, LLM score modes), after lm-eval's `Registry`.

A name comes from one of three sources, in this order of precedence:

1. registered in this process (`register`: notebooks, tests, a plug-in's import),
2. built in: a "module:attr" string imported only when the name is first used, so a heavy runner costs
   nothing to a suite that does not use it,
3. installed by a third party under the registry's entry point group (e.g. `lrbench.runners`); the group
   is scanned only for a name the first two do not know, or to list everything.

An unknown name is one LrbenchError line that suggests the closest known names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

from lrbench.errors import LrbenchError

T = TypeVar("T")

REGISTERED, BUILTIN, ENTRY_POINT = "registered", "built-in", "entry point"


@dataclass(frozen=True)
class Entry:
    """Where a name comes from: `target` is "module:attr" (or the entry point's value); `load()` imports it."""

    name: str
    target: str
    origin: str
    _load: Callable[[], Any]

    def load(self) -> Any:
        return self._load()

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]


def import_target(target: str) -> Any:
    """The object a "module:attr" string names (attr may be dotted)."""
    module, sep, attr = target.partition(":")
    if not sep or not attr:
        raise ValueError(f"'{target}' is not of the form 'module:attr'")
    obj = import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def close_names(name: str, known: list[str], n: int = 2) -> list[str]:
    """The known names closest to `name` (difflib), best first."""
    return difflib.get_close_matches(name, known, n=n)


class Registry(Generic[T]):
    """One kind of named thing (`kind` names it in errors, e.g. "runner type"), from the three sources above.

    Behaves as a read-only mapping for lookups: `name in registry`, `registry[name]`, iteration over names.
    """

    def __init__(self, kind: str, *, group: str | None = None, builtins: dict[str, str | T] | None = None,
                 key: str | None = None, hint: str = ""):
        self.kind = kind
        self.group = group
        self.key = key  # the suite key an unknown name is reported under
        self.hint = hint  # how to add one, appended to the unknown-name error
        self._builtins: dict[str, str | T] = dict(builtins or {})
        self._registered: dict[str, T] = {}
        self._loaded: dict[str, T] = {}  # built-ins and entry points already imported
        self._installed: dict[str, Any] | None = None  # entry point name -> EntryPoint, scanned once

    # -- sources --------------------------------------------------------------------------------
    def register(self, name: str, obj: T) -> T:
        """Make `obj` known as `name` in this process (wins over built-ins and entry points)."""
        self._registered[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Forget a name registered in this process (built-ins and entry points stay)."""
        self._registered.pop(name, None)

    def add_builtin(self, name: str, target: str | T) -> None:
        """A built-in: an object, or a "module:attr" string imported on first use."""
        self._builtins[name] = target
        self._loaded.pop(name, None)

    def _entry_points(self) -> dict[str, Any]:
        if self._installed is None:
            self._installed = {ep.name: ep for ep in entry_points(group=self.group)} if self.group else {}
        return self._installed

    def refresh(self) -> None:
        """Scan the entry point group again (after installing a plug-in in a running process)."""
        self._installed = None
        self._loaded.clear()

    # -- lookup ---------------------------------------------------------------------------------
    def entry(self, name: str) -> Entry | None:
        """Where `name` comes from, without importing it; None when unknown. Entry points are scanned only
        for names that are neither registered nor built in."""
        if name in self._registered:
            obj = self._registered[name]
            return Entry(name, _target_of(obj), REGISTERED, lambda: obj)
        if name in self._builtins:
            target = self._builtins[name]
            if isinstance(target, str):
                return Entry(name, target, BUILTIN, lambda: self._load(name, lambda: import_target(target)))
            return Entry(name, _target_of(target), BUILTIN, lambda: target)
        ep = self._entry_points().get(name)
        if ep is None:
            return None
        return Entry(name, ep.value, ENTRY_POINT, lambda: self._load(name, ep.load))

    def _load(self, name: str, load: Callable[[], T]) -> T:
        if name not in self._loaded:
            self._loaded[name] = load()
        return self._loaded[name]

    def get(self, name: str) -> T:
        """The object for `name`, imported on first use. Unknown: LrbenchError with the closest names;
        failing to import: LrbenchError naming the module."""
        found = self.entry(name)
        if found is None:
            raise self.unknown(name)
        try:
            return found.load()
        except Exception as exc:
            raise LrbenchError(f"{self.kind} '{name}' failed to import from {found.module}: "
                               f"{type(exc).__name__}: {exc}", key=self.key,
                               hint="install the package that provides it") from None

    def names(self) -> list[str]:
        """Every known name, sorted (scans the entry point group)."""
        return sorted({*self._entry_points(), *self._builtins, *self._registered})

    def entries(self) -> dict[str, Entry]:
        """Every known name -> its Entry, sorted by name (nothing is imported)."""
        return {name: self.entry(name) for name in self.names()}

    def suggestion(self, name: str, also: list[str] | None = None) -> str:
        """"did you mean 'x'? " for the closest known name (or of `also`), else ""."""
        near = close_names(name, self.names() + list(also or []))
        return f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""

    def unknown(self, name: str) -> LrbenchError:
        names = self.names()
        return LrbenchError(f"unknown {self.kind} '{name}'", key=self.key,
                            hint=self.suggestion(name) + f"known: {', '.join(names)}" +
                            (f"; {self.hint}" if self.hint else ""))

    # -- mapping view ---------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.entry(name) is not None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, group={self.group!r}, names={len(self)})"


def _target_of(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__qualname__)}"
