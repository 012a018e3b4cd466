"""`lrbench tables` and `lrbench summarize`: benchmark tables from results folders, and the small part of a
results folder worth committing beside them."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from lrbench.cli.common import console, err_console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def tables(files: List[Path] = typer.Argument(..., help="Markdown files with <!-- lrbench-table ... --> blocks."),
               check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a block is stale.")):
        """Rewrite the tables between <!-- lrbench-table results=DIR ... --> markers from those results folders."""
        from lrbench.presentation.tables import regenerate

        stale = []
        for path in files:
            text, blocks = regenerate(path)
            if text != path.read_text(encoding="utf-8"):
                stale.append(path)
                if not check:
                    path.write_text(text, encoding="utf-8")
            console.print(f"{path}: {blocks} table(s)" + (" rewritten" if path in stale and not check else
                                                          " stale" if path in stale else " up to date"),
                          highlight=False)
        if check and stale:
            err_console.print(f"{len(stale)} file(s) out of date: run `lrbench tables {' '.join(map(str, stale))}`")
            raise typer.Exit(1)

    @app.command()
    @friendly_errors
    def summarize(results: str = typer.Argument(..., help="A results folder written by `lrbench run`."),
                  dest: Path = typer.Argument(..., help="Where the summary goes, e.g. benchmarks/results/NAME.")):
        """Copy leaderboard, cells.json and each cell's meta.json, scores and per-query values (no run files)."""
        from lrbench.presentation.tables import summarize as copy_summary

        written = copy_summary(results, dest)
        console.print(f"wrote {len(written)} files to {dest}", highlight=False)
