#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The safetensors stage dump of ipgnet-detect (tools/cli/stage-dump.c).

Usage: test_stage_dump.py PATH/TO/test-stage-dump

Runs test-stage-dump, which feeds fixed fake stages to stage-dump.c, and
checks the file: header length and padding, JSON, dtypes, shapes, contiguous
offsets, values and the "order" metadata. Prints one line per check and a
closing "N passed, N failed" line; exits 1 on any failure.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish

def read_safetensors(path):
    """Returns (header length, header dict, {name: array}) of a safetensors file."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        tensors[name] = np.frombuffer(body[b:e], dtype="<f4").reshape(t["shape"])
    return n, header, tensors, len(body)


def check_layout(header_len, header, body_len, prefix=""):
    """Checks padding, dtypes and contiguous offsets in the header's order."""
    check(prefix + "header length is a multiple of 8", header_len % 8 == 0, str(header_len))
    end = 0
    ok = True
    detail = ""
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        size = 4 * int(np.prod(t["shape"]))
        if t["dtype"] != "F32" or len(t["shape"]) != 3 or b != end or e - b != size:
            ok = False
            detail = f"{name}: {t}"
        end = e
    check(prefix + "tensors F32, [C,H,W], contiguous", ok, detail)
    check(prefix + "data ends at the end of the file", end == body_len, f"{end} != {body_len}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tool = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="ipgnet-stage-dump-") as tmp:
        out = os.path.join(tmp, "stages.safetensors")
        r = subprocess.run([tool, out], capture_output=True, timeout=60)
        check("test-stage-dump runs", r.returncode == 0, r.stderr.decode(errors="replace"))
        if r.returncode != 0:
            finish()
            return 1
        check("write into a missing directory fails with a message",
              b"/nonexistent-dir/x.safetensors" in r.stdout, r.stdout.decode(errors="replace"))
        header_len, header, tensors, body_len = read_safetensors(out)
        check_layout(header_len, header, body_len)
        odd = "odd \"name\" \\ \n\t\x01 é"
        want_order = ["input", "pyramid.i4", "backbone.c3", odd, "head.cls.p3"]
        meta = header.get("__metadata__", {})
        check("metadata values are strings", all(isinstance(v, str) for v in meta.values()), str(meta))
        order = json.loads(meta.get("order", "null"))
        check("order metadata lists stages in arrival order", order == want_order, repr(order))
        check("tensors stored in arrival order",
              [k for k in header if k != "__metadata__"] == want_order)
        shapes = {"input": (3, 4, 5), "pyramid.i4": (3, 2, 2), "backbone.c3": (7, 3, 1),
                  odd: (1, 1, 2), "head.cls.p3": (9, 1, 1)}
        keys = {"input": 0, "pyramid.i4": 4, "backbone.c3": 2, odd: 3, "head.cls.p3": 5}
        for name, shape in shapes.items():
            t = tensors.get(name)
            if t is None:
                check(f"tensor {name!r} present", False)
                continue
            want = (keys[name] * 1000 + np.arange(np.prod(shape), dtype=np.float64) + 0.25)
            want = want.astype(np.float32).reshape(shape)
            check(f"tensor {name!r} shape and values",
                  t.shape == shape and np.array_equal(t, want), f"shape {t.shape}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
