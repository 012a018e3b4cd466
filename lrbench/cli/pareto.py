"""`lrbench pareto`: quality-vs-cost plots (parameters, latency) of a finished run, next to its leaderboard."""

from __future__ import annotations

from typing import Optional

import typer

from lrbench.cli.common import console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def pareto(targets: list[str] = typer.Argument(..., metavar="RESULTS...",
                                                   help="Results folders or URIs (s3://...) written by `lrbench run`."),
               measure: Optional[str] = typer.Option(None, "--measure", help="Quality measure (default: the "
                                                     "dataset's first)."),
               dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset."),
               out: Optional[str] = typer.Option(None, "--out", help="Write one combined PNG here: a "
                                                 "quality-vs-parameters panel per folder and dataset.")):
        """Write pareto-<dataset>.png: quality vs FLOPs per query (when every cell records them), vs parameters
        and vs latency, Pareto front marked."""
        from lrbench.presentation.pareto import write_combined_pareto, write_pareto
        from lrbench.store.remote import local_results

        folders = [local_results(t) for t in targets]
        if out:
            paths = [write_combined_pareto(folders, out, measure)]
        else:
            paths = [p for results in folders for p in write_pareto(results, measure, dataset)]
        for path in paths:
            console.print(f"wrote {path}", highlight=False, soft_wrap=True)
