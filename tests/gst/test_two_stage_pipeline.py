#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipgnetdetect runs a two-stage (IPG-Faster R-CNN) model file unchanged:
the same element and properties as for RetinaNet, in a gst-launch-1.0
pipeline (PNG frame -> imagefreeze -> ipgnetdetect -> ipgnetoverlay ->
ipgnetjson), and every frame's detections equal ipgnet-detect's on the same
picture (one engine, so equal to the printed digits).

Usage: test_two_stage_pipeline.py SOURCE_ROOT IPGNET_DETECT. Prints one line
per check and 'N passed, N failed'.
"""

import json
import os
import subprocess
import sys
import tempfile

root, detect = sys.argv[1], sys.argv[2]
passed = failed = 0
FRAMES = 3


def check(ok, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    print(("ok   " if ok else "FAIL ") + what)
    sys.stdout.flush()


def run(args):
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "tools"), OMP_NUM_THREADS="2")
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "frcnn.safetensors")
        r = run(["/usr/bin/python3", "-m", "ipgnet", "random", "--arch", "fasterrcnn", "--backbone", "resnet18",
                 "--width", "0.25", "--fpn-channels", "32", "--num-classes", "5", "--input", "128x96",
                 "--seed", "1", "-o", model])
        check(r.returncode == 0, "random fasterrcnn model written")
        frame = os.path.join(tmp, "frame.png")
        r = run(["gst-launch-1.0", "-q", "videotestsrc", "pattern=smpte", "num-buffers=1", "!",
                 "video/x-raw,width=200,height=150", "!", "videoconvert", "!", "pngenc", "!",
                 "filesink", f"location={frame}"])
        check(r.returncode == 0 and os.path.exists(frame), "test frame written")
        if failed:
            print(r.stderr)
            return
        out_json = os.path.join(tmp, "out.jsonl")
        r = run(["gst-launch-1.0", "-q", "filesrc", f"location={frame}", "!", "pngdec", "!", "videoconvert", "!",
                 "video/x-raw,format=RGB", "!", "imagefreeze", f"num-buffers={FRAMES}", "!",
                 "ipgnetdetect", f"model={model}", "threshold=0.05", "!", "ipgnetoverlay", "!",
                 "ipgnetjson", f"location={out_json}", "!", "fakesink"])
        check(r.returncode == 0, "gst-launch-1.0 ... ipgnetdetect model=<fasterrcnn> ... ran to EOS")
        if r.returncode != 0:
            print(r.stderr)
            return
        lines = [json.loads(line) for line in open(out_json)]
        check(len(lines) == FRAMES, f"one JSON line per frame ({len(lines)} of {FRAMES})")
        r = run([detect, "-m", model, "--threshold", "0.05", "--json", frame])
        check(r.returncode == 0, "ipgnet-detect ran the same model")
        want = json.loads(r.stdout)["detections"]
        check(len(want) > 0, f"the frame has detections ({len(want)})")

        W, H = 200, 150

        def from_cli(d):
            return d["label"], d["score"], d["box"]

        def from_element(o):   # ipgnetjson: box normalised to the frame
            d, b = o["detection"], o["detection"]["bounding_box"]
            return d["label"], d["confidence"], [b["x_min"] * W, b["y_min"] * H, b["x_max"] * W, b["y_max"] * H]

        def close(x, y):
            return x[0] == y[0] and abs(x[1] - y[1]) <= 1e-5 and max(abs(u - v) for u, v in zip(x[2], y[2])) <= 0.01

        def unmatched(a, b):
            """Detections of a without a partner in b (greedy, each used once)."""
            free, left = list(b), []
            for x in a:
                j = next((j for j, y in enumerate(free) if close(x, y)), None)
                if j is None:
                    left.append(x)
                else:
                    free.pop(j)
            return left
        want = [from_cli(d) for d in want]
        for i, line in enumerate(lines):
            got = [from_element(o) for o in line["objects"]]
            left = unmatched(got, want)
            for x in left[:5]:
                print(f"     element only: {x}")
            check(len(got) == len(want) and not left,
                  f"frame {i}: {len(got)} detections, equal to ipgnet-detect's {len(want)}")

main()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
