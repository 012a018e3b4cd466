"""What every command shares: the consoles, the debug switch, one-line errors, the --mirror option."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from lrbench.errors import LrbenchError

console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}


def friendly_errors(fn):
    """Turn LrbenchError into one line on stderr and exit 2; tracebacks only with --debug."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LrbenchError as exc:
            if STATE["debug"]:
                raise
            err_console.print(f"[red]error:[/red] {escape(exc.one_line())}", highlight=False, soft_wrap=True)
            raise typer.Exit(2)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted: finished cells are kept; rerun to resume[/yellow]")
            raise typer.Exit(130)
    return wrapper


def set_mirror(mirror: Optional[Path]) -> None:
    if mirror is not None:
        if not mirror.is_dir():
            raise LrbenchError(f"--mirror {mirror} is not a folder", hint="point it at a folder laid out as an ir_datasets cache")
        os.environ["LRBENCH_MIRROR"] = str(mirror.resolve())
