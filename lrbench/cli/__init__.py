"""The `lrbench` command line: thin wrappers, one function call per command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from lrbench.cli.common import STATE, set_mirror, console, err_console, friendly_errors, print_line  # noqa: F401
from lrbench.errors import LrbenchError

app = typer.Typer(help="Benchmark rerankers, embedders and low-rank-compressed transformers from one suite file.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks.")):
    STATE["debug"] = debug


def _print_leaderboard(board, baseline) -> None:
    from lrbench.presentation.leaderboard import rich_tables

    for table in rich_tables(board, baseline):
        console.print(table)


@app.command()
@friendly_errors
def run(suite: Path = typer.Argument(..., help="Suite YAML file."),
        out: Optional[str] = typer.Option(None, "--out", "-o", help="Results folder or fsspec URI (s3://bucket/prefix, "
                                          "gs://..., file://...) [default: results/<suite name>]."),
        force: bool = typer.Option(False, "--force", help="Recompute every cell, ignoring the cache."),
        only: Optional[List[str]] = typer.Option(None, "--only", help="Run only this system (repeatable)."),
        mirror: Optional[Path] = typer.Option(None, "--mirror", help="Offline mirror laid out as an ir_datasets cache "
                                              "[env: LRBENCH_MIRROR]."),
        executor: str = typer.Option("local", "--executor", help="local (in-process, sequential) | process "
                                     "(local worker pool) | ray (Ray tasks, per-system resources)."),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join: auto, ray://HOST:10001 "
                                              "or HOST:6379 [default: start a local Ray instance]."),
        retries: int = typer.Option(2, "--retries", help="Retries of a failed or killed cell (process, ray)."),
        workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (process) or CPUs of the "
                                              "local Ray instance (ray)."),
        plugin: Optional[List[str]] = typer.Option(None, "--plugin", help="Import this module or .py file first "
                                                   "(it registers runners; repeatable)."),
        log: Optional[str] = typer.Option(None, "--log", help="Then log every cell to mlflow or wandb (as `lrbench "
                                          "log`; the suite's log: block names experiment and folder)."),
        ):
    """Run a suite: compute missing cells, reuse cached ones, print the leaderboard."""
    import time

    from lrbench.rerun import print_cached
    from lrbench.plan.load import check
    from lrbench.store.location import ResultsLocation
    from lrbench.suites.loader import parse_suite

    started = time.perf_counter()
    set_mirror(mirror)
    _load_plugins(plugin)
    loaded = parse_suite(suite)  # the schema; the semantic checks follow unless the rerun is fully cached
    location = ResultsLocation.of(out, loaded.suite.name)
    if log is not None and log not in ("mlflow", "wandb"):
        raise LrbenchError(f"unknown logging target '{log}'", key="--log", hint="choose mlflow or wandb")
    logging = log or loaded.suite.log
    if not (force or only or logging) and print_cached(loaded, location, started, console, err_console):
        return
    check(loaded)
    from lrbench.api import run as run_suite
    from lrbench.cli.progress import RichReporter

    with RichReporter(err_console) as reporter:
        result = run_suite(loaded, location, executor=executor, address=address, retries=retries, workers=workers,
                           force=force, only=only, reporter=reporter, debug=STATE["debug"], log=log)
    _print_leaderboard(result.leaderboard, result.baseline)
    err_console.print(f"{result.count('computed')} computed, {result.count('cached')} cached, "
                      f"{len(result.failed)} failed in {time.perf_counter() - started:.1f}s -> {result.dir}/leaderboard.md")
    if result.last_log:
        from lrbench.cli.tracking import print_logged

        print_logged(result.last_log)
    print_failures(result.outcome)
    _warn_repairs(result)
    if result.failed:
        raise typer.Exit(1)


def _warn_repairs(result) -> None:
    """A listwise cell whose windows mostly needed repair ranks mostly as its input did: say so last."""
    from lrbench.presentation.audit import repair_warning

    ran = {c.key for c in result.outcome.cells if c.status != "failed"}
    for cell in result.data.cells:
        warning = repair_warning(f"{cell.system} on {cell.dataset}", cell.profile.raw) if cell.key in ran else None
        if warning:
            print_line("warning:", warning, style="yellow")


def _load_plugins(plugins: list[str] | None) -> None:
    from lrbench.plugins import load_plugins

    load_plugins(plugins, key="--plugin")


def print_failures(result) -> None:
    for failure in result.failed:
        print_line("failed:", f"{failure.cell.system_label} on {failure.cell.dataset_label}: {failure.error or ''}")


@app.command()
@friendly_errors
def validate(suites: List[Path] = typer.Argument(..., help="Suite YAML file(s)."),
             plugin: Optional[List[str]] = typer.Option(None, "--plugin", help="Import this module or .py file first "
                                                   "(it registers runners; repeatable)."),
             ):
    """Check suites without running them; print every error with file:line, key and fix."""
    from lrbench.plan import load_suite
    from lrbench.plan.checks import data_errors

    _load_plugins(plugin)
    total = 0
    for path in suites:
        loaded = load_suite(path, strict=False)  # the checks `lrbench run` raises the first of
        errors = loaded.errors or data_errors(loaded)
        for error in errors:
            print_line("error:", error.one_line())
        total += len(errors)
        if not errors:
            console.print(f"[green]ok[/green] {path}: {len(loaded.suite.datasets)} datasets, "
                          f"{len(loaded.suite.systems)} systems")
    if total:
        raise typer.Exit(2)


@app.command("list")
@friendly_errors
def list_(what: str = typer.Argument(..., help="runners | datasets | measures")):
    """List runner types, catalogue datasets or measures."""
    from lrbench.cli.listing import LISTINGS

    if what not in LISTINGS:
        raise LrbenchError(f"cannot list '{what}'", hint=f"choose one of: {', '.join(LISTINGS)}")
    console.print(LISTINGS[what]())


@app.command()
@friendly_errors
def show(target: str = typer.Argument(..., metavar="RESULTS",
                                      help="A results folder or URI (s3://...) written by `lrbench run`."),
         as_json: bool = typer.Option(False, "--json", help="Print the leaderboard as JSON.")):
    """Reprint a finished leaderboard without running anything."""
    from lrbench.presentation.leaderboard import load
    from lrbench.store.remote import local_results

    board, info = load(local_results(target))
    if as_json:
        sys.stdout.write(json.dumps({"suite": info["suite"], "baseline": info["baseline"],
                                     "rows": board.to_dict(orient="records")}, indent=2) + "\n")
        return
    _print_leaderboard(board, info["baseline"])


from lrbench.cli.models import models_app; app.add_typer(models_app, name="models")  # noqa: E402,E702
from lrbench.cli.data import data_app; app.add_typer(data_app, name="data")  # noqa: E402,E702
from lrbench.cli.reporting import register as _register_reporting  # noqa: E402
_register_reporting(app)  # report, compare, gate
from lrbench.cli.pareto import register as _register_pareto  # noqa: E402
_register_pareto(app)  # pareto
from lrbench.cli.tables import register as _register_tables  # noqa: E402
_register_tables(app)  # tables, summarize
from lrbench.cli.export import register as _register_export  # noqa: E402
_register_export(app)  # export
from lrbench.cli.prune import register as _register_prune  # noqa: E402
_register_prune(app)  # prune
from lrbench.cli.tracking import register as _register_tracking  # noqa: E402
_register_tracking(app)  # log

if __name__ == "__main__":
    app()
