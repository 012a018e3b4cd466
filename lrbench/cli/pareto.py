"""`lrbench pareto`: quality-vs-cost plots (parameters, latency) of a finished run, next to its leaderboard."""

from __future__ import annotations

from typing import Optional

import typer

from lrbench.cli.common import console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def pareto(target: str = typer.Argument(..., metavar="RESULTS",
                                            help="A results folder or URI (s3://...) written by `lrbench run`."),
               measure: Optional[str] = typer.Option(None, "--measure", help="Quality measure (default: the "
                                                     "dataset's first)."),
               dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset.")):
        """Write pareto-<dataset>.png: quality vs parameters and vs latency, Pareto front marked."""
        from lrbench.presentation.pareto import write_pareto
        from lrbench.store.remote import local_results

        results = local_results(target)
        for path in write_pareto(results, measure, dataset):
            console.print(f"wrote {path}", highlight=False, soft_wrap=True)
