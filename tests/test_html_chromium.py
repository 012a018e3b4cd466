"""The HTML report in a real headless browser (Debian's chromium): it renders, and clicking a header sorts.

Chromium loads a copy of the report with a probe script appended; the probe clicks table headers
(HTMLElement.click() dispatches a real click event to the report's own handlers) and writes what it saw
into the DOM, which `--dump-dom` returns. A screenshot checks that the page paints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lrbench.presentation.render import write_report
from lrbench.presentation.report import build_report
from report_fixtures import run_sweep_suite

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]

PROBE = """
<script>
window.addEventListener('load', function () {
  var out = {ready: [], images: [], tables: []};
  var tables = document.querySelectorAll('table.sortable');
  tables.forEach(function (t) { out.ready.push(t.getAttribute('data-sortable')); });
  document.querySelectorAll('img').forEach(function (img) { out.images.push([img.naturalWidth, img.naturalHeight]); });
  function column(t, i) {
    return Array.prototype.map.call(t.tBodies[0].rows, function (r) {
      var c = r.cells[i]; return [c.getAttribute('data-sort'), c.textContent.trim(), r.cells[1].textContent.trim()];
    });
  }
  tables.forEach(function (t) {
    var heads = Array.prototype.map.call(t.tHead.rows[0].cells, function (h) { return h.textContent.trim(); });
    var record = {heads: heads, clicks: {}};
    ['system', 'p50 ms', 'p (Holm)', 'Δ mean'].forEach(function (name) {
      var i = heads.indexOf(name);
      if (i < 0) { return; }
      var before = column(t, i);
      t.tHead.rows[0].cells[i].click();
      var asc = column(t, i), ariaAsc = t.tHead.rows[0].cells[i].getAttribute('aria-sort');
      t.tHead.rows[0].cells[i].click();
      var desc = column(t, i), ariaDesc = t.tHead.rows[0].cells[i].getAttribute('aria-sort');
      record.clicks[name] = {index: i, before: before, asc: asc, desc: desc, ariaAsc: ariaAsc, ariaDesc: ariaDesc};
    });
    out.tables.push(record);
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _chromium(args, tmp: Path, timeout=120) -> subprocess.CompletedProcess:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def html_report(tmp_path_factory) -> Path:
    if not (Path(__file__).resolve().parents[2] / "shared" / "data").exists():
        pytest.skip("../shared/data is not available")
    tmp = tmp_path_factory.mktemp("html")
    results = run_sweep_suite(tmp)
    out = tmp / "report.html"
    write_report(build_report(results), out, fmt="html")
    return out


def _key(entry):
    value, text, _ = entry
    return float(value) if value not in (None, "") else text.lower()


def test_html_renders_and_headers_sort(html_report, tmp_path):
    probe_page = tmp_path / "probed.html"
    probe_page.write_text(html_report.read_text().replace("</body>", PROBE + "</body>"))
    proc = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri()], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, proc.stdout[-2000:]
    probe = json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                       .replace("&quot;", '"'))
    # the report's script ran on every table, and every embedded plot decoded
    assert probe["ready"] and set(probe["ready"]) == {"ready"}
    assert len(probe["images"]) == 3 and all(w > 300 and h > 200 for w, h in probe["images"])

    checked = 0
    for table in probe["tables"]:
        for name, click in table["clicks"].items():
            before, asc, desc = click["before"], click["asc"], click["desc"]
            assert click["ariaAsc"] == "ascending" and click["ariaDesc"] == "descending"
            # rows move as a whole: the (value, row label) pairs are the same set
            assert sorted(map(tuple, asc)) == sorted(map(tuple, before)) == sorted(map(tuple, desc))
            numeric = [e for e in before if e[0] not in (None, "")]
            if len(numeric) == len(before):
                assert [float(e[0]) for e in asc] == sorted(float(e[0]) for e in before)
                assert [float(e[0]) for e in desc] == sorted((float(e[0]) for e in before), reverse=True)
            else:
                assert [e[1].lower() for e in asc] == sorted(e[1].lower() for e in before)
            checked += 1
    assert checked >= 5  # system + p50 in the efficiency table, p (Holm) and Δ in the baseline table, ...
    # the efficiency table really changed order when sorted by p50 latency (4 cells, distinct timings)
    eff = next(t for t in probe["tables"] if "p50 ms" in t["heads"])
    p50 = eff["clicks"]["p50 ms"]
    assert [e[2] for e in p50["asc"]] == [e[2] for e in sorted(p50["before"], key=lambda e: float(e[0]))]


def test_html_paints(html_report, tmp_path):
    shot = tmp_path / "shot.png"
    proc = _chromium(["--virtual-time-budget=10000", "--window-size=1280,8000", f"--screenshot={shot}",
                      html_report.as_uri()], tmp_path)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1200
    dark = (pixels.mean(axis=2) < 0.35).mean()  # text and plot lines
    tinted = (np.ptp(pixels, axis=2) > 0.25).mean()  # coloured plot marks
    assert 0.002 < dark < 0.5 and tinted > 0.0005, (dark, tinted)
