#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `meson install` puts the plugin into GStreamer's plugin directory layout
# (<prefix>/<libdir>/gstreamer-1.0) with libipg beside it, and the installed
# copy loads. Usage: test_install.sh BUILD_DIR PREFIX LIBDIR
set -euo pipefail
build=$1 prefix=$2 libdir=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
plugin_dir="$dest$prefix/$libdir/gstreamer-1.0"
[ -f "$plugin_dir/libgstipgnet.so" ] || { echo "FAIL: no $plugin_dir/libgstipgnet.so"; echo "0 passed, 1 failed"; exit 1; }
echo "ok   installed $prefix/$libdir/gstreamer-1.0/libgstipgnet.so"
[ -f "$dest$prefix/include/ipg/ipg.h" ] && echo "ok   installed include/ipg/ipg.h"
out=$(GST_REGISTRY="$dest/registry.bin" GST_PLUGIN_SYSTEM_PATH_1_0="" GST_PLUGIN_PATH_1_0="$plugin_dir" \
      LD_LIBRARY_PATH="$dest$prefix/$libdir" gst-inspect-1.0 ipgnet 2>&1) || { echo "FAIL: the installed plugin does not load: $out"; echo "2 passed, 1 failed"; exit 1; }
for e in ipgnetdetect ipgnetoverlay ipgnetjson; do
  echo "$out" | grep -q "$e" || { echo "FAIL: installed plugin lacks $e"; echo "2 passed, 1 failed"; exit 1; }
done
echo "ok   the installed plugin loads with its three elements"
echo "3 passed, 0 failed"
