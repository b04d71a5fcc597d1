"""``eval``: COCO box AP of a model file on a COCO-format split.

    .venv/bin/python -m ipgnet eval -m MODEL --data DIR [--split val]
        [--engine torch|opencl] [--limit N] [--detect PATH] [--device D]
        [--input-size WxH] [--tile WxH [--tile-overlap F] [--no-full-frame]
        [--tile-merge nms|nmm] [--tile-match-metric iou|ios]
        [--tile-match-threshold T] [--max-tiles N]]
        [--metrics-json FILE] [--results-json FILE]

Detections at score threshold 0.05 (COCO's convention; at most
config.detections_per_img per image), then pycocotools' COCOeval (iouType
"bbox") on DIR/annotations/instances_<split>.json.  ``--limit N`` evaluates the
first N images by id (COCOeval restricted to them).

Engines:
  torch   the reference: detect.detect_image (letterbox, forward_tensor,
          boxes divided by s and clipped to the frame); with --tile,
          tiling.detect_tiled (tiles + full frame in one batch, merged).
  opencl  ``ipgnet-detect -m MODEL --threshold 0.05 --json IMAGES...`` (one
          process per batch of images), its JSON Lines parsed; the --tile
          flags are passed on to it unchanged.
Both give boxes rounded to 0.001 px and scores to 1e-6, so the same detections
give the same AP.

Label index i of the model is the i-th category id in id order (data.py); the
model's labels must be as many as the categories (a different name only warns).

Prints the six numbers (percent, two decimals) on stdout:
    AP 12.34 / AP50 / AP75 / AP_S / AP_M / AP_L
(-1 from pycocotools, no ground truth in that size range, prints as "n/a").
pycocotools' own summary goes to stderr.  pycocotools comes from PyPI:
tools/setup-venv.sh installs it into .venv.
"""

import contextlib
import json
import os
import subprocess
import sys

from .data import CocoData

METRICS = ("AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L")
DEFAULT_DETECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                              "build", "tools", "cli", "ipgnet-detect")
THRESHOLD = 0.05


class EvalError(Exception):
    pass


def _need_pycocotools():
    try:
        from pycocotools.coco import COCO  # noqa: F401
        from pycocotools.cocoeval import COCOeval  # noqa: F401
    except ImportError:
        raise EvalError("pycocotools is not installed for " + sys.executable +
                        "; run tools/setup-venv.sh and use .venv/bin/python -m ipgnet eval ...")


def detections_torch(model_path, paths, log=None, input_size=None, tile=None):
    import torch

    from .detect import detect_image
    from .modelfile import load_model
    from .preprocess import load_image
    from .tiling import detect_tiled, detection_dicts

    model, config, labels = load_model(model_path)
    out = {}
    for i, p in enumerate(paths):
        with torch.no_grad():
            if tile:
                out[p] = detection_dicts(detect_tiled(model, config, load_image(p), tile, THRESHOLD,
                                                      input_size), labels)
            else:
                out[p] = detect_image(model, config, labels, load_image(p), THRESHOLD, input_size)
        if log and (i + 1) % 50 == 0:
            log(f"eval: {i + 1}/{len(paths)} images")
    return out, labels


def tile_flags(tile):
    """The ipgnet-detect flags of a tiling.TileOptions (the same names as ours)."""
    flags = ["--tile", f"{tile.size[0]}x{tile.size[1]}", "--tile-overlap", repr(float(tile.overlap)),
             "--tile-merge", tile.merge, "--tile-match-metric", tile.metric,
             "--tile-match-threshold", repr(float(tile.threshold)), "--max-tiles", str(tile.max_tiles)]
    if not tile.full_frame:
        flags.append("--no-full-frame")
    return flags


def detections_opencl(model_path, paths, detect, device=None, batch=200, log=None, input_size=None,
                      tile=None):
    if not os.path.exists(detect):
        raise EvalError(f"{detect} does not exist; build it (ninja -C build) or pass --detect PATH")
    from .modelfile import read_safetensors

    _, meta = read_safetensors(model_path)
    labels = json.loads(meta.get("labels", "[]"))
    out = {}
    for k in range(0, len(paths), batch):
        chunk = paths[k:k + batch]
        cmd = [detect, "-m", model_path, "--threshold", str(THRESHOLD), "--json"]
        if device:
            cmd += ["--device", device]
        if input_size:
            cmd += ["--input-size", f"{input_size[0]}x{input_size[1]}"]
        if tile:
            cmd += tile_flags(tile)
        r = subprocess.run(cmd + chunk,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise EvalError(f"{os.path.basename(detect)} exited with status {r.returncode}: "
                            f"{r.stderr.strip()[-2000:]}")
        for line in r.stdout.splitlines():
            if line.strip():
                js = json.loads(line)
                out[js["image"]] = js["detections"]
        missing = [p for p in chunk if p not in out]
        if missing:
            raise EvalError(f"{os.path.basename(detect)} gave no result for {missing[0]}")
        if log:
            log(f"eval: {min(k + batch, len(paths))}/{len(paths)} images")
    return out, labels


def coco_results(data, images, dets):
    res = []
    for im in images:
        for d in dets[data.path(im)]:
            x1, y1, x2, y2 = d["box"]
            res.append({"image_id": im["id"], "category_id": data.category_ids[d["label_id"]],
                        "bbox": [x1, y1, x2 - x1, y2 - y1], "score": d["score"]})
    return res


def coco_metrics(ann_file, results, image_ids):
    """COCOeval bbox -> {metric: fraction} (pycocotools' stats[0:6])."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(sys.stderr):
        gt = COCO(ann_file)
        if results:
            dt = gt.loadRes([dict(r) for r in results])  # loadRes adds keys to its input
        else:  # loadRes refuses an empty list; an empty result set scores 0 (or -1)
            print("eval: no detections", file=sys.stderr)
            dt = COCO()
            dt.dataset = {"images": list(gt.dataset["images"]),
                          "categories": list(gt.dataset["categories"]), "annotations": []}
            dt.createIndex()
        ev = COCOeval(gt, dt, "bbox")
        ev.params.imgIds = list(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {m: float(v) for m, v in zip(METRICS, ev.stats[:6])}


def evaluate(model, root, split="val", engine="torch", limit=None, detect=None, device=None,
             log=None, input_size=None, tile=None):
    """Returns (metrics {name: fraction}, coco results list).  input_size [W, H]
    runs the network at that size instead of the model's (multiples of 32);
    tile (a tiling.TileOptions) turns tiled inference on."""
    _need_pycocotools()
    if input_size and (input_size[0] % 32 or input_size[1] % 32 or min(input_size) < 32):
        raise EvalError(f"--input-size {input_size[0]}x{input_size[1]} must be multiples of 32")
    data = CocoData(root, split)
    images = data.images[:limit] if limit else data.images
    paths = [data.path(im) for im in images]
    if engine == "torch":
        dets, labels = detections_torch(model, paths, log, input_size, tile)
    elif engine == "opencl":
        dets, labels = detections_opencl(model, paths, detect or DEFAULT_DETECT, device, log=log,
                                         input_size=input_size, tile=tile)
    else:
        raise EvalError(f"unknown engine {engine!r}")
    if len(labels) != len(data.labels):
        raise EvalError(f"the model has {len(labels)} classes, the dataset "
                        f"{len(data.labels)} categories")
    if labels != data.labels and log:
        log(f"eval: warning: model labels {labels} differ from the category names {data.labels} "
            "(matched by position)")
    results = coco_results(data, images, dets)
    from .data import annotation_path

    metrics = coco_metrics(annotation_path(root, split), results, [im["id"] for im in images])
    return metrics, results


def format_metrics(metrics):
    lines = []
    for m in METRICS:
        v = metrics[m]
        lines.append(f"{m:<5} {'n/a' if v < 0 else f'{100 * v:.2f}'}")
    return "\n".join(lines)
