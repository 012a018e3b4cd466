"""`lrbench validate` (and `lrbench run`, which calls the same checks) reports each semantic problem as one
line with file:line, before anything runs."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from lrbench.cli import app

HEAD = "name: v\ndatasets:\n  - id: irds:cranfield\n    name: cranfield\nsystems:\n"  # systems start at line 6
BM25 = "  - name: bm25\n    type: bm25\n"


def _errors(tmp_path, text: str, command: str = "validate") -> tuple[str, list[str], object]:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    args = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "run" else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return str(path), [l for l in result.output.splitlines() if l.startswith("error:")], result


CASES = {
    "input cycle": (HEAD + "  - name: a\n    type: bm25\n    input: b\n  - name: b\n    type: bm25\n    input: a\n",
                    8, "input cycle: a -> b -> a"),
    "task kind": (HEAD + BM25 + "  - name: lm\n    type: lm-perplexity\n    params: {model: gpt2}\n",
                  9, "a lm-perplexity system does not run on ranking datasets ('cranfield')"),
    "datasets matches nothing": (HEAD + BM25 + "    datasets: [scifact]\n", 8,
                                 "names no dataset of the suite: 'scifact'"),
    "duplicate dataset name": ("name: v\ndatasets:\n  - id: irds:cranfield\n    name: cranfield\n"
                               "  - id: irds:beir/scifact/test\n    name: cranfield\nsystems:\n" + BM25,
                               6, "duplicate dataset name 'cranfield'"),
    "unknown resource": (HEAD + BM25 + "    resources: {num_gpu: 1}\n", 8, "unknown resource 'num_gpu'"),
    "unknown option": ("name: v\ndatasets:\n  - id: irds:cranfield\n    options: {rn: x.trec}\nsystems:\n" + BM25,
                       4, "unknown option 'rn' for irds: datasets"),
    "trec option typo": ("name: v\ndatasets:\n  - id: trec:topics.txt\n    qrels: q.txt\n    options: {rnu: r.trec}\n"
                         "systems:\n" + BM25, 5, "(did you mean 'run'?)"),
    "unknown top-level key": ("name: v\ndatasets:\n  - id: irds:cranfield\nsystemz:\n" + BM25, 4,
                              "unknown key 'systemz' (did you mean 'systems'?)"),
    "compress without a model": (HEAD + BM25 + "    compress: {method: svd, ratio: 0.5}\n", 8,
                                 "compress: needs a model, and a bm25 system has none"),
    "sweep error at the sweep's line": (HEAD + BM25 + "    sweep:\n      k1: [0.9, -1.0]\n      b: [0.4]\n", 9,
                                        "greater than or equal to 0"),
    "b above 1": (HEAD + BM25 + "    params:\n      b: 1.5\n", 9, "less than or equal to 1"),
    "input names an unknown system": (HEAD + BM25 + "  - name: ce\n    type: cross-encoder\n    input: bm52\n"
                                      "    params: {model: cross-encoder/ms-marco-MiniLM-L-6-v2}\n", 10,
                                      "input names unknown system 'bm52' (fix: did you mean 'bm25'?)"),
    "given run file missing": (HEAD + "  - name: given\n    type: given\n    params: {run: runs/missing.trec}\n", 8,
                               "run file not found"),
    "input runs elsewhere": ("name: v\ndatasets:\n  - id: irds:cranfield\n  - id: irds:beir/scifact/test\nsystems:\n"
                             + BM25 + "    datasets: [irds:cranfield]\n  - name: ce\n    type: cross-encoder\n"
                             "    input: bm25\n    params: {model: cross-encoder/ms-marco-MiniLM-L-6-v2}\n", 11,
                             "input 'bm25' does not run on dataset 'irds:beir/scifact/test'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validate_reports_one_line_with_file_and_line(shared, tmp_path, case):
    text, line, message = CASES[case]
    (tmp_path / "topics.txt").write_text("1\tq\n")
    (tmp_path / "q.txt").write_text("1 0 d 1\n")
    path, errors, _ = _errors(tmp_path, text)
    assert len(errors) == 1, errors
    assert f"{path}:{line}:" in errors[0] and message in errors[0], errors[0]


def test_a_huge_sweep_is_refused_quickly(tmp_path):
    values = ", ".join(str(round(0.01 * i, 2)) for i in range(1, 201))
    text = HEAD + BM25 + f"    sweep:\n      k1: [{values}]\n      b: [{values}]\n"
    started = time.perf_counter()
    path, errors, _ = _errors(tmp_path, text)
    assert time.perf_counter() - started < 10
    assert errors == [e for e in errors if f"{path}:8:" in e and "40,000 points, more than 10,000" in e] and errors


def test_run_refuses_what_validate_reports_and_writes_nothing(shared, tmp_path):
    text, line, message = CASES["input cycle"]
    _, validate_errors, _ = _errors(tmp_path, text)
    _, run_errors, _ = _errors(tmp_path, text, command="run")
    assert run_errors == validate_errors[:1]
    assert not (tmp_path / "out").exists()


def test_every_problem_is_listed(shared, tmp_path):
    text = HEAD + BM25 + "    compress: {ratio: 0.5}\n    resources: {gpus: 1}\n  - name: x\n    type: bm25\n" \
        "    input: nothing\n"
    _, errors, _ = _errors(tmp_path, text)
    assert len(errors) == 3 and all(":" in e for e in errors)


def test_alpha_outside_0_1_is_one_line(tmp_path):
    for command in (["report", tmp_path], ["compare", tmp_path, "a", "b"]):
        result = CliRunner().invoke(app, [str(c) for c in command] + ["--alpha", "2"])
        code, output = result.exit_code, result.output
        assert code == 2 and "--alpha must be between 0 and 1" in output and "Traceback" not in output


def test_a_dict_suite_resolves_paths_against_its_base_folder(shared, tmp_path, monkeypatch):
    from lrbench.errors import LrbenchError
    from lrbench.plan import build_plan, load_suite

    monkeypatch.setenv("LRBENCH_MIRROR", "")  # restored afterwards: mirror= below sets it

    suite = {"name": "nb", "datasets": [{"id": "beir:beir-format", "name": "cranfield"}],
             "systems": [{"name": "bm25", "type": "bm25"}]}
    loaded = load_suite(suite, shared / "cranfield", mirror=shared / "ir_datasets")
    assert loaded.base_dir == (shared / "cranfield").resolve()
    assert [c.system_label for c in build_plan(loaded).cells] == ["bm25"]
    with pytest.raises(LrbenchError) as err:  # the same checks as a file, located by key path
        load_suite({**suite, "systems": [{"name": "bm25", "type": "bm25", "params": {"b": 2}}]}, shared / "cranfield")
    assert err.value.key == "systems[0].params.b" and err.value.file == "<suite dict>"
    with pytest.raises(LrbenchError, match="file not found"):
        load_suite(suite, tmp_path)
