#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Formats the C sources with clang-format, each tree by the .clang-format
# beside it: GStreamer's style in gst/ and tests/gst/, the library's in ipg/,
# tools/cli/ and the other tests. `tools/format.sh --check` changes nothing
# and exits 1 listing the files that differ (CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format}
command -v "$cf" >/dev/null || { echo "format: $cf not found (apt-get install clang-format)" >&2; exit 2; }
mapfile -t files < <(git ls-files -- 'ipg/*.[ch]' 'gst/*.[ch]' 'tools/cli/*.[ch]' 'tests/*.[ch]')
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'format: not clang-formatted (run tools/format.sh): %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files clang-formatted"
else
  "$cf" --style=file -i "${files[@]}"
fi
