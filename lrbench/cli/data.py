"""`lrbench data`: inspect datasets; seed the ir_datasets cache or the Hugging Face datasets cache (mteb:)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lrbench.errors import LrbenchError

data_app = typer.Typer(help="Inspect datasets; seed the ir_datasets cache from an offline mirror.",
                       no_args_is_help=True)
console = Console(emoji=False)


def _mirror(mirror: Optional[Path]) -> Path:
    from lrbench.datasets.mirror import mirror_dir

    if mirror is not None and not mirror.is_dir():
        raise LrbenchError(f"--mirror {mirror} is not a folder", hint="point it at a folder laid out as an ir_datasets cache")
    found = mirror or mirror_dir()
    if found is None:
        raise LrbenchError("no mirror given", hint="pass --mirror DIR or set LRBENCH_MIRROR")
    return found


@data_app.command("seed")
def seed(dataset_id: str = typer.Argument(..., help="ir_datasets id, e.g. beir/scifact/test (irds: prefix optional), "
                                                    "or an MTEB task, e.g. mteb:SciFact."),
         mirror: Optional[Path] = typer.Option(None, "--mirror", help="Mirror folder [env: LRBENCH_MIRROR; for mteb: "
                                                                      "LRBENCH_HF_MIRROR]."),
         source: Optional[Path] = typer.Option(None, "--from", help="mteb: a BEIR folder, CSV/TSV folder or datasets "
                                                                    "cache to build the task's cache entries from.")):
    """Copy a dataset's files that the ir_datasets home lacks from the mirror; for mteb:NAME, write the task's
    data into the Hugging Face datasets cache at the task's pinned revision."""
    from lrbench.cli.common import friendly_errors

    @friendly_errors
    def go():
        if dataset_id.startswith("mteb:"):
            return _seed_mteb(dataset_id.removeprefix("mteb:"), source or mirror)
        from lrbench.datasets.mirror import dataset_files, irds_home, seed_from_mirror

        folder = _mirror(mirror)
        irds_id = dataset_id.removeprefix("irds:")
        if not dataset_files(irds_id, folder):
            raise LrbenchError(f"the mirror {folder} has no files for irds:{irds_id}", key="DATASET_ID",
                               hint="check the id (see `lrbench list datasets`) or copy its files into the mirror")
        copied = seed_from_mirror(irds_id, folder, irds_home())
        for path in copied:
            console.print(f"copied {path}")
        console.print(f"{len(copied)} file(s) copied into {irds_home()}")
    go()


def _seed_mteb(task_name: str, source: Optional[Path]) -> None:
    from lrbench.datasets.hf_cache import hf_datasets_cache, hf_mirror_dir
    from lrbench.datasets.mteb_seed import seed_mteb_task

    source = source or hf_mirror_dir()
    if source is None:
        raise LrbenchError("no source folder given", hint="pass --from DIR or set LRBENCH_HF_MIRROR")
    cache = hf_datasets_cache()
    written = seed_mteb_task(task_name, source, cache)
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True)
    console.print(f"{len(written)} cache entr{'y' if len(written) == 1 else 'ies'} for mteb:{task_name} in {cache}")


@data_app.command("info")
def info(dataset_id: str = typer.Argument(..., help="A dataset id as a suite writes it (irds:..., beir:..., scifact)."),
         qrels: Optional[str] = typer.Option(None, "--qrels", help="Qrels file, for candidates:/trec: ids."),
         mirror: Optional[Path] = typer.Option(None, "--mirror", help="Mirror folder [env: LRBENCH_MIRROR].")):
    """Counts, relevance grades and the content fingerprint of one dataset."""
    import os

    from lrbench.cli.common import friendly_errors
    from lrbench.datasets import open_dataset
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
