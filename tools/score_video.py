#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scores ipgnetjson's output against `ipgnet synth-video`'s ground truth.

Usage: score_video.py DETECTIONS.jsonl GROUND_TRUTH.jsonl THRESHOLD

Prints the detections per label, then precision and recall: a detection is
right when its label matches a not yet claimed true object's and their IoU is
>= 0.5 (frame i of the output is frame i of the input: ipgnetdetect drops
none). Used by tools/run-demo.sh and pipelines/detect-hd.sh.
"""
import collections, json, os, sys
frames = [json.loads(line) for line in open(sys.argv[1])]
labels = collections.Counter(o["detection"]["label"] for f in frames for o in f.get("objects", []))
n = sum(labels.values())
print(f"{sys.argv[1]}: {len(frames)} frames, {n} detections"
      + (": " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())) if n else ""))
# Against the sample's ground truth (frame i of the output is frame i of the
# input: ipgnetdetect drops none): a detection is right when its label
# matches a not yet claimed true digit's and their IoU is >= 0.5.
if os.path.exists(sys.argv[2]):
    truth = [json.loads(line)["objects"] for line in open(sys.argv[2])]
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0])); h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)
    right = total = 0
    for f, gt in zip(frames, truth):
        W, H = f["resolution"]["width"], f["resolution"]["height"]
        free = list(gt)
        for o in sorted(f.get("objects", []), key=lambda o: -o["detection"]["confidence"]):
            d = o["detection"]; bb = d["bounding_box"]
            box = (bb["x_min"] * W, bb["y_min"] * H, bb["x_max"] * W, bb["y_max"] * H)
            best = max(free, key=lambda g: iou(box, g["box"]) if g["label_id"] == d["label_id"] else -1, default=None)
            total += 1
            if best is not None and best["label_id"] == d["label_id"] and iou(box, best["box"]) >= 0.5:
                right += 1
                free.remove(best)
    n_true = sum(len(gt) for gt in truth[:len(frames)])
    print(f"against the ground truth at threshold {sys.argv[3]}: precision {right / max(total, 1):.2f}, "
          f"recall {right / max(n_true, 1):.2f} ({right} of {total} detections right, {n_true} true digits)")
