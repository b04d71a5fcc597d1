#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crafted bad model files, each refused by the C loader with its own message.

Starts from the good tests/data/tiny-r18.safetensors, breaks one thing per
case, and runs `ipgnet-detect -m BAD image`: the exit status must be 2 and
stderr must name the file and the problem (a distinctive substring per
case), never a crash. Usage: test_model_loader.py IPGNET_DETECT SOURCE_ROOT
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

detect, source = sys.argv[1], sys.argv[2]
GOOD = os.path.join(source, "tests", "data", "tiny-r18.safetensors")
passed = failed = 0


def check(ok, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    print(("ok   " if ok else "FAIL ") + what)


def read(path):
    """-> (header dict, data bytes)."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def tensors_of(header, data):
    """name -> (dtype, shape, bytes) in offset order."""
    out = {}
    for name, info in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                             key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], list(info["shape"]), data[b:e])
    return out


def write(path, metadata, tensors, header_patch=None, raw_patch=None):
    header, blob, pos = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(data)]}
        blob += data
        pos += len(data)
    if header_patch:
        header_patch(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    raw = struct.pack("<Q", len(text)) + text + blob
    if raw_patch:
        raw = raw_patch(raw)
    open(path, "wb").write(raw)


def f16(values):
    return np.asarray(values, dtype=np.float16).tobytes()


def main():
    header, data = read(GOOD)
    meta = header["__metadata__"]
    good_t = tensors_of(header, data)
    cfg = json.loads(meta["config"])

    def with_meta(**kw):
        m = dict(meta)
        for k, v in kw.items():
            if v is None:
                m.pop(k, None)
            else:
                m[k] = v
        return m

    def with_cfg(**kw):
        c = dict(cfg)
        c.update(kw)
        return with_meta(config=json.dumps(c))

    def without(name):
        t = dict(good_t)
        t.pop(name)
        return t

    def replaced(name, value):
        t = dict(good_t)
        t[name] = value
        return t

    conv1 = "backbone.body.conv1.weight"
    cls = "head.classification_head.cls_logits.weight"
    var = "backbone.body.bn1.running_var"
    dt, shape, blob = good_t[conv1]
    nan = bytearray(blob)
    nan[0:2] = f16([np.nan])
    neg = f16(-np.abs(np.frombuffer(good_t[var][2], dtype=np.float16)) - 1)

    cases = [
        # (name, metadata, tensors, header_patch, raw_patch, expected substring)
        ("truncated file", meta, good_t, None, lambda r: r[: len(r) // 2], "data"),
        ("header length beyond the file", meta, good_t, None,
         lambda r: struct.pack("<Q", len(r)) + r[8:], "header length"),
        ("header length absurdly large", meta, good_t, None,
         lambda r: struct.pack("<Q", 1 << 40) + r[8:], "header length"),
        ("header not JSON", meta, good_t, None, lambda r: r[:8] + b"#" + r[9:], "JSON"),
        ("no __metadata__", None, good_t, None, None, "format"),
        ("metadata of another format", with_meta(format="gguf"), good_t, None, None, "not an ipgnet model"),
        ("wrong format_version", with_meta(format_version="2"), good_t, None, None, "format_version"),
        ("config missing", with_meta(config=None), good_t, None, None, '"config"'),
        ("labels missing", with_meta(labels=None), good_t, None, None, '"labels"'),
        ("config not JSON", with_meta(config="{arch: retinanet"), good_t, None, None, "bad config"),
        ("config field out of range", with_cfg(input=[65, 64]), good_t, None, None, "input"),
        ("config of another arch", with_cfg(arch="yolo"), good_t, None, None, "arch"),
        ("labels disagree with num_classes", with_meta(labels='["dog"]'), good_t, None, None, "num_classes"),
        ("missing tensor", meta, without(conv1), None, None, f"missing tensor '{conv1}'"),
        ("wrong shape", meta, replaced(cls, (good_t[cls][0], [5] + good_t[cls][1][1:],
                                             f16(np.zeros([5] + good_t[cls][1][1:])))), None, None,
         f"tensor '{cls}' has shape"),
        ("wrong dtype", meta, replaced(conv1, ("I16", shape, blob)), None, None, "dtype"),
        ("unknown dtype", meta, replaced(conv1, ("Q4", shape, blob)), None, None, "Q4"),
        ("unexpected tensor", meta, {**good_t, "extra.weight": ("F16", [2], f16([1, 2]))}, None, None,
         "unexpected tensor 'extra.weight'"),
        ("config inconsistent with tensors", with_cfg(fpn_channels=16), good_t, None, None, "has shape"),
        ("non-finite weight", meta, replaced(conv1, (dt, shape, bytes(nan))), None, None, "non-finite"),
        ("negative BatchNorm variance", meta, replaced(var, ("F16", good_t[var][1], neg)), None, None, "negative"),
        ("offsets out of range", meta, good_t,
         lambda h: h[conv1].update(data_offsets=[h[conv1]["data_offsets"][0], 1 << 40]), None, conv1),
        ("offsets moved onto another tensor", meta, good_t,
         lambda h: h[var].update(data_offsets=h[conv1]["data_offsets"]) if good_t[var][1] == shape else
         h[var].update(data_offsets=[h[conv1]["data_offsets"][0], h[conv1]["data_offsets"][0] + len(good_t[var][2])]),
         None, "data buffer"),
        ("duplicate tensor name", meta, good_t, None,
         lambda r: r.replace(b'"backbone.body.bn1.bias"', b'"backbone.body.bn1.weight"', 1), "duplicate"),
    ]

    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "x.ppm")
        open(image, "wb").write(b"P6\n4 3\n255\n" + bytes(36))
        good = subprocess.run([detect, "-m", GOOD, image], capture_output=True, text=True)
        check(good.returncode == 0, f"the good model loads and runs (exit {good.returncode}: {good.stderr.strip()})")
        for name, m, t, hp, rp, want in cases:
            path = os.path.join(tmp, name.replace(" ", "-") + ".safetensors")
            write(path, m, t, hp, rp)
            r = subprocess.run([detect, "-m", path, image], capture_output=True, text=True, timeout=120)
            msg = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
            ok = r.returncode == 2 and want in r.stderr and path in r.stderr
            check(ok, f"{name}: exit {r.returncode}, says: {msg}" + ("" if ok else f"  (wanted '{want}')"))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
