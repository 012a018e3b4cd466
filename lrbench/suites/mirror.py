"""Offline mirror: seed the ir_datasets cache from a local folder laid out the same way.

Air-gapped clusters cannot download collections. Point `--mirror DIR` or `LRBENCH_MIRROR` at a
folder laid out as an ir_datasets home (e.g. `DIR/beir/scifact/source.zip`, `DIR/cranfield/cran.tar.gz`);
files missing from the writable ir_datasets home are copied from it before a dataset loads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    home = home or irds_home()
    source = dataset_folder(irds_id, mirror)
    if source is None:
        return []
    copied = []
    for src in sorted(p for p in source.rglob("*") if p.is_file()):
        dest = home / src.relative_to(mirror)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".lrbench-tmp{os.getpid()}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)  # never leave a half-copied file where ir_datasets would trust it
        copied.append(dest)
    return copied
