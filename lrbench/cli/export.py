"""`lrbench export`: write a results folder's runs as TREC, Parquet, JSON lines, ranx JSON or RankLLM lists."""

from __future__ import annotations

from typing import Optional

import typer

from lrbench.cli.common import console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def export(target: str = typer.Argument(..., metavar="RESULTS",
                                            help="A results folder or URI (s3://...) written by `lrbench run`."),
               fmt: str = typer.Option(..., "--format", help="trec | parquet | jsonl | ranx | rankllm"),
               system: Optional[str] = typer.Option(None, "--system", help="Only this system (label or name)."),
               dataset: Optional[str] = typer.Option(None, "--dataset", help="Only this dataset (name or id)."),
               out: Optional[str] = typer.Option(None, "--out", help="A file, or a folder for one file per run "
                                                 "(default: RESULTS/export/)."),
               suite_dir: str = typer.Option(".", "--suite-dir", help="rankllm: where the suite's relative "
                                             "dataset paths resolve (for query and passage texts).")):
        """Write runs with query_id, doc_id, rank, score, system (the TREC run tag) and dataset."""
        from lrbench.presentation.export import export_runs
        from lrbench.store.remote import local_results

        for path in export_runs(local_results(target), fmt, out, system=system, dataset=dataset,
                                suite_dir=suite_dir):
            console.print(f"wrote {path}", highlight=False, soft_wrap=True)
