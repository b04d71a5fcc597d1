#!/usr/bin/env python3
"""The performance referee: the OpenCL engine against PyTorch CPU, ONNX Runtime
and OpenVINO on the same model file, frame and thread count, alternating them.

    /usr/bin/python3 tools/bench.py [--runs N] [--rounds R] [--device D] [--configs a,b,...]
                                    [--no-pipeline] [--peer cpu|cuda]
                                    [--onnx ort,ov|none] [--frcnn-peers full|split]
                                    (after a build in build/)
    /usr/bin/python3 tools/bench.py --tiled [--runs N] [--rounds R] [--device D]

ONNX Runtime and OpenVINO (``--onnx``, both by default on a CPU peer) run the
graph of ``ipgnet export-onnx`` (the network to its raw head outputs: no
letterbox, no post-processing, which ours and PyTorch do time) on the same
normalised input, in IPGNET_PEER_PYTHON (default .venv/bin/python, see
tools/setup-venv.sh), each in its own process: CPU, 2 threads (ONNX Runtime:
intra_op_num_threads=2, sequential; OpenVINO: INFERENCE_NUM_THREADS=2,
PERFORMANCE_HINT=LATENCY, INFERENCE_PRECISION_HINT=f32), two warm-up runs.
For the two-stage model (frcnn), ``--frcnn-peers`` says what the peers run:
  full (default)  one graph, ``export-onnx --two-stage-full``: the network,
                  the RPN's proposal selection (anchors, decode, top-k per
                  level, clipping, small-box removal, score threshold, NMS),
                  MultiScaleRoIAlign and the box head, to the raw
                  class_logits and box_regression of the R proposals it
                  selects itself (R printed below the table, beside the
                  reference's). Not the second stage's post-processing
                  (softmax, per-class decode, score threshold, final NMS),
                  which ours and PyTorch time, as the one-stage graphs stop
                  at the raw head outputs.
  split           the earlier two graphs: the network to the RPN head, then
                  the box head (``export-onnx --box-head``) on the RoI
                  features the PyTorch reference pools for the same frame
                  (as many RoIs as it proposes), in the same timed run; no
                  proposal selection, RoIAlign or final NMS on their side.
Besides the medians, each config's row
gives ``paired``: the median over rounds of ours / the better peer's time in
the same round (runs next to each other in time meet the same machine state
more often; this VM's two vCPUs sometimes deliver half their throughput for
seconds at a time).

On a GPU, ``--device gpu --peer cuda`` times the engine on the GPU's OpenCL
driver against PyTorch CUDA in fp32 (TF32 off, as our kernels are fp32); the
ceiling is then PyTorch's best fp32 SGEMM (8192^3) on that GPU, and the
pipeline check is skipped. IPGNET_PYTHON names the Python that has torch
(default /usr/bin/python3), IPGNET_FACES the folder of the test photos.

Prints, in order:
  * the machine's fp32 ceiling: the best of 3 large SGEMMs (4096^3) of
    OpenBLAS (libopenblas0-pthread) at the same thread count. (Debian's
    PyTorch runs convolutions through oneDNN; its torch.mm goes to whatever
    libblas.so.3 is, netlib's reference BLAS by default, so it is no ceiling.);
  * per config: medians of ours and PyTorch (R alternating rounds of N runs
    each, --rounds, default 2), their ratio (and, below the table, the ratio of the best single
    runs: PyTorch CPU's run times spread widely on a shared VM), our convolution GFLOP/s and its fraction of the
    ceiling, our start-up (model load + context + prepare + first frame) and
    both processes' peak RSS;
  * per config: device time per layer group (``ipgnet-detect --profile``) as
    GFLOP/s and fraction of the ceiling;
  * the pipeline check: the same frame through gst-launch-1.0 (imagefreeze !
    ipgnetdetect ! fakesink) against the bare engine, per frame; start-up is
    cancelled by timing two buffer counts and dividing the difference.

With --tiled (issue 13's tiling target), on the demo model (and the ONNX
peers, unless --onnx none, running the network once per image of the tiled
frame):
``ipgnet-detect --bench N`` on a 1920x1080 frame with ``--tile 512x512`` (the
full-frame pass and the tiles: 16 images), on a 512x512 frame untiled (the
single-image time), and on the 1920x1080 frame untiled at ``--input-size
1920x1088`` (native resolution), alternating the three R rounds so that the
load other processes put on the cores hits all three alike. Prints the
medians of the per-round medians, the ratios tiled / (images x single) (the
target: <= 1.1) and tiled / native, and the first ratio within each round.

Configs: r50 (resnet50, 512x512, 80 classes), r34w075 (resnet34 width 0.75,
416x320, 6 classes), r18w05 (resnet18 width 0.5, 352x288), demo (models/ipgnet-demo.safetensors, when present), frcnn (the
two-stage IPG-Faster R-CNN at the demo's scale: resnet18 width 0.5, FPN 64,
512x512, 10 classes). Random models are seeded, so every run times the same
weights.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PY = os.environ.get("IPGNET_PYTHON", "/usr/bin/python3")
PEER_PY = os.environ.get("IPGNET_PEER_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
FACES = os.environ.get("IPGNET_FACES", "/usr/share/pixmaps/faces")
DETECT = os.path.join(ROOT, "build", "tools", "cli", "ipgnet-detect")
BENCH_DIR = os.path.join(ROOT, "build", "bench")
THREADS = 2
CONFIGS = {
    "r50": ("r50-512x512", "--backbone resnet50 --num-classes 80 --input 512x512 --seed 11", (512, 512)),
    "r34w075": ("r34w075-416x320", "--backbone resnet34 --width 0.75 --num-classes 6 --input 416x320 --seed 7",
                (416, 320)),
    "r18w05": ("r18w05-352x288", "--backbone resnet18 --width 0.5 --num-classes 7 --input 352x288 --seed 3",
               (352, 288)),
    "demo": ("demo", None, (512, 512)),
    # Two-stage at the demo model's scale: 1000 RoIs through a 1024-wide box head.
    "frcnn": ("frcnn-r18w05-512x512", "--arch fasterrcnn --backbone resnet18 --width 0.5 --fpn-channels 64 "
              "--num-classes 10 --input 512x512 --seed 5", (512, 512)),
}


def env():
    return dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS),
                PYTHONPATH=os.path.join(ROOT, "tools"), GST_PLUGIN_PATH=os.path.join(ROOT, "build", "gst"))


def run_rss(cmd):
    """Run cmd; returns (stdout + stderr, its own peak RSS in MB). Exits on failure.
    The output goes to a file so that os.wait4 can reap the child (and read
    its rusage) before Popen would."""
    with tempfile.TemporaryFile() as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             env=env(), cwd=ROOT)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read().decode(errors="replace")
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{out}")
    return out, usage.ru_maxrss / 1024.0


def run(cmd):
    return run_rss(cmd)[0]


def value(out, key):
    m = re.search(rf"(?:^|\s){key}=([0-9.]+)", out, re.M)
    if not m:
        sys.exit(f"bench: no {key}= in:\n{out}")
    return float(m.group(1))


OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"


def ceiling():
    """Best of 3 OpenBLAS SGEMMs (4096^3) at THREADS threads, GFLOP/s."""
    code = ("import ctypes, sys, time\n"
            "import numpy as np\n"
            "lib = ctypes.CDLL(sys.argv[1]); n = 4096\n"
            f"lib.openblas_set_num_threads({THREADS})\n"
            "a = np.random.rand(n, n).astype(np.float32); b = a.copy(); c = np.empty_like(a)\n"
            "p = lambda x: x.ctypes.data_as(ctypes.c_void_p)\n"
            "f = ctypes.c_float\n"
            "def mm():\n"
            "    lib.cblas_sgemm(101, 111, 111, n, n, n, f(1.0), p(a), n, p(b), n, f(0.0), p(c), n)\n"
            "mm(); best = 0\n"
            "for _ in range(3):\n"
            "    t = time.perf_counter(); mm(); dt = time.perf_counter() - t\n"
            "    best = max(best, 2 * n ** 3 / dt / 1e9)\n"
            "print(f'sgemm_gflops={best:.1f}')\n")
    if not os.path.exists(OPENBLAS):
        sys.exit(f"bench: {OPENBLAS} is missing (apt-get install libopenblas0-pthread; tools/setup-debian.sh does)")
    return value(run([PY, "-c", code, OPENBLAS]), "sgemm_gflops")


def cuda_ceiling(peer):
    """Best of 3 PyTorch fp32 SGEMMs (8192^3, TF32 off) on the CUDA device, GFLOP/s."""
    code = ("import sys, time, torch\n"
            "torch.backends.cuda.matmul.allow_tf32 = False\n"
            "d = torch.device(sys.argv[1]); n = 8192\n"
            "a = torch.rand(n, n, device=d); b = torch.rand(n, n, device=d)\n"
            "c = a @ b; torch.cuda.synchronize(d); best = 0\n"
            "for _ in range(3):\n"
            "    t = time.perf_counter(); c = a @ b; torch.cuda.synchronize(d)\n"
            "    best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)\n"
            "print(f'sgemm_gflops={best:.1f} gpu={torch.cuda.get_device_name(d)}')\n")
    return value(run([PY, "-c", code, peer]), "sgemm_gflops")


def ensure_inputs(name):
    stem, args, size = CONFIGS[name]
    os.makedirs(BENCH_DIR, exist_ok=True)
    if name == "demo":
        model = os.path.join(ROOT, "models", "ipgnet-demo.safetensors")
        if not os.path.exists(model):
            return None, None
    else:
        model = os.path.join(BENCH_DIR, stem + ".safetensors")
        if not os.path.exists(model):
            run([PY, "-m", "ipgnet", "random", *args.split(), "-o", model])
    return model, ensure_frame(*size)


def ensure_frame(w, h):
    """build/bench/frame-WxH.png: a Debian sample photo resized to w x h."""
    os.makedirs(BENCH_DIR, exist_ok=True)
    image = os.path.join(BENCH_DIR, f"frame-{w}x{h}.png")
    if not os.path.exists(image):
        run([PY, "-c", "import sys\nfrom PIL import Image\n"
             f"im = Image.open({os.path.join(FACES, 'mountain.jpg')!r}).convert('RGB')\n"
             f"im.resize(({w}, {h}), Image.BILINEAR).save(sys.argv[1])\n", image])
    return image


# The start of the Python snippets that run the PyTorch reference (in PY) on
# a config's frame: argv[1] the model file, argv[2] the image; m the model
# (eval), c its config, x the normalised, letterboxed input [3, H, W].
REFERENCE_INPUT = ("import sys, torch\n"
                   "from ipgnet.modelfile import load_model\n"
                   "from ipgnet.preprocess import letterbox, load_image\n"
                   "m, c, _ = load_model(sys.argv[1])\n"
                   "m.eval()\n"
                   "x, _ = letterbox(load_image(sys.argv[2]), c.input, c.mean, c.std)\n")


def ensure_onnx(name, model, image, two_stage_full=False):
    """The ONNX graph of model (ipgnet export-onnx; with two_stage_full, a
    Faster R-CNN's whole inference to its box predictor, export-onnx
    --two-stage-full) and the frame's normalised input tensor as raw float32,
    both in build/bench/ and remade when older than the model file. Returns
    (onnx path, tensor path, [1, 3, H, W])."""
    stem = CONFIGS[name][0]
    onnx = os.path.join(BENCH_DIR, stem + (".full.onnx" if two_stage_full else ".onnx"))
    tensor = os.path.join(BENCH_DIR, stem + ".input.f32")
    shape = os.path.join(BENCH_DIR, stem + ".input.shape")
    stale = lambda p: not os.path.exists(p) or os.path.getmtime(p) < os.path.getmtime(model)
    if stale(onnx):
        run([PY, "-m", "ipgnet", "export-onnx", "-m", model, "-o", onnx]
            + (["--two-stage-full"] if two_stage_full else []))
    if stale(tensor) or stale(shape):
        run([PY, "-c", REFERENCE_INPUT +
             "open(sys.argv[3], 'wb').write(x.numpy().astype('<f4').tobytes())\n"
             "open(sys.argv[4], 'w').write(f'1,3,{x.shape[1]},{x.shape[2]}')\n",
             model, image, tensor, shape])
    with open(shape) as f:
        return onnx, tensor, [int(v) for v in f.read().split(",")]


def ensure_box_head(name, model, image):
    """For a two-stage config: the ONNX graph of its box head (ipgnet export-onnx
    --box-head) for as many RoIs as the reference proposes on this frame, and
    the reference's RoI features for them as raw float32, so that the peers run
    the second stage on what ours runs it on. Returns (onnx path, tensor path,
    [R, C, s, s])."""
    stem = CONFIGS[name][0]
    onnx = os.path.join(BENCH_DIR, stem + ".box-head.onnx")
    tensor = os.path.join(BENCH_DIR, stem + ".roi-features.f32")
    shape = os.path.join(BENCH_DIR, stem + ".roi-features.shape")
    stale = lambda p: not os.path.exists(p) or os.path.getmtime(p) < os.path.getmtime(model)
    if stale(tensor) or stale(shape):
        run([PY, "-c", REFERENCE_INPUT +
             "rec = {}\n"
             "with torch.no_grad():\n"
             "    m.forward_tensor(x[None], lambda n, t: rec.__setitem__(n, t))\n"
             "f = rec['roi.features']\n"   # [C*s*s, 1, R]
             "R, s = f.shape[2], c.roi_output_size\n"
             "f = f.reshape(-1, R).t().reshape(R, c.fpn_channels, s, s).contiguous()\n"
             "open(sys.argv[3], 'wb').write(f.numpy().astype('<f4').tobytes())\n"
             "open(sys.argv[4], 'w').write(','.join(map(str, f.shape)))\n",
             model, image, tensor, shape])
    with open(shape) as f:
        dims = [int(v) for v in f.read().split(",")]
    if stale(onnx) or os.path.getmtime(onnx) < os.path.getmtime(shape):
        run([PY, "-m", "ipgnet", "export-onnx", "-m", model, "-o", onnx, "--box-head", "--rois", str(dims[0])])
    return onnx, tensor, dims


def reference_rois(name, model, image):
    """For a two-stage config: how many proposals (RoIs) the PyTorch reference
    selects on this frame, kept in build/bench/STEM.rois (remade when older
    than the model file)."""
    path = os.path.join(BENCH_DIR, CONFIGS[name][0] + ".rois")
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(model):
        run([PY, "-c", REFERENCE_INPUT +
             "heads, _ = m.forward_tensor(x[None])\n"
             "open(sys.argv[3], 'w').write(str(heads['proposals'].shape[0]))\n",
             model, image, path])
    with open(path) as f:
        return int(f.read())


PEERS = {"ort": "ONNX Runtime", "ov": "OpenVINO"}


def peer_child(argv):
    """Times one peer on one graph (run in PEER_PY by main: only numpy and the
    runtime are imported, so its peak RSS is the runtime's own). Prints
    startup_ms (session / compile), min_ms, median_ms, and the last graph's
    output shapes of the last run (out_shapes=AxB,...: a graph's outputs may
    have dynamic sizes, the two-stage graph's R proposals)."""
    ap = argparse.ArgumentParser(prog="bench.py --peer-child")
    ap.add_argument("runtime", choices=list(PEERS))
    ap.add_argument("onnx")
    ap.add_argument("tensor")
    ap.add_argument("shape")
    ap.add_argument("runs", type=int)
    ap.add_argument("repeat", type=int, nargs="?", default=1,
                    help="inferences per timed run (a tiled frame's images)")
    ap.add_argument("--then", nargs=3, metavar=("ONNX", "TENSOR", "SHAPE"),
                    help="a second graph run after the first in every inference (a two-stage model's box head)")
    a = ap.parse_args(argv)
    import numpy as np

    graphs = [(a.onnx, a.tensor, a.shape)] + ([tuple(a.then)] if a.then else [])
    t0 = time.perf_counter()
    steps = []
    for onnx, tensor, shape in graphs:
        x = np.fromfile(tensor, dtype="<f4").reshape([int(v) for v in shape.split(",")])
        if a.runtime == "ort":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = THREADS
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            sess = ort.InferenceSession(onnx, opts, providers=["CPUExecutionProvider"])
            steps.append(lambda sess=sess, x=x, name=sess.get_inputs()[0].name: list(sess.run(None, {name: x})))
            version = f"onnxruntime={ort.__version__}"
        else:
            import openvino as ov

            compiled = ov.Core().compile_model(onnx, "CPU", {
                "INFERENCE_NUM_THREADS": THREADS, "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32"})
            req = compiled.create_infer_request()
            steps.append(lambda req=req, x=x: list(req.infer({0: x}).values()))
            version = f"openvino={ov.get_version()}"

    def infer():
        for step in steps:
            outs = step()
        return outs

    infer()
    startup = (time.perf_counter() - t0) * 1e3
    outs = infer()   # a second warm-up, as PyTorch's bench
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        for _ in range(a.repeat):
            outs = infer()
        times.append((time.perf_counter() - t) * 1e3)
    print(f"{version} threads={THREADS}")
    print("out_shapes=" + ",".join("x".join(map(str, np.shape(o))) for o in outs))
    print(f"startup_ms={startup:.1f}")
    print(f"min_ms={min(times):.3f}")
    print(f"median_ms={statistics.median(times):.3f}")
    return 0


def pipeline_ms_per_frame(model, image, device, counts=(4, 16)):
    """Per-frame time of gst-launch-1.0 over two buffer counts (start-up cancels)."""
    times = []
    for n in counts:
        cmd = ["gst-launch-1.0", "-q", "filesrc", f"location={image}", "!", "pngdec", "!", "videoconvert", "!",
               "video/x-raw,format=RGB", "!", "imagefreeze", f"num-buffers={n}", "!",
               "ipgnetdetect", f"model={model}", f"device={device}", "!", "fakesink", "sync=false"]
        t = time.perf_counter()
        run(cmd)
        times.append(time.perf_counter() - t)
    return (times[1] - times[0]) * 1e3 / (counts[1] - counts[0])


def images_per_frame(out):
    """The images of one frame, from the engine's debug log (IPG_LOG=4)."""
    m = re.search(r"prepared \d+x\d+ -> (\d+) x ", out)
    if not m:
        sys.exit(f"bench: no 'prepared ... -> N x' line in:\n{out}")
    return int(m.group(1))


def tiled_bench(a):
    """Tiled against single-image and native-resolution runs, alternating."""
    model = os.path.join(ROOT, "models", "ipgnet-demo.safetensors")
    if not os.path.exists(model):
        sys.exit("bench: --tiled needs models/ipgnet-demo.safetensors")
    small = ensure_frame(512, 512)
    hd = ensure_frame(1920, 1080)
    base = [DETECT, "-m", model, "--device", a.device, "--bench", str(a.runs)]
    cases = {
        "tiled": [*base, "--tile", "512x512", hd],
        "single": [*base, small],
        "native": [*base, "--input-size", "1920x1088", hd],
    }
    medians = {name: [] for name in cases}
    # The ONNX peers run the same network once per image of the tiled frame
    # (the full frame and the tiles, each letterboxed to 512x512: the
    # network-input tensor of the 512x512 frame stands in for each; the
    # arithmetic is the same), without the letterboxing and the cross-tile
    # merge ours also does.
    onnx_peers = [] if a.onnx == "none" else a.onnx.split(",")
    if onnx_peers:
        onnx, tensor, shape = ensure_onnx("demo", model, small)
    peer_ms = {p: [] for p in onnx_peers}
    images = 0
    os.environ["IPG_LOG"] = "4"   # the "prepared ... -> N x" line: the images per frame
    for r in range(a.rounds):
        for name, cmd in cases.items():
            out = run(cmd)
            medians[name].append(value(out, "median_ms"))
            if name == "tiled":
                images = images_per_frame(out)
        for p in onnx_peers:
            out = run([PEER_PY, os.path.abspath(__file__), "--peer-child", p, onnx, tensor,
                       ",".join(map(str, shape)), str(a.runs), str(images)])
            peer_ms[p].append(value(out, "median_ms"))
        print(f"round {r + 1}: " + ", ".join(f"{n} {m[-1]:.1f} ms" for n, m in [*medians.items(), *peer_ms.items()]),
              flush=True)
    med = {name: statistics.median(m) for name, m in medians.items()}
    print(f"\nmedians of {a.rounds} rounds of --bench {a.runs} each (alternating):")
    for name, cmd in cases.items():
        print(f"  {name:<7} {med[name]:9.1f} ms   {' '.join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd[1:])}")
    print(f"images per tiled frame: {images}")
    print(f"tiled / ({images} x single) = {med['tiled'] / (images * med['single']):.3f}   (target <= 1.1)")
    print(f"tiled / native 1920x1088  = {med['tiled'] / med['native']:.3f}")
    # The same ratio within each round (runs minutes apart see different loads).
    paired = [t / (images * s) for t, s in zip(medians["tiled"], medians["single"])]
    print(f"per round: tiled / ({images} x single) = {', '.join(f'{r:.3f}' for r in paired)}; "
          f"median {statistics.median(paired):.3f}")
    if onnx_peers:
        pm = {p: statistics.median(v) for p, v in peer_ms.items()}
        bp = min(pm, key=pm.get)
        print(f"peers, {images} inferences of the 512x512 network per tiled frame: " +
              ", ".join(f"{PEERS[p]} {pm[p]:.1f} ms" for p in onnx_peers))
        print(f"tiled ours / best peer ({PEERS[bp]}) = {med['tiled'] / pm[bp]:.3f}")
    return 0


def main():
    if sys.argv[1:2] == ["--peer-child"]:
        return peer_child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--configs", default="r50,r34w075,r18w05,demo,frcnn")
    ap.add_argument("--no-pipeline", action="store_true")
    ap.add_argument("--peer", default="cpu", help="PyTorch's device: cpu (default) or cuda[:N]")
    ap.add_argument("--tiled", action="store_true", help="tiled vs single-image vs native-resolution runs only")
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternations of the runners (default 2; with --tiled 3)")
    ap.add_argument("--onnx", default="ort,ov",
                    help="ONNX peers on the CPU: ort (ONNX Runtime), ov (OpenVINO), both (default) or none")
    ap.add_argument("--frcnn-peers", choices=["full", "split"], default="full",
                    help="what the ONNX peers run for frcnn: full (default), one graph to the box predictor "
                         "with the proposal selection and RoIAlign (export-onnx --two-stage-full); split, the "
                         "network to the RPN head, then the box head on the reference's RoI features")
    a = ap.parse_args()
    if a.rounds is None:
        a.rounds = 3 if a.tiled else 2
    if a.runs < 1 or a.rounds < 1:
        sys.exit("bench: --runs and --rounds must be at least 1")
    if not os.path.exists(DETECT):
        sys.exit("bench: build/tools/cli/ipgnet-detect is missing: build first (meson setup build && ninja -C build)")
    if a.tiled:
        if a.onnx != "none":
            probe = subprocess.run([PEER_PY, "-c", "import onnxruntime, openvino"], capture_output=True, text=True)
            if probe.returncode != 0:
                sys.exit(f"bench: {PEER_PY} cannot import the ONNX peers (run tools/setup-venv.sh, or pass "
                         f"--onnx none):\n{probe.stderr.strip()}")
        return tiled_bench(a)
    gpu_peer = a.peer.startswith("cuda")
    if gpu_peer:
        a.no_pipeline = True
    onnx_peers = [] if a.onnx == "none" or gpu_peer else a.onnx.split(",")
    for p in onnx_peers:
        if p not in PEERS:
            sys.exit(f"bench: unknown ONNX peer {p!r} (known: {', '.join(PEERS)}, or none)")
    if onnx_peers:
        mods = ", ".join({"ort": "onnxruntime", "ov": "openvino"}[p] for p in onnx_peers)
        probe = subprocess.run([PEER_PY, "-c", f"import {mods}"], capture_output=True, text=True)
        if probe.returncode != 0:
            sys.exit(f"bench: {PEER_PY} cannot import {mods} (run tools/setup-venv.sh, set "
                     f"IPGNET_PEER_PYTHON, or pass --onnx none):\n{probe.stderr.strip()}")
    if gpu_peer:
        ceil = cuda_ceiling(a.peer)
        print(f"ceiling: PyTorch fp32 SGEMM 8192^3 on {a.peer} = {ceil:.1f} GFLOP/s")
    else:
        blas = ceiling()
        # Debian's OpenBLAS may not use the CPU's widest vectors (on the
        # AVX-512 EPYC here: 237 against a measured FMA peak of ~510): the
        # device's own FMA peak is the ceiling when it is higher.
        peak = value(run([os.path.join(ROOT, "build", "tools", "bench-conv", "bench-peak"), "10"]), "fma_peak_gflops")
        ceil = max(blas, peak)
        print(f"ceiling: OpenBLAS SGEMM 4096^3 at {THREADS} threads = {blas:.1f} GFLOP/s; "
              f"OpenCL FMA peak (bench-peak) = {peak:.1f} GFLOP/s; using {ceil:.1f}")
    rows, groups, pipes, tf32, best, peer_rows = [], {}, [], {}, {}, []
    for name in a.configs.split(","):
        if name not in CONFIGS:
            sys.exit(f"bench: unknown config {name!r} (known: {', '.join(CONFIGS)})")
        model, image = ensure_inputs(name)
        if model is None:
            print(f"{name}: models/ipgnet-demo.safetensors not present, skipped")
            continue
        ours, torch_ms, starts, rss_o, rss_t, ours_best, torch_best = [], [], [], [], [], [], []
        then = []
        if onnx_peers:
            full = name == "frcnn" and a.frcnn_peers == "full"
            onnx, tensor, shape = ensure_onnx(name, model, image, two_stage_full=full)
            if full:   # one graph with the proposal selection and RoIAlign: R is the graph's own
                frcnn_rois = {"reference": reference_rois(name, model, image)}
            elif name == "frcnn":   # the peers run the box head too, on the reference's RoIs
                box_onnx, box_tensor, box_shape = ensure_box_head(name, model, image)
                then = ["--then", box_onnx, box_tensor, ",".join(map(str, box_shape))]
                frcnn_rois = {"reference": box_shape[0]}
        peer = {p: {"ms": [], "best": [], "start": [], "rss": []} for p in onnx_peers}
        for _ in range(a.rounds):   # alternate, so drift hits both alike
            o, r = run_rss([DETECT, "-m", model, "--device", a.device, "--bench", str(a.runs), image])
            ours.append(value(o, "median_ms"))
            ours_best.append(value(o, "min_ms"))
            starts.append(value(o, "startup_ms"))
            gflop = value(o, "conv_gflop")
            rss_o.append(r)
            t, r = run_rss([PY, "-m", "ipgnet", "bench", "-m", model, image, "--runs", str(a.runs),
                            "--threads", str(THREADS), "--device", a.peer])
            torch_ms.append(value(t, "median_ms"))
            torch_best.append(value(t, "min_ms"))
            rss_t.append(r)
            for p in onnx_peers:
                t, r = run_rss([PEER_PY, os.path.abspath(__file__), "--peer-child", p, onnx, tensor,
                                ",".join(map(str, shape)), str(a.runs)] + then)
                peer[p]["ms"].append(value(t, "median_ms"))
                peer[p]["best"].append(value(t, "min_ms"))
                peer[p]["start"].append(value(t, "startup_ms"))
                peer[p]["rss"].append(r)
                if name == "frcnn" and a.frcnn_peers == "full":   # proposals [R, 4] is the first output
                    rois = re.search(r"^out_shapes=(\d+)x4,", t, re.M)
                    frcnn_rois[PEERS[p]] = int(rois.group(1)) if rois else "? (no out_shapes=)"
        if gpu_peer:   # PyTorch's own default on CUDA: convolutions in TF32
            t, _ = run_rss([PY, "-m", "ipgnet", "bench", "-m", model, image, "--runs", str(a.runs),
                            "--device", a.peer, "--tf32"])
            tf32[name] = value(t, "median_ms")
        o_ms, t_ms = statistics.median(ours), statistics.median(torch_ms)
        rows.append((name, o_ms, t_ms, gflop, min(starts), max(rss_o), max(rss_t)))
        best[name] = (min(ours_best), min(torch_best))
        if onnx_peers:
            # Each round's ours against the better peer of the same round:
            # neighbours in time share the machine's state more often than
            # medians over the whole run do (docs/PERFORMANCE.md: this
            # device sometimes runs at half speed for seconds at a time).
            paired = statistics.median(ours[r] / min(v["ms"][r] for v in peer.values()) for r in range(a.rounds))
            peer_rows.append((name, o_ms, t_ms, max(rss_o), max(rss_t), min(ours_best),
                              {p: (statistics.median(v["ms"]), min(v["best"]), min(v["start"]), max(v["rss"]))
                               for p, v in peer.items()}, paired))
        prof = run([DETECT, "-m", model, "--device", a.device, "--bench", "2", "--profile", image])
        groups[name] = [(g, float(ms), float(gf)) for g, ms, gf in
                        re.findall(r"^(\S+)\s+([0-9.]+) ms\s+([0-9.]+) GFLOP/s$", prof, re.M)]
        if not a.no_pipeline and name != "r50":
            pipes.append((name, 1e3 / o_ms, 1e3 / pipeline_ms_per_frame(model, image, a.device)))
    print()
    print(f"{'config':<8} {'ours_ms':>8} {'torch_ms':>8} {'ratio':>6} {'GFLOP':>7} {'GFLOP/s':>8} "
          f"{'ceiling':>7} {'start_ms':>8} {'rss_MB':>7} {'torch_MB':>8} {'rss_ratio':>9}")
    for name, o, t, gf, st, ro, rt in rows:
        print(f"{name:<8} {o:8.1f} {t:8.1f} {o / t:6.2f} {gf:7.2f} {gf / (o * 1e-3):8.1f} "
              f"{gf / (o * 1e-3) / ceil:7.2f} {st:8.0f} {ro:7.0f} {rt:8.0f} {ro / rt:9.2f}")
    if peer_rows:
        print(f"\nagainst the ONNX peers (no letterbox or post-processing on their side; median ms, "
              f"peak RSS MB, best single runs; {THREADS} threads)")
        head = f"{'config':<8} {'ours_ms':>8} {'torch_ms':>8}"
        for p in onnx_peers:
            head += f" {p + '_ms':>8}"
        head += f" {'ours/best':>9} {'best':>8}"
        head += f" {'rss_ours':>8} {'rss_torch':>9}" + "".join(f" {'rss_' + p:>8}" for p in onnx_peers)
        head += f" {'best_runs/best':>14} {'paired':>6}" + "".join(f" {p + '_start':>9}" for p in onnx_peers)
        print(head)
        for name, o, t, ro, rt, ob, pr, paired in peer_rows:
            winner = min(pr, key=lambda p: pr[p][0])
            line = f"{name:<8} {o:8.1f} {t:8.1f}" + "".join(f" {pr[p][0]:8.1f}" for p in onnx_peers)
            line += f" {o / pr[winner][0]:9.2f} {winner:>8}"
            line += f" {ro:8.0f} {rt:9.0f}" + "".join(f" {pr[p][3]:8.0f}" for p in onnx_peers)
            line += f" {ob / min(v[1] for v in pr.values()):14.2f} {paired:6.2f}"
            line += "".join(f" {pr[p][2]:9.0f}" for p in onnx_peers)
            print(line)
        print("paired: the median over rounds of ours / the better peer in the same round")
        if any(r[0] == "frcnn" for r in peer_rows) and a.frcnn_peers == "full":
            print("frcnn (--frcnn-peers full): the peers run one graph (export-onnx --two-stage-full): the network, "
                  "the RPN's proposal selection (decode, top-k per level, clip, small-box removal, score threshold, "
                  "NMS), MultiScaleRoIAlign and the box head, to the raw class_logits and box_regression; not the "
                  "second stage's post-processing (softmax, per-class decode, score threshold, final NMS), which "
                  "ours runs. Proposals R on this frame: "
                  + ", ".join(f"{k} {v}" for k, v in frcnn_rois.items()))
        elif any(r[0] == "frcnn" for r in peer_rows):
            print("frcnn (--frcnn-peers split): the peers run the network to the RPN head, then the box head on "
                  f"the reference's RoI features for this frame (R = {frcnn_rois['reference']}); not the proposal "
                  "selection, RoIAlign or the final NMS between and after them, which ours runs")
    for name, (o, t) in best.items():
        print(f"{name}: best single run, ours {o:.1f} ms, PyTorch {t:.1f} ms, ratio {o / t:.2f}")
    for name, t in tf32.items():
        o = next(r[1] for r in rows if r[0] == name)
        print(f"{name}: PyTorch with TF32 convolutions (its CUDA default) {t:.1f} ms, ours / that {o / t:.2f}")
    for name, gs in groups.items():
        print(f"\nlayer groups, {name} (device time of one run; fraction of the {ceil:.0f} GFLOP/s ceiling)")
        for g, ms, gf in gs:
            print(f"  {g:<12} {ms:9.1f} ms {gf:8.1f} GFLOP/s {gf / ceil:6.2f}")
    for name, eng, pipe in pipes:
        print(f"\npipeline, {name}: engine {eng:.2f} fps, gst-launch {pipe:.2f} fps, ratio {pipe / eng:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
