#!/usr/bin/env python3
"""Tensors that share buffers (ipg/plan-memory.c) change nothing but memory.

For each model and run mode, ipgnet-detect runs twice: with sharing (the
default) and with IPG_SHARE_TENSORS=0 (every tensor its own buffer). The
JSON detections must be identical, every stage tensor of --dump-stages
identical byte for byte (a buffer handed to a later tensor too early would
show up as a changed stage), and the context's device memory smaller.

usage: test_tensor_sharing.py IPGNET_DETECT SOURCE_ROOT
"""
import os
import re
import subprocess
import sys
import tempfile

FACES = os.environ.get("IPGNET_FACES", "/usr/share/pixmaps/faces")   # gnome-control-center-data
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


def run(detect, args, share):
    env = dict(os.environ)
    if share:
        env.pop("IPG_SHARE_TENSORS", None)
    else:
        env["IPG_SHARE_TENSORS"] = "0"
    r = subprocess.run([detect, *args], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"ipgnet-detect {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def device_mb(out):
    m = re.search(r"ctx_device_mb=([0-9.]+)", out)
    return float(m.group(1)) if m else None


def main():
    detect, root = sys.argv[1], sys.argv[2]
    models = [os.path.join(root, "tests", "data", "tiny-r18.safetensors"),
              os.path.join(root, "tests", "data", "tiny-frcnn.safetensors")]
    demo = os.path.join(root, "models", "ipgnet-demo.safetensors")
    if os.path.exists(demo):
        models.append(demo)
    images = [os.path.join(FACES, "cat.jpg"), os.path.join(FACES, "surfer.jpg")]
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            name = os.path.basename(model)
            for extra in ([], ["--tile", "160x120"], ["--input-size", "224x160"]):
                tag = f"{name} {' '.join(extra)}".strip()
                args = ["-m", model, "--json", "--threshold", "0.05", *extra, *images]
                a, b = run(detect, args, True), run(detect, args, False)
                check(a == b and a.count("\n") == len(images), f"{tag}: detections differ with shared tensors")
                if extra and extra[0] == "--tile":
                    continue   # one stage dump per network run; tiles run it several times
                dumps = []
                for share in (True, False):
                    path = os.path.join(tmp, f"stages-{share}.safetensors")
                    run(detect, ["-m", model, "--dump-stages", path, *extra, images[0]], share)
                    with open(path, "rb") as f:
                        dumps.append(f.read())
                check(dumps[0] == dumps[1] and len(dumps[0]) > 1000, f"{tag}: a stage tensor differs with shared tensors")
            bench = ["-m", model, "--bench", "1", images[0]]
            shared, own = device_mb(run(detect, bench, True)), device_mb(run(detect, bench, False))
            # The tiny test models' tensors are a small part of their contexts.
            bound = 0.75 if name == "ipgnet-demo.safetensors" else 1.0
            check(shared is not None and own is not None and shared < bound * own,
                  f"{name}: context memory {shared} MB shared vs {own} MB unshared")
            print(f"{name}: context device memory {own} MB -> {shared} MB with shared tensors")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
