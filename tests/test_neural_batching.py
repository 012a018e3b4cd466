"""Unit tests of the shared neural helpers: bucketing, padding, window schedules, permutation repair."""

from __future__ import annotations

import pytest

from lrbench.errors import LrbenchError
from lrbench.runners.llm.listwise import ListwiseRunner
from lrbench.runners.llm.prompts.listwise import parse_permutation, window_schedule
from lrbench.runners.neural.base import check_template
from lrbench.runners.neural.batching import length_batches, map_batched, pad_batch


def test_length_batches_sort_longest_first_and_cover_everything():
    lengths = [5, 1, 9, 3, 9, 2, 7]
    batches = length_batches(lengths, 3)
    assert [lengths[i] for b in batches for i in b] == sorted(lengths, reverse=True)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert length_batches(lengths, 3, sort=False) == [[0, 1, 2], [3, 4, 5], [6]]


def test_map_batched_restores_input_order():
    items = ["ccc", "a", "bbbbb", "dd", ""]
    seen_batches = []

    def fn(batch):
        seen_batches.append(batch)
        return [s.upper() for s in batch]

    out = map_batched(items, [len(s) for s in items], fn, batch_size=2)
    assert out == [s.upper() for s in items]
    assert seen_batches[0] == ["bbbbb", "ccc"]  # the longest items share the first batch


def test_pad_batch_left_and_right():
    right = pad_batch([[1, 2, 3], [4]], pad_id=0, side="right", extra={"token_type_ids": [[1, 1, 1], [1]]})
    assert right["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert right["token_type_ids"].tolist() == [[1, 1, 1], [1, 0, 0]]
    left = pad_batch([[1, 2, 3], [4]], pad_id=9, side="left")
    assert left["input_ids"].tolist() == [[1, 2, 3], [9, 9, 4]]
    assert left["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]


def test_window_schedule_covers_the_list_back_to_front():
    assert window_schedule(100, 20, 10) == [(80, 100), (70, 90), (60, 80), (50, 70), (40, 60), (30, 50),
                                            (20, 40), (10, 30), (0, 20)]
    assert window_schedule(25, 20, 10) == [(5, 25), (0, 15)]  # the top of the list is always reached
    assert window_schedule(7, 20, 10) == [(0, 7)]
    assert window_schedule(1, 20, 10) == []


@pytest.mark.parametrize("text,n,expected,status", [
    ("[2] > [1] > [3]", 3, [1, 0, 2], "ok"),
    ("[2] > [1]", 3, [1, 0, 2], "partial"),
    ("[2] > [2] > [9] > [1] > [3]", 3, [1, 0, 2], "repaired"),
    ("I cannot rank these passages.", 3, [0, 1, 2], "repaired"),
    ("3, 1, 2", 3, [2, 0, 1], "ok"),
])
def test_parse_permutation_repairs_and_reports(text, n, expected, status):
    assert parse_permutation(text, n) == (expected, status)


@pytest.mark.parametrize("text,n,note", [
    ("[2] > [1] > [3]", 3, ""),
    ("[2] > [1]", 3, "1 of 3 missing id(s) appended in input order"),
    ("[2] > [2] > [9] > [1] > [3]", 3, "1 unknown id(s) dropped; 1 repeated id(s) dropped"),
    ("I cannot rank these passages.", 3, "no identifier: window kept in input order"),
])
def test_repair_permutation_says_what_was_repaired(text, n, note):
    from lrbench.runners.llm.prompts.listwise import repair_permutation

    order, status, repair = repair_permutation(text, n)
    assert (order, status) == parse_permutation(text, n) and repair == note


def test_parse_permutation_letters():
    assert parse_permutation("C] > [A] > [B]", 3, letters=True) == ([2, 0, 1], "ok")


def test_template_checks():
    check_template("{query} {document}", ("query", "document"))
    with pytest.raises(LrbenchError, match=r"lacks \{document\}") as exc:
        check_template("Query: {query}", ("query", "document"))
    assert exc.value.key == "params.template"
    with pytest.raises(LrbenchError, match="unknown field"):
        check_template("{query} {document} {title}", ("query", "document"))
    with pytest.raises(LrbenchError, match="not a valid format string"):
        check_template("{query} {document", ("query", "document"))


@pytest.mark.parametrize("params,key", [
    ({"window": 1}, "params.window"),
    ({"window": 0}, "params.window"),
    ({"window": 10, "stride": 11}, "params.stride"),
    ({"mode": "first", "window": 30, "stride": 10}, "params.window"),
])
def test_listwise_param_errors(params, key):
    with pytest.raises(LrbenchError) as exc:
        ListwiseRunner({"model": "HuggingFaceTB/SmolLM2-135M-Instruct", **params})
    assert exc.value.key == key
    assert "\n" not in exc.value.one_line()
