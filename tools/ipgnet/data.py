"""COCO-format detection data for training and evaluation.

Layout (any COCO-format dataset):
    DIR/annotations/instances_<split>.json     COCO "images", "annotations", "categories"
    DIR/<split>/<file_name>                    the images (file_name as in the JSON)

Classes: the categories sorted by id; label index i (0-based, what the model
predicts) <-> the i-th category id; labels = category names in that order.
Annotations with ``iscrowd`` = 1 or a box narrower/lower than 1 pixel are not
used for training (torchvision's references do the same).

Training sample (``TrainSet``), with a per-sample RNG seeded from
(seed, epoch, index) so that augmentation does not depend on worker
scheduling, and a resumed run sees exactly the samples an uninterrupted run
would:
  1. horizontal flip with probability ``flip`` (image and boxes, x -> w - x);
  2. scale jitter: the letterbox scale s = min(W / w, H / h) is multiplied by
     a factor f drawn uniformly from [lo, hi]; the image is resized to
     (floor(w s f + 0.5), floor(h s f + 0.5)) exactly like preprocess.letterbox
     (float32 / 255, bilinear, align_corners=False, no antialias), normalised;
  3. if the resized image is larger than the crop size (``crop``, default the
     input W x H), a random crop of that size; the result is placed at the
     top-left of a zero (= the mean after normalisation) canvas of the crop
     size, as at inference.  A crop smaller than the input keeps the objects'
     scale (it is relative to the input, not the crop) and costs less per
     image: the network is fully convolutional, so a model trained on crops
     runs at its full input.
  Boxes are scaled by s f, shifted by the crop and clipped; a box is kept when
  its clipped width and height are >= 2 px and it keeps >= 25 % of its area.
  With f = 1 and no flip the input is bit-identical to preprocess.letterbox.
"""

import json
import math
import os

import numpy as np
import torch

from .preprocess import letterbox, load_image, resize_normalize


class DataError(ValueError):
    """A dataset that is not usable (message names the file and the problem)."""


def annotation_path(root, split):
    return os.path.join(root, "annotations", f"instances_{split}.json")


def image_path(root, split, file_name):
    return os.path.join(root, split, file_name)


class CocoData:
    """The parsed JSON of one split (no pycocotools needed)."""

    def __init__(self, root, split):
        self.root = root
        self.split = split
        path = annotation_path(root, split)
        with open(path, encoding="utf-8") as f:
            try:
                js = json.load(f)
            except ValueError as e:
                raise DataError(f"{path}: not valid JSON ({e})") from None
        for k in ("images", "annotations", "categories"):
            if not isinstance(js, dict) or not isinstance(js.get(k), list):
                raise DataError(f"{path}: no {k!r} list (not a COCO instances file)")
        cats = sorted(js["categories"], key=lambda c: c["id"])
        if not cats:
            raise DataError(f"{path}: no categories")
        for a in js["annotations"]:
            if a.get("category_id") not in {c["id"] for c in cats}:
                raise DataError(f"{path}: annotation {a.get('id')} has category_id "
                                f"{a.get('category_id')!r}, not one of the categories")
        self.category_ids = [c["id"] for c in cats]
        self.labels = [str(c["name"]) for c in cats]
        self.label_of = {cid: i for i, cid in enumerate(self.category_ids)}
        self.images = sorted(js["images"], key=lambda im: im["id"])
        self.anns = {im["id"]: [] for im in self.images}
        for a in js["annotations"]:
            if a["image_id"] in self.anns:
                self.anns[a["image_id"]].append(a)

    def path(self, image):
        return image_path(self.root, self.split, image["file_name"])

    def targets(self, image):
        """Training boxes [n, 4] (x1, y1, x2, y2, frame pixels, float64) and labels [n]."""
        boxes, labels = [], []
        for a in self.anns[image["id"]]:
            if a.get("iscrowd", 0):
                continue
            x, y, w, h = a["bbox"]
            if w < 1 or h < 1:
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(self.label_of[a["category_id"]])
        return (np.array(boxes, dtype=np.float64).reshape(-1, 4),
                np.array(labels, dtype=np.int64))


def augment(image, boxes, size, mean, std, rng, flip=0.5, scale=(0.75, 1.25), crop=None):
    """image uint8 [h, w, 3], boxes [n, 4] frame pixels.  Returns (input [3, CH, CW]
    float32 with (CW, CH) = crop or size, boxes float32 [m, 4] network-input
    pixels, kept index array)."""
    W, H = int(size[0]), int(size[1])
    CW, CH = (int(crop[0]), int(crop[1])) if crop else (W, H)
    h, w = image.shape[:2]
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    do_flip = rng.random() < flip
    f = rng.uniform(scale[0], scale[1]) if scale[0] != scale[1] else float(scale[0])
    if do_flip:
        image = image[:, ::-1]
        boxes = np.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], axis=1)
    if f == 1.0 and (CW, CH) == (W, H):
        x, s = letterbox(np.ascontiguousarray(image), (W, H), mean, std)
        ox = oy = 0
    else:
        s = min(W / w, H / h) * f
        nw = max(1, math.floor(w * s + 0.5))
        nh = max(1, math.floor(h * s + 0.5))
        t = resize_normalize(image, nw, nh, mean, std)
        ox = int(rng.integers(0, nw - CW + 1)) if nw > CW else 0
        oy = int(rng.integers(0, nh - CH + 1)) if nh > CH else 0
        t = t[:, oy:oy + CH, ox:ox + CW]
        x = torch.zeros(3, CH, CW, dtype=torch.float32)
        x[:, :t.shape[1], :t.shape[2]] = t
        # the visible part of the resized image (boxes are clipped to it)
        W, H = min(CW, nw - ox), min(CH, nh - oy)
    b = boxes * s - np.array([ox, oy, ox, oy], dtype=np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    c = np.stack([b[:, 0].clip(0, W), b[:, 1].clip(0, H), b[:, 2].clip(0, W), b[:, 3].clip(0, H)], axis=1)
    cw, ch = c[:, 2] - c[:, 0], c[:, 3] - c[:, 1]
    keep = np.nonzero((cw >= 2) & (ch >= 2) & (cw * ch >= 0.25 * area))[0]
    return x, torch.from_numpy(c[keep].astype(np.float32)).reshape(-1, 4), keep


class TrainSet(torch.utils.data.Dataset):
    """Items are addressed by (epoch, index) so that the augmentation RNG is a
    pure function of (seed, epoch, index)."""

    def __init__(self, data, config, seed=0, flip=0.5, scale=(0.75, 1.25), crop=None):
        self.data = data
        self.crop = crop
        self.config = config
        self.seed = int(seed)
        self.flip = flip
        self.scale = tuple(scale)

    def __len__(self):
        return len(self.data.images)

    def __getitem__(self, key):
        epoch, index = key
        image = self.data.images[index]
        img = load_image(self.data.path(image))
        boxes, labels = self.data.targets(image)
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        x, b, keep = augment(img, boxes, self.config.input, self.config.mean, self.config.std,
                             rng, self.flip, self.scale, self.crop)
        return x, {"boxes": b, "labels": torch.from_numpy(labels[keep]).reshape(-1)}


def collate(batch):
    return torch.stack([b[0] for b in batch]), [b[1] for b in batch]
