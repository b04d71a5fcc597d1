#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `meson install` puts the plugin into GStreamer's plugin directory layout
# (<prefix>/<libdir>/gstreamer-1.0) with libipg beside it, and the installed
# copy loads, with the demo model as its default. Usage:
# test_install.sh BUILD_DIR PREFIX LIBDIR [DATADIR]
set -euo pipefail
build=$1 prefix=$2 libdir=$3 datadir=${4:-share}
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
model="$prefix/$datadir/ipgnet/models/ipgnet-demo.safetensors"
[ -f "$dest$model" ] || { echo "FAIL: the demo model is not installed at $model"; echo "3 passed, 1 failed"; exit 1; }
echo "ok   installed $model"
props=$(GST_REGISTRY="$dest/registry.bin" GST_PLUGIN_SYSTEM_PATH_1_0="" GST_PLUGIN_PATH_1_0="$plugin_dir" \
        LD_LIBRARY_PATH="$dest$prefix/$libdir" gst-inspect-1.0 ipgnetdetect 2>&1)
echo "$props" | grep -q "Default: \"$model\"" || { echo "FAIL: ipgnetdetect's model default is not $model"; echo "4 passed, 1 failed"; exit 1; }
echo "ok   ipgnetdetect's model default is the installed demo model"
# the installed plugin runs the installed model (given explicitly: DESTDIR moved it)
# (system plugins allowed here, for videotestsrc and fakesink)
out=$(env -u GST_PLUGIN_PATH -u GST_PLUGIN_SYSTEM_PATH -u GST_PLUGIN_SYSTEM_PATH_1_0 \
      GST_REGISTRY="$dest/registry-run.bin" GST_PLUGIN_PATH_1_0="$plugin_dir" \
      LD_LIBRARY_PATH="$dest$prefix/$libdir" gst-launch-1.0 -q videotestsrc num-buffers=2 ! \
      video/x-raw,width=320,height=240 ! ipgnetdetect model="$dest$model" ! fakesink 2>&1) \
  || { echo "FAIL: the installed plugin does not run the installed model: $out"; echo "5 passed, 1 failed"; exit 1; }
echo "ok   the installed plugin runs the installed model"
echo "6 passed, 0 failed"
