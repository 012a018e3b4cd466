"""The report as one self-contained HTML file: inline CSS and JavaScript, plots as data URIs, and
tables that sort when a header is clicked (numbers by their exact value, missing values last)."""

from __future__ import annotations

import base64
from html import escape

from lrbench.presentation.report import DOWN, UP, Report, Table

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; margin: .3rem 0 .4rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d6d6d6; padding: .25rem .6rem; }
th { background: #f3f3f5; cursor: pointer; user-select: none; white-space: nowrap; }
th::after { content: " \\2195"; color: #aaa; font-size: .8em; }
th[aria-sort=ascending]::after { content: " \\25B2"; color: #333; }
th[aria-sort=descending]::after { content: " \\25BC"; color: #333; }
td.r { text-align: right; } td.l { text-align: left; }
sup { font-weight: bold; } sup.up { color: #1e7b34; } sup.down { color: #b3261e; }
.legend { background: #f6f8fa; padding: .6rem .9rem; border-radius: 6px; }
.note { color: #555; font-size: .9em; max-width: 60rem; } figure { margin: 1rem 0; } img { max-width: 100%; }
figcaption { color: #555; font-size: .9em; } code { background: #f3f3f5; padding: 0 .2rem; }
"""

JS = """
(function () {
  function key(td) {
    var v = td.getAttribute('data-sort');
    if (v !== null && v !== '' && !isNaN(Number(v))) { return {missing: false, num: true, v: Number(v)}; }
    var t = td.textContent.trim();
    if (t === '' || t === '\\u2013') { return {missing: true}; }
    return {missing: false, num: false, v: t.toLowerCase()};
  }
  function compare(a, b) {
    if (a.num && b.num) { return a.v - b.v; }
    if (a.num !== b.num) { return a.num ? -1 : 1; }
    return a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
  }
  function sortBy(table, col, th) {
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) { return {r: r, i: i, k: key(r.cells[col])}; });
    rows.sort(function (x, y) {
      if (x.k.missing !== y.k.missing) { return x.k.missing ? 1 : -1; }
      var c = x.k.missing ? 0 : compare(x.k, y.k);
      if (dir === 'descending') { c = -c; }
      return c !== 0 ? c : x.i - y.i;
    });
    rows.forEach(function (x) { body.appendChild(x.r); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, col, th); });
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') { sortBy(table, col, th); } });
    });
    table.setAttribute('data-sortable', 'ready');
  });
})();
"""


def table_html(table: Table, table_id: str) -> str:
    align = table.align or ["l"] * len(table.columns)
    head = "".join(f"<th scope=\"col\">{escape(c)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        tds = []
        for cell, a in zip(row, align):
            text = escape(cell.text)
            if cell.bold:
                text = f"<strong>{text}</strong>"
            if cell.sup:
                kind = "up" if cell.sup == UP else ("down" if cell.sup == DOWN else "")
                text += f'<sup class="{kind}">{escape(cell.sup)}</sup>'
            attrs = f' class="{a}"'
            if isinstance(cell.sort, (int, float)):
                attrs += f' data-sort="{cell.sort!r}"'
            if cell.title:
                attrs += f' title="{escape(cell.title)}"'
            tds.append(f"<td{attrs}>{text}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (f"<h3>{escape(table.title)}</h3>\n<table class=\"sortable\" id=\"{table_id}\">"
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + f"\n</tbody></table>\n{note}")


def to_html(report: Report) -> str:
    parts = [f"<h1>{escape(report.title)}</h1>",
             f"<p>Results folder <code>{escape(str(report.results_dir))}</code>; generated {escape(report.generated)}."
             f" Baseline: <strong>{escape(report.baseline or 'none')}</strong>.</p>"]
    if report.legend:
        parts.append(f'<p class="legend">{escape(report.legend)}</p>')
    n = 0
    for section in report.sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{escape(section.text)}</p>")
        for table in section.tables:
            n += 1
            parts.append(table_html(table, f"t{n}"))
    if report.plots:
        parts.append("<h2>Plots</h2>")
        for plot in report.plots:
            data = base64.b64encode(plot.path.read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{escape(plot.title)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{escape(plot.title)}</figcaption></figure>")
    parts.append("<h2>Reproducibility</h2>")
    rows = "".join(f"<tr><th scope=\"row\">{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in report.reproducibility)
    parts.append(f'<table class="repro"><tbody>{rows}</tbody></table>')
    if report.repro_table:
        n += 1
        parts.append(table_html(report.repro_table, f"t{n}"))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(report.title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
            f"<script>{JS}</script>\n</body></html>\n")
