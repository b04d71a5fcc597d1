"""A tiny generated COCO-format dataset for the training / evaluation tests:
RGB images with filled squares ("square", category id 1) and discs ("disc",
category id 3 -- ids need not be contiguous) of side / diameter 12..40 px on a
noisy grey background; squares are reddish, discs bluish."""

import json
import os

import numpy as np
from PIL import Image

CATEGORIES = [{"id": 1, "name": "square"}, {"id": 3, "name": "disc"}]


def _image(rng, size):
    w, h = size
    img = rng.normal(120, 12, (h, w, 3)).clip(0, 255)
    anns = []
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        for _try in range(20):
            d = int(rng.integers(12, 41))
            x0 = int(rng.integers(0, w - d))
            y0 = int(rng.integers(0, h - d))
            if all(x0 + d + 2 <= bx or bx + bd + 2 <= x0 or y0 + d + 2 <= by or by + bd + 2 <= y0
                   for bx, by, bd in boxes):
                break
        else:
            continue
        boxes.append((x0, y0, d))
        cls = int(rng.integers(0, 2))
        if cls == 0:
            color = [200 + rng.integers(0, 55), rng.integers(0, 60), rng.integers(0, 60)]
            img[y0:y0 + d, x0:x0 + d] = color
        else:
            color = [rng.integers(0, 60), rng.integers(60, 120), 200 + rng.integers(0, 55)]
            yy, xx = np.mgrid[0:h, 0:w]
            r = d / 2
            mask = (xx + 0.5 - (x0 + r)) ** 2 + (yy + 0.5 - (y0 + r)) ** 2 <= r * r
            img[mask] = color
        anns.append((CATEGORIES[cls]["id"], [float(x0), float(y0), float(d), float(d)]))
    return img.astype(np.uint8), anns


def make_tiny_coco(root, splits=(("train", 8), ("val", 8)), size=(128, 128), seed=0, ext="jpg"):
    """Write root/annotations/instances_<split>.json and root/<split>/*.<ext>."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    ann_id = 1
    for split, n in splits:
        os.makedirs(os.path.join(root, split), exist_ok=True)
        images, annotations = [], []
        for i in range(n):
            img, anns = _image(rng, size)
            name = f"{i:04d}.{ext}"
            Image.fromarray(img).save(os.path.join(root, split, name), quality=95)
            images.append({"id": 100 + i, "file_name": name, "width": size[0], "height": size[1]})
            for cid, bbox in anns:
                annotations.append({"id": ann_id, "image_id": 100 + i, "category_id": cid,
                                    "bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0})
                ann_id += 1
        with open(os.path.join(root, "annotations", f"instances_{split}.json"), "w") as f:
            json.dump({"images": images, "annotations": annotations, "categories": CATEGORIES}, f)
    return root


TINY_CONFIG = {
    "backbone": "resnet18", "width": 0.125, "fpn_channels": 16, "input": [128, 128],
    "anchor_sizes": [[8, 10, 13], [16, 20, 25], [32, 40, 50], [64, 80, 101], [128, 161, 203]],
}
