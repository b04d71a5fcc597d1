#!/usr/bin/env python3
"""ONNX Runtime's own per-node times on one of tools/bench.py's graphs.

The peer's side of a per-kernel comparison: bench.py writes the graph and
its input tensor to build/bench/ (for the demo model: demo.onnx,
demo.input.f32, demo.input.shape); this runs ONNX Runtime on them as
bench.py does (CPU, 2 threads, sequential) with SessionOptions.enable_profiling,
and prints each op type's total and the slowest nodes with their shapes, a
convolution's GFLOP/s beside it (median over the last RUNS runs). Ours:
``IPG_PROFILE_KERNELS=1 ipgnet-detect --bench N --profile``.

usage: .venv/bin/python tools/ort_profile.py build/bench/demo [--runs 5] [--top 30]
"""
import argparse
import collections
import json
import os
import statistics
import tempfile

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stem", help="build/bench/NAME: NAME.onnx, NAME.input.f32 and NAME.input.shape")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    with open(a.stem + ".input.shape") as f:
        shape = [int(v) for v in f.read().split(",")]
    x = np.fromfile(a.stem + ".input.f32", dtype="<f4").reshape(shape)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.enable_profiling = True
    opts.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    sess = ort.InferenceSession(a.stem + ".onnx", opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    for _ in range(2 + a.runs):   # two warm-ups, as bench.py
        sess.run(None, {name: x})
    with open(sess.end_profiling()) as f:
        events = [e for e in json.load(f) if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    per_node = collections.defaultdict(list)
    for e in events:
        per_node[e["name"][: -len("_kernel_time")]].append(e)
    rows, per_op = [], collections.Counter()
    for node, es in per_node.items():
        us = statistics.median(e["dur"] for e in es[-a.runs:])
        args = es[-1]["args"]
        op = args.get("op_name", "?")
        per_op[op] += us
        ins = [list(d.values())[0] for d in args.get("input_type_shape", [])]
        outs = [list(d.values())[0] for d in args.get("output_type_shape", [])]
        gflops = ""
        if op == "Conv" and len(ins) >= 2 and outs:
            w, o = ins[1], outs[0]
            flop = 2.0 * np.prod(o) * np.prod(w[1:])
            gflops = f"{flop / us / 1e3:6.0f} GFLOP/s"
        rows.append((us, node, op, ins[:2], outs[:1], gflops))
    rows.sort(reverse=True)
    print(f"onnxruntime {ort.__version__}, 2 threads, median of {a.runs} runs: {sum(r[0] for r in rows) / 1e3:.2f} ms")
    for op, us in per_op.most_common():
        print(f"  {op:<16} {us / 1e3:8.3f} ms")
    print(f"slowest {a.top} nodes:")
    for us, node, op, ins, outs, gflops in rows[: a.top]:
        print(f"  {us / 1e3:7.3f} ms {op:<8} {gflops:>15}  in {ins} out {outs}  {node}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
