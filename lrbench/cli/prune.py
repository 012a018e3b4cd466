"""`lrbench prune DIR [--yes]`: remove cells the folder's suite no longer names (a dry run without --yes)."""

from __future__ import annotations

import typer
from rich.markup import escape

from lrbench.cli.common import console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def prune(results: str = typer.Argument(..., help="A results folder or URI written by `lrbench run`."),
              yes: bool = typer.Option(False, "--yes", help="Delete them (without it: list them, delete nothing).")):
        """List (or with --yes delete) the cells of a results folder that its suite's leaderboard does not name."""
        from lrbench.store.prune import prune as run_prune

        stale = run_prune(results, delete=yes)
        for cell in stale:
            console.print(f"{'removed' if yes else 'stale'} {cell.key}  {escape(cell.label)}", highlight=False)
        verb = "removed" if yes else "would be removed (dry run: add --yes to delete)"
        console.print(f"{len(stale)} cell(s) no suite names {verb}" if stale else "no stale cells", highlight=False)
