"""Leaderboard tables for the terminal, rebuilt from the rows kept in rerun.json (no pandas: the cached
rerun path prints them)."""

from __future__ import annotations


def rich_tables(tables: list[dict]):
    """Rich tables from `terminal_tables` rows (markup already escaped and styled)."""
    from rich.table import Table

    out = []
    for spec in tables:
        table = Table(title=spec["title"], title_justify="left",
                      caption="\n".join(spec.get("notes", [])) or None, caption_justify="left")
        table.add_column("system")
        for column in spec["columns"]:
            table.add_column(column, justify="right")
        for row in spec["rows"]:
            table.add_row(*row)
        out.append(table)
    return out
