"""`lrbench report --format latex`: one booktabs table per dataset, in the layout of ranx's `Report.to_latex`.

Systems are rows and measures columns; the best score per measure is bold; each system has a letter, and a
score's superscript letters name the systems it is significantly better than. The letter of system r on a row
means exactly what `lrbench report --baseline r` marks ▲ on that row: the same paired test on per-query values,
Holm-corrected across the systems compared with r, at the same alpha. So with the suite's baseline the letters
agree with the Markdown report's ▲ markers, and the values are the leaderboard's stored scores.
"""

from __future__ import annotations

import math
from pathlib import Path

from lrbench.atomic import write_text
from lrbench.evaluation.measures import higher_is_better
from lrbench.presentation.report import UP, BaselineComparison, Report, compare_family, slug
from lrbench.statistics import significance as stats
from lrbench.store.resultsdir import CellInfo

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text: str) -> str:
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def letter(index: int) -> str:
    """a, b, ..., z, aa, ab, ...: one name per system however many there are."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def better_than(report: Report, dataset: str, permutations: int = 10_000) -> dict[tuple[str, str, str], bool]:
    """(system, reference, measure) -> True when the system is significantly better than the reference,
    judged as `lrbench report --baseline reference` judges it (Holm across the systems compared with it)."""
    data = report.data
    cells = data.cells_of(dataset)
    info = report.stats[dataset]
    out: dict[tuple[str, str, str], bool] = {}
    for ref in cells:
        others = [c for c in cells if c.system != ref.system]
        for _, canon in info["measures"]:
            base = info["base"]
            family: list[BaselineComparison] = (
                info["families"][canon] if base is not None and ref.system == base.system  # the report's own numbers
                else compare_family(ref, others, canon, report.test, permutations))
            for comp in family:
                out[(comp.system, ref.system, canon)] = comp.marker(report.alpha) == UP
    return out


def _best(cells: list[CellInfo], canon: str) -> float:
    scores = [v for v in (c.score(canon) for c in cells) if v is not None and not math.isnan(v)]
    return (max if higher_is_better(canon) else min)(scores) if scores else math.nan


def dataset_table(report: Report, dataset: str, permutations: int = 10_000, digits: int = 4) -> str:
    """The LaTeX table of one dataset (needs \\usepackage{booktabs} and graphicx)."""
    data = report.data
    cells = data.cells_of(dataset)
    measures = report.stats[dataset]["measures"]
    base = report.stats[dataset]["base"]
    letters = {c.system: letter(i) for i, c in enumerate(cells)}
    wins = better_than(report, dataset, permutations) if len(cells) > 1 else {}

    header = [r"\textbf{\#}", r"\textbf{System}"]
    header += [r"\textbf{" + escape(d) + "}" + ("" if higher_is_better(c) else r"$\downarrow$") for d, c in measures]
    rows = []
    for cell in cells:
        name = escape(cell.system) + (r" \textit{(baseline)}" if base is not None and cell.system == base.system else "")
        entries = [letters[cell.system], name]
        for _, canon in measures:
            value = cell.score(canon)
            if value is None or math.isnan(value):
                entries.append("--")
                continue
            text = f"{value:.{digits}f}"
            if len(cells) > 1 and value == _best(cells, canon):
                text = r"\textbf{" + text + "}"
            marks = "".join(letters[o.system] for o in cells if wins.get((cell.system, o.system, canon)))
            blank = "".join(letters[o.system] for o in cells
                            if o.system != cell.system and not wins.get((cell.system, o.system, canon)))
            # the phantom keeps the columns aligned whatever the number of letters, as ranx does
            text += (f"$^{{{marks}}}$" if marks else "") + (rf"\hphantom{{$^{{{blank}}}$}}" if blank else "")
            entries.append(text)
        rows.append(" & ".join(entries) + r" \\")

    test = stats.TEST_NAMES[report.test]
    dataset_id = data.dataset_id(dataset)
    title = dataset if dataset == dataset_id else f"{dataset} ({dataset_id})"
    lower = [d for d, c in measures if not higher_is_better(c)]
    caption = (f"{escape(title)}: effectiveness of the systems. The best score per measure is in bold"
               + (f" ($\\downarrow$: lower is better for {escape(', '.join(lower))})" if lower else "")
               + f". Superscripts mark the systems a score is significantly better than: two-sided {test} on "
               f"per-query values paired by query id, Holm-Bonferroni corrected across the systems compared with "
               f"each system, $\\alpha = {report.alpha:g}$.")
    lines = [f"% lrbench report --format latex: {data.suite_name}, dataset {dataset}",
             r"% needs \usepackage{booktabs} and \usepackage{graphicx}; resize with the \resizebox argument",
             r"\begin{table*}[ht]", r"\centering", r"\caption{" + caption + "}",
             r"\resizebox{0.8\textwidth}{!}{",
             r"\begin{tabular}{c|l" + "|c" * len(measures) + "}", r"\toprule",
             " & ".join(header) + r" \\", r"\midrule", *rows, r"\bottomrule", r"\end{tabular}", "}",
             r"\label{tab:" + slug(f"{data.suite_name}-{dataset}") + "}", r"\end{table*}", ""]
    return "\n".join(lines)


def to_latex(report: Report, permutations: int = 10_000) -> dict[str, str]:
    """dataset -> its LaTeX table."""
    return {dataset: dataset_table(report, dataset, permutations) for dataset in report.stats}


def write_latex(report: Report, folder: str | Path, permutations: int = 10_000) -> list[Path]:
    """One `<dataset>.tex` per dataset under folder; returns the files written."""
    folder = Path(folder)
    return [write_text(folder / f"{slug(dataset)}.tex", text)
            for dataset, text in to_latex(report, permutations).items()]


__all__ = ["dataset_table", "to_latex", "write_latex", "better_than", "escape", "letter"]
