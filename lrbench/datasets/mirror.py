"""Offline mirror: seed the ir_datasets cache from a local folder laid out the same way.

Air-gapped clusters cannot download collections. Point `--mirror DIR` or `LRBENCH_MIRROR` at a
folder laid out as an ir_datasets home (e.g. `DIR/beir/scifact/source.zip`, `DIR/cranfield/cran.tar.gz`);
files missing from the writable ir_datasets home are copied from it before a dataset loads.

Only source files are copied. ir_datasets unpickles its docstores (`*.pklz4` and friends), so a mirror
made on another machine could run code through them: docstores are never copied; ir_datasets rebuilds
them locally from the sources. Dataset ids cannot leave the mirror or the home (`..`, absolute paths).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lrbench.atomic import write_with
from lrbench.errors import LrbenchError


def irds_home() -> Path:
    """The ir_datasets home, as ir_datasets itself computes it."""
    return Path(os.environ.get("IR_DATASETS_HOME", Path.home() / ".ir_datasets")).expanduser()


def mirror_dir() -> Path | None:
    value = os.environ.get("LRBENCH_MIRROR")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise LrbenchError(f"LRBENCH_MIRROR={value} is not a folder",
                           hint="point it at a folder laid out as an ir_datasets cache")
    return path


#: ir_datasets' built files (pickled docstores, their indexes, build markers): rebuilt locally, never copied
BUILT_SUFFIXES = (".pklz4", ".pkl", ".pickle", ".lz4", ".lock")
BUILT_NAMES = {"_built"}


def is_source_file(rel: Path) -> bool:
    return not any(part.endswith(BUILT_SUFFIXES) or part in BUILT_NAMES or part.startswith(".")
                   for part in rel.parts)


def dataset_files(irds_id: str, root: Path) -> list[Path]:
    """The files under root that belong to this dataset: everything below its own folder, or, when
    only a parent folder exists (beir/scifact for beir/scifact/test), the files directly in that parent
    (never higher: beir/ holds nothing of beir/nfcorpus/test)."""
    from lrbench.safety import safe_relative

    parts = safe_relative(irds_id, what="ir_datasets id", key="datasets.id").parts
    for n in range(len(parts), max(len(parts) - 2, 0), -1):  # its folder, or its parent's (never higher)
        folder = root.joinpath(*parts[:n])
        if folder.is_dir():
            found = folder.rglob("*") if n == len(parts) else folder.iterdir()
            return sorted(p for p in found if p.is_file())
    return []


def dataset_folder(irds_id: str, root: Path) -> Path | None:
    """The deepest folder under root that matches a prefix of the dataset id (beir/scifact/test -> beir/scifact)."""
    parts = irds_id.split("/")
    for n in range(len(parts), 0, -1):
        candidate = root.joinpath(*parts[:n])
        if candidate.is_dir():
            return candidate
    return None


def seed_from_mirror(irds_id: str, mirror: Path | None = None, home: Path | None = None) -> list[Path]:
    """Copy files of this dataset that the home lacks from the mirror. Returns the copied paths."""
    mirror = mirror or mirror_dir()
    if mirror is None:
        return []
    from lrbench.safety import inside

    home = home or irds_home()
    copied = []
    for src in dataset_files(irds_id, mirror):
        rel = src.relative_to(mirror)
        if not is_source_file(rel):
            continue
        dest = inside(home, rel.as_posix(), what="mirror file")
        if dest.exists():
            continue
        write_with(dest, lambda tmp: shutil.copyfile(src, tmp))  # never half a file where ir_datasets trusts it
        copied.append(dest)
    return copied


def refuse_download_offline(irds_id: str) -> None:
    """Offline (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE / LRBENCH_OFFLINE), a collection with no files in the
    ir_datasets home fails at once instead of attempting its downloads."""
    truthy = {"1", "true", "yes", "on"}
    offline = any(os.environ.get(v, "").lower() in truthy for v in ("LRBENCH_OFFLINE", "HF_HUB_OFFLINE",
                                                                      "TRANSFORMERS_OFFLINE"))
    if offline and not dataset_files(irds_id, irds_home()):
        where = f"the mirror {mirror_dir()}" if mirror_dir() else "no mirror (LRBENCH_MIRROR is unset)"
        raise LrbenchError(f"irds:{irds_id} is not in the ir_datasets cache and {where} lacks it; offline, "
                           "nothing is downloaded", key="datasets.id",
                           hint="seed it with --mirror DIR or LRBENCH_MIRROR, or unset HF_HUB_OFFLINE to download")
