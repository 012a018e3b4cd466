"""The Hugging Face datasets cache, as `datasets.load_dataset` leaves it, for offline MTEB tasks.

A Hub dataset loaded once lives at `$HF_DATASETS_CACHE/<namespace>___<name>/<config>/0.0.0/<commit>/`
(`dataset_info.json` plus `<name>-<split>.arrow`). With HF_DATASETS_OFFLINE=1, `load_dataset` reads it from
there, which is how mteb's own loaders run air-gapped. This module
- writes such an entry from local tables with datasets' own Parquet builder (`write_config`), so the bytes
  and metadata are what an online load would have left;
- seeds the writable cache from a mirror folder laid out the same way (`LRBENCH_HF_MIRROR`), as
  `datasets/mirror.py` does for ir_datasets;
- switches datasets and huggingface_hub to offline mode while a cached revision is read (`offline`).
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from lrbench.atomic import publish_dir
from lrbench.errors import LrbenchError

VERSION = "0.0.0"  # what the Parquet builder of a Hub dataset records


def hf_datasets_cache() -> Path:
    """The datasets cache folder, as datasets computes it (HF_DATASETS_CACHE, else HF_HOME/datasets)."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "datasets"


def hf_mirror_dir() -> Path | None:
    value = os.environ.get("LRBENCH_HF_MIRROR")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise LrbenchError(f"LRBENCH_HF_MIRROR={value} is not a folder",
                           hint="point it at a folder laid out as a Hugging Face datasets cache")
    return path


def _snake(name: str) -> str:
    """datasets' camelcase_to_snakecase, for the folder name of a repo."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def repo_folder(repo_id: str, cache: Path) -> Path:
    """`mteb/scifact` -> cache/mteb___scifact (the layout of datasets' cache)."""
    parts = repo_id.split("/")
    parts[-1] = _snake(parts[-1])
    return cache / "___".join(parts)


def config_folder(repo_id: str, config: str, revision: str, cache: Path) -> Path:
    return repo_folder(repo_id, cache) / config / VERSION / revision


def cached_revisions(repo_id: str, cache: Path) -> set[str]:
    root = repo_folder(repo_id, cache)
    return {p.name for p in root.glob(f"*/{VERSION}/*") if (p / "dataset_info.json").exists()}


def write_config(repo_id: str, config: str, revision: str, splits: dict, cache: Path) -> Path:
    """Store `splits` ({split: pyarrow.Table}) as one config of `repo_id` at `revision` in the datasets cache.

    Parquet files go through datasets' Parquet builder (as for a Hub repo of Parquet files); the finished
    folder is renamed into place, so a reader never sees half an entry."""
    import datasets
    import pyarrow.parquet as pq
    from datasets.packaged_modules.parquet.parquet import Parquet

    datasets.disable_progress_bars()

    dest = config_folder(repo_id, config, revision, cache)
    name = repo_id.split("/")[-1]

    def build(work: Path) -> Path:
        files = {}
        for split, table in splits.items():
            path = work / "src" / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
            files[split] = [str(path)]
        builder = Parquet(cache_dir=str(work / "build"), dataset_name=name, config_name=config, config_id=config,
                          hash=revision, data_files=files)
        builder.download_and_prepare()
        return Path(builder.cache_dir)

    publish_dir(dest, build, replace=True)
    return dest


def seed_from_hf_mirror(repo_id: str, mirror: Path | None = None, cache: Path | None = None) -> list[Path]:
    """Copy this repo's cache entries that the cache lacks from a mirror laid out as a datasets cache."""
    mirror = mirror or hf_mirror_dir()
    if mirror is None:
        return []
    cache = cache or hf_datasets_cache()
    source = repo_folder(repo_id, mirror)
    if not source.is_dir():
        return []
    copied = []
    for entry in sorted(p for p in source.glob(f"*/{VERSION}/*") if (p / "dataset_info.json").exists()):
        dest = cache / entry.relative_to(mirror)
        if dest.exists():
            continue
        if publish_dir(dest, lambda tmp: shutil.copytree(entry, tmp, dirs_exist_ok=True)):
            copied.append(dest)
    return copied


@contextmanager
def offline(cache: Path):
    """datasets and huggingface_hub read only from `cache` while inside (they read these settings at import,
    so the module constants are switched too)."""
    names = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_CACHE")
    saved_env = {n: os.environ.get(n) for n in names}
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_DATASETS_CACHE=str(cache))
    import datasets.config as dconfig
    import huggingface_hub.constants as hconst

    switched = [(dconfig, "HF_HUB_OFFLINE", True), (dconfig, "HF_DATASETS_OFFLINE", True),
                (dconfig, "HF_DATASETS_CACHE", cache), (hconst, "HF_HUB_OFFLINE", True)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in switched]
    for module, name, value in switched:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        for n, v in saved_env.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v
