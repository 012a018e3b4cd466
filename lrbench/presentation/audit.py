"""What a score does not say: how many listwise answers needed repair (and a few raw ones), how many queries a
reranker left in input order, and how much of each reranked top k the qrels judge.

Read from the stored profiles, `generations` frames and Judged@k scores; `lrbench report` shows them and
`lrbench run` warns when most windows of a cell needed repair.
"""

from __future__ import annotations

from lrbench.presentation.report import Cell, Section, Table
from lrbench.store.resultsdir import ResultsDir

#: a cell whose share of repaired windows exceeds this gets a warning after `lrbench run`
REPAIR_WARNING_SHARE = 0.5
#: raw generations shown per system, repaired ones first
SHOWN_GENERATIONS = 3
#: characters of a raw generation shown in the report
SHOWN_CHARS = 160


def repair_counts(profile: dict) -> tuple[int, int] | None:
    """(windows whose answer needed repair, windows generated), or None when the cell generated no windows.
    Cells stored before `windows_with_repairs` existed add up its two parts."""
    windows = profile.get("windows")
    if not windows or profile.get("mode", "generate") != "generate":
        return None
    fixed = profile.get("windows_with_repairs")
    if fixed is None:
        fixed = int(profile.get("windows_repaired") or 0) + int(profile.get("windows_partial") or 0)
    return int(fixed), int(windows)


def repair_warning(label: str, profile: dict) -> str | None:
    """One line when most of a cell's windows needed repair: its ranking is then mostly the input's order."""
    counts = repair_counts(profile)
    if counts is None or counts[0] <= REPAIR_WARNING_SHARE * counts[1]:
        return None
    same = profile.get("queries_input_order")
    queries = profile.get("queries_reranked")
    kept = f"; {same} of {queries} queries kept their input order" if same is not None and queries else ""
    return (f"{label}: {counts[0]} of {counts[1]} listwise windows needed repair{kept} "
            "(see the generations in `lrbench report`)")


def listwise_section(data: ResultsDir) -> Section | None:
    """Per generating listwise cell: windows repaired / total, queries left in input order, a few raw answers."""
    cells = [c for c in data.cells if repair_counts(c.profile.raw) is not None]
    if not cells:
        return None
    counts = Table("Listwise answers", ["dataset", "system", "windows repaired", "partial answers",
                                        "queries left in input order"], align=["l", "l", "r", "r", "r"])
    shown = Table("Raw generations (a few per system, repaired first)",
                  ["system", "query", "window", "generation", "permutation", "repair"])
    for cell in cells:
        profile = cell.profile.raw
        fixed, windows = repair_counts(profile)
        same, queries = profile.get("queries_input_order"), profile.get("queries_reranked")
        counts.rows.append([Cell(cell.dataset), Cell(cell.system),
                            Cell(f"{fixed} / {windows}", sort=fixed / windows),
                            Cell(str(profile.get("windows_partial", "–"))),
                            Cell(f"{same} / {queries}" if same is not None and queries else "–",
                                 sort=same / queries if same is not None and queries else None)])
        frame = cell.frame("generations")
        if frame is None or "repaired" not in frame:
            continue
        for _, row in frame.sort_values("repaired", ascending=False, kind="stable").head(SHOWN_GENERATIONS).iterrows():
            text = " ".join(str(row["generation"]).split())
            text = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
            shown.rows.append([Cell(cell.system), Cell(str(row["query_id"])), Cell(str(row["window"])),
                               Cell(text or "(empty)"), Cell(str(row["permutation"])), Cell(row["repair"] or "–")])
    counts.note = ("A window needed repair when its answer was not a full permutation of the window's identifiers: "
                   "unknown and repeated ids are dropped and missing ones appended in input order (a partial answer "
                   "is one that stopped early). A query left in input order came back exactly as the first stage "
                   "ranked it.")
    return Section("Listwise generations", [counts] + ([shown] if shown.rows else []))


def judged_table(data: ResultsDir, dataset: str) -> Table | None:
    """Judged@k of each reranked system on a dataset: the share of its top k that the qrels judge."""
    judged = data.board.attrs.get("judged", {}).get(dataset, {})
    columns = list(dict.fromkeys(m for values in judged.values() for m in values))
    if not columns:
        return None
    table = Table("Judged documents in the top k (reranked systems)", ["system", *columns],
                  align=["l"] + ["r"] * len(columns))
    for system, values in judged.items():
        table.rows.append([Cell(system)] + [Cell(f"{values[m]:.2f}" if m in values else "–", sort=values.get(m))
                                            for m in columns])
    table.note = ("Judged@k: the mean share of each query's top k that has a relevance judgement. Unjudged documents "
                  "count as not relevant, so a reranker that lifts them loses score to holes in the qrels, not "
                  "necessarily to worse rankings.")
    return table
