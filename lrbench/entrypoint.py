"""The `lrbench` entry point: a fully cached `lrbench run SUITE [--out DIR]` answers before the command-line
framework loads, so it costs about what `lrbench --help` does (the framework builds a validator per option).

Only that plain form is taken here: with any other option, or when the suite does not parse or the receipt
(lrbench.rerun) does not match, the full command runs, and it is the one that reports errors.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    started = time.perf_counter()
    # The command line uses no pydantic plugins, and looking for them reads every installed distribution's
    # metadata at start-up. Set PYDANTIC_DISABLE_PLUGINS yourself to choose otherwise.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if not _answered_from_cache(sys.argv[1:], started):
        from lrbench.cli import app

        app()


def plain_run(argv: list[str]) -> tuple[str, str | None] | None:
    """(suite, out) for `run SUITE [--out|-o DIR]` in any order, else None."""
    if not argv or argv[0] != "run":
        return None
    suite, out, rest = None, None, list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg in ("--out", "-o") and rest and out is None:
            out = rest.pop(0)
        elif arg.startswith("--out=") and out is None:
            out = arg.split("=", 1)[1]
        elif not arg.startswith("-") and suite is None:
            suite = arg
        else:
            return None
    return (suite, out) if suite else None


def _answered_from_cache(argv: list[str], started: float) -> bool:
    target = plain_run(argv)
    if target is None:
        return False
    suite, out = target
    from lrbench.store.location import ResultsLocation

    location = ResultsLocation.of(out) if out else None
    if location is not None and (location.remote or not (location.path / "rerun.json").exists()):
        return False  # no receipt (lrbench.rerun.RECEIPT) to answer from: straight to the full command
    try:
        from rich.console import Console

        from lrbench.rerun import print_cached
        from lrbench.suites.loader import parse_suite

        return print_cached(parse_suite(suite), location, started, Console(emoji=False),
                            Console(stderr=True, emoji=False))
    except Exception:  # noqa: BLE001 - whatever went wrong, the full command redoes it and reports it
        return False
