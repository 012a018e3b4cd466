"""Derived caches are checked on every read: a damaged entry warns, is removed and rebuilt, and a warm run
reports the cost of a cold one (lrbench.checked_cache)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lrbench.checked_cache import MANIFEST, publish_checked, read_checked
from neural_helpers import MINILM, ctx, module_scifact_slice


def _flip_byte(path, at=None):
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _one_entry(root):
    entries = [p for p in root.iterdir() if p.is_dir()]
    assert len(entries) == 1, entries
    return entries[0]


def test_entry_round_trip_and_every_kind_of_damage(tmp_path, capsys):
    def build(tmp):
        (tmp / "a.bin").write_bytes(b"x" * 5000)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.json").write_text("[1, 2]")

    folder = tmp_path / "cache" / "entry"
    assert read_checked(folder) is None and capsys.readouterr().err == ""  # no entry: nothing to say
    assert publish_checked(folder, build, {"cost": {"flops": 7}})
    manifest = json.loads((folder / MANIFEST).read_text())
    assert sorted(manifest["files"]) == ["a.bin", "sub/b.json"]
    assert manifest["files"]["a.bin"]["size"] == 5000
    assert read_checked(folder) == {"cost": {"flops": 7}}
    assert not publish_checked(folder, build, {"other": 1})  # a complete entry is kept
    damages = {
        "does not match its sha256": lambda: _flip_byte(folder / "a.bin"),
        "sub/b.json is missing": lambda: (folder / "sub" / "b.json").unlink(),
        "bytes, the manifest says": lambda: (folder / "a.bin").write_bytes(b"x" * 4999),
        f"no {MANIFEST}": lambda: (folder / MANIFEST).unlink(),  # an entry from before manifests
        "unreadable": lambda: (folder / MANIFEST).write_text("{not json"),
    }
    for problem, damage in damages.items():
        publish_checked(folder, build, {"cost": {"flops": 7}})
        damage()
        assert read_checked(folder) is None, problem
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(folder) in err[0] and problem in err[0] and "rebuilding" in err[0], err
        assert not folder.exists()  # removed, so the next run rebuilds it
        assert [p.name for p in folder.parent.iterdir()] == []  # nothing left aside


def test_an_entry_in_place_removes_its_former_layout_and_nothing_else(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("key.npz", "key.json", "other.npz"):
        (cache / name).write_text("old")
    def build(tmp):
        (tmp / "v.bin").write_bytes(b"1")

    assert publish_checked(cache / "key", build, supersedes=("key.npz", "key.json", "key.absent"))
    assert sorted(p.name for p in cache.iterdir()) == ["key", "other.npz"]
    assert read_checked(cache / "key") == {}


@pytest.fixture(scope="module")
def slice_dataset(tmp_path_factory):
    return module_scifact_slice(tmp_path_factory, "scifact", n_queries=8, n_extra=120)[0]


@pytest.mark.parametrize("backend, cache", [("bm25s", "bm25s"), ("pyserini", "lucene")])
def test_bm25_index_with_a_flipped_byte_is_rebuilt_and_gives_the_cold_run(slice_dataset, tmp_path, capsys,
                                                                           backend, cache):
    from lrbench.runners.retrieval.bm25 import BM25Runner

    if backend == "pyserini":
        pytest.importorskip("pyserini")
    params = {"k": 100, "backend": backend}
    cold = BM25Runner(params).run(slice_dataset, {}, ctx(tmp_path))
    assert cold.profile["index_cached"] is False
    warm = BM25Runner(params).run(slice_dataset, {}, ctx(tmp_path))
    assert warm.profile["index_cached"] is True
    pd.testing.assert_frame_equal(warm.frame("run"), cold.frame("run"))
    entry = _one_entry(tmp_path / "cache" / cache)
    biggest = max((p for p in entry.rglob("*") if p.is_file() and p.name != MANIFEST), key=lambda p: p.stat().st_size)
    _flip_byte(biggest, at=biggest.stat().st_size * 2 // 3)  # in the data, not a header
    capsys.readouterr()
    rebuilt = BM25Runner(params).run(slice_dataset, {}, ctx(tmp_path))
    err = capsys.readouterr().err
    name = biggest.relative_to(entry).as_posix()
    assert f"cache entry {entry} is damaged ({name} does not match its sha256), rebuilding" in err
    assert rebuilt.profile["index_cached"] is False
    pd.testing.assert_frame_equal(rebuilt.frame("run"), cold.frame("run"))
    assert BM25Runner(params).run(slice_dataset, {}, ctx(tmp_path)).profile["index_cached"] is True


CORPUS_COST = ("corpus_flops", "corpus_model_calls", "corpus_tokens_in", "corpus_tokens")


def test_embedder_warm_run_reports_the_cold_cost_without_encoding_and_damage_is_rebuilt(
        slice_dataset, tmp_path, capsys, monkeypatch):
    from lrbench.runners.retrieval.embedder import EmbedderRunner

    params = {"model": MINILM, "k": 20, "threads": 1, "batch_size": 16, "latency_sample": 2}
    cold = EmbedderRunner(params).run(slice_dataset, {}, ctx(tmp_path))
    assert cold.profile["corpus_cached"] is False
    assert cold.profile["corpus_flops"] > 0 and cold.profile["corpus_model_calls"] > 0
    assert cold.profile["corpus_tokens"] > 0 and cold.profile["corpus_tokens_in"] > 0

    def no_encoding(*args, **kwargs):
        raise AssertionError("a warm run encoded the corpus")

    with monkeypatch.context() as m:
        m.setattr(EmbedderRunner, "_encode_block", no_encoding)
        warm = EmbedderRunner(params).run(slice_dataset, {}, ctx(tmp_path))
    assert warm.profile["corpus_cached"] is True
    assert {k: warm.profile[k] for k in CORPUS_COST} == {k: cold.profile[k] for k in CORPUS_COST}
    assert warm.profile["flops"] == cold.profile["flops"]  # the queries' own cost, for good measure
    pd.testing.assert_frame_equal(warm.frame("run"), cold.frame("run"))

    entry = _one_entry(tmp_path / "cache" / "embeddings")
    _flip_byte(entry / "emb.npy")
    capsys.readouterr()
    rebuilt = EmbedderRunner(params).run(slice_dataset, {}, ctx(tmp_path))
    err = capsys.readouterr().err
    assert f"cache entry {entry} is damaged (emb.npy does not match its sha256), rebuilding" in err
    assert rebuilt.profile["corpus_cached"] is False
    assert {k: rebuilt.profile[k] for k in CORPUS_COST} == {k: cold.profile[k] for k in CORPUS_COST}
    pd.testing.assert_frame_equal(rebuilt.frame("run"), cold.frame("run"))
    assert read_checked(entry) is not None  # published again, with its manifest
