#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""SAHI vs our reference's tiling vs untiled vs native input size, on a COCO set.

    .venv/bin/python tools/sahi_compare.py -m models/ipgnet-demo.safetensors \\
        --data DIR [--split val] [--limit 10] [--tile 512x512] [--overlap 0.2]

DIR is a COCO-format set, e.g. a 1080p one from
``python3 -m ipgnet synth --out DIR --size 1920x1080 --objects 30,90
--train-images 0 --val-images 10``.  Four ways, all around the same PyTorch
reference model (tools/ipgnet):

  untiled  today's detect: the frame letterboxed to the model's input
  native   the same at --input-size = the frame size rounded up to 32
  ours     tiling.py: WxH tiles at the overlap + the full frame in one batch,
           greedy NMM by IoS 0.5 (the defaults); from the same network run,
           two more merges: "ours nms" (NMS by IoS 0.5) and "ours no full
           frame" (greedy NMM of the tiles only)
  sahi     SAHI's get_sliced_prediction (pinned in .venv, tools/setup-venv.sh)
           with the same slices, the full-frame pass, GREEDYNMM, IOS 0.5,
           class-wise, one slice at a time, around the reference wrapped in a
           sahi DetectionModel (each slice letterboxed exactly as ours)

Scores: recall and precision at --threshold (a detection is right when its
label matches a not yet claimed true object's and their IoU is >= 0.5, as
tools/run-demo.sh scores), AP / AP50 / AP_S from pycocotools on detections at
0.05, and the median time per frame of the network and merge (image decode
not counted; the 0.05 pass, the first, is the timed one; the --threshold pass
reuses the network outputs: a merge of boxes >= threshold can differ from the
>= 0.05 merge filtered, since merging widens boxes).  Prints a table.
"""

import argparse
import hashlib
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402

from ipgnet.data import CocoData, annotation_path  # noqa: E402
from ipgnet.detect import detect_image  # noqa: E402
from ipgnet.evaluate import THRESHOLD as AP_THRESHOLD, coco_metrics, coco_results  # noqa: E402
from ipgnet.modelfile import load_model  # noqa: E402
from ipgnet.preprocess import boxes_to_frame, letterbox, load_image  # noqa: E402
from ipgnet.tiling import (TileOptions, map_detections, merge_detections,  # noqa: E402
                           pool_detections, run_batch, detection_dicts, tile_batch, tile_views,
                           parse_tile_size)


def sahi_model_class():
    """A sahi DetectionModel around the reference (sahi imported only here)."""
    from sahi.models.base import DetectionModel
    from sahi.prediction import ObjectPrediction

    class ReferenceDetectionModel(DetectionModel):
        """Runs one slice (RGB uint8 HxWx3) as detect does: letterbox,
        forward_tensor, boxes / s clipped to the slice.  Network outputs are
        cached by slice content, so a second pass at another confidence
        threshold costs no network time."""

        def __init__(self, model, config, labels, **kw):
            self.ref = (model, config, labels)
            self.cache = {}
            super().__init__(model=model, device="cpu", load_at_init=True,
                             category_mapping={str(i): n for i, n in enumerate(labels)}, **kw)

        def set_model(self, model, **kwargs):
            self.model = model

        def load_model(self):
            self.model = self.ref[0]

        def perform_inference(self, image):
            model, config, _ = self.ref
            key = (image.shape, hashlib.sha1(image.tobytes()).hexdigest())
            if key not in self.cache:
                h, w = image.shape[:2]
                x, s = letterbox(image, config.input, config.mean, config.std)
                with torch.no_grad():
                    _, det = model.forward_tensor(x[None])
                self.cache[key] = (boxes_to_frame(det["boxes"], s, w, h), det["scores"].tolist(),
                                   det["labels"].tolist())
            self._original_predictions = self.cache[key]

        def _create_object_prediction_list_from_original_predictions(self, shift_amount_list=[[0, 0]],
                                                                     full_shape_list=None):
            from sahi.utils.compatibility import fix_full_shape_list, fix_shift_amount_list

            boxes, scores, ids = self._original_predictions
            # sahi passes [x, y] or [[x, y]] depending on the caller
            shift = fix_shift_amount_list(shift_amount_list)[0]
            full_shapes = fix_full_shape_list(full_shape_list)
            full = full_shapes[0] if full_shapes else None
            preds = []
            for box, score, lid in zip(boxes, scores, ids):
                if score < self.confidence_threshold or box[2] <= box[0] or box[3] <= box[1]:
                    continue  # sahi refuses empty boxes
                preds.append(ObjectPrediction(bbox=list(box), category_id=int(lid),
                                              category_name=self.ref[2][lid], score=score,
                                              shift_amount=list(shift), full_shape=full))
            self._object_prediction_list_per_image = [preds]

    return ReferenceDetectionModel


def sahi_detections(wrapper, image, tile, overlap, threshold):
    from sahi.predict import get_sliced_prediction

    res = get_sliced_prediction(
        image, wrapper, slice_height=tile[1], slice_width=tile[0], overlap_height_ratio=overlap,
        overlap_width_ratio=overlap, perform_standard_pred=True, postprocess_type="GREEDYNMM",
        postprocess_match_metric="IOS", postprocess_match_threshold=0.5,
        postprocess_class_agnostic=False, verbose=0, force_postprocess_type=True,
        confidence_threshold=threshold)
    out = []
    for p in res.object_prediction_list:
        out.append({"label_id": int(p.category.id), "score": round(float(p.score.value), 6),
                    "box": [round(float(v), 3) for v in p.bbox.to_xyxy()]})
    out.sort(key=lambda d: -d["score"])
    return out


class Ours:
    """tiling.py with the network run once for both thresholds."""

    def __init__(self, model, config, labels, options):
        self.model, self.config, self.labels, self.options = model, config, labels, options

    def run(self, image):
        h, w = image.shape[:2]
        views = tile_views(w, h, self.options)
        x, scales = tile_batch(image, views, self.config.input, self.config.mean, self.config.std)
        self.last = (views, scales, run_batch(self.model, x))

    def merge(self, threshold, merge=None, full_frame=True):
        views, scales, dets = self.last
        o = self.options
        pool = pool_detections([map_detections(d, v, s, threshold) for d, v, s in zip(dets, views, scales)
                                if full_frame or v[0] >= 0])
        res = merge_detections(pool, merge or o.merge, o.metric, o.threshold, self.config.detections_per_img)
        return detection_dicts(res, self.labels)


VARIANTS = {"ours nms": dict(merge="nms"), "ours no full frame": dict(full_frame=False)}


def recall_precision(dets_per_image, truth_per_image, threshold):
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)

    right = total = n_true = 0
    for dets, truth in zip(dets_per_image, truth_per_image):
        free = list(truth)
        n_true += len(truth)
        for d in sorted((d for d in dets if d["score"] >= threshold), key=lambda d: -d["score"]):
            total += 1
            best = max(free, key=lambda g: iou(d["box"], g["box"]) if g["label_id"] == d["label_id"] else -1,
                       default=None)
            if best is not None and best["label_id"] == d["label_id"] and iou(d["box"], best["box"]) >= 0.5:
                right += 1
                free.remove(best)
    return right / max(n_true, 1), right / max(total, 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-m", "--model", default=os.path.join(ROOT, "models", "ipgnet-demo.safetensors"))
    p.add_argument("--data", required=True, help="COCO-format set (annotations/instances_<split>.json)")
    p.add_argument("--split", default="val")
    p.add_argument("--limit", type=int, default=10, help="first N images (default 10)")
    p.add_argument("--threshold", type=float, default=0.5, help="for recall and precision")
    p.add_argument("--tile", type=parse_tile_size, default=(512, 512), help="WxH slices (512x512)")
    p.add_argument("--overlap", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="untiled,native,ours,sahi", help="comma list of the ways to run")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)

    model, config, labels = load_model(args.model)
    data = CocoData(args.data, args.split)
    images = data.images[:args.limit]
    truth = []
    for im in images:
        truth.append([{"label_id": data.label_of[a["category_id"]],
                       "box": [a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                               a["bbox"][1] + a["bbox"][3]]} for a in data.anns[im["id"]]])
    frames = [load_image(data.path(im)) for im in images]
    h, w = frames[0].shape[:2]
    native = [-(-w // 32) * 32, -(-h // 32) * 32]
    options = TileOptions(size=tuple(args.tile), overlap=args.overlap).validate()
    n_images = len(tile_views(w, h, options))

    ways = args.only.split(",")
    for way in ways:
        if way not in ("untiled", "native", "ours", "sahi"):
            raise SystemExit(f"sahi_compare: unknown way {way!r} (untiled, native, ours, sahi)")
    all_ways = ways + (list(VARIANTS) if "ours" in ways else [])
    times = {way: [] for way in all_ways}
    at_ap = {way: [] for way in all_ways}
    at_thr = {way: [] for way in all_ways}
    wrapper = sahi_model_class()(model, config, labels, confidence_threshold=AP_THRESHOLD) if "sahi" in ways else None
    ours = Ours(model, config, labels, options)
    # frames outer, ways inner: a shared machine's load falls on every way alike
    for k, image in enumerate(frames):
        for way in all_ways:
            t0 = time.perf_counter()
            if way == "untiled":
                a = detect_image(model, config, labels, image, AP_THRESHOLD)
            elif way == "native":
                a = detect_image(model, config, labels, image, AP_THRESHOLD, native)
            elif way == "ours":
                ours.run(image)
                network = ours.last
                a = ours.merge(AP_THRESHOLD)
            elif way in VARIANTS:  # merges only, on the network outputs of "ours"
                ours.last = network
                a = ours.merge(AP_THRESHOLD, **VARIANTS[way])
            else:
                a = sahi_detections(wrapper, image, args.tile, args.overlap, AP_THRESHOLD)
            times[way].append(time.perf_counter() - t0)
            if way == "ours":
                b = ours.merge(args.threshold)
            elif way in VARIANTS:
                b = ours.merge(args.threshold, **VARIANTS[way])
            elif way == "sahi":
                b = sahi_detections(wrapper, image, args.tile, args.overlap, args.threshold)
            else:
                b = [d for d in a if d["score"] >= args.threshold]
            at_ap[way].append(a)
            at_thr[way].append(b)
        print(f"sahi_compare: frame {k + 1}/{len(frames)}", file=sys.stderr)
    rows = []
    for way in all_ways:
        recall, precision = recall_precision(at_thr[way], truth, args.threshold)
        dets = {data.path(im): d for im, d in zip(images, at_ap[way])}
        metrics = coco_metrics(annotation_path(args.data, args.split), coco_results(data, images, dets),
                               [im["id"] for im in images])
        runs = {"untiled": "1", "native": f"1 at {native[0]}x{native[1]}",
                "ours": f"{n_images} in one batch", "sahi": f"{n_images}, one by one"}.get(way, "(ours' run)")
        t = statistics.median(times[way])
        if way in VARIANTS:  # its merge + ours (network and merge)
            t += statistics.median(times["ours"])
        rows.append((way, recall, precision, metrics, t, runs))

    print(f"{len(images)} images of {w}x{h} from {args.data} ({args.split}), model {os.path.basename(args.model)}, "
          f"tiles {args.tile[0]}x{args.tile[1]} at overlap {args.overlap:g}, {args.threads} threads")
    print(f"| way | recall@{args.threshold:g} | precision@{args.threshold:g} | AP | AP50 | AP_S "
          "| s / frame | network runs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for way, recall, precision, m, t, runs in rows:
        print(f"| {way} | {recall:.2f} | {precision:.2f} | {100 * m['AP']:.1f} | {100 * m['AP50']:.1f} "
              f"| {100 * m['AP_S']:.1f} | {t:.2f} | {runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
