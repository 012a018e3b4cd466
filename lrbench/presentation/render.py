"""Write a built report to a file: Markdown with PNG plots beside it, or one self-contained HTML file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lrbench.atomic import write_text
from lrbench.presentation.report import Report, to_markdown


def write_report(report: Report, path: str | Path, *, fmt: str = "md", plots: bool = True) -> list[Path]:
    """Write the report (and its PNG plots next to it for Markdown, embedded for HTML); return the files."""
    from lrbench.presentation.plots import draw_plots

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        from lrbench.presentation.html import to_html

        with tempfile.TemporaryDirectory() as tmp:  # plots are embedded: no files left behind
            if plots:
                report.plots = draw_plots(report, Path(tmp), prefix="")
            write_text(path, to_html(report))
        return [path]
    written: list[Path] = []
    if plots:
        report.plots = draw_plots(report, path.parent, prefix=path.stem + "-")
        written = [p.path for p in report.plots]
    write_text(path, to_markdown(report))  # a reader sees the old report or the new, never half
    return [path] + written
