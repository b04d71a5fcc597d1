"""A regenerable small-object detection set built only from Debian package data.

`python3 -m ipgnet synth --out DIR --seed S` writes

    DIR/train/000000.jpg ...              (JPEG quality 95)
    DIR/val/000000.jpg ...
    DIR/annotations/instances_train.json  (COCO detection format)
    DIR/annotations/instances_val.json

Objects are the handwritten digits of opencv-doc's digits.png (10 classes,
"digit0".."digit9", category_id = digit + 1), alpha-composited onto random
crops of real photographs from opencv-doc with a random contrasting colour,
log-uniform size (longer box side 8..48 px, whatever the image size), slight rotation,
blur and noise.  Images are 512x512 by default; ``--size WxH`` makes larger or
non-square ones (e.g. 1920x1080 for tiled inference) with the same object
sizes, and ``--objects LO,HI`` sets the objects per image (default 3,15).  Boxes are exact: the tight box of every pixel the object
changed.  Glyphs with index % 5 == 0 are used only in val, the others only in
train.  See docs/DATASET.md.

Everything random comes from numpy Generators seeded by (seed, split, image
index), so output does not depend on the number of worker processes: the same
seed gives byte-identical annotation files (and images, for the same
numpy/Pillow versions).
"""

import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageFilter

DATA_DIR = "/usr/share/doc/opencv-doc/examples/data"
DIGITS_FILE = "digits.png"

# Real photographs without prominent printed digits/text (text-heavy shots,
# renders, logos, paintings, diagrams and calibration boards are left out).
BACKGROUND_FILES = (
    "aero1.jpg", "aero3.jpg", "aloeL.jpg", "aloeR.jpg", "apple.jpg",
    "baboon.jpg", "basketball1.png", "basketball2.png", "blox.jpg",
    "building.jpg", "butterfly.jpg", "ela_original.jpg", "fruits.jpg",
    "graf1.png", "graf3.png", "home.jpg", "leuvenA.jpg", "leuvenB.jpg",
    "messi5.jpg", "orange.jpg", "rubberwhale1.png", "rubberwhale2.png",
    "smarties.png", "squirrel_cls.jpg", "stuff.jpg",
)

NUM_CLASSES = 10
CLASS_NAMES = [f"digit{i}" for i in range(NUM_CLASSES)]
GLYPH_CELL = 20
GLYPHS_PER_CLASS = 500
VAL_EVERY = 5  # glyph index % 5 == 0 -> val

MIN_SIDE = 8.0  # longer box side in pixels (not scaled with the image size)
MAX_SIDE = 48.0
MIN_OBJECTS = 3
MAX_OBJECTS = 15
ALPHA_FLOOR = 0.08  # alpha below this is dropped, so the box covers every changed pixel
SPLIT_IDS = {"train": 0, "val": 1}


class SynthError(Exception):
    pass


# ---------------------------------------------------------------- sources

def _data_path(name, data_dir=None):
    path = os.path.join(data_dir or DATA_DIR, name)
    if not os.path.exists(path):
        raise SynthError(f"{path} not found (install the opencv-doc package)")
    return path


def load_glyphs(data_dir=None):
    """All 5000 glyphs of digits.png as a list of (label, float32 alpha crop).

    digits.png is 2000x1000: 50 rows x 100 columns of 20x20 cells, white ink on
    black; digit d fills rows 5d..5d+4.  Glyph index = row * 100 + column, so
    label = index // 500.  Each alpha is cropped to its non-zero pixels.
    """
    a = np.asarray(Image.open(_data_path(DIGITS_FILE, data_dir)).convert("L"), dtype=np.float32) / 255.0
    rows, cols = a.shape[0] // GLYPH_CELL, a.shape[1] // GLYPH_CELL
    glyphs = []
    for r in range(rows):
        for c in range(cols):
            cell = a[r * GLYPH_CELL:(r + 1) * GLYPH_CELL, c * GLYPH_CELL:(c + 1) * GLYPH_CELL]
            ys, xs = np.nonzero(cell > 0)
            if len(ys) == 0:
                crop = None
            else:
                crop = cell[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()
            glyphs.append(((r * cols + c) // GLYPHS_PER_CLASS, crop))
    return glyphs


def split_glyphs(glyphs, split):
    """{label: [glyph indices]} for a split: val = index % 5 == 0, train = the rest."""
    want_val = split == "val"
    out = {k: [] for k in range(NUM_CLASSES)}
    for i, (label, crop) in enumerate(glyphs):
        if crop is None or crop.max() < 0.5:
            continue
        if (i % VAL_EVERY == 0) == want_val:
            out[label].append(i)
    return out


def load_backgrounds(data_dir=None, names=BACKGROUND_FILES):
    return [Image.open(_data_path(n, data_dir)).convert("RGB") for n in names]


# ---------------------------------------------------------------- rendering

def _colour_matrix(rng):
    """Affine colour jitter (brightness, contrast, saturation, hue) as (M, b)."""
    bright = rng.uniform(0.75, 1.25)
    contrast = rng.uniform(0.75, 1.25)
    sat = rng.uniform(0.7, 1.3)
    hue = rng.uniform(-0.04, 0.04) * 2 * np.pi
    # RGB <-> YIQ: hue rotates I/Q, saturation scales them
    to_yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    from_yiq = np.linalg.inv(to_yiq)
    c, s = np.cos(hue), np.sin(hue)
    rot = np.array([[1, 0, 0], [0, c * sat, -s * sat], [0, s * sat, c * sat]])
    m = from_yiq @ rot @ to_yiq
    return m, bright, contrast


def image_size(size):
    """size: an int (square side) or (W, H) -> (W, H)."""
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    return int(size[0]), int(size[1])


def render_background(rng, photos, size):
    """A random crop of a random photo, rescaled to size (W x H, or an int side),
    jittered; float32 HxWx3 0..255."""
    width, height = image_size(size)
    photo = photos[int(rng.integers(len(photos)))]
    pw, ph = photo.size
    side = min(pw, ph) * rng.uniform(0.35, 1.0)
    aspect = np.exp(rng.uniform(-0.15, 0.15))
    # the crop takes the image's aspect (a factor of exactly 1.0 for a square image,
    # so square sets stay byte-identical)
    shape = np.sqrt(width / height)
    cw = min(pw, side * aspect * shape)
    ch = min(ph, side / aspect / shape)
    x0 = rng.uniform(0, pw - cw)
    y0 = rng.uniform(0, ph - ch)
    img = photo.resize((width, height), Image.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if rng.random() < 0.15:
        img = img.transpose(Image.FLIP_TOP_BOTTOM)
    a = np.asarray(img, dtype=np.float32)
    m, bright, contrast = _colour_matrix(rng)
    a = a @ m.T.astype(np.float32)
    mean = a.mean()
    a = (a - mean) * contrast + mean * bright
    return np.clip(a, 0, 255)


def render_glyph(rng, glyph, side, max_side=None):
    """Scale/rotate/blur one glyph alpha so the longer side of its box is about `side` px.

    Returns a float32 alpha patch cropped exactly to its non-zero pixels
    (values below ALPHA_FLOOR are set to 0 first), so the patch extent is the
    object's box.
    """
    h0, w0 = glyph.shape
    stretch = np.exp(rng.uniform(-0.15, 0.15))  # width/height ratio jitter
    angle = rng.uniform(-15.0, 15.0)
    blur = rng.uniform(0.0, 0.9)
    opacity = rng.uniform(0.8, 1.0)
    lo = rng.uniform(0.1, 0.25)  # ink contrast curve: crisp strokes when enlarged
    k = side / max(h0, w0 * stretch)
    src = Image.fromarray((glyph * 255).astype(np.uint8), "L")
    alpha = None
    for _ in range(3):
        w = max(1, int(round(w0 * stretch * k)))
        h = max(1, int(round(h0 * k)))
        g = np.asarray(src.resize((w, h), Image.BICUBIC), dtype=np.float32) / 255.0
        g = np.clip((g - lo) / 0.55, 0.0, 1.0)
        pad = 3
        g = np.pad(g, pad)
        im = Image.fromarray((g * 255 + 0.5).astype(np.uint8), "L")
        im = im.rotate(angle, resample=Image.BILINEAR, expand=True)
        if blur > 0.05:
            im = im.filter(ImageFilter.GaussianBlur(blur))
        a = np.asarray(im, dtype=np.float32)
        if a.max() <= 0:
            return None
        a = a / a.max() * opacity  # thin strokes of tiny glyphs keep full ink
        a[a < ALPHA_FLOOR] = 0.0
        ys, xs = np.nonzero(a)
        if len(ys) == 0:
            return None
        alpha = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        got = max(alpha.shape)
        if abs(got - side) <= max(1.0, 0.04 * side):
            break
        k *= side / got
    return alpha


def _luma(c):
    return 0.299 * c[..., 0] + 0.587 * c[..., 1] + 0.114 * c[..., 2]


def pick_colour(rng, local_mean):
    """A random RGB colour that stands out against the local background colour."""
    bl = float(_luma(local_mean))
    for _ in range(30):
        c = rng.uniform(0, 255, 3)
        dl = abs(float(_luma(c)) - bl)
        if dl >= 80 or (dl >= 55 and np.linalg.norm(c - local_mean) >= 170):
            return c
    # fall back to a dark or light tint
    base = rng.uniform(0, 60, 3)
    return base if bl > 127 else 255 - base


def composite(img, alpha, colour, x, y, noise_sigma, rng):
    """Blend a coloured patch with per-pixel noise into img (float32, in place)."""
    h, w = alpha.shape
    region = img[y:y + h, x:x + w]
    ink = colour[None, None, :] + rng.normal(0.0, noise_sigma, (h, w, 3))
    # slight shading across the glyph
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = (1.0 + rng.uniform(-0.12, 0.12) * (gx / max(w - 1, 1) - 0.5)
             + rng.uniform(-0.12, 0.12) * (gy / max(h - 1, 1) - 0.5))
    ink = np.clip(ink * shade[..., None], 0, 255)
    a = alpha[..., None]
    region[...] = region * (1.0 - a) + ink * a


def sample_side(rng, lo=MIN_SIDE, hi=MAX_SIDE):
    """Longer box side: log-uniform in [lo, hi] (for 8..48, 77% fall under 32)."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _overlaps(box, boxes, margin):
    x0, y0, x1, y1 = box
    for bx0, by0, bx1, by1 in boxes:
        if x0 < bx1 + margin and bx0 < x1 + margin and y0 < by1 + margin and by0 < y1 + margin:
            return True
    return False


def render_image(rng, photos, glyphs, pool, size, camera_noise=True, objects_range=(MIN_OBJECTS, MAX_OBJECTS)):
    """One image of size (W, H) or an int side: returns (uint8 HxWx3, background
    float32, objects); objects_range (LO, HI) bounds the number tried.

    Without camera_noise, pixels outside every box equal the background
    exactly (after rounding): tests use that to check the boxes.

    objects: list of dicts {label, glyph, box: (x0, y0, x1, y1) exclusive, alpha}.
    """
    width, height = image_size(size)
    bg = render_background(rng, photos, size)
    img = bg.copy()
    n = int(rng.integers(objects_range[0], objects_range[1] + 1))
    objects, boxes = [], []
    for _ in range(n):
        label = int(rng.integers(NUM_CLASSES))
        gid = int(pool[label][int(rng.integers(len(pool[label])))])
        side = sample_side(rng)
        alpha = render_glyph(rng, glyphs[gid][1], side)
        if alpha is None:
            continue
        h, w = alpha.shape
        if not (MIN_SIDE <= max(h, w) <= MAX_SIDE) or w > width or h > height:
            continue
        placed = None
        for _ in range(40):
            x = int(rng.integers(0, width - w + 1))
            y = int(rng.integers(0, height - h + 1))
            box = (x, y, x + w, y + h)
            if not _overlaps(box, boxes, 2):
                placed = box
                break
        if placed is None:
            continue
        x, y = placed[0], placed[1]
        local = bg[y:y + h, x:x + w].reshape(-1, 3).mean(axis=0)
        colour = pick_colour(rng, local)
        composite(img, alpha, colour, x, y, rng.uniform(2.0, 10.0), rng)
        boxes.append(placed)
        objects.append({"label": label, "glyph": gid, "box": placed, "alpha": alpha})
    sigma = rng.uniform(0.0, 4.0)
    if camera_noise and sigma > 0.5:
        img = img + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return out, bg, objects


# ---------------------------------------------------------------- dataset

_WORKER = {}


def _init_worker(photos, glyphs, pools, size, seed, out, objects_range):
    _WORKER.update(photos=photos, glyphs=glyphs, pools=pools, size=size, seed=seed, out=out,
                   objects_range=objects_range)


def _make_one(job):
    split, idx = job
    w = _WORKER
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([w["seed"], SPLIT_IDS[split], idx])))
    img, _, objects = render_image(rng, w["photos"], w["glyphs"], w["pools"][split], w["size"],
                                   objects_range=w["objects_range"])
    name = f"{idx:06d}.jpg"
    Image.fromarray(img).save(os.path.join(w["out"], split, name), quality=95)
    return split, idx, name, [(o["label"], o["glyph"], o["box"]) for o in objects]


def _coco(split, results, size, seed):
    width, height = image_size(size)
    images, anns = [], []
    aid = 1
    for _, idx, name, objs in results:
        iid = idx + 1
        images.append({"id": iid, "file_name": name, "width": width, "height": height})
        for label, gid, (x0, y0, x1, y1) in objs:
            w, h = float(x1 - x0), float(y1 - y0)
            anns.append({
                "id": aid, "image_id": iid, "category_id": label + 1,
                "bbox": [float(x0), float(y0), w, h], "area": w * h, "iscrowd": 0,
                "segmentation": [[float(x0), float(y0), float(x1), float(y0),
                                  float(x1), float(y1), float(x0), float(y1)]],
                "glyph_id": gid,
            })
            aid += 1
    return {
        "info": {"description": f"ipgnet synth ({split}): opencv-doc digits.png glyphs on opencv-doc photographs",
                 "version": "1", "seed": seed, "split": split,
                 "glyph_split": f"val uses digits.png glyph index % {VAL_EVERY} == 0, train the rest"},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [{"id": i + 1, "name": CLASS_NAMES[i], "supercategory": "digit"} for i in range(NUM_CLASSES)],
    }


def size_stats(coco):
    """Counts and size fractions of a COCO dict's boxes."""
    sides = np.array([max(a["bbox"][2], a["bbox"][3]) for a in coco["annotations"]], dtype=np.float64)
    areas = np.array([a["area"] for a in coco["annotations"]], dtype=np.float64)
    n = len(sides)
    per_img = n / max(1, len(coco["images"]))
    if n == 0:
        return {"images": len(coco["images"]), "objects": 0}
    return {
        "images": len(coco["images"]), "objects": n, "objects_per_image": round(per_img, 2),
        "long_side_min": float(sides.min()), "long_side_median": float(np.median(sides)),
        "long_side_max": float(sides.max()),
        "frac_long_side_lt_32": round(float((sides < 32).mean()), 4),
        "frac_area_lt_32x32": round(float((areas < 32 * 32).mean()), 4),
        "frac_long_side_lt_16": round(float((sides < 16).mean()), 4),
        "per_class": [sum(1 for a in coco["annotations"] if a["category_id"] == c + 1)
                      for c in range(NUM_CLASSES)],
    }


def generate(out, seed=0, train_images=2000, val_images=300, size=512, workers=None, data_dir=None, log=None,
             objects_range=(MIN_OBJECTS, MAX_OBJECTS)):
    """size: square side or (W, H); objects_range: (LO, HI) objects tried per image."""
    if min(image_size(size)) < 64:
        raise SynthError("--size must be at least 64 on each side")
    lo, hi = objects_range
    if not 0 <= lo <= hi:
        raise SynthError(f"--objects {lo},{hi}: need 0 <= LO <= HI")
    glyphs = load_glyphs(data_dir)
    pools = {s: split_glyphs(glyphs, s) for s in SPLIT_IDS}
    photos = load_backgrounds(data_dir)
    os.makedirs(os.path.join(out, "annotations"), exist_ok=True)
    jobs = []
    for split, n in (("train", train_images), ("val", val_images)):
        os.makedirs(os.path.join(out, split), exist_ok=True)
        jobs += [(split, i) for i in range(n)]
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1), 8)
    t0 = time.time()
    args = (photos, glyphs, pools, size, seed, out, (lo, hi))
    if workers <= 1 or len(jobs) < 16:
        _init_worker(*args)
        results = [_make_one(j) for j in jobs]
    else:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=args) as p:
            results = list(p.imap(_make_one, jobs, chunksize=8))
    dt = time.time() - t0
    stats = {}
    for split in SPLIT_IDS:
        coco = _coco(split, [r for r in results if r[0] == split], size, seed)
        path = os.path.join(out, "annotations", f"instances_{split}.json")
        with open(path, "w") as f:
            json.dump(coco, f, separators=(",", ":"))
            f.write("\n")
        stats[split] = size_stats(coco)
    if log:
        rate = len(jobs) / dt if dt > 0 else float("inf")
        print(f"ipgnet synth: {len(jobs)} images in {dt:.1f} s ({rate:.1f} images/s, {workers} workers)"
              f" -> {out}", file=log)
        for split, s in stats.items():
            print(f"  {split}: {json.dumps(s)}", file=log)
    return stats


def cmd_synth(args):
    try:
        generate(args.out, args.seed, args.train_images, args.val_images, args.size, args.workers,
                 args.data_dir, log=sys.stderr, objects_range=args.objects)
    except SynthError as e:
        print(f"ipgnet synth: {e}", file=sys.stderr)
        return 1
    return 0
