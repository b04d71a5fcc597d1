# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the pipeline scripts: finds the plugin (installed, or this
# checkout's build/gst) and a model (argument, $IPGNET_MODEL, or the shipped
# demo model models/ipgnet-demo.safetensors).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! gst-inspect-1.0 ipgnetdetect >/dev/null 2>&1 && [ -d "$root/build/gst" ]; then
  export GST_PLUGIN_PATH="$root/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
if ! gst-inspect-1.0 ipgnetdetect >/dev/null 2>&1; then
  echo "$(basename "$0"): the ipgnet plugin is not installed and $root/build/gst has none: run 'meson setup build && ninja -C build'" >&2
  exit 2
fi

# default_model PATH: prints PATH, else $IPGNET_MODEL, else the shipped model
# (models/ipgnet-demo.safetensors), else (a checkout without it) a seeded
# random demo model made on first use (its detections are meaningless).
default_model() {
  if [ -n "${1:-}" ]; then echo "$1"; return; fi
  if [ -n "${IPGNET_MODEL:-}" ]; then echo "$IPGNET_MODEL"; return; fi
  if [ -f "$root/models/ipgnet-demo.safetensors" ]; then echo "$root/models/ipgnet-demo.safetensors"; return; fi
  local m="$root/build/demo-random-r18w05-352x288.safetensors"
  echo "$(basename "$0"): $root/models/ipgnet-demo.safetensors is missing: using a seeded random model ($m); its detections mean nothing" >&2
  if [ ! -f "$m" ]; then
    mkdir -p "$root/build"
    PYTHONPATH="$root/tools" /usr/bin/python3 -m ipgnet random --backbone resnet18 --width 0.5 \
      --num-classes 10 --labels digit0,digit1,digit2,digit3,digit4,digit5,digit6,digit7,digit8,digit9 \
      --input 352x288 --seed 3 -o "$m" >&2 || exit 2
  fi
  echo "$m"
}
