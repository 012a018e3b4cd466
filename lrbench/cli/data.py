"""`lrbench data`: inspect datasets and seed the ir_datasets cache from an offline mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lrbench.errors import LrbenchError

data_app = typer.Typer(help="Inspect datasets; seed the ir_datasets cache from an offline mirror.",
                       no_args_is_help=True)
console = Console()


def _mirror(mirror: Optional[Path]) -> Path:
    from lrbench.suites.mirror import mirror_dir

    if mirror is not None and not mirror.is_dir():
        raise LrbenchError(f"--mirror {mirror} is not a folder", hint="point it at a folder laid out as an ir_datasets cache")
    found = mirror or mirror_dir()
    if found is None:
        raise LrbenchError("no mirror given", hint="pass --mirror DIR or set LRBENCH_MIRROR")
    return found


@data_app.command("seed")
def seed(dataset_id: str = typer.Argument(..., help="ir_datasets id, e.g. beir/scifact/test (irds: prefix optional)."),
         mirror: Optional[Path] = typer.Option(None, "--mirror", help="Mirror folder [env: LRBENCH_MIRROR].")):
    """Copy a dataset's files that the ir_datasets home lacks from the mirror."""
    from lrbench.cli.common import friendly_errors
    from lrbench.suites.mirror import irds_home, seed_from_mirror

    @friendly_errors
    def go():
        source = _mirror(mirror)
        copied = seed_from_mirror(dataset_id.removeprefix("irds:"), source, irds_home())
        for path in copied:
            console.print(f"copied {path}")
        console.print(f"{len(copied)} file(s) copied into {irds_home()}")
    go()


@data_app.command("info")
def info(dataset_id: str = typer.Argument(..., help="A dataset id as a suite writes it (irds:..., beir:..., scifact)."),
         qrels: Optional[str] = typer.Option(None, "--qrels", help="Qrels file, for candidates:/trec: ids."),
         mirror: Optional[Path] = typer.Option(None, "--mirror", help="Mirror folder [env: LRBENCH_MIRROR].")):
    """Counts, relevance grades and the content fingerprint of one dataset."""
    import os

    from lrbench.cli.common import friendly_errors
    from lrbench.suites.datasets import open_dataset
    from lrbench.suites.schema import DatasetSpec

    @friendly_errors
    def go():
        if mirror is not None:
            os.environ["LRBENCH_MIRROR"] = str(_mirror(mirror).resolve())
        dataset = open_dataset(DatasetSpec(id=dataset_id, qrels=qrels), Path.cwd())
        table = Table(title=dataset_id, show_header=False)
        table.add_row("scheme / task", f"{dataset.scheme} / {dataset.task}")
        if dataset.task == "ranking":
            if dataset.has_docs():
                table.add_row("documents", f"{sum(1 for _ in dataset.docs()):,}")
            table.add_row("queries", f"{len(dataset.queries()):,}")
            try:
                judged = dataset.judged_qrels
                grades = judged["relevance"].value_counts().sort_index()
                table.add_row("judged queries", f"{judged['query_id'].nunique():,}")
                table.add_row("judgements", f"{len(judged):,}")
                table.add_row("grades", ", ".join(f"{g}: {n}" for g, n in grades.items()))
            except LrbenchError:
                table.add_row("judgements", "none")
            if dataset.catalogue:
                table.add_row("default measures", ", ".join(dataset.catalogue.measures))
        table.add_row("fingerprint", dataset.fingerprint())
        console.print(table)
    go()
