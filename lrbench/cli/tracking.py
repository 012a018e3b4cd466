"""`lrbench log RESULTS --to mlflow|wandb`: one experiment-tracker run per stored cell (runs nothing)."""

from __future__ import annotations

from typing import Optional

import typer

from lrbench.cli.common import console, friendly_errors


def print_logged(logged) -> None:
    skipped = f" ({logged.skipped} cell(s) already there)" if logged.skipped else ""
    console.print(f"logged {len(logged.runs)} run(s) to {logged.target} experiment '{logged.experiment}' at "
                  f"{logged.where}{skipped}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def log(results: str = typer.Argument(..., help="A results folder or URI (s3://...) written by `lrbench run`."),
            to: str = typer.Option(..., "--to", help="mlflow (a local file store, or a tracking URI) or wandb "
                                                     "(offline unless WANDB_MODE is set)."),
            experiment: Optional[str] = typer.Option(None, "--experiment", help="MLflow experiment or W&B project "
                                                     "[default: the suite name]."),
            folder: Optional[str] = typer.Option(None, "--dir", help="MLflow: file store folder or tracking URI "
                                                 "[default: ./mlruns]; W&B: the folder that gets wandb/ "
                                                 "[default: .]."),
            ):
        """Log every cell to MLflow or Weights & Biases: config as params, scores and profile as metrics."""
        from lrbench.presentation.tracking import log_results
        from lrbench.store.remote import local_results

        print_logged(log_results(local_results(results), to, experiment=experiment, folder=folder))
