"""``detect``: run the reference model on image files, print JSON Lines.

Per image: letterbox to the network size (config.input or --input-size), run
``forward_tensor`` (post-processing at config.score_thresh), keep detections
with score >= threshold, map boxes to frame pixels (divide by s, clip to the
frame, in double precision), sort by decreasing score (stable), and print

  {"image": PATH, "width": w, "height": h, "detections": [{"label": NAME,
   "label_id": N, "score": round(S, 6), "box": [round(x1, 3), ...]}, ...]}

with json.dumps' default separators.  With --tile WxH (tiling.py) the frame
is cut into tiles that run in one batch with the full frame, the detections
are merged across them, and each gains "tile" (its tile index, -1 for the
full frame) and "scale" (the letterbox factor s it was found at).

A threshold below config.score_thresh keeps only what post-processing kept
(scores > score_thresh).  Any arch: load_model builds the file's model (IPGNet
or IPGFasterRCNN), whose forward_tensor gives 0-based labels either way.
"""

import json
import sys

import torch

from .cli_train_eval import tile_options
from .modelfile import load_model
from .preprocess import boxes_to_frame, letterbox, load_image
from .tiling import TilingError, detect_tiled, detection_dicts


def detect_image(model, config, labels, image, threshold, size=None):
    """image: uint8 [h, w, 3].  Returns a list of detection dicts (frame pixels)."""
    size = size or config.input
    h, w = image.shape[:2]
    x, s = letterbox(image, size, config.mean, config.std)
    _, det = model.forward_tensor(x[None])
    scores = det["scores"].tolist()
    ids = det["labels"].tolist()
    boxes = boxes_to_frame(det["boxes"], s, w, h)
    out = []
    for score, lid, box in zip(scores, ids, boxes):
        if score >= threshold:
            out.append({
                "label": labels[lid],
                "label_id": int(lid),
                "score": round(float(score), 6),
                "box": [round(float(v), 3) for v in box],
                "_score": score,
            })
    out.sort(key=lambda d: -d["_score"])
    for d in out:
        del d["_score"]
    return out


def run(args):
    torch.set_grad_enabled(False)
    model, config, labels = load_model(args.model)
    size = args.input_size or config.input
    if size[0] % 32 or size[1] % 32 or min(size) < 32:
        print(f"ipgnet detect: --input-size {size[0]}x{size[1]} must be multiples of 32",
              file=sys.stderr)
        return 2
    try:
        tile = tile_options(args)
    except TilingError as e:
        print(f"ipgnet detect: {e}", file=sys.stderr)
        return 2
    status = 0
    for path in args.images:
        try:
            image = load_image(path)
        except Exception as e:  # Pillow raises many kinds
            print(f"ipgnet detect: cannot read image {path}: {e}", file=sys.stderr)
            status = 1
            continue
        h, w = image.shape[:2]
        if tile:
            try:
                dets = detection_dicts(detect_tiled(model, config, image, tile, args.threshold, size),
                                       labels)
            except TilingError as e:
                print(f"ipgnet detect: {path}: {e}", file=sys.stderr)
                status = 1
                continue
        else:
            dets = detect_image(model, config, labels, image, args.threshold, size)
        if args.json:
            print(json.dumps({"image": path, "width": w, "height": h, "detections": dets}))
        else:
            if not dets:
                print(f"{path} ({w}x{h}): no detections")
            for d in dets:
                x1, y1, x2, y2 = d["box"]
                where = f" tile {d['tile']} x{d['scale']:.3g}" if tile else ""
                print(f"{path} ({w}x{h}): {d['label']} ({d['label_id']}) {d['score']:.3f} "
                      f"[{x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}]{where}")
        sys.stdout.flush()
    return status
