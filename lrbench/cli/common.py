"""What every command shares: the consoles, the debug switch, one-line errors, the --mirror option."""

from __future__ import annotations

import functools
import os
import signal
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from lrbench.errors import LrbenchError, os_error

#: columns of output that goes to a file or pipe (CI logs): wide enough that tables keep whole system names
PLAIN_WIDTH = 1000


def _console(stderr: bool = False) -> Console:
    """Names in the data (`beir:b:`) must print as they are: no emoji codes, and markup only where we write it.
    Not on a terminal (and no COLUMNS set), rich would cut tables at 80 columns: the log gets them whole."""
    out = Console(stderr=stderr, emoji=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = PLAIN_WIDTH
    return out


console = _console()
err_console = _console(stderr=True)
STATE = {"debug": False}


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the run stops between cells and keeps those it finished."""


def print_line(label: str, text: str, style: str = "red") -> None:
    """`label text` on stderr (label e.g. "error:"), the text printed as it is: no markup, no emoji codes."""
    err_console.print(Text.assemble((label, style), " ", text), highlight=False, soft_wrap=True)


def _terminate(signum, frame):
    raise Terminated()


def friendly_errors(fn):
    """Turn LrbenchError (and any OSError from the environment) into one line on stderr and exit 2;
    tracebacks only with --debug. SIGTERM stops the command as Ctrl-C does."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            return fn(*args, **kwargs)
        except (LrbenchError, OSError) as exc:
            if STATE["debug"]:
                raise
            error = exc if isinstance(exc, LrbenchError) else os_error(exc, action="read or write")
            print_line("error:", error.one_line())
            raise typer.Exit(2)
        except Terminated:
            print_line("terminated:", "finished cells are kept; rerun to resume", "yellow")
            raise typer.Exit(143)
        except KeyboardInterrupt:
            print_line("interrupted:", "finished cells are kept; rerun to resume", "yellow")
            raise typer.Exit(130)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    return wrapper


def set_mirror(mirror: Optional[Path]) -> None:
    if mirror is not None:
        if not mirror.is_dir():
            raise LrbenchError(f"--mirror {mirror} is not a folder", hint="point it at a folder laid out as an ir_datasets cache")
        os.environ["LRBENCH_MIRROR"] = str(mirror.resolve())
