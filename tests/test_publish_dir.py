"""lrbench.atomic.publish_dir: a folder appears whole or not at all, and nothing temporary is left behind."""

from __future__ import annotations

import os

import pytest

from lrbench.atomic import publish_dir


def _fill(text: str):
    def build(tmp):
        (tmp / "a.txt").write_text(text)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text(text * 2)
    return build


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name != "out")


def test_the_folder_appears_with_everything_built_in_it(tmp_path):
    assert publish_dir(tmp_path / "out", _fill("new")) is True
    assert (tmp_path / "out" / "a.txt").read_text() == "new"
    assert (tmp_path / "out" / "sub" / "b.txt").read_text() == "newnew"
    assert _leftovers(tmp_path) == []


def test_a_failing_build_publishes_nothing_and_cleans_up(tmp_path):
    def broken(tmp):
        _fill("half")(tmp)
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        publish_dir(tmp_path / "out", broken)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_a_folder_published_first_by_another_process_is_kept(tmp_path):
    publish_dir(tmp_path / "out", _fill("theirs"))
    assert publish_dir(tmp_path / "out", _fill("ours")) is False
    assert (tmp_path / "out" / "a.txt").read_text() == "theirs" and _leftovers(tmp_path) == []
    (tmp_path / "empty").mkdir()  # an empty folder holds nothing to keep
    assert publish_dir(tmp_path / "empty", _fill("x")) is True and (tmp_path / "empty" / "a.txt").exists()


def test_replace_swaps_in_the_new_folder(tmp_path):
    publish_dir(tmp_path / "out", _fill("old"))
    (tmp_path / "out" / "stale.txt").write_text("only in the old one")
    assert publish_dir(tmp_path / "out", _fill("new"), replace=True) is True
    assert (tmp_path / "out" / "a.txt").read_text() == "new" and not (tmp_path / "out" / "stale.txt").exists()
    assert _leftovers(tmp_path) == []


def test_a_build_may_name_the_folder_under_tmp_that_holds_the_result(tmp_path):
    def tool_layout(tmp):
        deep = tmp / "build" / "x" / "1.0"
        deep.mkdir(parents=True)
        (deep / "info.json").write_text("{}")
        (tmp / "scratch.txt").write_text("not published")
        return deep

    publish_dir(tmp_path / "out", tool_layout)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["info.json"] and _leftovers(tmp_path) == []


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    publish_dir(tmp_path / "out", _fill("old"))
    real = os.replace
    calls = []

    def fails_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the new folder's rename into place
            raise OSError("killed")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", fails_second)
    with pytest.raises(OSError, match="killed"):
        publish_dir(tmp_path / "out", _fill("new"), replace=True)
    monkeypatch.undo()
    assert (tmp_path / "out" / "a.txt").read_text() == "old" and _leftovers(tmp_path) == []
