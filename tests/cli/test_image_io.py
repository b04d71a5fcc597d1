#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Image decoding of ipgnet-detect (tools/cli/image-io.c) against Pillow.

Usage: test_image_io.py PATH/TO/test-image-io

test-image-io decodes an image with image-io.c and writes it as a binary PPM;
its pixels must equal Pillow's Image.open(p).convert("RGB") exactly (same
libjpeg-turbo underneath). Sample photographs come from the Debian package
gnome-control-center-data (/usr/share/pixmaps/faces/*.jpg, *.png); further
variants (subsamplings, progressive, grayscale, CMYK, palette, alpha, 16-bit,
interlaced, PPM/PGM) are generated into a temporary directory. Corrupt inputs
must fail with exit status 1 and a message naming the file, never crash.

Prints one line per check and a closing "N passed, N failed" line; exits 1 on
any failure. Set IPGNET_REQUIRE_SAMPLES=1 to make missing sample photos a
failure instead of a skip.
"""

import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np
from PIL import Image

from checks import check, finish, skip

SAMPLE_DIR = "/usr/share/pixmaps/faces"
SAMPLE_PACKAGE = "gnome-control-center-data"
SAMPLE_JPEGS = ["cat.jpg", "mountain.jpg", "surfer.jpg", "tomatoes.jpg",  # progressive 4:4:4, 512x512
                "coffee.jpg", "sunset.jpg", "puppy.jpg"]                   # baseline 4:2:0, 96x96
SAMPLE_PNGS = ["baseball.png", "butterfly.png", "soccerball.png"]          # RGBA photos, 96x96

def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    # Written by test-image-io: "P6\nW H\n255\n" then pixels.
    parts = data.split(b"\n", 3)
    assert parts[0] == b"P6" and parts[2] == b"255", parts[:3]
    w, h = (int(x) for x in parts[1].split())
    return np.frombuffer(parts[3], dtype=np.uint8).reshape(h, w, 3)


def decode(tool, path, tmp):
    out = os.path.join(tmp, "decoded.ppm")
    if os.path.exists(out):
        os.unlink(out)
    r = subprocess.run([tool, path, out], capture_output=True, timeout=60)
    return r, (read_ppm(out) if r.returncode == 0 else None)


def compare(tool, name, path, expected, tmp):
    """Decodes path and compares with the HxWx3 uint8 array `expected`."""
    r, got = decode(tool, path, tmp)
    if r.returncode != 0:
        return check(name, False, f"exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
    if got.shape != expected.shape:
        return check(name, False, f"shape {got.shape} != {expected.shape}")
    diff = np.abs(got.astype(np.int32) - expected.astype(np.int32))
    return check(name, diff.max() == 0,
                 f"{int((diff > 0).sum())} values differ, max {int(diff.max())}")


def pillow_rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def compare_pillow(tool, name, path, tmp):
    return compare(tool, name, path, pillow_rgb(path), tmp)


# ---- hand-written PNGs (Pillow cannot write 16-bit RGB, low-depth gray or
# ---- interlaced files) ------------------------------------------------------

def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def pack_rows(samples, bit_depth):
    """samples: HxN array of sample values -> list of packed row bytes."""
    rows = []
    for row in samples:
        if bit_depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:
            per = 8 // bit_depth
            padded = np.zeros(((len(row) + per - 1) // per) * per, dtype=np.uint32)
            padded[:len(row)] = row
            padded = padded.reshape(-1, per)
            byte = np.zeros(len(padded), dtype=np.uint32)
            for k in range(per):
                byte |= padded[:, k] << (8 - bit_depth * (k + 1))
            rows.append(byte.astype(np.uint8).tobytes())
    return rows


def write_png(path, samples, color_type, bit_depth, interlace=False, extra=b""):
    """samples: H x W x C array (C = channels of color_type)."""
    h, w = samples.shape[:2]
    c = samples.shape[2]
    raw = bytearray()
    if not interlace:
        for row in pack_rows(samples.reshape(h, w * c), bit_depth):
            raw += b"\x00" + row
    else:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                  (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for row in pack_rows(sub.reshape(sub.shape[0], sub.shape[1] * c), bit_depth):
                raw += b"\x00" + row
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra +
                png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b""))


# ---- source pixels ---------------------------------------------------------

def source_image():
    """A photo when the sample package is installed, else a synthetic one."""
    p = os.path.join(SAMPLE_DIR, "mountain.jpg")
    if os.path.exists(p):
        with Image.open(p) as im:
            return im.convert("RGB").resize((333, 251), Image.BILINEAR)
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:251, 0:333]
    base = np.stack([x * 255 / 332, y * 255 / 250, (x + y) * 255 / 582], axis=-1)
    noisy = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(noisy, "RGB")


def test_samples(tool, tmp):
    present = [n for n in SAMPLE_JPEGS + SAMPLE_PNGS if os.path.exists(os.path.join(SAMPLE_DIR, n))]
    if not present:
        why = f"no sample photos in {SAMPLE_DIR} (apt-get install {SAMPLE_PACKAGE})"
        if os.environ.get("IPGNET_REQUIRE_SAMPLES"):
            check("sample photos present", False, why)
        else:
            skip("sample photos", why)
        return
    for n in present:
        compare_pillow(tool, f"photo {n} == Pillow", os.path.join(SAMPLE_DIR, n), tmp)


def test_generated_jpeg(tool, tmp):
    src = source_image()
    variants = [
        ("jpeg 4:2:0 q90", dict(quality=90, subsampling=2)),
        ("jpeg 4:2:2 q75", dict(quality=75, subsampling=1)),
        ("jpeg 4:4:4 q95", dict(quality=95, subsampling=0)),
        ("jpeg progressive 4:2:0", dict(quality=85, subsampling=2, progressive=True)),
        ("jpeg optimized q50", dict(quality=50, optimize=True)),
    ]
    for name, kw in variants:
        p = os.path.join(tmp, name.replace(" ", "_").replace(":", "") + ".jpg")
        src.save(p, "JPEG", **kw)
        compare_pillow(tool, f"{name} 333x251 == Pillow", p, tmp)
    for w, h in [(1, 1), (17, 3), (8, 16)]:
        p = os.path.join(tmp, f"small_{w}x{h}.jpg")
        src.resize((w, h)).save(p, "JPEG", quality=90)
        compare_pillow(tool, f"jpeg {w}x{h} == Pillow", p, tmp)

    p = os.path.join(tmp, "gray.jpg")
    src.convert("L").save(p, "JPEG", quality=90)
    compare_pillow(tool, "grayscale jpeg == Pillow", p, tmp)

    p = os.path.join(tmp, "cmyk.jpg")
    src.convert("CMYK").save(p, "JPEG", quality=90)
    compare_pillow(tool, "CMYK jpeg == Pillow", p, tmp)

    # A JPEG named .png: the format comes from the magic bytes.
    p = os.path.join(tmp, "really-a-jpeg.png")
    src.save(p, "JPEG", quality=80)
    compare_pillow(tool, "jpeg with .png extension == Pillow", p, tmp)


def test_generated_png(tool, tmp):
    src = source_image()
    rgb = np.asarray(src)
    rng = np.random.default_rng(2)
    alpha = rng.integers(0, 256, rgb.shape[:2], dtype=np.uint8)

    cases = {
        "rgb": src,
        "rgba": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
        "gray": src.convert("L"),
        "gray-alpha": Image.fromarray(np.dstack([np.asarray(src.convert("L")), alpha]), "LA"),
        "palette": src.convert("P", palette=Image.ADAPTIVE, colors=200),
        "1-bit": src.convert("1"),
    }
    for name, im in cases.items():
        p = os.path.join(tmp, f"{name}.png")
        im.save(p, "PNG")
        compare_pillow(tool, f"png {name} == Pillow", p, tmp)

    # Palette with transparency (tRNS): alpha dropped, palette colours kept.
    pal = src.convert("P", palette=Image.ADAPTIVE, colors=64)
    p = os.path.join(tmp, "palette-trns.png")
    pal.save(p, "PNG", transparency=bytes(range(0, 256, 4)))
    compare_pillow(tool, "png palette + tRNS == Pillow", p, tmp)
    p = os.path.join(tmp, "palette-4bit.png")
    src.convert("P", palette=Image.ADAPTIVE, colors=16).save(p, "PNG", bits=4)
    compare_pillow(tool, "png 4-bit palette == Pillow", p, tmp)

    # Hand-written files; expected values computed here.
    p = os.path.join(tmp, "rgb-interlaced.png")
    write_png(p, rgb, 2, 8, interlace=True)
    compare(tool, "png Adam7 interlaced == pixels", p, rgb, tmp)
    compare_pillow(tool, "png Adam7 interlaced == Pillow", p, tmp)

    rgb16 = rng.integers(0, 65536, (37, 29, 3), dtype=np.uint32)
    p = os.path.join(tmp, "rgb16.png")
    write_png(p, rgb16, 2, 16)
    compare(tool, "png 16-bit RGB == high bytes", p, (rgb16 >> 8).astype(np.uint8), tmp)
    compare_pillow(tool, "png 16-bit RGB == Pillow", p, tmp)
    p = os.path.join(tmp, "rgba16-interlaced.png")
    rgba16 = rng.integers(0, 65536, (37, 29, 4), dtype=np.uint32)
    write_png(p, rgba16, 6, 16, interlace=True)
    compare(tool, "png 16-bit RGBA interlaced == high bytes", p,
            (rgba16[..., :3] >> 8).astype(np.uint8), tmp)

    gray16 = rng.integers(0, 65536, (23, 41, 1), dtype=np.uint32)
    p = os.path.join(tmp, "gray16.png")
    write_png(p, gray16, 0, 16)
    # (Pillow opens 16-bit gray as mode I and clips on convert: not a reference.)
    compare(tool, "png 16-bit gray == high bytes", p,
            np.repeat((gray16 >> 8).astype(np.uint8), 3, axis=2), tmp)

    for bits, scale in [(1, 255), (2, 85), (4, 17)]:
        g = rng.integers(0, 1 << bits, (19, 13, 1), dtype=np.uint32)
        p = os.path.join(tmp, f"gray{bits}.png")
        write_png(p, g, 0, bits, interlace=(bits == 2))
        compare(tool, f"png {bits}-bit gray == scaled", p,
                np.repeat((g * scale).astype(np.uint8), 3, axis=2), tmp)
        compare_pillow(tool, f"png {bits}-bit gray == Pillow", p, tmp)


def test_pnm(tool, tmp):
    src = source_image()
    p = os.path.join(tmp, "img.ppm")
    src.save(p, "PPM")
    compare_pillow(tool, "ppm P6 == Pillow", p, tmp)
    p = os.path.join(tmp, "img.pgm")
    src.convert("L").save(p, "PPM")
    compare_pillow(tool, "pgm P5 == Pillow", p, tmp)
    rgb = np.asarray(src)
    p = os.path.join(tmp, "comment.ppm")
    with open(p, "wb") as f:
        f.write(b"P6 # a comment\n# another\n%d\t%d # size\n255\n" % (rgb.shape[1], rgb.shape[0]))
        f.write(rgb.tobytes())
    compare(tool, "ppm with comments == pixels", p, rgb, tmp)


# ---- corrupt inputs --------------------------------------------------------

def expect_failure(tool, name, path, tmp, want=None, timeout=60):
    try:
        r = subprocess.run([tool, path, os.path.join(tmp, "never.ppm")], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return check(name, False, f"no answer within {timeout} s")
    err = r.stderr.decode(errors="replace").strip()
    ok = r.returncode == 1 and path in err and "\n" not in err
    if want and want not in err:
        ok = False
    return check(name, ok, f"exit {r.returncode}, stderr {err!r}")


def truncation_lengths(size):
    lengths = set(range(1, min(size, 48)))
    lengths.update(size * k // 37 for k in range(1, 37))
    lengths.update([size - 1, size - 2, size - 3, size - 12, size - 13])
    return sorted(n for n in lengths if 0 < n < size)


def test_corrupt(tool, tmp):
    expect_failure(tool, "missing file", os.path.join(tmp, "does-not-exist.jpg"), tmp,
                   "No such file")
    p = os.path.join(tmp, "empty.jpg")
    open(p, "wb").close()
    expect_failure(tool, "empty file", p, tmp, "empty file")
    p = os.path.join(tmp, "text.jpg")
    with open(p, "w") as f:
        f.write("hello, this is not an image\n")
    expect_failure(tool, "text file", p, tmp, "not a JPEG, PNG or PPM image")
    d = os.path.join(tmp, "a-directory.png")
    os.mkdir(d)
    expect_failure(tool, "directory", d, tmp, "is a directory, not a regular file")
    # Special files are refused before they are opened (issue 18): a FIFO
    # without a writer would block the open, /dev/zero would never end.
    p = os.path.join(tmp, "a-fifo.jpg")
    os.mkfifo(p)
    expect_failure(tool, "FIFO refused at once", p, tmp, "is a FIFO, not a regular file", timeout=10)
    expect_failure(tool, "/dev/zero refused at once", "/dev/zero", tmp,
                   "is a character device, not a regular file", timeout=10)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    p = os.path.join(tmp, "a-socket.png")
    sock.bind(p)
    expect_failure(tool, "socket refused at once", p, tmp, "is a socket, not a regular file", timeout=10)
    sock.close()
    if os.geteuid() != 0:
        p = os.path.join(tmp, "unreadable.jpg")
        source_image().save(p, "JPEG")
        os.chmod(p, 0)
        expect_failure(tool, "unreadable file", p, tmp, "Permission denied")
    else:
        skip("unreadable file", "running as root")

    rnd = random.Random(3)
    for k in range(5):
        p = os.path.join(tmp, f"random{k}.jpg")
        with open(p, "wb") as f:
            f.write(b"\xff\xd8\xff" + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4000))))
        expect_failure(tool, f"random bytes with JPEG magic #{k}", p, tmp)
    p = os.path.join(tmp, "random.png")
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(rnd.randrange(256) for _ in range(3000)))
    expect_failure(tool, "random bytes with PNG signature", p, tmp)

    # Truncations of a baseline and a progressive JPEG, and of PNGs.
    src = source_image()
    blobs = {}
    for name, kw in [("baseline", dict(quality=90)), ("progressive", dict(quality=90, progressive=True))]:
        p = os.path.join(tmp, f"whole-{name}.jpg")
        src.save(p, "JPEG", **kw)
        blobs[f"jpeg {name}"] = (p, ".jpg")
    p = os.path.join(tmp, "whole.png")
    src.save(p, "PNG")
    blobs["png"] = (p, ".png")
    p = os.path.join(tmp, "whole-interlaced.png")
    write_png(p, np.asarray(src), 2, 8, interlace=True)
    blobs["png interlaced"] = (p, ".png")
    p = os.path.join(tmp, "whole.ppm")
    src.save(p, "PPM")
    blobs["ppm"] = (p, ".ppm")
    for name, (p, ext) in blobs.items():
        data = open(p, "rb").read()
        lengths = truncation_lengths(len(data))
        bad = []
        for n in lengths:
            q = os.path.join(tmp, f"trunc-{n}{ext}")
            with open(q, "wb") as f:
                f.write(data[:n])
            r = subprocess.run([tool, q, os.path.join(tmp, "never.ppm")], capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            if r.returncode != 1 or q not in err:
                bad.append(f"{n}: exit {r.returncode} {err.strip()!r}")
            os.unlink(q)
        check(f"{name} truncated at {len(lengths)} lengths of {len(data)}", not bad, "; ".join(bad[:5]))
    # The message for a truncation in the middle of the data says so.
    for name, (p, ext) in blobs.items():
        if name == "png interlaced":
            continue
        data = open(p, "rb").read()
        q = os.path.join(tmp, f"half{ext}")
        with open(q, "wb") as f:
            f.write(data[:len(data) // 2])
        expect_failure(tool, f"{name} cut in half says truncated", q, tmp, "truncated")

    # Corrupted bytes in the middle of the entropy-coded data or a zlib stream.
    for name, (p, ext) in blobs.items():
        if name == "ppm":
            continue
        data = bytearray(open(p, "rb").read())
        fails = 0
        for k in range(8):
            d2 = bytearray(data)
            pos = len(d2) // 2 + k * 97
            d2[pos:pos + 16] = bytes(rnd.randrange(256) for _ in range(16))
            q = os.path.join(tmp, f"corrupt{k}{ext}")
            with open(q, "wb") as f:
                f.write(d2)
            r = subprocess.run([tool, q, os.path.join(tmp, "out.ppm")], capture_output=True, timeout=60)
            # Corrupt data may still decode (JPEG resyncs), but must never crash.
            if r.returncode not in (0, 1):
                fails += 1
        check(f"{name} with corrupted bytes never crashes", fails == 0, f"{fails} crashes")

    # Sizes: zero, too large (from the header, before decoding).
    p = os.path.join(tmp, "zero.ppm")
    with open(p, "wb") as f:
        f.write(b"P6\n0 10\n255\n")
    expect_failure(tool, "ppm of zero width", p, tmp, "zero size")
    p = os.path.join(tmp, "huge.ppm")
    with open(p, "wb") as f:
        f.write(b"P6\n20000 2\n255\n" + bytes(20000 * 2 * 3))
    expect_failure(tool, "ppm wider than 16384", p, tmp, "too large")
    p = os.path.join(tmp, "huge.png")
    ihdr = struct.pack(">IIBBBBB", 16385, 1, 8, 0, 0, 0, 0)
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(b"\x00" + bytes(16385))) + png_chunk(b"IEND", b""))
    expect_failure(tool, "png wider than 16384", p, tmp, "too large")
    # JPEG: patch the SOF of a small JPEG to claim 20000 x 20000.
    p = os.path.join(tmp, "small.jpg")
    src.resize((16, 16)).save(p, "JPEG")
    data = bytearray(open(p, "rb").read())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 20000, 20000)
    p = os.path.join(tmp, "huge.jpg")
    with open(p, "wb") as f:
        f.write(data)
    expect_failure(tool, "jpeg of 20000x20000", p, tmp, "too large")
    data[sof + 5:sof + 9] = struct.pack(">HH", 0, 16)
    p = os.path.join(tmp, "zero.jpg")
    with open(p, "wb") as f:
        f.write(data)
    expect_failure(tool, "jpeg of zero height", p, tmp)

    # PNM variants that are refused.
    for name, blob, want in [
        ("ascii ppm P3", b"P3\n1 1\n255\n0 0 0\n", "P3"),
        ("pbm P4", b"P4\n8 1\n\x00", "P4"),
        ("pgm maxval 65535", b"P5\n1 1\n65535\n\x00\x00", "maxval"),
        ("ppm maxval 15", b"P6\n1 1\n15\n\x00\x00\x00", "maxval"),
        ("ppm header garbage", b"P6\nabc 1\n255\n", "malformed"),
        ("ppm header cut", b"P6\n12", "truncated"),
    ]:
        p = os.path.join(tmp, name.replace(" ", "_") + ".ppm")
        with open(p, "wb") as f:
            f.write(blob)
        expect_failure(tool, name, p, tmp, want)

    # Odd file names: quotes, spaces, non-ASCII.
    p = os.path.join(tmp, 'we"ird \\ näme.jpg')
    src.save(p, "JPEG")
    compare_pillow(tool, "file name with quote, backslash, non-ASCII", p, tmp)


def jpeg_with_scans(path, src, copies):
    """Saves `src` as a progressive JPEG, then repeats its last scan `copies`
    times before EOI: a small file that makes libjpeg run that many scans."""
    src.save(path, "JPEG", quality=90, progressive=True)
    data = open(path, "rb").read()
    scans, pos = [], 2
    while pos < len(data) - 1:
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:   # entropy-coded data runs to the next real marker
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
            scans.append(data[pos:end])
        pos = end
    with open(path, "wb") as f:
        f.write(data[:pos] + scans[-1] * copies + b"\xff\xd9")
    return len(scans)


def zeros_deflated(block, count):
    """A zlib stream of block * count zero bytes at the cost of two blocks:
    after a full flush, the compressor's output for the same input repeats."""
    c = zlib.compressobj(9)
    first = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    unit = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    n = block * count
    # An empty final block, then the Adler-32 of n zeros (a = 1, b = n).
    return first + unit * (count - 1) + b"\x03\x00" + struct.pack(">I", ((n % 65521) << 16) | 1)


def test_decompression_limits(tool, tmp):
    # Issue 18: decompression bombs are refused quickly and clearly. A
    # progressive JPEG repeating one AC scan 1000 times stops at 500 scans
    # (TJFLAG_LIMITSCANS); the same file declaring 16384 x 16384 and a small
    # PNG declaring 16384 x 16384 RGBA are refused from their headers by the
    # pixel limit (before, 32.5 s / 1.46 GB and 4.7 s / 1.73 GB).
    assert zlib.decompress(zeros_deflated(1000, 7)) == bytes(7000)
    src = source_image().resize((256, 256))
    p = os.path.join(tmp, "many-scans.jpg")
    n = jpeg_with_scans(p, src, 1000)
    expect_failure(tool, f"progressive JPEG of {n - 1} + 1000 scans stops at 500", p, tmp,
                   "more than 500 scans", timeout=30)
    data = bytearray(open(p, "rb").read())
    sof = data.find(b"\xff\xc2")
    data[sof + 5:sof + 9] = struct.pack(">HH", 16384, 16384)
    p = os.path.join(tmp, "many-scans-16384.jpg")
    with open(p, "wb") as f:
        f.write(data)
    expect_failure(tool, "progressive JPEG of 16384 x 16384 refused from its header", p, tmp,
                   "is 268435456 pixels, more than the limit of 67108864", timeout=5)
    p = os.path.join(tmp, "bomb.png")
    ihdr = struct.pack(">IIBBBBB", 16384, 16384, 8, 6, 0, 0, 0)
    rows = zeros_deflated(256 * (1 + 4 * 16384), 64)   # every row: 1 MB, 1 GB decoded
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", rows) +
                png_chunk(b"IEND", b""))
    expect_failure(tool, "PNG declaring 16384 x 16384 RGBA refused from its header", p, tmp,
                   "is 268435456 pixels, more than the limit of 67108864", timeout=5)

    # The limit's override: IPGNET_MAX_PIXELS, checked like any header size.
    p = os.path.join(tmp, "limit.png")
    src.resize((100, 50)).save(p, "PNG")
    os.environ["IPGNET_MAX_PIXELS"] = "4999"
    expect_failure(tool, "IPGNET_MAX_PIXELS=4999 refuses 100 x 50", p, tmp,
                   "is 5000 pixels, more than the limit of 4999")
    os.environ["IPGNET_MAX_PIXELS"] = "5000"
    compare_pillow(tool, "IPGNET_MAX_PIXELS=5000 accepts 100 x 50", p, tmp)
    os.environ["IPGNET_MAX_PIXELS"] = "lots"
    expect_failure(tool, "IPGNET_MAX_PIXELS=lots is refused, named", p, tmp,
                   "IPGNET_MAX_PIXELS='lots' is not a pixel count")
    del os.environ["IPGNET_MAX_PIXELS"]


def main():
    warnings.simplefilter("ignore")   # Pillow's advice on palette transparency
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tool = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="ipgnet-image-io-") as tmp:
        test_samples(tool, tmp)
        test_generated_jpeg(tool, tmp)
        test_generated_png(tool, tmp)
        test_pnm(tool, tmp)
        test_corrupt(tool, tmp)
        test_decompression_limits(tool, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
