"""`lrbench models`: make Hub ids resolve offline (import) and show what resolves (list)."""

from __future__ import annotations

from pathlib import Path

import typer

from lrbench.cli.common import console, friendly_errors

models_app = typer.Typer(help="Offline model resolution: import local folders or GGUF files under their Hub id.",
                         no_args_is_help=True)


@models_app.command("import")
@friendly_errors
def import_(hub_id: str = typer.Argument(..., help="The Hub id suites use, e.g. sentence-transformers/all-MiniLM-L6-v2."),
            path: Path = typer.Argument(..., help="A model folder (config.json + weights) or a .gguf file."),
            copy: bool = typer.Option(False, "--copy", help="Copy the folder into the model store instead of "
                                      "pointing at it.")):
    """Map HUB_ID to PATH so that suites naming HUB_ID load it with the Hub unreachable."""
    from lrbench.models import import_model, models_dir

    entry = import_model(hub_id, path, copy=copy)
    console.print(f"[green]imported[/green] {hub_id} -> {entry['path']} ({entry['revision']}) "
                  f"in {models_dir()}", highlight=False, soft_wrap=True)


@models_app.command("list")
@friendly_errors
def list_():
    """Show which model ids resolve offline, and from where."""
    from rich.table import Table

    from lrbench.models import list_models, models_dir

    table = Table(title=f"models ({models_dir()})")
    for col in ("model", "resolves", "via", "revision", "path / note"):
        table.add_column(col, overflow="fold")
    for row in list_models():
        table.add_row(row["model"], "yes" if row["resolves"] else "no", row["via"], row["revision"],
                      row["path"] + (f"\n{row['note']}" if row["note"] else ""))
    console.print(table)
