"""A results folder's leaderboard shows its suite's cells only; `lrbench prune` removes the others."""

from __future__ import annotations

from typer.testing import CliRunner

from helpers import write_suite


def _suite(tmp_path, systems):
    return write_suite(tmp_path, {"name": "s", "measures": ["nDCG@10"],
                                  "datasets": [{"id": "irds:cranfield", "name": "cranfield", "queries_limit": 20}],
                                  "systems": systems})


def test_an_edited_suite_leaves_no_stale_cells_on_the_board_and_prune_removes_them(shared, tmp_path):
    import lrbench
    from lrbench.cli import app
    from lrbench.presentation.report import build_report, to_markdown
    from lrbench.store.store import LocalStore

    out = tmp_path / "out"
    lrbench.run(_suite(tmp_path, [{"name": "bm25", "type": "bm25"},
                                  {"name": "flat", "type": "bm25", "params": {"b": 0.0}}]), out)
    kept = lrbench.run(_suite(tmp_path, [{"name": "bm25", "type": "bm25", "params": {"k1": 1.2}}]), out)
    board = (out / "leaderboard.md").read_text()
    assert "flat" not in board and "bm25" in board  # the dropped system is gone from the board ...
    assert "flat" not in to_markdown(build_report(out))  # ... and from the report
    assert len(LocalStore(out).keys()) == 3  # old bm25, flat, new bm25 are all still on disk

    dry = CliRunner().invoke(app, ["prune", str(out)])
    assert dry.exit_code == 0, dry.output
    assert "2 cell(s) no suite names would be removed" in dry.output and "cranfield / flat" in dry.output
    assert len(LocalStore(out).keys()) == 3  # a dry run deletes nothing
    done = CliRunner().invoke(app, ["prune", str(out), "--yes"])
    assert done.exit_code == 0 and "2 cell(s) no suite names removed" in done.output
    assert LocalStore(out).keys() == [kept.cells["key"].iloc[0]]
    assert CliRunner().invoke(app, ["show", str(out)]).exit_code == 0
    again = CliRunner().invoke(app, ["prune", str(out)])
    assert "no stale cells" in again.output


def test_prune_refuses_a_folder_without_a_manifest(tmp_path):
    from lrbench.cli import app

    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["prune", str(tmp_path / "empty"), "--yes"])
    assert result.exit_code != 0 and "not a results folder" in result.output
