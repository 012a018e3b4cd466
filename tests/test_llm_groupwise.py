"""llm-groupwise (GroupRank-style) with SmolLM2-135M-Instruct on real DL19 BM25 candidates (1 query, top 3)."""

from __future__ import annotations

import pytest

from lrbench.errors import LrbenchError
from lrbench.runners.llm.groupwise import GroupwiseRunner, group_spans, merge_group_scores, parse_group
from neural_helpers import SMOLLM, bm25_run, ctx, dl19


def test_group_spans_tile_the_list_with_overlap():
    assert group_spans(10, 5, 0) == [(0, 5), (5, 10)]
    assert group_spans(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert group_spans(7, 5, 0) == [(0, 5), (2, 7)]  # the last group stays full
    assert group_spans(3, 5, 2) == [(0, 3)]
    covered = {i for s, e in group_spans(23, 6, 2) for i in range(s, e)}
    assert covered == set(range(23))


def test_parse_group_and_merge():
    text = "[1]: 7\n[2]: 12\nPassage 3 - 4\n[2]: 1\n[9]: 5"
    assert parse_group(text, 3, 10) == {0: 7.0, 1: 10.0, 2: 4.0}  # clamped, first answer kept, [9] out of range
    scores = merge_group_scores(3, [(0, 2), (1, 3)], [[4.0, 6.0], [2.0, 8.0]])
    assert scores == pytest.approx([4.0, 4.0 - 1e-6, 8.0 - 2e-6])  # doc 1: mean of 6 and 2; ties keep input order


def test_overlap_must_be_smaller_than_group():
    with pytest.raises(LrbenchError) as exc:
        GroupwiseRunner({"model": SMOLLM, "group_size": 3, "overlap": 3})
    assert exc.value.key == "params.overlap"


@pytest.fixture
def ds(shared):
    return dl19(shared, queries_limit=1)


def test_expectation_mode_grades_each_candidate_in_its_groups(ds, tmp_path):
    runner = GroupwiseRunner({"model": SMOLLM, "group_size": 2, "overlap": 1, "doc_max_tokens": 30})
    out = runner.run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=3))
    p = out.profile
    assert len(out.run) == 3 and p["groups"] == 2 and p["two_step_passes"] == 4  # groups (0,2) and (1,3)
    # recompute: each candidate's grade in each of its groups, by the same expected-grade function
    qid, query = next(iter(ds.eval_queries().items()))
    run = bm25_run(ds)
    top = run[run["query_id"] == qid].sort_values("score", ascending=False)["doc_id"].head(3).tolist()
    texts = ds.doc_texts(top)
    docs = [texts[d] for d in top]
    loaded = runner.load(ctx(tmp_path))
    grades = [runner._grader.expected_grades(loaded, [runner.group_prompt(loaded, query, docs[s:e], f"[{j + 1}]: ")
                                                      for j in range(e - s)], None).tolist()
              for s, e in [(0, 2), (1, 3)]]
    expected = merge_group_scores(3, [(0, 2), (1, 3)], grades)
    got = out.run.set_index("doc_id").loc[top, "score"].tolist()
    assert got == pytest.approx(expected, abs=2e-3)
    assert all(0 <= g <= 10 for g in sum(grades, []))


def test_generate_mode_parses_grades_and_counts_tokens(ds, tmp_path):
    out = GroupwiseRunner({"model": SMOLLM, "group_size": 3, "mode": "generate", "doc_max_tokens": 30,
                           "answer_tokens": 18}).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=3))
    p = out.profile
    assert p["groups"] == 1 and 0 < p["generated_tokens_per_query"] <= 18
    assert 0 <= p["unparsed_grades"] <= 3
    assert all(-1.0 - 1e-5 <= s <= 10 for s in out.run["score"])


def test_paradigms_suite_validates(shared):
    from pathlib import Path

    from lrbench.plan import load_suite

    loaded = load_suite(Path(__file__).resolve().parents[1] / "suites" / "dl19-paradigms-ci.yaml", strict=False)
    assert not loaded.errors, [e.one_line() for e in loaded.errors]
    types = {s.type for s in loaded.suite.systems}
    assert {"late-interaction", "llm-groupwise", "llm-pointwise", "llm-listwise", "embedder"} <= types
    modes = {(s.params or {}).get("score_mode") for s in loaded.suite.systems if s.type == "llm-pointwise"}
    assert modes == {None, "generate-integer", "reason-then-score"}
