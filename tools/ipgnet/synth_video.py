"""A sample video of the demo classes: moving digits over real footage.

`python3 -m ipgnet synth-video --out FILE.mp4|DIR` writes an H.264 MP4 and a
ground-truth JSON Lines file (FILE.gt.jsonl; for a directory DIR/sample.mp4 and
DIR/sample.gt.jsonl), one line per frame:

    {"frame": i, "pts": i / fps, "width": W, "height": H,
     "objects": [{"label": "digit3", "label_id": 3, "box": [x1, y1, x2, y2], "id": 1}, ...]}

label_id is 0-based (the model's label index; COCO category_id - 1), boxes are
in frame pixels with exclusive right/bottom edges, like `ipgnet detect --json`.
id is the object's identity, 1..N, the same on every frame (every digit stays
in view for the whole clip), for scoring trackers (tools/track_eval.py).

Background: opencv-doc's vtest.avi (street footage) decoded and scaled by
GStreamer, or, when it cannot be decoded (or with --background photo), a slowly
panning crop over opencv-doc's leuvenA.jpg.  5..12 digits from the *val*
glyphs of digits.png (never used for training) move at constant speed and
bounce off the frame edges and off each other (they never overlap, so every
box is exact).  Everything random comes from --seed; the ground truth is
byte-identical for the same seed and the same background source.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from . import synth

VIDEO_FILE = "vtest.avi"
PAN_PHOTO = "leuvenA.jpg"
# Longer box side in frame pixels.  At the default 768x576 a detector that
# letterboxes to 512 wide sees 2/3 of this: about 10..27 px, COCO "small".
MIN_SIDE = 14.0
MAX_SIDE = 40.0


class SynthVideoError(Exception):
    pass


def _gst():
    exe = shutil.which("gst-launch-1.0")
    if not exe:
        raise SynthVideoError("gst-launch-1.0 not found (install gstreamer1.0-tools)")
    return exe


def _read_exact(f, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def vtest_frames(path, w, h):
    """Yield HxWx3 uint8 frames of the video scaled to w x h, looping forever.

    Raises SynthVideoError if the first pass yields no frame.
    """
    gst = _gst()
    size = w * h * 3
    while True:
        cmd = [gst, "-q", "filesrc", f"location={path}", "!", "decodebin", "!", "videoconvert", "!",
               "videoscale", "!", f"video/x-raw,format=RGB,width={w},height={h},pixel-aspect-ratio=1/1",
               "!", "fdsink", "fd=1"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        got = 0
        try:
            while True:
                data = _read_exact(p.stdout, size)
                if len(data) < size:
                    break
                got += 1
                yield np.frombuffer(data, np.uint8).reshape(h, w, 3)
        finally:
            p.stdout.close()
            if p.poll() is None:
                p.kill()
            p.wait()
        if got == 0:
            raise SynthVideoError(f"GStreamer could not decode {path}")


def pan_frames(path, w, h, n, rng):
    """A crop window panning slowly (and back) across a photo, scaled to w x h."""
    photo = Image.open(path).convert("RGB")
    pw, ph = photo.size
    scale = min(pw / w, ph / h) * rng.uniform(0.6, 0.8)
    cw, ch = w * scale, h * scale
    x0, y0 = rng.uniform(0, pw - cw), rng.uniform(0, ph - ch)
    x1, y1 = rng.uniform(0, pw - cw), rng.uniform(0, ph - ch)
    for i in range(n):
        t = 0.5 - 0.5 * np.cos(2 * np.pi * i / max(n, 2))  # there and back, smoothly
        x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        yield np.asarray(photo.resize((w, h), Image.BILINEAR, box=(x, y, x + cw, y + ch)))


def _vivid_colour(rng):
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.7, 1.0), rng.uniform(0.85, 1.0))
    return np.array([r, g, b]) * 255


def _intersects(a, b, margin=2):
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


def make_objects(rng, w, h, count, glyphs, pool):
    objs = []
    for _ in range(count * 20):
        if len(objs) == count:
            break
        label = int(rng.integers(synth.NUM_CLASSES))
        gid = int(pool[label][int(rng.integers(len(pool[label])))])
        side = float(np.exp(rng.uniform(np.log(MIN_SIDE), np.log(MAX_SIDE))))
        alpha = synth.render_glyph(rng, glyphs[gid][1], side)
        if alpha is None:
            continue
        ah, aw = alpha.shape
        if aw >= w // 2 or ah >= h // 2:
            continue
        x, y = rng.uniform(0, w - aw), rng.uniform(0, h - ah)
        box = (int(round(x)), int(round(y)), int(round(x)) + aw, int(round(y)) + ah)
        if any(_intersects(box, o["box"], 6) for o in objs):
            continue
        speed = rng.uniform(0.8, 3.5) * max(w, h) / 768
        ang = rng.uniform(0, 2 * np.pi)
        objs.append({"id": len(objs) + 1, "label": label, "glyph": gid, "alpha": alpha, "x": x, "y": y,
                     "vx": speed * np.cos(ang), "vy": speed * np.sin(ang), "box": box,
                     "colour": _vivid_colour(rng), "noise": rng.uniform(2.0, 6.0)})
    return objs


def step(objs, w, h):
    """Move every object one frame: bounce off the edges and off each other."""
    for i, o in enumerate(objs):
        ah, aw = o["alpha"].shape
        nx, ny = o["x"] + o["vx"], o["y"] + o["vy"]
        if nx < 0 or nx > w - aw:
            o["vx"] = -o["vx"]
            nx = min(max(nx, 0.0), float(w - aw))
        if ny < 0 or ny > h - ah:
            o["vy"] = -o["vy"]
            ny = min(max(ny, 0.0), float(h - ah))
        box = (int(round(nx)), int(round(ny)), int(round(nx)) + aw, int(round(ny)) + ah)
        if any(_intersects(box, p["box"]) for j, p in enumerate(objs) if j != i):
            o["vx"], o["vy"] = -o["vx"], -o["vy"]  # bounce back, stay put this frame
            continue
        o["x"], o["y"], o["box"] = nx, ny, box


def render_frame(frame, objs, rng):
    img = frame.astype(np.float32)
    for o in objs:
        x, y = o["box"][0], o["box"][1]
        synth.composite(img, o["alpha"], o["colour"], x, y, o["noise"], rng)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _output_paths(out):
    if out.lower().endswith(".mp4"):
        d = os.path.dirname(out)
        if d:
            os.makedirs(d, exist_ok=True)
        return out, out[:-4] + ".gt.jsonl"
    os.makedirs(out, exist_ok=True)
    return os.path.join(out, "sample.mp4"), os.path.join(out, "sample.gt.jsonl")


def generate(out, seed=0, frames=300, fps=25, size=(768, 576), objects=None, background="auto",
             data_dir=None, log=None):
    w, h = int(size[0]), int(size[1])
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise SynthVideoError(f"--size must be even and at least 64x64, got {w}x{h}")
    if frames < 1 or fps < 1:
        raise SynthVideoError("--frames and --fps must be positive")
    mp4, gt = _output_paths(out)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7])))
    glyphs = synth.load_glyphs(data_dir)
    pool = synth.split_glyphs(glyphs, "val")
    count = objects if objects is not None else int(rng.integers(5, 13))
    objs = make_objects(rng, w, h, count, glyphs, pool)

    source = None
    bg_iter = None
    if background in ("auto", "vtest"):
        try:
            it = vtest_frames(synth._data_path(VIDEO_FILE, data_dir), w, h)
            first = next(it)
            bg_iter = _chain_first(first, it)
            source = VIDEO_FILE
        except (SynthVideoError, synth.SynthError, StopIteration) as e:
            if background == "vtest":
                raise SynthVideoError(str(e))
    if bg_iter is None:
        prng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 8])))
        bg_iter = pan_frames(synth._data_path(PAN_PHOTO, data_dir), w, h, frames, prng)
        source = PAN_PHOTO

    enc = [_gst(), "-q", "fdsrc", "fd=0", "!",
           "rawvideoparse", f"width={w}", f"height={h}", "format=rgb", f"framerate={fps}/1", "!",
           "videoconvert", "!", "video/x-raw,format=I420", "!",
           "x264enc", "speed-preset=medium", f"key-int-max={2 * fps}", "bitrate=4000", "!",
           "video/x-h264,profile=high", "!", "mp4mux", "!", "filesink", f"location={mp4}"]
    p = subprocess.Popen(enc, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    nrng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 9])))
    try:
        with open(gt, "w") as g:
            for i in range(frames):
                frame = next(bg_iter)
                img = render_frame(frame, objs, nrng)
                p.stdin.write(img.tobytes())
                rec = {"frame": i, "pts": round(i / fps, 6), "width": w, "height": h,
                       "objects": [{"label": synth.CLASS_NAMES[o["label"]], "label_id": o["label"],
                                    "box": [float(v) for v in o["box"]], "id": o["id"]} for o in objs]}
                g.write(json.dumps(rec) + "\n")
                step(objs, w, h)
    except BrokenPipeError:
        pass
    finally:
        if hasattr(bg_iter, "close"):
            bg_iter.close()
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        err = p.stderr.read().decode(errors="replace")
        rc = p.wait()
    if rc != 0:
        raise SynthVideoError(f"GStreamer encoder failed ({rc}): {err.strip()[-500:]}")
    if log:
        print(f"ipgnet synth-video: {frames} frames {w}x{h} @ {fps} fps, {len(objs)} digits over {source}"
              f" -> {mp4} (+ {gt})", file=log)
    return mp4, gt, source


def _chain_first(first, it):
    yield first
    try:
        yield from it
    finally:
        it.close()


def cmd_synth_video(args):
    try:
        generate(args.out, args.seed, args.frames, args.fps, args.size, args.objects, args.background,
                 args.data_dir, log=sys.stderr)
    except (SynthVideoError, synth.SynthError) as e:
        print(f"ipgnet synth-video: {e}", file=sys.stderr)
        return 1
    return 0
