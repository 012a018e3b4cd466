"""`lrbench report`, `lrbench compare` and `lrbench gate`: thin wrappers over lrbench.presentation and lrbench.api.gate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from lrbench.errors import LrbenchError

TEST_HELP = "Significance test: t (paired t-test), wilcoxon, randomization."


def _check_test(test: str) -> str:
    from lrbench.statistics.significance import TESTS

    if test not in TESTS:
        raise LrbenchError(f"unknown test '{test}'", key="--test", hint=f"choose one of: {', '.join(TESTS)}")
    return test


def _check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise LrbenchError(f"--alpha must be between 0 and 1 (exclusive), not {alpha:g}", key="--alpha",
                           hint="a significance level such as 0.05 or 0.01")
    return alpha


def register(app: typer.Typer) -> None:
    from lrbench.cli.common import set_mirror, console, err_console, friendly_errors, print_line

    @app.command()
    @friendly_errors
    def report(results: str = typer.Argument(..., help="A results folder or URI (s3://...) written by `lrbench run`."),
               baseline: Optional[str] = typer.Option(None, "--baseline", help="Baseline system [default: the suite's]."),
               out: Optional[Path] = typer.Option(None, "--out", "-o",
                                                  help="Report file [default: RESULTS/report.md or .html]; for "
                                                       "latex a folder [default: RESULTS/latex]."),
               fmt: str = typer.Option("md", "--format", help="md, html (one self-contained file) or latex (one "
                                                               ".tex table per dataset)."),
               test: str = typer.Option("t", "--test", help=TEST_HELP),
               alpha: float = typer.Option(0.05, "--alpha", help="Significance level after Holm correction."),
               plots: bool = typer.Option(True, "--plots/--no-plots", help="Draw PNG plots next to the report."),
               top: int = typer.Option(5, "--top", help="Per system, list the N queries that gained and lost most "
                                                        "against the baseline (first measure); 0 lists none."),
               ):
        """Write a Markdown or HTML report (CIs, significance vs the baseline, win/tie/loss, efficiency, plots)
        or LaTeX tables with significance letters."""
        from lrbench.presentation.render import write_report
        from lrbench.presentation.report import build_report

        _check_alpha(alpha)
        if fmt not in ("md", "html", "latex"):
            raise LrbenchError(f"unknown format '{fmt}'", key="--format", hint="choose md, html or latex")
        from lrbench.store.remote import local_results

        folder = local_results(results)  # results in object storage are read from a local copy
        data = build_report(folder, baseline=baseline, test=_check_test(test), alpha=_check_alpha(alpha), top=top)
        if fmt == "latex":
            from lrbench.presentation.latex import write_latex

            written = write_latex(data, out or folder / "latex")
            console.print(f"wrote {len(written)} LaTeX table(s) to {out or folder / 'latex'}", highlight=False)
            return
        path = out or folder / ("report.html" if fmt == "html" else "report.md")
        written = write_report(data, path, fmt=fmt, plots=plots)
        console.print(f"wrote {path}" + (f" and {len(written) - 1} plot(s)" if len(written) > 1 else ""),
                      highlight=False)

    @app.command()
    @friendly_errors
    def compare(targets: List[str] = typer.Argument(..., help="DIR_A DIR_B (same systems in two results folders) "
                                                              "or DIR SYSTEM_A SYSTEM_B (two systems of one folder)."),
                test: str = typer.Option("t", "--test", help=TEST_HELP),
                alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
                out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the Markdown here."),
                top: int = typer.Option(5, "--top", help="List the N queries B gained and lost most on against A "
                                                          "(each dataset's first measure); 0 lists none."),
                ):
        """Side-by-side deltas per dataset and measure with significance, for PR descriptions."""
        from lrbench.presentation.compare import compare_targets, rich_table, to_markdown

        comparison = compare_targets(targets, test=_check_test(test), alpha=_check_alpha(alpha), top=top)
        console.print(rich_table(comparison))
        if out:
            from lrbench.atomic import write_text

            write_text(out, to_markdown(comparison))
            console.print(f"wrote {out}", highlight=False)

    @app.command()
    @friendly_errors
    def gate(target: str = typer.Argument(..., metavar="SUITE|RESULTS",
                                          help="A suite YAML file with an expect: list (run, reusing cached cells), "
                                               "or a results folder written by `lrbench run` (checked as it is)."),
             baseline: Optional[Path] = typer.Option(None, "--baseline", help="Also check the expectations in "
                                                     "this file (written by --write-baseline)."),
             write_baseline: Optional[Path] = typer.Option(None, "--write-baseline",
                                                           help="Pin every measured score into this file."),
             tolerance: float = typer.Option(0.001, "--tolerance", help="Tolerance written by --write-baseline."),
             junit: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report here."),
             out: Optional[str] = typer.Option(None, "--out", "-o", help="Results folder or fsspec URI "
                                               "[default: results/<suite>]."),
             force: bool = typer.Option(False, "--force", help="Recompute every cell, ignoring the cache."),
             mirror: Optional[Path] = typer.Option(None, "--mirror", help="Offline ir_datasets mirror "
                                                   "[env: LRBENCH_MIRROR]."),
             executor: str = typer.Option("local", "--executor", help="local | process | ray, as for `lrbench run`."),
             address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join (--executor ray)."),
             retries: int = typer.Option(2, "--retries", help="Retries of a failed or killed cell (process, ray)."),
             workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (process) or CPUs of "
                                                   "the local Ray instance (ray)."),
             plugin: Optional[List[str]] = typer.Option(None, "--plugin", help="Import this module or .py file "
                                                        "first (it registers runners; repeatable)."),
             ):
        """Check expectations of a suite (run first) or of a results folder: exit 0 pass, 1 fail, 2 usage error."""
        from lrbench.cli.progress import RichReporter
        from lrbench.api.gate import run_gate
        from lrbench.presentation.gate import github_annotations, junit_xml, rich_table, summary

        set_mirror(mirror)
        from lrbench.plugins import load_plugins

        load_plugins(plugin, key="--plugin")
        with RichReporter(err_console) as reporter:
            result = run_gate(target, baseline=baseline, out_dir=out, reporter=reporter, force=force,
                              write_baseline_to=write_baseline, tolerance=tolerance, executor=executor,
                              address=address, workers=workers, retries=retries)
        if result.checks:
            console.print(rich_table(result))
        for check in result.checks:
            if check.outcome == "FAIL":
                print_line("FAIL", check.message.removeprefix('FAIL '))
        for dataset, system, error in result.failed_cells:
            print_line("failed cell:", f"{system} on {dataset}: {error}")
        if os.environ.get("GITHUB_ACTIONS"):
            for line in github_annotations(result):
                print(line, flush=True)
        if junit:
            from lrbench.atomic import write_text

            write_text(junit, junit_xml(result))
        if write_baseline:
            console.print(f"wrote baseline {write_baseline}", highlight=False)
        console.print(summary(result), style="green" if result.ok else "bold red", highlight=False)
        raise typer.Exit(result.exit_code)

