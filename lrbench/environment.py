"""Where and with what code a number was produced: git commit, CPU and GPU model (no torch import)."""

from __future__ import annotations

import functools
import platform
import shutil
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The lrbench source checkout's commit (with '+dirty' for local changes), None outside a checkout."""
    root = Path(__file__).resolve().parents[1]  # lrbench/environment.py -> the checkout
    if not (root / ".git").exists():  # a folder in a clone, a file in a git worktree
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha[:12] + ("+dirty" if dirty else "")) if sha else None


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@functools.lru_cache(maxsize=1)
def gpu_models() -> list[str]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def environment() -> dict[str, object]:
    """A small dict suitable for a cell's meta.json (key 'environment')."""
    import os

    return {"git_commit": git_commit(), "cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpus": gpu_models(),
            "platform": platform.platform()}
