"""Names become unique, bounded file names; every run format follows one rule; endless files, folders and
checks `run` would hit are reported by `validate`; error lines print as they are; SIGTERM keeps finished cells.

Real data: three judged DL19 queries, their qrels and the BM25 run (see test_environment_errors.dl19).
"""

from __future__ import annotations

import json
import signal
import time

import pandas as pd
import pytest

from lrbench.safety import safe_file_name
from test_environment_errors import board, dl19, lrbench, one_error_line  # noqa: F401 (dl19: a fixture)


def suite_with(path, systems: str, datasets: str = "  - id: trec:topics.tsv\n    qrels: qrels.txt\n",
               measures: str = "[nDCG@10, RR@10]", name: str = "names"):
    path.write_text(f"name: \"{name}\"\ndatasets:\n{datasets}measures: {measures}\nsystems:\n{systems}")
    return path


def given(name: str, run: str = "run.trec", extra: str = "") -> str:
    return f"  - name: {json.dumps(name)}\n    type: given\n    params: {{run: {run}{extra}}}\n"


# -- file names ---------------------------------------------------------------------------------------------

def test_safe_file_name_is_unique_bounded_and_plain_when_it_can_be():
    labels = ["bm25", "bm25 café", "bm25 cafè", "x" * 300, "x" * 301, "a/b", "..", "bm25-0123456789", "a__b", "ω"]
    names = [safe_file_name(label) for label in labels]
    assert len(set(names)) == len(labels)
    assert names[0] == "bm25" and all(len(n) <= 80 for n in names)
    assert all("/" not in n and not n.startswith(".") and "__" not in n for n in names)
    # a perturbation: dropping the hash makes names that differ only in non-ASCII characters collide
    assert names[1].rsplit("-", 1)[0] == names[2].rsplit("-", 1)[0]


def test_export_keeps_runs_that_differ_in_non_ascii_and_long_names(dl19, tmp_path):
    long = "s" * 300
    suite = suite_with(dl19, given("bm25 café") + given("bm25 cafè", extra=", k: 5") + given(long, extra=", k: 3"),
                       datasets="  - id: trec:topics.tsv\n    qrels: qrels.txt\n    name: " + "d" * 300 + "\n",
                       name="n" * 300)
    result = lrbench("run", str(suite), cwd=tmp_path)  # the default --out: results/<suite name>
    assert result.returncode == 0, result.stderr
    (out,) = (tmp_path / "results").iterdir()
    assert out.name == safe_file_name("n" * 300)
    exported = lrbench("export", str(out), "--format", "trec", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    files = sorted(p for p in (out / "export").iterdir() if p.suffix == ".trec")
    assert len(files) == 3 and all(len(p.name) < 255 for p in files)
    labels = json.loads((out / "export" / "labels.json").read_text())
    assert sorted(v["system"] for v in labels.values()) == sorted(["bm25 café", "bm25 cafè", long])
    depth = {labels[p.name]["system"]: len(pd.read_csv(p, sep=" ", header=None)) for p in files}
    assert depth == {"bm25 café": 300, "bm25 cafè": 15, long: 9}  # top 100, 5 and 3 of three queries
    report = lrbench("report", str(out), cwd=tmp_path)
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr


# -- one rule for every run format --------------------------------------------------------------------------

def _rows(folder):
    return [line.split() for line in (folder / "run.trec").read_text().splitlines()][:5]


def _write_bad(folder, kind: str, fmt: str):
    rows = [(q, d, float(s)) for q, _, d, _, s, _ in _rows(folder)]
    if kind == "duplicate":
        rows.append(rows[0])
    else:
        rows.append((rows[0][0], "extra-doc", float("inf") if kind == "infinite" else float("nan")))
    path = folder / f"bad.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"qid": q, "docid": d, "score": s}) + "\n" for q, d, s in rows))
    elif fmt == "json":  # ranx: a key given twice, or Infinity / NaN, as Python's json writes them
        text = "{" + ", ".join(f'"{q}": {{"{d}": {json.dumps(s)}}}' for q, d, s in rows) + "}"
        path.write_text(text if kind != "duplicate" else
                        '{"%s": {%s}}' % (rows[0][0], ", ".join(f'"{d}": {s}' for q, d, s in rows if q == rows[0][0])))
    elif fmt == "parquet":
        pd.DataFrame(rows, columns=["query_id", "doc_id", "score"]).to_parquet(path)
    else:
        path.write_text("".join(f"{q} Q0 {d} {i + 1} {s} t\n" for i, (q, d, s) in enumerate(rows)))
    return path, len(rows)


@pytest.mark.parametrize("fmt", ["trec", "jsonl", "json", "parquet"])
@pytest.mark.parametrize("kind", ["duplicate", "infinite", "nan"])
def test_every_run_format_refuses_duplicates_and_non_finite_scores(dl19, fmt, kind):
    path, n = _write_bad(dl19.parent, kind, fmt)
    suite = suite_with(dl19, given("bad", run=path.name))
    result = lrbench("run", str(suite), "--out", str(dl19.parent / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("failed:")]
    assert path.name in line
    assert ("twice" in line) if kind == "duplicate" else ("not a finite number" in line)
    where = {"trec": f":{n}:", "jsonl": f":{n}:", "parquet": f"(row {n})", "json": f"(row {n})"}[fmt]
    assert where in line, line


# -- files that are not files -------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["qrels", "run"])
@pytest.mark.parametrize("target", ["/dev/zero", "folder"])
def test_endless_files_and_folders_are_refused_by_validate_and_run(dl19, where, target):
    target = str(dl19.parent) if target == "folder" else target
    datasets = f"  - id: trec:topics.tsv\n    qrels: {target if where == 'qrels' else 'qrels.txt'}\n"
    suite = suite_with(dl19, given("g", run=target if where == "run" else "run.trec"), datasets=datasets)
    for command in (["validate", str(suite)], ["run", str(suite), "--out", str(dl19.parent / "out")]):
        started = time.perf_counter()
        line = one_error_line(lrbench(*command, timeout=60))
        assert time.perf_counter() - started < 60
        assert target in line and ("a device" in line or "a folder" in line) and "fix:" in line
    assert not (dl19.parent / "out" / "cells.json").exists()


def test_qrels_error_quotes_a_short_escaped_prefix(dl19):
    (dl19.parent / "qrels.txt").write_text("\x1b[31m" + "x" * 500 + " \t y\n")
    result = lrbench("run", str(dl19), "--out", str(dl19.parent / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("failed:")]
    quoted = line.split("got ", 1)[1].split(" (fix", 1)[0]
    assert len(quoted) <= 60 and "\\x1b" in quoted and "\x1b" not in line


# -- what validate now sees ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case, expected", [
    ("k", "systems[0].params.k"),
    ("blank", "systems[0].name"),
    ("relevance", "datasets[0].relevance"),
    ("measure", "alpha_nDCG@10"),
    ("model", "does not exist"),
])
def test_validate_reports_what_run_would_hit(dl19, case, expected):
    datasets = "  - id: trec:topics.tsv\n    qrels: qrels.txt\n"
    measures = "[nDCG@10, RR@10]"
    systems = given("g")
    if case == "k":
        systems = "  - name: bm25\n    type: bm25\n    params: {k: -5}\n"
        datasets = "  - id: irds:cranfield\n"
    elif case == "blank":
        systems = given("")
    elif case == "relevance":
        datasets += "    relevance: {0: 0, 1: 0, 2: 0, 3: 0}\n"
    elif case == "measure":
        measures = "[nDCG@10, alpha_nDCG@10]"
    else:
        systems += "  - name: ce\n    type: cross-encoder\n    input: g\n    params: {model: ./models/missing}\n"
    suite = suite_with(dl19, systems, datasets=datasets, measures=measures)
    line = one_error_line(lrbench("validate", str(suite)))
    assert expected in line and "fix:" in line
    if case == "model":
        assert str(dl19.parent / "models" / "missing") in line and "models import" not in line
    run = lrbench("run", str(suite), "--out", str(dl19.parent / "out"))
    assert expected in one_error_line(run)
    assert not (dl19.parent / "out" / "cells.json").exists()


def test_relevance_map_checked_against_the_qrels_when_running(dl19):
    """Validate sees only the map: {7: 1} passes it, but DL19 has no grade 7, so nothing is relevant and the
    cell fails with the reason (no board of zeros); naming the grades that count ({3: 1}) gives real values."""
    relevance = "    relevance: {0: 0, 1: 0, 2: 0, 3: 0, 7: 1}\n"
    suite = suite_with(dl19, given("g"), datasets="  - id: trec:topics.tsv\n    qrels: qrels.txt\n" + relevance)
    result = lrbench("run", str(suite), "--out", str(dl19.parent / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("failed:")]
    assert "datasets.relevance" in line and "0 or less" in line
    suite.write_text(suite.read_text().replace("3: 0, 7: 1", "3: 1"))
    result = lrbench("run", str(suite), "--out", str(dl19.parent / "out"))
    assert result.returncode == 0, result.stderr
    assert board(dl19.parent / "out")[("g", "nDCG@10")] > 0


# -- printing -----------------------------------------------------------------------------------------------

def test_error_lines_print_without_markup_or_emoji(dl19):
    label = "nosuch:[bold]x[/bold]:b:"
    suite = suite_with(dl19, given("g"), datasets=f"  - id: {json.dumps(label)}\n")
    line = one_error_line(lrbench("validate", str(suite)))
    assert label in line and "\U0001f171" not in line  # the text as written, not bold markup or an emoji


def test_sigterm_keeps_finished_cells(shared, tmp_path):
    """SIGTERM while the second cell runs (a plugin runner that waits): exit 143, one line, the first cell kept."""
    import os
    import subprocess
    import sys

    from test_environment_errors import ROOT

    (tmp_path / "waiting.py").write_text(
        "import time\nimport lrbench\nfrom lrbench.runners.base import Runner\n\n\n"
        "@lrbench.register_runner\nclass Waiting(Runner):\n    type = 'waiting'\n    needs_input = True\n\n"
        "    def run(self, dataset, inputs, ctx):\n        time.sleep(600)\n")
    suite = tmp_path / "cran.yaml"
    suite.write_text("name: cran\nplugins: [waiting.py]\ndatasets:\n  - id: irds:cranfield\nmeasures: [nDCG@10]\n"
                     "systems:\n  - name: bm25\n    type: bm25\n  - name: slow\n    type: waiting\n    input: bm25\n")
    proc = subprocess.Popen([sys.executable, "-m", "lrbench", "run", str(suite), "--out", str(tmp_path / "out")],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # plain lines: stderr is a pipe
        lines.append(line)
        if "computed bm25" in line:
            break
    time.sleep(1)  # the second cell is running
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=120)
    stderr = "".join(lines) + rest
    assert proc.returncode == 143, stderr
    assert "terminated: finished cells are kept" in stderr and "Traceback" not in stderr
    from lrbench.store.store import LocalStore

    assert len(LocalStore(tmp_path / "out").keys()) == 1  # the finished BM25 cell, complete
