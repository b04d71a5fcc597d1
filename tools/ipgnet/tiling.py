"""Tiled inference (issue 13): the frame is cut into overlapping tiles, every
tile (plus, by default, the whole frame) goes through the network in one batch,
and the detections are mapped to frame pixels and merged across images.

The algorithm is the one both engines implement (the OpenCL engine in ipg/):

Grid (SAHI's ``get_slice_bboxes``, the same tiles).  Per axis, frame size F,
tile size T: if T >= F one tile of size F at 0; otherwise
step = T - floor(o * T) and x = 0, step, 2 step, ... while x + T < F, then
F - T (the last tile is shifted inward, never padded).  Tiles are the (y, x)
pairs, rows outer; tile index = row-major order from 0.  More than
``max_tiles`` tiles is refused (TilingError).

Each tile is cropped and letterboxed exactly as a frame of its size
(preprocess.letterbox: s = min(W / w, H / h), bilinear on the crop, top-left,
zero padding); a tile smaller than the input is enlarged.  The full-frame pass
(tile index -1) is today's untiled run.  Each image keeps today's
post-processing (the model's score threshold, class-wise NMS and per-image cap,
then score >= threshold) and its boxes map to frame pixels as
X = x / s + x0, Y = y / s + y0 (double precision), clipped to the tile
[x0, x0 + w] x [y0, y0 + h].  Every detection carries its tile index and s.

Merge.  The pool is every image's detections in image order (full frame first,
then tiles 0..n-1), each in its own score order, sorted by score descending
(stable).  Boxes of different labels never match.  The match metric of two
boxes is IoU (inter / union) or IoS (inter / smaller area), 0 when the
denominator is 0.
  nms: a box is kept unless a kept box of its label matches it with
       metric > t (torchvision's batched_nms for iou).
  nmm: SAHI's greedy NMM: the next unused box i takes every later unused box
       j of its label with metric(box_i, box_j) > t as its group; then
       merged = box_i, and for each j of the group in order, if
       metric(merged, box_j) > t, merged = the union of the two.  The result
       has box_i's score, label, tile and scale.
At most config.detections_per_img survive, in score order.

A box cut by an inner tile border is seen whole in the neighbouring tile's
overlap or in the full-frame pass; the half lies inside the whole, so its IoS
is about 1 and it merges (nmm) or is suppressed (nms + ios).  Against the whole
its IoU is only about 0.5, so with iou the half may survive: ios is the default.
"""

from dataclasses import dataclass

import torch
from torchvision.ops import batched_nms, box_iou

from .preprocess import letterbox

MERGES = ("nms", "nmm")
METRICS = ("iou", "ios")
MAX_OVERLAP = 0.9


class TilingError(ValueError):
    pass


@dataclass(frozen=True)
class TileOptions:
    """Tiling of one frame; ``size`` is (tile width, tile height) in frame pixels."""
    size: tuple
    overlap: float = 0.2
    full_frame: bool = True
    merge: str = "nmm"
    metric: str = "ios"
    threshold: float = 0.5
    max_tiles: int = 64

    def validate(self):
        """Raises TilingError naming the first bad option."""
        tw, th = self.size
        if int(tw) != tw or int(th) != th or tw < 1 or th < 1:
            raise TilingError(f"tile size {tw}x{th}: both sides must be whole pixels, at least 1")
        if not 0.0 <= self.overlap <= MAX_OVERLAP:
            raise TilingError(f"tile overlap {self.overlap:g} is outside [0, {MAX_OVERLAP:g}]")
        if self.merge not in MERGES:
            raise TilingError(f"tile merge {self.merge!r} is neither nms nor nmm")
        if self.metric not in METRICS:
            raise TilingError(f"tile match metric {self.metric!r} is neither iou nor ios")
        if not 0.0 <= self.threshold <= 1.0:
            raise TilingError(f"tile match threshold {self.threshold:g} is outside [0, 1]")
        if int(self.max_tiles) != self.max_tiles or self.max_tiles < 1:
            raise TilingError(f"max tiles {self.max_tiles} must be a whole number, at least 1")
        return self


def parse_tile_size(text):
    """'WxH' -> (W, H), both >= 1 (a tile needs no multiple of 32: it is letterboxed)."""
    try:
        w, h = text.lower().split("x")
        size = (int(w), int(h))
    except ValueError:
        raise TilingError(f"tile size must be WxH (e.g. 512x512), got {text!r}") from None
    if min(size) < 1:
        raise TilingError(f"tile size {text}: both sides must be at least 1 px")
    return size


# ---------------------------------------------------------------- grid

def axis_positions(frame, tile, overlap):
    """Tile starts along one axis and the tile's size on it (clamped to the frame)."""
    if tile >= frame:
        return [0], frame
    # int() of the non-negative product is its floor, as in SAHI
    step = tile - int(overlap * tile)
    out = []
    x = 0
    while True:
        if x + tile >= frame:
            out.append(frame - tile)
            return out, tile
        out.append(x)
        x += step


def tile_grid(width, height, options):
    """[(x0, y0, w, h)] in tile-index order (rows outer).  Raises TilingError when
    the frame needs more than options.max_tiles tiles."""
    tw, th = options.size
    xs, w = axis_positions(width, tw, options.overlap)
    ys, h = axis_positions(height, th, options.overlap)
    n = len(xs) * len(ys)
    if n > options.max_tiles:
        raise TilingError(f"a {width}x{height} frame needs {n} tiles of {tw}x{th} at overlap "
                          f"{options.overlap:g}, more than max-tiles {options.max_tiles}")
    return [(x0, y0, w, h) for y0 in ys for x0 in xs]


# ---------------------------------------------------------------- per image

def tile_views(width, height, options):
    """The images of one frame in pool order: [(tile, x0, y0, w, h)], the full
    frame (tile -1) first when options.full_frame."""
    views = [(-1, 0, 0, width, height)] if options.full_frame else []
    views += [(i, x0, y0, w, h) for i, (x0, y0, w, h) in enumerate(tile_grid(width, height, options))]
    return views


def tile_batch(image, views, size, mean, std):
    """Letterbox every view's crop of image (uint8 [h, w, 3]) to size (W, H).
    Returns (batch [N, 3, H, W], scales [N])."""
    xs, scales = [], []
    for _, x0, y0, w, h in views:
        x, s = letterbox(image[y0:y0 + h, x0:x0 + w], size, mean, std)
        xs.append(x)
        scales.append(s)
    return torch.stack(xs), scales


@torch.no_grad()
def run_batch(model, x):
    """One eval forward of the batch: a detection dict per image (network-input
    pixels, 0-based labels), each after the model's own post-processing."""
    if model.training:
        raise RuntimeError("tiled inference needs eval mode (call model.eval())")
    return model(x)


def map_detections(det, view, s, threshold):
    """One image's detections with score >= threshold, in its score order (stable),
    mapped to frame pixels.  Returns a dict of boxes (float64 [n, 4]), scores,
    labels, tile, scale."""
    tile, x0, y0, w, h = view
    scores = det["scores"]
    keep = (scores >= threshold).nonzero().flatten()
    order = torch.sort(scores[keep], descending=True, stable=True).indices
    keep = keep[order]
    b = det["boxes"][keep].to(torch.float64) / s
    b[:, 0::2] = (b[:, 0::2] + x0).clamp(float(x0), float(x0 + w))
    b[:, 1::2] = (b[:, 1::2] + y0).clamp(float(y0), float(y0 + h))
    n = len(keep)
    return {
        "boxes": b,
        "scores": scores[keep],
        "labels": det["labels"][keep],
        "tile": torch.full((n,), tile, dtype=torch.int64),
        "scale": torch.full((n,), s, dtype=torch.float64),
    }


def pool_detections(per_image):
    """Concatenate per-image detection dicts in image order."""
    keys = ("boxes", "scores", "labels", "tile", "scale")
    return {k: torch.cat([d[k] for d in per_image]) for k in keys}


# ---------------------------------------------------------------- merge

def _intersection(a, b):
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    return wh[..., 0] * wh[..., 1]


def _area(b):
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def match_matrix(a, b, metric):
    """Pairwise metric [len(a), len(b)] of boxes (x1, y1, x2, y2); 0 where the
    denominator is 0."""
    if metric == "iou":
        # box_iou divides by the union: 0 / 0 only for two empty boxes
        return torch.nan_to_num(box_iou(a, b), nan=0.0)
    if metric == "ios":
        inter = _intersection(a, b)
        smaller = torch.min(_area(a)[:, None], _area(b)[None, :])
        return torch.where(smaller > 0, inter / smaller, torch.zeros_like(inter))
    raise TilingError(f"match metric {metric!r} is neither iou nor ios")


def merge_detections(pool, merge="nmm", metric="ios", threshold=0.5, max_detections=None):
    """Merge a pooled detection dict (see pool_detections).  Returns a dict of the
    same keys, the survivors in score order, at most max_detections."""
    n = len(pool["scores"])
    order = torch.sort(pool["scores"], descending=True, stable=True).indices
    p = {k: v[order] for k, v in pool.items()}
    boxes, labels = p["boxes"], p["labels"]
    if merge == "nms" and metric == "iou":
        # batched_nms sorts by score itself (not stably): strictly decreasing
        # ranks keep the pool order of ties
        rank = torch.arange(n, 0, -1, dtype=torch.float64)
        keep = batched_nms(boxes, rank, labels, threshold)
        keep = keep.sort().values
        out = {k: v[keep] for k, v in p.items()}
    elif merge == "nms":
        m = match_matrix(boxes, boxes, metric)
        hit = (m > threshold) & (labels[:, None] == labels[None, :])
        suppressed = torch.zeros(n, dtype=torch.bool)
        keep = []
        for i in range(n):
            if suppressed[i]:
                continue
            keep.append(i)
            suppressed |= hit[i]
        keep = torch.tensor(keep, dtype=torch.int64)
        out = {k: v[keep] for k, v in p.items()}
    elif merge == "nmm":
        m = match_matrix(boxes, boxes, metric)
        later = torch.ones(n, n, dtype=torch.bool).triu(1)
        # the group: matches of the first box as it was, metric >= t (SAHI's
        # greedy_nmm); each member then merges only if it still matches the
        # growing union, metric > t (SAHI's has_match): docs/TILING.md
        hit = (m >= threshold) & (labels[:, None] == labels[None, :]) & later
        used = torch.zeros(n, dtype=torch.bool)
        keep, merged = [], []
        for i in range(n):
            if used[i]:
                continue
            used[i] = True
            group = (hit[i] & ~used).nonzero().flatten()
            used[group] = True
            box = boxes[i:i + 1].clone()
            for j in group.tolist():
                other = boxes[j:j + 1]
                if match_matrix(box, other, metric)[0, 0] > threshold:
                    box = torch.cat([torch.min(box[:, :2], other[:, :2]),
                                     torch.max(box[:, 2:], other[:, 2:])], dim=1)
            keep.append(i)
            merged.append(box)
        keep = torch.tensor(keep, dtype=torch.int64)
        out = {k: v[keep] for k, v in p.items()}
        out["boxes"] = torch.cat(merged) if merged else boxes[:0]
    else:
        raise TilingError(f"tile merge {merge!r} is neither nms nor nmm")
    if max_detections is not None:
        out = {k: v[:max_detections] for k, v in out.items()}
    return out


# ---------------------------------------------------------------- all of it

def detect_tiled(model, config, image, options, threshold, size=None):
    """image: uint8 [h, w, 3].  Returns the merged detection dict (frame pixels,
    float64 boxes; scores, 0-based labels, tile, scale) in score order."""
    options.validate()
    size = size or config.input
    h, w = image.shape[:2]
    views = tile_views(w, h, options)
    x, scales = tile_batch(image, views, size, config.mean, config.std)
    dets = run_batch(model, x)
    pool = pool_detections([map_detections(d, v, s, threshold) for d, v, s in zip(dets, views, scales)])
    return merge_detections(pool, options.merge, options.metric, options.threshold,
                            config.detections_per_img)


def detection_dicts(result, labels):
    """The merged result as detect's JSON detections, plus tile and scale."""
    out = []
    for box, score, lid, tile, s in zip(result["boxes"].tolist(), result["scores"].tolist(),
                                        result["labels"].tolist(), result["tile"].tolist(),
                                        result["scale"].tolist()):
        out.append({
            "label": labels[lid],
            "label_id": int(lid),
            "score": round(float(score), 6),
            "box": [round(float(v), 3) for v in box],
            "tile": int(tile),
            "scale": float(s),
        })
    return out
