#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Creates .venv (Debian's python3 with its system packages: torch, torchvision,
# numpy, PIL, pytest) and installs pycocotools from PyPI into it, for
# `python -m ipgnet eval`. Idempotent: says nothing and returns at once when
# the venv already imports pycocotools.
#   tools/setup-venv.sh [VENV_DIR]      (default: .venv in the repository root)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/.venv}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pycocotools.cocoeval" 2>/dev/null; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-venv: creating $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
echo "setup-venv: installing pycocotools into $venv"
"$venv/bin/pip" install -q --disable-pip-version-check "pycocotools==2.0.11"
"$venv/bin/python" -c "import pycocotools.cocoeval"
