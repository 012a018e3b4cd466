"""`lrbench gate` on real SciFact: the shipped suite passes, BM25 with b=0 fails with a precise message."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.presentation.gate import check_expectations
from lrbench.store.profile import Profile
from lrbench.store.resultsdir import ResultsDir
from lrbench.suites.expect import DeltaExpectation, LatencyRatioExpectation, ValueExpectation, parse_expectation
from lrbench.plan import load_suite

SUITES = Path(__file__).resolve().parents[1] / "suites"
GATE_SUITE = SUITES / "gate-scifact.yaml"


def _suite_copy(tmp_path: Path, name: str, *, b: float | None = None) -> Path:
    """The shipped gate suite, optionally with BM25's b changed.

    The latency budget is widened so these tests assert no timings (the ratio logic is tested
    deterministically below); every quality expectation stays as shipped.
    """
    text = GATE_SUITE.read_text()
    assert "latency_p50_ratio_vs: bm25, max: 10.0}" in text
    text = text.replace("latency_p50_ratio_vs: bm25, max: 10.0}", "latency_p50_ratio_vs: bm25, max: 1.0e+9}")
    if b is not None:
        assert "params: {k1: 0.9, b: 0.4}" in text
        text = text.replace("params: {k1: 0.9, b: 0.4}", f"params: {{k1: 0.9, b: {b}}}")
    path = tmp_path / name
    path.write_text(text)
    return path


def _gate(args, env=None):
    result = CliRunner().invoke(app, ["gate", *map(str, args)], env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def gate_runs(tmp_path_factory):
    """Run the unmodified and the degraded suite once each (BM25 on all 300 SciFact test queries)."""
    if not (Path(__file__).resolve().parents[2] / "shared" / "data").exists():
        pytest.skip("../shared/data is not available")
    tmp = tmp_path_factory.mktemp("gate")
    good = _suite_copy(tmp, "gate-good.yaml")
    bad = _suite_copy(tmp, "gate-degraded.yaml", b=0.0)
    runs = {}
    runs["good"] = _gate([good, "--out", tmp / "good", "--junit", tmp / "good.xml",
                          "--write-baseline", tmp / "baseline.yaml"], env={"GITHUB_ACTIONS": ""})
    runs["bad"] = _gate([bad, "--out", tmp / "bad", "--junit", tmp / "bad.xml"], env={"GITHUB_ACTIONS": "true"})
    runs["tmp"] = tmp
    return runs


def test_unmodified_suite_passes(gate_runs):
    code, output = gate_runs["good"]
    assert code == 0, output
    assert "gate passed" in output
    # bm25s measures 0.6762 against Anserini's 0.6789: inside the 0.005 tolerance but moved
    assert "OKISH" in output and "0.6762" in output
    suite = ET.parse(gate_runs["tmp"] / "good.xml").getroot().find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "0"
    assert "::error" not in output  # annotations only under GitHub Actions


def test_degraded_bm25_fails_naming_dataset_system_measure_values(gate_runs):
    code, output = gate_runs["bad"]
    assert code == 1, output
    assert "gate FAILED" in output
    line = next(l for l in output.splitlines() if l.startswith("::error"))
    for part in ("irds:beir/scifact/test", "system bm25,", "nDCG@10", "expected 0.6789", "measured 0.6627"):
        assert part in line, line
    assert "gate-degraded.yaml,line=" in line  # points at the expectation's line in the suite
    suite = ET.parse(gate_runs["tmp"] / "bad.xml").getroot().find("testsuite")
    failures = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert len(failures) == 1 and "measured 0.6627" in failures[0].find("failure").get("message")


def test_written_baseline_catches_the_degraded_run(gate_runs):
    tmp = gate_runs["tmp"]
    baseline = (tmp / "baseline.yaml").read_text()
    assert "min: 0.676188" in baseline  # bm25 nDCG@10 pinned at full precision, as a floor: only a regression fails
    results = ResultsDir(tmp / "bad")
    from lrbench.presentation.gate import read_baseline

    checks = check_expectations(results, read_baseline(tmp / "baseline.yaml"))
    by = {(c.system, c.subject): c.outcome for c in checks}
    assert by[("bm25", "nDCG@10")] == "FAIL"
    assert by[("bm25-robertson", "nDCG@10")] == "OK"  # unchanged system, identical score


def test_latency_ratio_uses_profiles_of_the_same_run(gate_runs, tmp_path):
    results = ResultsDir(gate_runs["tmp"] / "good")
    base = results.cell("scifact", "bm25").profile.latency_ms_p50
    other = results.cell("scifact", "bm25-robertson")
    other.profile = Profile.from_dict({**other.profile.raw, "latency_ms_p50": base * 4.0})
    exp = [(LatencyRatioExpectation(system="bm25-robertson", latency_p50_ratio_vs="bm25", max=3.0), "s.yaml", 3),
           (LatencyRatioExpectation(system="bm25-robertson", latency_p50_ratio_vs="bm25", max=3.0, tolerance=1.5),
            "s.yaml", 4),
           (LatencyRatioExpectation(system="bm25-robertson", latency_p50_ratio_vs="bm25", max=5.0), "s.yaml", 5)]
    outcomes = [c.outcome for c in check_expectations(results, exp)]
    assert outcomes == ["FAIL", "OKISH", "OK"]
    assert check_expectations(results, exp[:1])[0].measured == pytest.approx(4.0)
    other.profile = Profile.from_dict({k: v for k, v in other.profile.raw.items() if k != "latency_ms_p50"})
    missing = check_expectations(results, exp[:1])[0]
    assert missing.outcome == "FAIL" and "no latency_ms_p50" in missing.detail


def test_delta_and_value_outcomes(gate_runs):
    results = ResultsDir(gate_runs["tmp"] / "good")
    nd = {c.system: c.score("nDCG@10") for c in results.cells}
    gap = nd["bm25-robertson"] - nd["bm25"]
    exps = [DeltaExpectation(system="bm25-robertson", measure="nDCG@10", min_delta_vs="bm25", value=gap - 0.001),
            DeltaExpectation(system="bm25-robertson", measure="nDCG@10", min_delta_vs="bm25", value=gap + 0.002,
                             tolerance=0.005),
            DeltaExpectation(system="bm25", measure="nDCG@10", min_delta_vs="bm25-robertson", value=0.0),
            ValueExpectation(system="bm25", measure="nDCG(judged_only=False)@10", value=round(nd["bm25"], 4)),
            ValueExpectation(dataset="cranfield", system="bm25", measure="nDCG@10", value=0.5)]
    checks = check_expectations(results, [(e, "s.yaml", None) for e in exps])
    assert [c.outcome for c in checks] == ["OK", "OKISH", "FAIL", "OK", "FAIL"]
    assert checks[2].measured == pytest.approx(-gap)
    assert "measured nothing" in checks[4].message  # no cranfield cell in this run


def test_one_sided_checks_and_a_pinned_baseline_fail_only_on_regressions(gate_runs):
    """min:/max: bound one side; a baseline pinned from the degraded run (b=0) passes the better good run: an
    improvement (R@100 and nDCG@10 up) is not a failure, while the reverse direction fails."""
    from lrbench.presentation.gate import read_baseline, write_baseline

    tmp = gate_runs["tmp"]
    good, bad = ResultsDir(tmp / "good"), ResultsDir(tmp / "bad")
    nd = good.cell("scifact", "bm25").score("nDCG@10")
    exps = [ValueExpectation(system="bm25", measure="nDCG@10", min=nd - 0.01),
            ValueExpectation(system="bm25", measure="nDCG@10", min=nd + 0.01),
            ValueExpectation(system="bm25", measure="nDCG@10", min=nd + 0.01, tolerance=0.02),
            ValueExpectation(system="bm25", measure="nDCG@10", max=nd - 0.01),
            ValueExpectation(system="bm25", measure="nDCG@10", min=nd - 0.01, max=nd + 0.01)]
    checks = check_expectations(good, [(e, "s.yaml", None) for e in exps])
    assert [c.outcome for c in checks] == ["OK", "FAIL", "OKISH", "FAIL", "OK"]
    assert "below min by 0.0100" in checks[1].detail and "above max by 0.0100" in checks[3].detail
    # the degraded run (b=0) is worse on nDCG@10 but better on R@100 (0.9153 vs 0.9127): checked against the good
    # run's pinned baseline, the regression fails and the improvement passes
    checked = {c.subject: c for c in check_expectations(bad, read_baseline(tmp / "baseline.yaml"))
               if c.system == "bm25"}
    assert bad.cell("scifact", "bm25").score("R@100") > good.cell("scifact", "bm25").score("R@100")
    assert checked["R@100"].outcome == "OK"
    assert checked["nDCG@10"].outcome == "FAIL" and "below min" in checked["nDCG@10"].detail
    pinned = tmp / "pinned-from-degraded.yaml"
    write_baseline(bad, pinned, tolerance=0.0)
    reverse = {c.subject: c.outcome for c in check_expectations(good, read_baseline(pinned)) if c.system == "bm25"}
    assert reverse["nDCG@10"] == "OK" and reverse["R@100"] == "FAIL"
    with pytest.raises(LrbenchError, match="min 0.7 is above max 0.6"):
        parse_expectation({"system": "a", "measure": "P@10", "min": 0.7, "max": 0.6}, 0)
    with pytest.raises(LrbenchError, match="either value: or min:/max:"):
        parse_expectation({"system": "a", "measure": "P@10", "value": 0.7, "min": 0.6}, 0)


def test_significant_delta_needs_a_significant_paired_test(gate_runs):
    """`significant: true`: the delta must hold and the paired test's p-value must be below alpha; the same check
    passes at an alpha above the measured p and fails below it."""
    from lrbench.presentation.report import paired_values
    from lrbench.statistics.significance import paired_test

    results = ResultsDir(gate_runs["tmp"] / "good")
    a, b = results.cell("scifact", "bm25-robertson"), results.cell("scifact", "bm25")
    p_value = paired_test("t", *paired_values(a, b, "nDCG@10")).pvalue
    assert 0 < p_value < 1

    def check(alpha, value=-1.0):
        exp = DeltaExpectation(system="bm25-robertson", measure="nDCG@10", min_delta_vs="bm25", value=value,
                               significant=True, alpha=alpha)
        return check_expectations(results, [(exp, "s.yaml", None)])[0]

    above, below = check(min(0.999, p_value * 1.5)), check(p_value / 1.5)
    assert above.outcome == "OK" and f"t p = {p_value:.4g} over 300 queries" in above.detail
    assert below.outcome == "FAIL" and "not significant" in below.detail
    assert "significant (t, p < " in above.expected
    assert check(0.999, value=1.0).outcome == "FAIL"  # a significant test cannot rescue a delta that fails


def test_usage_errors_exit_2(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text(GATE_SUITE.read_text().replace("min_delta_vs: bm25,", "min_delta_vs: bm26,"))
    code, output = _gate([bad, "--out", tmp_path / "r"])
    assert code == 2 and "expect[2].min_delta_vs" in output and "did you mean 'bm25'" in output
    empty = tmp_path / "empty.yaml"
    empty.write_text(GATE_SUITE.read_text().split("expect:")[0])
    code, output = _gate([empty, "--out", tmp_path / "r"])
    assert code == 2 and "nothing to check" in output
    code, output = _gate([GATE_SUITE, "--baseline", tmp_path / "missing.yaml", "--out", tmp_path / "r"])
    assert code == 2 and "baseline file not found" in output


def test_expectation_validation_in_load_suite(tmp_path):
    text = GATE_SUITE.read_text()
    cases = {
        "measure: R@100, value: 0.9127": ("measure: P@5, value: 0.9127", "'P@5' is not evaluated on dataset 'scifact'"),
        "max: 10.0}": ("max: 10.0, maxx: 1}", "unknown key 'maxx'"),
        "dataset: scifact,": ("dataset: scifakt,", "did you mean 'scifact'"),
        "value: 0.6789,": ("", "give value: (two-sided), or min: and/or max: (one-sided)"),
    }
    for old, (new, message) in cases.items():
        path = tmp_path / "s.yaml"
        assert old in text
        path.write_text(text.replace(old, new))
        loaded = load_suite(path, strict=False)
        assert any(message in e.one_line() for e in loaded.errors), (message, [e.one_line() for e in loaded.errors])
        assert all(e.line for e in loaded.errors)  # every error points at a line of the suite
    assert load_suite(GATE_SUITE).suite.expect


def test_parse_expectation_kinds():
    assert isinstance(parse_expectation({"system": "a", "measure": "P@10", "value": 0.3}, 0), ValueExpectation)
    assert isinstance(parse_expectation({"system": "a", "measure": "P@10", "min_delta_vs": "b"}, 0), DeltaExpectation)
    assert isinstance(parse_expectation({"system": "a", "latency_p50_ratio_vs": "b", "max": 2}, 0),
                      LatencyRatioExpectation)
    with pytest.raises(LrbenchError, match="greater than 0"):
        parse_expectation({"system": "a", "latency_p50_ratio_vs": "b", "max": 0}, 1)
    with pytest.raises(LrbenchError, match="must be a mapping"):
        parse_expectation("bm25 >= 0.6", 2)


def test_cached_cells_are_reused(gate_runs, tmp_path):
    tmp = gate_runs["tmp"]
    code, output = _gate([tmp / "gate-good.yaml", "--out", tmp / "good"])
    assert code == 0
    cells = json.loads((tmp / "good" / "cells.json").read_text())["cells"]
    assert len(cells) == 2 and "cached" in output and "computed" not in output
