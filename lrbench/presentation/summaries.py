"""Timing benchmark summaries: one small JSON per benchmark under `benchmarks/results/`, rendered as a table.

A benchmark script that measures time (overhead, scaling, cached reruns, throughput) writes its rows with
`write_summary`, together with the command that produced them, the machine, the load average before and after
the measurement and the date. A page shows it through a marker that names the file instead of a results folder:

    <!-- lrbench-table summary=benchmarks/results/overhead/summary.json columns=row,ratio_cpu -->
    <!-- /lrbench-table -->

`lrbench tables` renders the rows (the columns named, in that order; all of the summary's columns when none are
named) and a footer with the machine, the load and the date, so a timing never appears without its conditions.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from pathlib import Path

from lrbench.atomic import write_text
from lrbench.errors import LrbenchError

FORMAT = "lrbench-benchmark-summary/1"


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        return None


def machine() -> dict:
    """The machine a timing was taken on, and its load at this moment."""
    from lrbench.environment import environment

    env = environment()
    return {"cpu": env["cpu"], "cpu_count": env["cpu_count"], "gpus": env["gpus"], "platform": env["platform"],
            "git_commit": env["git_commit"], "load_avg": load_average(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def recorded_machine(metas: list[dict]) -> dict:
    """The machine of runs recorded earlier, from their cells' meta.json (`environment`, `started_at`): the same
    fields as `machine()`, the span of the cells' start times as the date, and no load (meta.json records none)."""
    envs = [m.get("environment") or {} for m in metas]
    starts = sorted(datetime.datetime.fromisoformat(m["started_at"]).astimezone(datetime.timezone.utc)
                    for m in metas if m.get("started_at"))
    if not envs or not starts:
        raise LrbenchError("no cell records a start time and an environment", hint="pass the cells' meta.json")

    def one(key: str):
        values = list(dict.fromkeys(e.get(key) for e in envs if e.get(key) is not None))
        return values[0] if len(values) == 1 else " or ".join(map(str, values)) or None

    first, last = starts[0], starts[-1]
    date = first.strftime("%Y-%m-%d %H:%M") + (
        "" if last - first < datetime.timedelta(minutes=1) else
        " to " + last.strftime("%H:%M" if last.date() == first.date() else "%Y-%m-%d %H:%M")) + " UTC"
    commits = list(dict.fromkeys(e["git_commit"] for e in envs if e.get("git_commit")))
    return {"cpu": one("cpu"), "cpu_count": one("cpu_count"),
            "gpus": list(dict.fromkeys(g for e in envs for g in e.get("gpus") or [])), "platform": one("platform"),
            "git_commit": commits[0] if len(commits) == 1 else commits or None, "load_avg": None, "date": date}


def write_summary(path: str | Path, *, name: str, command: str, columns: dict[str, str], rows: list[dict],
                  started: dict, notes: list[str] | None = None, extra: dict | None = None) -> Path:
    """Write a benchmark summary. `columns`: key -> header, in display order; `rows`: dicts keyed by them (other
    keys are kept, not shown); `started`: `machine()` taken before the measurement (its load is the load the
    measurement began under; the load at the end is taken now)."""
    path = Path(path)
    unknown = sorted(set(columns) - {k for row in rows for k in row})
    if rows and unknown:
        raise LrbenchError(f"summary columns {unknown} appear in no row", file=str(path),
                           hint="name only keys the rows carry")
    end_load = load_average() if started.get("load_avg") is not None else None  # none for recorded runs
    summary = {"format": FORMAT, "name": name, "command": command, "machine": started, "load_avg_end": end_load,
               "columns": columns, "rows": rows, "notes": notes or []}
    summary.update(extra or {})
    write_text(path, json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n")
    return path


def read_summary(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LrbenchError(f"cannot read benchmark summary: {exc}", file=str(path),
                           hint="rerun the benchmark script that writes it") from None
    if data.get("format") != FORMAT:
        raise LrbenchError("not a benchmark summary (no 'format': '" + FORMAT + "')", file=str(path),
                           hint="write it with lrbench.presentation.summaries.write_summary")
    return data


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) >= 0.001 or value == 0 else f"{value:.2e}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value).replace("|", "\\|")


def _load(values) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "unknown"


def footer(data: dict, source: str) -> str:
    m = data.get("machine") or {}
    gpus = ", ".join(m.get("gpus") or [])
    where = f"{m.get('cpu', 'unknown CPU')} ({m.get('cpu_count', '?')} cores)" + (f", {gpus}" if gpus else "")
    commits = m.get("git_commit")
    commit = "" if not commits else f", commit {commits}" if isinstance(commits, str) else \
        f", commits {', '.join(commits)}"
    load = (f"load average (1/5/15 min) {_load(m.get('load_avg'))} at the start, "
            f"{_load(data.get('load_avg_end'))} at the end" if m.get("load_avg") or data.get("load_avg_end")
            else "load not recorded")
    return (f"Generated by `lrbench tables` from `{source}`, written by `{data['command']}`. "
            f"Machine: {where}; {load}; {m.get('date', 'date unknown')}{commit}.")


def render_summary(source: str, columns: list[str] | None, root: Path = Path(".")) -> str:
    path = root / source
    if not path.exists():
        return f"_No results yet: `{source}` not found; run the benchmark that writes it, then `lrbench tables` " \
               "this file._\n"
    data = read_summary(path)
    known = data["columns"]
    wanted = columns or list(known)
    missing = [c for c in wanted if c not in known]
    if missing:
        raise LrbenchError(f"columns {missing} are not in {source}", hint=f"its columns: {', '.join(known)}")
    lines = ["| " + " | ".join(known[c] for c in wanted) + " |",
             "|" + "|".join("---" if not data["rows"] or isinstance(data["rows"][0].get(c), str) else "---:"
                            for c in wanted) + "|"]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in wanted) + " |" for row in data["rows"]]
    lines += ["", footer(data, source)]
    if data.get("notes"):
        lines += [""] + [f"- {note}" for note in data["notes"]]
    return "\n".join(lines) + "\n"


__all__ = ["machine", "recorded_machine", "load_average", "read_summary", "render_summary", "write_summary", "footer"]
