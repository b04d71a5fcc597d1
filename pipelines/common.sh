# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the pipeline scripts: finds the plugin (installed, or this
# checkout's build/gst) and a model (argument, $IPGNET_MODEL, or a seeded
# random demo model made with the Python reference until a trained model
# ships: its boxes mean nothing).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! gst-inspect-1.0 ipgnetdetect >/dev/null 2>&1 && [ -d "$root/build/gst" ]; then
  export GST_PLUGIN_PATH="$root/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
if ! gst-inspect-1.0 ipgnetdetect >/dev/null 2>&1; then
  echo "$(basename "$0"): the ipgnet plugin is not installed and $root/build/gst has none: run 'meson setup build && ninja -C build'" >&2
  exit 2
fi

# default_model PATH: prints PATH, or the demo model (made on first use).
default_model() {
  if [ -n "${1:-}" ]; then echo "$1"; return; fi
  if [ -n "${IPGNET_MODEL:-}" ]; then echo "$IPGNET_MODEL"; return; fi
  local m="$root/build/demo-r18w05-352x288.safetensors"
  if [ ! -f "$m" ]; then
    echo "$(basename "$0"): no model given: making a seeded random demo model $m (detections are meaningless)" >&2
    PYTHONPATH="$root/tools" /usr/bin/python3 -m ipgnet random --backbone resnet18 --width 0.5 \
      --num-classes 7 --input 352x288 --seed 3 -o "$m" >&2 || exit 2
  fi
  echo "$m"
}
