"""A corpus of bad inputs (suite files, data files, results folders, command-line arguments).

Every case must end with a non-zero exit, no traceback, one line (`error:`, or `failed:` for the cell that read
the bad data) that names the file, key or line at fault and says how to fix it, nothing written outside the case's folder, and nothing half-written in
the results folder. The data are slices of the real DL19 passage and SciFact files.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from lrbench.atomic import TMP_PREFIX
from lrbench.cli import app

runner = CliRunner()

SUITE = """name: corpus
datasets:
  - id: trec:topics.txt
    name: dl19
    qrels: qrels.txt
measures: [nDCG@10, AP]
baseline: bm25run
systems:
  - name: bm25run
    type: given
    params: {run: run.trec}
"""

BEIR_SUITE = """name: beir-corpus
datasets:
  - id: beir:beir
    name: scifact
measures: [nDCG@10]
systems:
  - name: bm25
    type: bm25
"""

CANDIDATES_SUITE = """name: cand-corpus
datasets:
  - id: candidates:cands.json
    name: dl19c
    qrels: qrels.txt
measures: [nDCG@10]
systems:
  - name: first
    type: given
"""


# -- real data slices ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> Path:
    shared = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    if not shared.exists():
        pytest.skip("../shared/data is not available")
    dl19 = shared / "trec-dl-2019-passage"
    base = tmp_path_factory.mktemp("slices")
    qrels = (dl19 / "qrels.dl19-passage.txt").read_text().splitlines()
    qids = list(dict.fromkeys(line.split()[0] for line in qrels))[:4]
    (base / "qrels.txt").write_text("\n".join(l for l in qrels if l.split()[0] in qids) + "\n")
    topics = (dl19 / "topics.dl19-passage.txt").read_text().splitlines()
    (base / "topics.txt").write_text("\n".join(l for l in topics if l.split("\t")[0] in qids) + "\n")
    run = (dl19 / "rank_llm_candidates" / "run.bm25.top100.dl19.trec").read_text().splitlines()
    (base / "run.trec").write_text("\n".join(l for l in run if l.split()[0] in qids) + "\n")
    cands = json.loads((dl19 / "rank_llm_candidates" / "BM25.top100.dl19.json").read_text())
    cands = [dict(e, hits=e["hits"][:10]) for e in cands if str(e["hits"][0]["qid"]) in qids]
    (base / "cands.json").write_text(json.dumps(cands))
    scifact = shared / "beir-scifact"
    beir = base / "beir"
    (beir / "qrels").mkdir(parents=True)
    sq = (scifact / "qrels" / "test.tsv").read_text().splitlines()
    keep = sq[:4]
    (beir / "qrels" / "test.tsv").write_text("\n".join(keep) + "\n")
    wanted_q = {l.split("\t")[0] for l in keep[1:]}
    wanted_d = {l.split("\t")[1] for l in keep[1:]}
    queries = [l for l in (scifact / "queries.jsonl").read_text().splitlines() if json.loads(l)["_id"] in wanted_q]
    (beir / "queries.jsonl").write_text("\n".join(queries) + "\n")
    corpus, n = [], 0
    with open(scifact / "corpus.jsonl") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["_id"] in wanted_d or n < 30:
                corpus.append(line.rstrip("\n"))
                n += 1
    (beir / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    return base


@pytest.fixture(scope="module")
def finished(slices, tmp_path_factory) -> Path:
    """A results folder from a good run, copied into each results-folder case."""
    work = tmp_path_factory.mktemp("finished")
    for name in ("qrels.txt", "topics.txt", "run.trec"):
        shutil.copy(slices / name, work / name)
    (work / "suite.yaml").write_text(SUITE + "  - name: top5\n    type: given\n    params: {run: run.trec, k: 5}\n")
    result = runner.invoke(app, ["run", str(work / "suite.yaml"), "--out", str(work / "out")])
    assert result.exit_code == 0, result.output
    return work / "out"


# -- cases -----------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    args: list[str]                       # {suite}, {out}, {dir}, {finished} are filled in
    files: dict[str, str | bytes] = field(default_factory=dict)
    expect: tuple[str, ...] = ()          # substrings of the error line
    setup: Callable[[Path], None] | None = None
    suite: str | None = SUITE


def run_case(*extra):
    return ["run", "{suite}", "--out", "{out}", *extra]


def validate():
    return ["validate", "{suite}"]


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BOMB = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh"))
BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + BOMB

SUITE_CASES = [
    Case("yaml-syntax", validate(), {"suite.yaml": edit(SUITE, "type: given", "type: [given")}, ("suite.yaml:", "malformed YAML")),
    Case("yaml-duplicate-top-key", validate(), {"suite.yaml": SUITE + "name: other\n"}, ("suite.yaml:12", "duplicate key 'name'")),
    Case("yaml-duplicate-nested-key", validate(), {"suite.yaml": edit(SUITE, "type: given", "type: given\n    type: bm25")}, ("suite.yaml:11", "duplicate key 'type'")),
    Case("yaml-duplicate-param", validate(), {"suite.yaml": edit(SUITE, "{run: run.trec}", "{run: run.trec, run: x.trec}")}, ("duplicate key 'run'",)),
    Case("yaml-alias-bomb", validate(), {"suite.yaml": BOMB + SUITE}, ("suite.yaml:", "more than")),
    Case("yaml-recursive-alias", validate(), {"suite.yaml": "loop: &l [*l]\n" + SUITE}, ("suite.yaml:1", "refers to itself")),
    Case("yaml-utf16", validate(), {"suite.yaml": SUITE.encode("utf-16")}, ("suite.yaml:1", "UTF-16")),
    Case("yaml-utf16-be", validate(), {"suite.yaml": SUITE.encode("utf-16-be")}, ("suite.yaml:1", "UTF-16")),
    Case("yaml-latin1", validate(), {"suite.yaml": SUITE.replace("name: corpus", "name: corpus\ndescription: caf\xe9").encode("latin-1")}, ("suite.yaml:2", "not UTF-8")),
    Case("yaml-is-a-folder", ["validate", "{dir}"], {}, ("is a folder",)),
    Case("yaml-missing", ["validate", "{dir}/nope.yaml"], {}, ("nope.yaml", "not found")),
    Case("yaml-empty", validate(), {"suite.yaml": ""}, ("suite.yaml:1", "must be a mapping")),
    Case("yaml-list", validate(), {"suite.yaml": "- a\n- b\n"}, ("suite.yaml:1", "must be a mapping")),
    Case("yaml-scalar", validate(), {"suite.yaml": "just text\n"}, ("suite.yaml:1", "must be a mapping")),
    Case("yaml-two-documents", validate(), {"suite.yaml": SUITE + "---\nname: b\n"}, ("suite.yaml:", "malformed YAML")),
    Case("yaml-tab-indent", validate(), {"suite.yaml": edit(SUITE, "    type: given", "\ttype: given")}, ("suite.yaml:", "malformed YAML")),
    Case("yaml-complex-key", validate(), {"suite.yaml": "? [a, b]\n: 1\n" + SUITE}, ("suite.yaml:1", "plain value")),
    Case("yaml-bad-escape", validate(), {"suite.yaml": edit(SUITE, "name: corpus", 'name: "co\\qrpus"')}, ("suite.yaml:1", "malformed YAML")),
    Case("name-dotdot", validate(), {"suite.yaml": edit(SUITE, "name: corpus", "name: ../../escape")}, ("suite.yaml:1", "name", "cannot name")),
    Case("name-dotdot-run", ["run", "{suite}"], {"suite.yaml": edit(SUITE, "name: corpus", "name: ../../escape")}, ("cannot name",)),
    Case("name-slash", validate(), {"suite.yaml": edit(SUITE, "name: corpus", "name: a/b")}, ("suite.yaml:1", "cannot name")),
    Case("name-absolute", ["run", "{suite}"], {"suite.yaml": edit(SUITE, "name: corpus", "name: /tmp/abs")}, ("cannot name",)),
    Case("name-hidden", validate(), {"suite.yaml": edit(SUITE, "name: corpus", "name: .hidden")}, ("cannot name",)),
    Case("name-backslash", validate(), {"suite.yaml": edit(SUITE, "name: corpus", "name: 'a\\b'")}, ("cannot name",)),
    Case("unknown-top-key", validate(), {"suite.yaml": SUITE + "measurs: [AP]\n"}, ("suite.yaml:12", "measurs", "did you mean 'measures'")),
    Case("unknown-system-key", validate(), {"suite.yaml": edit(SUITE, "    type: given", "    type: given\n    parms: {}")}, ("systems[0].parms", "did you mean 'params'")),
    Case("unknown-dataset-key", validate(), {"suite.yaml": edit(SUITE, "    qrels: qrels.txt", "    qrel: qrels.txt")}, ("datasets[0].qrel", "did you mean 'qrels'")),
    Case("missing-name", validate(), {"suite.yaml": SUITE.replace("name: corpus\n", "")}, ("name", "required key is missing")),
    Case("missing-systems", validate(), {"suite.yaml": SUITE.split("systems:")[0]}, ("systems", "required key is missing")),
    Case("empty-systems", validate(), {"suite.yaml": SUITE.split("systems:")[0] + "systems: []\n"}, ("systems",)),
    Case("empty-datasets", validate(), {"suite.yaml": "name: x\ndatasets: []\nsystems: [{name: a, type: given}]\n"}, ("datasets",)),
    Case("system-null", validate(), {"suite.yaml": SUITE + "  -\n"}, ("systems[1]",)),
    Case("unknown-runner", validate(), {"suite.yaml": edit(SUITE, "type: given", "type: givne")}, ("suite.yaml:10", "unknown runner type", "did you mean 'given'")),
    Case("unknown-scheme", validate(), {"suite.yaml": edit(SUITE, "trec:topics.txt", "tirec:topics.txt")}, ("suite.yaml:3", "unknown dataset id")),
    Case("missing-topics-file", validate(), {"suite.yaml": edit(SUITE, "trec:topics.txt", "trec:nope.txt")}, ("suite.yaml:3", "nope.txt", "file not found")),
    Case("missing-qrels-file", validate(), {"suite.yaml": edit(SUITE, "qrels: qrels.txt", "qrels: nope.txt")}, ("nope.txt", "file not found")),
    Case("bad-measure", validate(), {"suite.yaml": edit(SUITE, "[nDCG@10, AP]", "[nDCG@10, nDGC@10]")}, ("suite.yaml:6", "nDGC@10")),
    Case("measures-a-string", validate(), {"suite.yaml": edit(SUITE, "[nDCG@10, AP]", "nDCG@10")}, ("suite.yaml:6", "measures")),
    Case("unknown-param", validate(), {"suite.yaml": edit(SUITE, "{run: run.trec}", "{run: run.trec, kk: 3}")}, ("systems[0].params.kk",)),
    Case("param-type", validate(), {"suite.yaml": edit(SUITE, "{run: run.trec}", "{run: run.trec, k: many}")}, ("systems[0].params.k",)),
    Case("input-unknown", validate(), {"suite.yaml": SUITE + "  - name: re\n    type: bm25\n    input: bm25rn\n"}, ("systems[1].input", "did you mean 'bm25run'")),
    Case("input-self", validate(), {"suite.yaml": SUITE + "  - name: re\n    type: given\n    input: re\n"}, ("systems[1].input", "own input")),
    Case("baseline-unknown", validate(), {"suite.yaml": edit(SUITE, "baseline: bm25run", "baseline: bm25rum")}, ("suite.yaml:7", "baseline", "did you mean 'bm25run'")),
    Case("duplicate-system", validate(), {"suite.yaml": SUITE + "  - name: bm25run\n    type: given\n"}, ("suite.yaml:12", "duplicate system name")),
    Case("empty-sweep", validate(), {"suite.yaml": SUITE + "  - name: s\n    type: bm25\n    sweep: {k1: []}\n"}, ("systems[1].sweep", "empty")),
    Case("queries-limit-zero", validate(), {"suite.yaml": edit(SUITE, "    qrels: qrels.txt", "    qrels: qrels.txt\n    queries_limit: 0")}, ("queries_limit",)),
    Case("depth-zero", validate(), {"suite.yaml": SUITE + "  - name: s\n    type: bm25\n    depth: 0\n"}, ("systems[1].depth",)),
    Case("relevance-not-int", validate(), {"suite.yaml": edit(SUITE, "    qrels: qrels.txt", "    qrels: qrels.txt\n    relevance: {high: 2}")}, ("relevance",)),
    # checks of the plan layer (lrbench.plan.checks), as a user meets them
    Case("input-cycle", validate(), {"suite.yaml": SUITE + "  - name: a\n    type: bm25\n    input: b\n    depth: 5\n"
                                                              "  - name: b\n    type: bm25\n    input: a\n    depth: 5\n"}, ("input",)),
    Case("runner-task-mismatch", validate(), {"suite.yaml": SUITE + "  - name: lm\n    type: lm-perplexity\n    params: {model: x}\n"}, ("systems[1]",)),
    Case("datasets-matching-nothing", validate(), {"suite.yaml": edit(SUITE, "    params: {run: run.trec}", "    params: {run: run.trec}\n    datasets: [dl91]")}, ("systems[0].datasets", "dl91")),
    Case("duplicate-dataset-name", validate(), {"suite.yaml": edit(SUITE, "measures: [nDCG@10, AP]", "  - id: trec:topics.txt\n    name: dl19\n    qrels: qrels.txt\nmeasures: [nDCG@10, AP]")}, ("duplicate dataset name 'dl19'",)),
    Case("unknown-dataset-option", validate(), {"suite.yaml": edit(SUITE, "    qrels: qrels.txt", "    qrels: qrels.txt\n    options: {rn: run.trec}")}, ("unknown option 'rn'",)),
    Case("unknown-resources-key", validate(), {"suite.yaml": edit(SUITE, "    params: {run: run.trec}", "    params: {run: run.trec}\n    resources: {gpu: 1}")}, ("resources",)),
    Case("top-level-typo", validate(), {"suite.yaml": SUITE.replace("systems:", "sytems:")}, ("sytems", "did you mean 'systems'")),
    Case("compress-without-model", validate(), {"suite.yaml": SUITE + "  - name: c\n    type: bm25\n    compress: {ratio: 0.5}\n"}, ("systems[1].compress", "needs a model")),
    Case("sweep-unknown-param", validate(), {"suite.yaml": SUITE + "  - name: s\n    type: bm25\n    sweep: {k2: [1, 2]}\n"}, ("suite.yaml:14", "sweep.k2", "did you mean")),
    Case("huge-sweep", validate(), {"suite.yaml": SUITE + "  - name: s\n    type: bm25\n    sweep: {k1: [" + ", ".join(str(i / 10) for i in range(1, 101)) + "], b: [" + ", ".join(str(i / 1000) for i in range(1, 1001)) + "], k: [" + ", ".join(str(i) for i in range(10, 30)) + "]}\n"}, ("sweep",)),
    Case("negative-k1", validate(), {"suite.yaml": SUITE + "  - name: s\n    type: bm25\n    params: {k1: -1}\n"}, ("systems[1].params.k1",)),
    Case("b-above-one", validate(), {"suite.yaml": SUITE + "  - name: s\n    type: bm25\n    params: {b: 1.5}\n"}, ("systems[1].params.b",)),
    Case("irds-dotdot", run_case(), {"suite.yaml": edit(SUITE, "trec:topics.txt", "irds:../../etc")}, ("'../../etc'", "leaves its folder")),
    Case("irds-absolute", run_case(), {"suite.yaml": edit(SUITE, "trec:topics.txt", "irds:/etc/passwd")}, ("leaves its folder",)),
    Case("irds-not-mirrored", run_case(), {"suite.yaml": edit(SUITE, "trec:topics.txt", "irds:vaswani")}, ("irds:vaswani", "--mirror")),
    Case("run-file-missing", run_case(), {"suite.yaml": edit(SUITE, "run: run.trec", "run: gone.trec")}, ("gone.trec", "params.run")),
]


def _replace_line(text: str, n: int, new: str) -> str:
    lines = text.splitlines()
    lines[n - 1] = new
    return "\n".join(lines) + "\n"


def data_case(id: str, name: str, mutate: Callable[[str], str | bytes], expect: tuple[str, ...], suite: str = SUITE,
              args=None) -> Case:
    case = Case(id, args or run_case(), {}, expect, suite=suite)
    case.setup = lambda folder: _mutate(folder / name, mutate)
    return case


def _mutate(path: Path, mutate) -> None:
    new = mutate(path.read_text(encoding="utf-8") if path.suffix != ".gz" else "")
    if isinstance(new, bytes):
        path.write_bytes(new)
    else:
        path.write_text(new, encoding="utf-8")


def grade(value):
    return lambda text: _replace_line(text, 3, " ".join(text.splitlines()[2].split()[:3] + [value]))


def score(value):
    return lambda text: _replace_line(text, 2, " ".join(text.splitlines()[1].split()[:4] + [value, "rank"]))


QRELS, RUN, TOPICS = "qrels.txt", "run.trec", "topics.txt"
DATA_CASES = [
    data_case("qrels-word-grade", QRELS, grade("high"), ("qrels.txt:3", "grade 'high'")),
    data_case("qrels-float-grade", QRELS, grade("1.5"), ("qrels.txt:3", "'1.5' is not an integer")),
    data_case("qrels-float-integral", QRELS, grade("1.0"), ("qrels.txt:3", "'1.0'")),
    data_case("qrels-nan-grade", QRELS, grade("nan"), ("qrels.txt:3", "'nan'")),
    data_case("qrels-binary", QRELS, lambda t: b"\x00\x01\x02\x89PNG\r\n" * 20, ("qrels.txt:1", "binary")),
    data_case("qrels-gzip-bytes", QRELS, lambda t: gzip.compress(t.encode()), ("qrels.txt:", "qrels")),
    data_case("qrels-latin1", QRELS, lambda t: (t + "19335 0 caf\xe9 1\n").encode("latin-1"), ("qrels.txt:", "not UTF-8")),
    data_case("qrels-two-columns", QRELS, lambda t: _replace_line(t, 2, "19335 1017759"), ("qrels.txt:2", "expected 'qid 0 docid rel'")),
    data_case("qrels-five-columns", QRELS, lambda t: _replace_line(t, 4, "1 0 2 3 4"), ("qrels.txt:4", "expected")),
    data_case("qrels-empty", QRELS, lambda t: "", ("qrels.txt", "no judgements")),
    data_case("qrels-blank-lines", QRELS, lambda t: "\n\n\n", ("qrels.txt", "no judgements")),
    data_case("qrels-header-only", QRELS, lambda t: "query-id corpus-id score\n", ("qrels.txt", "no judgements")),
    data_case("qrels-duplicate", QRELS, lambda t: t + t.splitlines()[0] + "\n", ("qrels.txt:", "twice")),
    data_case("qrels-other-topics", QRELS, lambda t: "1 0 d1 1\n2 0 d2 1\n", ("none of the 2 judged queries",)),
    data_case("run-word-score", RUN, score("high"), ("run.trec:2", "score 'high'")),
    data_case("run-nan-score", RUN, score("nan"), ("run.trec:2", "finite")),
    data_case("run-inf-score", RUN, score("inf"), ("run.trec:2", "finite")),
    data_case("run-minus-inf", RUN, score("-inf"), ("run.trec:2", "finite")),
    data_case("run-five-columns", RUN, lambda t: _replace_line(t, 5, "1 Q0 d 1 2.0"), ("run.trec:5", "qid Q0 docid rank score tag")),
    data_case("run-empty", RUN, lambda t: "", ("run.trec", "empty")),
    data_case("run-duplicate-doc", RUN, lambda t: t + t.splitlines()[0] + "\n", ("run.trec:", "twice")),
    data_case("run-binary", RUN, lambda t: b"\x00\xff" * 64, ("run.trec:1", "binary")),
    data_case("run-latin1", RUN, lambda t: (t + "19335 Q0 caf\xe9 1 2.0 x\n").encode("latin-1"), ("run.trec:", "not UTF-8")),
    data_case("topics-empty", TOPICS, lambda t: "", ("topics.txt", "no topics")),
    data_case("topics-no-tabs", TOPICS, lambda t: t.replace("\t", " "), ("topics.txt", "no topics")),
    data_case("topics-latin1", TOPICS, lambda t: ("1\tcaf\xe9\n" + t).encode("latin-1"), ("topics.txt:1", "not UTF-8")),
    data_case("topics-binary", TOPICS, lambda t: b"\x00" * 10, ("topics.txt:1", "binary")),
]

CORPUS, BQUERIES, BQRELS = "beir/corpus.jsonl", "beir/queries.jsonl", "beir/qrels/test.tsv"
DATA_CASES += [
    data_case("beir-corpus-not-json", CORPUS, lambda t: _replace_line(t, 3, "{not json"), ("corpus.jsonl:3", "not a JSON line"), BEIR_SUITE),
    data_case("beir-corpus-array", CORPUS, lambda t: _replace_line(t, 2, '["a", "b"]'), ("corpus.jsonl:2", "not an object"), BEIR_SUITE),
    data_case("beir-corpus-string", CORPUS, lambda t: _replace_line(t, 2, '"text"'), ("corpus.jsonl:2", "not an object"), BEIR_SUITE),
    data_case("beir-corpus-no-id", CORPUS, lambda t: _replace_line(t, 4, '{"title": "x", "text": "y"}'), ("corpus.jsonl:4", "lacks '_id'"), BEIR_SUITE),
    data_case("beir-corpus-latin1", CORPUS, lambda t: (t + '{"_id": "z", "text": "caf\xe9"}\n').encode("latin-1"), ("corpus.jsonl:", "not UTF-8"), BEIR_SUITE),
    data_case("beir-corpus-duplicate-id", CORPUS, lambda t: t + t.splitlines()[0] + "\n", ("corpus.jsonl:", "appears twice"), BEIR_SUITE),
    data_case("beir-corpus-empty", CORPUS, lambda t: "", ("corpus.jsonl", "corpus is empty"), BEIR_SUITE),
    data_case("beir-corpus-binary", CORPUS, lambda t: b"\x00\x00PK" * 9, ("corpus.jsonl:1", "binary"), BEIR_SUITE),
    data_case("beir-queries-not-json", BQUERIES, lambda t: "nope\n" + t, ("queries.jsonl:1", "not a JSON line"), BEIR_SUITE),
    data_case("beir-queries-no-id", BQUERIES, lambda t: '{"text": "q"}\n' + t, ("queries.jsonl:1", "lacks '_id'"), BEIR_SUITE),
    data_case("beir-queries-array", BQUERIES, lambda t: "[1]\n" + t, ("queries.jsonl:1", "not an object"), BEIR_SUITE),
    data_case("beir-qrels-float", BQRELS, lambda t: _replace_line(t, 2, "1\t31715818\t0.5"), ("test.tsv:2", "not an integer"), BEIR_SUITE),
    data_case("beir-qrels-word", BQRELS, lambda t: _replace_line(t, 3, "3\t14717500\tyes"), ("test.tsv:3", "'yes'"), BEIR_SUITE),
    data_case("cands-not-json", "cands.json", lambda t: t[: len(t) // 2], ("cands.json", "RankLLM candidate list"), CANDIDATES_SUITE),
    data_case("cands-object", "cands.json", lambda t: '{"query": "x"}', ("cands.json", "not a list"), CANDIDATES_SUITE),
    data_case("cands-no-hits", "cands.json", lambda t: '[{"query": "x"}]', ("cands.json", "hits"), CANDIDATES_SUITE),
    data_case("cands-nan", "cands.json", lambda t: t.replace('"score": ', '"score": NaN, "x": ', 1), ("cands.json", "NaN"), CANDIDATES_SUITE),
    data_case("cands-word-score", "cands.json", lambda t: json.dumps([dict(e, hits=[dict(h, score="hi") for h in e["hits"]]) for e in json.loads(t)]), ("cands.json", "hi"), CANDIDATES_SUITE),
    data_case("cands-duplicate-doc", "cands.json", lambda t: json.dumps([dict(e, hits=e["hits"] + e["hits"][:1]) for e in json.loads(t)]), ("cands.json", "twice"), CANDIDATES_SUITE),
    data_case("cands-all-empty", "cands.json", lambda t: json.dumps([dict(e, hits=[]) for e in json.loads(t)]), ("cands.json", "no candidates"), CANDIDATES_SUITE),
]


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


CLI_CASES = [
    Case("out-unknown-protocol", ["run", "{suite}", "--out", "nosuchfs://bucket/x"], {}, ("--out", "nosuchfs://")),
    Case("out-is-a-file", ["run", "{suite}", "--out", "{dir}/topics.txt"], {}, ("--out", "topics.txt is a file")),
    Case("out-parent-is-a-file", ["run", "{suite}", "--out", "{dir}/topics.txt/sub"], {}, ("--out", "is a file")),
    Case("only-unknown", run_case("--only", "bm25rum"), {}, ("--only", "bm25rum")),
    Case("executor-unknown", run_case("--executor", "slurm"), {}, ("--executor", "slurm")),
    Case("address-without-ray", run_case("--address", "auto"), {}, ("--address", "--executor ray")),
    Case("retries-negative", run_case("--executor", "process", "--retries", "-1"), {}, ("--retries",)),
    Case("mirror-not-a-folder", run_case("--mirror", "{dir}/topics.txt"), {}, ("--mirror", "not a folder")),
    Case("list-unknown", ["list", "gizmos"], {}, ("gizmos", "choose one of")),
    Case("seed-unknown", ["data", "seed", "irds:beir/nfcorpus/test"], {}, ("nfcorpus", "no files")),
    Case("seed-dotdot", ["data", "seed", "irds:../../etc"], {}, ("leaves its folder",)),
    Case("report-format", ["report", "{finished}", "--format", "pdf"], {}, ("--format", "pdf")),
    Case("report-test", ["report", "{finished}", "--test", "magic"], {}, ("--test", "magic")),
    Case("report-alpha-2", ["report", "{finished}", "--alpha", "2"], {}, ("--alpha", "between 0 and 1")),
    Case("report-alpha-0", ["report", "{finished}", "--alpha", "0"], {}, ("--alpha",)),
    Case("compare-alpha-2", ["compare", "{finished}", "bm25run", "top5", "--alpha", "2"], {}, ("--alpha",)),
    Case("compare-unknown-system", ["compare", "{finished}", "bm25run", "nosuch"], {}, ("nosuch",)),
    Case("report-baseline-unknown", ["report", "{finished}", "--baseline", "nosuch"], {}, ("nosuch",)),
    Case("gate-alpha-suite-missing", ["gate", "{dir}/nope.yaml"], {}, ("nope.yaml",)),
]


def damage(rel: str | Callable[[Path], Path], data) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        results = folder / "out"
        shutil.copytree(folder / "_finished", results)
        path = rel(results) if callable(rel) else results / rel
        if data is None:
            path.unlink()
        else:
            _write(path, data(path.read_bytes()) if callable(data) else data)
    return setup


def first_cell(name: str) -> Callable[[Path], Path]:
    return lambda results: sorted((results / "cells").glob(f"*/{name}"))[0]


def results_case(id: str, command: str, rel, data, expect: tuple[str, ...]) -> Case:
    args = {"show": ["show", "{out}"], "report": ["report", "{out}"], "compare": ["compare", "{out}", "bm25run", "top5"],
            "json": ["show", "{out}", "--json"]}[command]
    return Case(id, args, {}, expect, setup=damage(rel, data))


RESULTS_CASES = [
    Case("show-not-a-folder", ["show", "{dir}/nothing"], {}, ("not a results folder",)),
    Case("show-a-file", ["show", "{dir}/topics.txt"], {}, ("is a file",)),
    Case("report-not-a-folder", ["report", "{dir}/nothing"], {}, ("not a results folder",)),
    Case("compare-not-a-folder", ["compare", "{dir}/nothing", "{dir}/nothing2"], {}, ("not a results folder",)),
]
for command in ("show", "report", "compare"):
    RESULTS_CASES += [
        results_case(f"{command}-cells-json-garbage", command, "cells.json", b"\x00garbage{", ("cells.json", "not a results manifest")),
        results_case(f"{command}-cells-json-truncated", command, "cells.json", lambda b: b[: len(b) // 2], ("cells.json",)),
        results_case(f"{command}-cells-json-list", command, "cells.json", b"[1, 2]", ("cells.json", "no 'cells' list")),
        results_case(f"{command}-cells-json-empty-object", command, "cells.json", b"{}", ("cells.json",)),
        results_case(f"{command}-cells-json-missing", command, "cells.json", None, ("not a results folder",)),
        results_case(f"{command}-cells-entry-broken", command, "cells.json",
                     lambda b: json.dumps({**json.loads(b), "cells": [{"dataset": "dl19"}]}).encode(), ("cells[0]",)),
    ]
for command in ("report", "compare"):
    RESULTS_CASES += [
        results_case(f"{command}-perquery-garbage", command, first_cell("perquery.parquet"), b"PAR1garbagePAR1", ("perquery.parquet", "checksum")),
        results_case(f"{command}-perquery-truncated", command, first_cell("perquery.parquet"), lambda b: b[:100], ("perquery.parquet",)),
        results_case(f"{command}-perquery-missing", command, first_cell("perquery.parquet"), None, ("perquery.parquet",)),
        results_case(f"{command}-scores-garbage", command, first_cell("scores.parquet"), b"nonsense", ("scores.parquet",)),
        results_case(f"{command}-meta-empty-object", command, first_cell("meta.json"), b"{}", ("meta.json",)),
        results_case(f"{command}-meta-garbage", command, first_cell("meta.json"), b"{{{", ("meta.json",)),
    ]
RESULTS_CASES += [
    results_case("show-board-and-cell-damaged", "show", "leaderboard.parquet", b"junk",
                 ("cells.json", "damaged")),  # with a cell damaged too (setup below), nothing trustworthy is left
]

CASES = SUITE_CASES + DATA_CASES + CLI_CASES + RESULTS_CASES


def _board_and_cell_damaged(folder: Path) -> None:
    (sorted((folder / "out" / "cells").glob("*/scores.parquet"))[0]).write_bytes(b"junk")


_EXTRA_SETUP = {"show-board-and-cell-damaged": _board_and_cell_damaged}


def test_the_corpus_is_large():
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, slices, finished, tmp_path, monkeypatch):
    folder = tmp_path / "case"
    shutil.copytree(slices, folder)
    shutil.copytree(finished, folder / "_finished")
    if case.suite is not None:
        (folder / "suite.yaml").write_text(case.suite, encoding="utf-8")
    for name, data in case.files.items():
        _write(folder / name, data)
    if case.setup:
        case.setup(folder)
    if case.id in _EXTRA_SETUP:
        _EXTRA_SETUP[case.id](folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("LRBENCH_MIRROR", str(folder))  # an empty mirror: nothing is downloaded
    before = _snapshot(folder)
    args = [a.format(suite=folder / "suite.yaml", out=folder / "out", dir=folder, finished=folder / "_finished")
            for a in case.args]
    result = runner.invoke(app, args)
    output = result.output
    assert result.exit_code not in (0, None), output
    assert "Traceback" not in output and not isinstance(result.exception, (AssertionError, TypeError, KeyError)), output
    # a suite or argument error is one `error:` line; bad data fails its cell with one `failed:` line
    errors = [line for line in output.splitlines() if line.startswith(("error:", "failed:"))]
    assert len(errors) >= 1, output
    if case.args[0] != "validate":
        assert len(errors) == 1, output
    line = errors[0]
    for text in case.expect:
        assert text in line, f"{text!r} not in {line!r}"
    assert "(fix:" in line, line
    # nothing outside the results folder changed, nothing half-written inside it
    after = _snapshot(folder)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert all(p.startswith("out/") or p.startswith(".locks") for p in changed), sorted(changed)[:5]
    assert not [p for p in after if Path(p).name.startswith(TMP_PREFIX)]
    out = folder / "out"
    if (out / "cells").exists():
        assert all((cell / "meta.json").exists() for cell in (out / "cells").iterdir())
