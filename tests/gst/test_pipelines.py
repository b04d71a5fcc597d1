#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scripts in pipelines/ run end to end:

- detect-file.sh on a real recorded video from a Debian package (opencv-doc's
  vtest.avi): the MP4 plays back (gst-discoverer-1.0) with as many frames as
  the input, and ipgnetjson wrote one valid line per frame;
- rtsp.sh against a clip served on 127.0.0.1 by gst-rtsp-server, to EOS;
- throughput.sh reports frames per second.

Usage: test_pipelines.py SOURCE_ROOT RTSP_SERVE. Prints one line per check
and 'N passed, N failed'.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

root, rtsp_serve = sys.argv[1], sys.argv[2]
model = os.environ.get("IPGNET_TEST_MODEL", os.path.join(root, "tests", "data", "tiny-r18.safetensors"))
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
passed = failed = 0


def check(ok, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    print(("ok   " if ok else "FAIL ") + what)
    sys.stdout.flush()


def count_frames(path):
    """Decoded video frames of a file (fakesink's per-buffer messages)."""
    r = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "decodebin", "!",
                        "video/x-raw", "!", "fakesink", "silent=false"], capture_output=True, text=True, timeout=300)
    return len(re.findall(r"last-message = chain", r.stdout)) if r.returncode == 0 else -1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    if not os.path.exists(VTEST):
        check(False, f"{VTEST} exists (apt-get install opencv-doc)")
        print(f"{passed} passed, {failed} failed")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Recorded file -> annotated MP4 + JSON Lines.
        n_in = count_frames(VTEST)
        check(n_in > 0, f"vtest.avi decodes ({n_in} frames)")
        out, js = os.path.join(tmp, "out.mp4"), os.path.join(tmp, "out.jsonl")
        t0 = time.time()
        r = subprocess.run([os.path.join(root, "pipelines", "detect-file.sh"), VTEST, model, out, js],
                           capture_output=True, text=True, timeout=600)
        check(r.returncode == 0, f"detect-file.sh ran ({time.time() - t0:.1f} s)" + ("" if r.returncode == 0 else f": {r.stderr[-600:]}"))
        d = subprocess.run(["gst-discoverer-1.0", out], capture_output=True, text=True, timeout=60)
        check(d.returncode == 0 and "H.264" in d.stdout, "gst-discoverer-1.0 plays the MP4 back (H.264 video)")
        n_out = count_frames(out)
        check(n_out == n_in, f"the MP4 has as many frames as the input ({n_out} vs {n_in})")
        lines = open(js).read().splitlines() if os.path.exists(js) else []
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
        check(len(lines) == n_in and len(records) == n_in,
              f"ipgnetjson wrote one valid JSON line per frame ({len(records)} of {len(lines)} lines, {n_in} frames)")
        check(all(rec.get("resolution") == {"height": 576, "width": 768} for rec in records),
              "every JSON line has the frame's resolution (add-empty-results: frames without objects too)")
        pts = [rec.get("timestamp") for rec in records]
        check(pts == sorted(pts) and len(set(pts)) == len(pts), "JSON timestamps are strictly increasing")

        # still.sh: one frame of that output as a JPEG; past the end is an error
        still = os.path.join(tmp, "still.jpg")
        r = subprocess.run([os.path.join(root, "pipelines", "still.sh"), out, "10", still],
                           capture_output=True, text=True, timeout=300)
        head = open(still, "rb").read(3) if os.path.exists(still) else b""
        check(r.returncode == 0 and head == b"\xff\xd8\xff", "still.sh writes frame 10 as a JPEG" +
              ("" if r.returncode == 0 else f": {r.stderr[-300:]}"))
        r = subprocess.run([os.path.join(root, "pipelines", "still.sh"), out, str(n_in + 5), still + "2"],
                           capture_output=True, text=True, timeout=300)
        check(r.returncode == 1 and f"has only {n_in} frames" in r.stderr and not os.path.exists(still + "2"),
              f"still.sh refuses a frame past the end: {r.stderr.strip()}")

        # 2. RTSP: a short clip served locally, the RTSP pipeline to EOS.
        clip = os.path.join(tmp, "clip.mp4")
        r = subprocess.run(["gst-launch-1.0", "-e", "filesrc", f"location={VTEST}", "!", "decodebin", "!",
                            "identity", "eos-after=40", "!", "videoconvert", "!", "x264enc", "speed-preset=veryfast",
                            "tune=zerolatency", "key-int-max=10", "!", "h264parse", "!", "mp4mux", "!",
                            "filesink", f"location={clip}"], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and os.path.getsize(clip) > 0, "a 40-frame clip for the RTSP server")
        port = free_port()
        server = subprocess.Popen([rtsp_serve, clip, str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        try:
            ready = server.stdout.readline().strip() == "ready"
            check(ready, f"gst-rtsp-server listens on 127.0.0.1:{port}")
            rtsp_out = os.path.join(tmp, "rtsp.mp4")
            r = subprocess.run([os.path.join(root, "pipelines", "rtsp.sh"), f"rtsp://127.0.0.1:{port}/clip", model,
                                rtsp_out], capture_output=True, text=True, timeout=180)
            check(r.returncode == 0 and "EOS" in r.stdout,
                  "rtsp.sh ran to EOS" + ("" if r.returncode == 0 else f": {r.stderr[-600:]}"))
            n_rtsp = count_frames(rtsp_out) if os.path.exists(rtsp_out) else -1
            check(n_rtsp >= 35, f"the RTSP recording holds the clip's frames ({n_rtsp} of 40)")
        finally:
            server.kill()
            server.wait()

        # 3. Headless throughput.
        r = subprocess.run([os.path.join(root, "pipelines", "throughput.sh"), model, "30", "320x240"],
                           capture_output=True, text=True, timeout=300)
        m = re.search(r"fps=([0-9.]+)", r.stdout)
        check(r.returncode == 0 and m and float(m.group(1)) > 0, f"throughput.sh reports fps: {r.stdout.strip()}")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
