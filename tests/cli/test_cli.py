#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End-to-end tests of the ipgnet-detect command-line tool.

Usage: test_cli.py PATH/TO/ipgnet-detect SOURCE_ROOT

Usage errors are checked first (they need neither a model nor a device).
Then a small random model is generated with the Python reference
(PYTHONPATH=SOURCE_ROOT/tools python3 -m ipgnet random ...) unless
IPGNET_TEST_MODEL names an existing model file, and the tool is run on good
and corrupt images: JSON Lines output format, text output, per-image errors,
exit statuses, re-preparing on size changes, thresholds and --dump-stages.

Prints one line per check and a closing "N passed, N failed" line; exits 1
on any failure, 77 (skipped) when no OpenCL device or no Python reference is
available and nothing failed before.
"""

import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from checks import check, finish, skip

SAMPLE = "/usr/share/pixmaps/faces/mountain.jpg"    # Debian: gnome-control-center-data
def run(tool, *args, timeout=300):
    r = subprocess.run([tool, *args], capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "surrogateescape"), r.stderr.decode("utf-8", "surrogateescape")


def read_safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        body_len = len(f.read())
    return n, header, body_len


# ---- usage -----------------------------------------------------------------

def test_usage(tool, tmp):
    img = os.path.join(tmp, "usage.jpg")
    Image.new("RGB", (8, 8)).save(img)
    rc, out, err = run(tool, "--help")
    check("--help: exit 0, usage on stdout", rc == 0 and "Usage" in out and "-m" in out and err == "",
          f"rc {rc}")
    rc, out, err = run(tool)
    check("no arguments: exit 2, usage on stderr", rc == 2 and "Usage" in err and out == "", f"rc {rc}")
    rc, out, err = run(tool, img)
    check("no -m: exit 2", rc == 2 and "Usage" in err and "model" in err, f"rc {rc} {err[:200]!r}")
    rc, out, err = run(tool, "-m", "model.safetensors")
    check("no image: exit 2", rc == 2 and "Usage" in err and "image" in err, f"rc {rc} {err[:200]!r}")
    for t in ["1.5", "-0.1", "abc", "nan", "inf", "", "0.5x"]:
        rc, out, err = run(tool, "-m", "model.safetensors", "--threshold", t, img)
        check(f"--threshold {t!r}: exit 2", rc == 2 and "Usage" in err and out == "", f"rc {rc}")
    # Tiling options: each bad value refused before anything loads, naming it.
    for args, word in [(["--tile", "512"], "--tile"), (["--tile", "0x512"], "--tile"),
                       (["--tile", "512x512x"], "--tile"), (["--tile-overlap", "x"], "--tile-overlap"),
                       (["--tile", "64x64", "--tile-overlap", "0.95"], "overlap"),
                       (["--tile", "64x64", "--tile-overlap", "-0.1"], "overlap"),
                       (["--tile-merge", "wbf"], "--tile-merge"), (["--tile-match-metric", "giou"], "--tile-match-metric"),
                       (["--tile", "64x64", "--tile-match-threshold", "1.5"], "threshold"),
                       (["--tile", "64x64", "--max-tiles", "0"], "max tiles"),
                       (["--tile", "64x64", "--max-tiles", "2000"], "max tiles"),
                       (["--max-tiles", "2.5"], "--max-tiles")]:
        rc, out, err = run(tool, "-m", "model.safetensors", *args, img)
        check(f"{' '.join(args)}: exit 2, names it", rc == 2 and word in err and out == "", f"rc {rc} {err!r}")
    for v in ["0", "65", "x", "2.5"]:
        rc, out, err = run(tool, "-m", "model.safetensors", "--bench", "1", "--batch-frames", v, img)
        check(f"--batch-frames {v}: exit 2, names it", rc == 2 and "--batch-frames" in err and out == "",
              f"rc {rc} {err!r}")
    rc, out, err = run(tool, "-m", "model.safetensors", "--batch-frames", "2", img)
    check("--batch-frames without --bench: exit 2", rc == 2 and "--bench" in err and out == "", f"rc {rc} {err!r}")
    rc, out, err = run(tool, "--bogus", "-m", "m", img)
    check("unknown option: exit 2", rc == 2 and "Usage" in err and "bogus" in err, f"rc {rc}")
    rc, out, err = run(tool, "-m", "m", "--dump-stages", os.path.join(tmp, "d.st"), img, img)
    check("--dump-stages with two images: exit 2", rc == 2 and "Usage" in err, f"rc {rc}")
    rc, out, err = run(tool, "-m", os.path.join(tmp, "no-such-model.safetensors"), img)
    check("missing model: exit 2, names it", rc == 2 and "no-such-model.safetensors" in err and out == "",
          f"rc {rc} {err!r}")
    bad = os.path.join(tmp, "bad-model.safetensors")
    with open(bad, "wb") as f:
        f.write(b"this is not a model\n")
    rc, out, err = run(tool, "-m", bad, img)
    check("bad model: exit 2, before any image", rc == 2 and "bad-model.safetensors" in err and out == "",
          f"rc {rc} {err!r}")
    with open(bad, "wb") as f:
        f.write(struct.pack("<Q", 1 << 40) + b"{}")
    rc, out, err = run(tool, "-m", bad, img)
    check("model with a huge header length: exit 2", rc == 2 and out == "", f"rc {rc} {err!r}")


# ---- with a model ----------------------------------------------------------

def make_model(source_root, tmp):
    """Returns (path or None, reason)."""
    given = os.environ.get("IPGNET_TEST_MODEL")
    if given:
        return given, ""
    tools = os.path.join(source_root, "tools")
    if not os.path.isdir(os.path.join(tools, "ipgnet")):
        return None, f"no Python reference in {tools}/ipgnet"
    path = os.path.join(tmp, "m.safetensors")
    env = dict(os.environ, PYTHONPATH=tools, PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-m", "ipgnet", "random", "--backbone", "resnet18",
                        "--width", "0.25", "--num-classes", "3", "--input", "64x64", "--seed", "1",
                        "-o", path], capture_output=True, env=env, timeout=600)
    if not check("generate a random model with python3 -m ipgnet random",
                 r.returncode == 0 and os.path.exists(path),
                 r.stderr.decode(errors="replace")[-2000:]):
        return None, "model generation failed"
    return path, ""


def model_labels(path):
    _, header, _ = read_safetensors_header(path)
    return json.loads(header["__metadata__"]["labels"])


def source_image(w, h, seed):
    if os.path.exists(SAMPLE):
        with Image.open(SAMPLE) as im:
            return im.convert("RGB").resize((w, h), Image.BILINEAR)
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def expected_line(rec):
    """The record as ipgnet-detect must print it (json.dumps separators,
    score %.6f, box %.3f)."""
    dets = ", ".join(
        '{"label": %s, "label_id": %d, "score": %.6f, "box": [%s]}' % (
            json.dumps(d["label"]), d["label_id"], d["score"],
            ", ".join("%.3f" % v for v in d["box"]))
        for d in rec["detections"])
    return '{"image": %s, "width": %d, "height": %d, "detections": [%s]}' % (
        json.dumps(rec["image"]), rec["width"], rec["height"], dets)


def check_records(lines, expect, labels, threshold, name):
    """lines: stdout lines; expect: [(path, w, h)]."""
    if not check(f"{name}: one JSON line per good image", len(lines) == len(expect),
                 f"{len(lines)} lines for {len(expect)} images"):
        return []
    recs = []
    for line, (path, w, h) in zip(lines, expect):
        try:
            rec = json.loads(line)
        except ValueError as e:
            check(f"{name}: {os.path.basename(path)!r} line is JSON", False, f"{e}: {line[:200]!r}")
            continue
        recs.append(rec)
        base = os.path.basename(path)
        check(f"{name}: {base!r} keys, path, size",
              list(rec) == ["image", "width", "height", "detections"] and rec["image"] == path
              and rec["width"] == w and rec["height"] == h, line[:300])
        check(f"{name}: {base!r} exact formatting", line == expected_line(rec),
              f"\n   got {line[:300]!r}\n  want {expected_line(rec)[:300]!r}")
        dets = rec["detections"]
        scores = [d["score"] for d in dets]
        ok = all(list(d) == ["label", "label_id", "score", "box"] for d in dets)
        ok = ok and scores == sorted(scores, reverse=True)
        ok = ok and all(threshold - 1e-6 <= s <= 1.0 for s in scores)
        ok = ok and all(0 <= d["label_id"] < len(labels) and d["label"] == labels[d["label_id"]]
                        for d in dets)
        ok = ok and all(-1e-3 <= d["box"][0] <= d["box"][2] <= w + 1e-3 and
                        -1e-3 <= d["box"][1] <= d["box"][3] <= h + 1e-3 for d in dets)
        check(f"{name}: {base!r} {len(dets)} detections sorted, >= threshold, labels, boxes in frame",
              ok, line[:300])
    return recs


def test_with_model(tool, model, tmp):
    labels = model_labels(model)
    d = os.path.join(tmp, "imgs")
    os.mkdir(d)
    good = []

    def add_good(name, im, fmt, **kw):
        p = os.path.join(d, name)
        im.save(p, fmt, **kw)
        good.append((p, im.width, im.height))
        return p

    a = add_good("a.jpg", source_image(200, 150, 1), "JPEG", quality=90)
    b = add_good("b.png", source_image(97, 61, 2), "PNG")
    # --bench --batch-frames 3: three copies of the image as one batch; each
    # copy finds what the single run finds (the detection count printed).
    rc, out1, err = run(tool, "-m", model, "--threshold", "0", "--bench", "1", b)
    rc3, out3, err3 = run(tool, "-m", model, "--threshold", "0", "--bench", "1", "--batch-frames", "3", b)
    single = re.findall(r"run 0: [0-9.]+ ms, (\d+) detections", out1)
    batch = re.findall(r"run 0: [0-9.]+ ms, (\d+) detections", out3)
    check("--bench --batch-frames 3: exit 0, batch_frames=3, same count as single", rc == 0 and rc3 == 0
          and "batch_frames=3 median_ms_per_frame=" in out3 and "batch_frames=1" in out1 and single == batch
          and single != ["0"], f"rc {rc}/{rc3} {single} {batch} {err3[:200]!r}")
    add_good("c.ppm", source_image(64, 64, 3), "PPM")
    add_good('we"ird \\ näme\t😀.jpg', source_image(120, 90, 4), "JPEG")
    with open(a, "rb") as f:
        jpeg = f.read()
    with open(b, "rb") as f:
        png = f.read()

    bad = {}
    bad["missing"] = os.path.join(d, "missing.jpg")
    bad["empty"] = os.path.join(d, "empty.jpg")
    open(bad["empty"], "wb").close()
    bad["text"] = os.path.join(d, "notes.txt")
    with open(bad["text"], "w") as f:
        f.write("not an image\n")
    bad["directory"] = os.path.join(d, "dir.jpg")
    os.mkdir(bad["directory"])
    for n in [3, 100, len(jpeg) // 3, len(jpeg) - 2]:
        bad[f"jpeg cut at {n}"] = p = os.path.join(d, f"cut{n}.jpg")
        with open(p, "wb") as f:
            f.write(jpeg[:n])
    for n in [10, 40, len(png) // 2, len(png) - 6]:
        bad[f"png cut at {n}"] = p = os.path.join(d, f"cut{n}.png")
        with open(p, "wb") as f:
            f.write(png[:n])
    rnd = random.Random(5)
    bad["random with JPEG magic"] = p = os.path.join(d, "random.jpg")
    with open(p, "wb") as f:
        f.write(b"\xff\xd8\xff" + bytes(rnd.randrange(256) for _ in range(2000)))

    # Good and bad interleaved; order of the good ones kept.
    args = [good[0][0], bad["missing"], bad["empty"], good[1][0], bad["text"], bad["directory"]]
    args += [v for k, v in bad.items() if k not in ("missing", "empty", "text", "directory")]
    args += [good[2][0], good[3][0]]
    rc, out, err = run(tool, "-m", model, "--json", "--threshold", "0", *args)
    check("mixed good and bad images: exit 1", rc == 1, f"rc {rc}\n{err}")
    err_lines = err.splitlines()
    for k, p in bad.items():
        prefix = f"ipgnet-detect: {p}: "
        check(f"bad image ({k}): message names it", any(l.startswith(prefix) for l in err_lines),
              f"{err[:1000]!r}")
    check("one stderr line per bad image", len(err_lines) == len(bad), f"{len(err_lines)} lines")
    recs0 = check_records(out.splitlines(), good, labels, 0.0, "json t=0")

    rc, out, err = run(tool, "-m", model, "--json", *[g[0] for g in good])
    check("good images only: exit 0, nothing on stderr", rc == 0 and err == "", f"rc {rc} {err!r}")
    recs5 = check_records(out.splitlines(), good, labels, 0.5, "json default t=0.5")
    if len(recs0) == len(recs5) == len(good):
        check("threshold 0.5 keeps the t=0 detections with score >= 0.5",
              all([x for x in r0["detections"] if x["score"] >= 0.5 + 1e-6] ==
                  [x for x in r5["detections"] if x["score"] >= 0.5 + 1e-6]
                  for r0, r5 in zip(recs0, recs5)))
    n0 = sum(len(r["detections"]) for r in recs0)
    print(f"info  {n0} detections at threshold 0 over {len(good)} images")

    # Re-prepare on size changes: a, b, a, a gives identical results for a.
    rc, out, err = run(tool, "-m", model, "--json", "--threshold", "0", a, b, a, a)
    lines = out.splitlines()
    check("size changes a,b,a,a: same result for a each time",
          rc == 0 and len(lines) == 4 and lines[0] == lines[2] == lines[3], f"rc {rc} {err!r}")

    # Text output.
    rc, out, err = run(tool, "-m", model, "--threshold", "0", *[g[0] for g in good])
    ok = rc == 0
    for (p, _, _), rec in zip(good, recs0):
        mine = [l for l in out.splitlines() if l.startswith(p + ": ")]
        if not rec["detections"]:
            ok = ok and mine == [f"{p}: no detections"]
        else:
            ok = ok and len(mine) == len(rec["detections"])
            for l, det in zip(mine, rec["detections"]):
                m = re.fullmatch(re.escape(p) + r": (.*) (\d\.\d\d) \[(-?[\d.]+), (-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\]", l)
                ok = ok and m is not None and abs(float(m.group(2)) - det["score"]) <= 0.005 + 1e-9
    check("text output: one line per detection or 'no detections'", ok, out[:1000])

    # Stage dump.
    dump = os.path.join(tmp, "stages.safetensors")
    rc, out, err = run(tool, "-m", model, "--dump-stages", dump, a)
    if check("--dump-stages: exit 0, file written", rc == 0 and os.path.exists(dump), f"rc {rc} {err!r}"):
        n, header, body_len = read_safetensors_header(dump)
        meta = header.get("__metadata__", {})
        order = json.loads(meta.get("order", "[]"))
        names = [k for k in header if k != "__metadata__"]
        check("dump: header padded to 8 bytes", n % 8 == 0, str(n))
        check("dump: order metadata lists every tensor", sorted(order) == sorted(names) and order,
              f"{order} vs {names}")
        end = 0
        ok = True
        for k in order:
            t = header[k]
            ok = ok and t["dtype"] == "F32" and len(t["shape"]) == 3 and \
                t["data_offsets"] == [end, end + 4 * int(np.prod(t["shape"]))]
            end = t["data_offsets"][1]
        check("dump: F32 [C,H,W] tensors, contiguous in order", ok and end == body_len)
        if "input" in header:
            check("dump: input stage has 3 channels", header["input"]["shape"][0] == 3,
                  str(header["input"]["shape"]))
    rc, out, err = run(tool, "-m", model, "--dump-stages", os.path.join(tmp, "no-dir", "x.st"), a)
    check("--dump-stages into a missing directory: exit 1 with a message",
          rc == 1 and "no-dir" in err, f"rc {rc} {err!r}")

    # Devices.
    rc, out, err = run(tool, "-m", model, "--device", "9999", a)
    check("--device 9999: exit 2 before any image", rc == 2 and out == "" and err.strip(), f"rc {rc} {err!r}")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool = os.path.abspath(sys.argv[1])
    source_root = os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="ipgnet-cli-") as tmp:
        test_usage(tool, tmp)
        rc, out, err = run(tool, "--list-devices")
        if rc != 0:
            skip("model tests", f"no OpenCL device ({err.strip()})")
            return finish(skipped=True)
        check("--list-devices: exit 0, lists devices", out.strip() != "", out)
        model, why = make_model(source_root, tmp)
        if model is None:
            skip("model tests", why)
            return finish(skipped=True)
        test_with_model(tool, model, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
