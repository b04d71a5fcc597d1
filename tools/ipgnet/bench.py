"""``bench``: PyTorch timing of the reference on one frame, the same steps as
``ipgnet-detect --bench`` (letterbox + normalise from the decoded frame on the
host, upload, network, post-processing, detections back on the host), for
ratios in docs/PERFORMANCE.md. ``device`` is "cpu" (default) or "cuda[:N]";
on CUDA each run ends when the detections have reached the host.

Threads are pinned three ways (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
torch.set_num_threads): the last alone does not limit OpenBLAS.
"""

import os
import statistics
import sys
import time


def bench(model_path, image_path, runs, threads, input_size=None, device="cpu", tf32=False):
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    import torch

    from .modelfile import load_model
    from .preprocess import letterbox, load_image

    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    model, config, _ = load_model(model_path)
    model.eval()
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        print(f"ipgnet bench: --device {device!r}: {e}", file=sys.stderr)
        return 1
    if dev.type == "cuda" and not torch.cuda.is_available():
        print(f"ipgnet bench: --device {device}: this PyTorch sees no CUDA device", file=sys.stderr)
        return 1
    if dev.type == "cuda":
        # fp32 throughout, like the OpenCL engine, unless asked for TF32
        # (PyTorch's own default lets cuDNN convolutions use it)
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
    model.to(dev)
    image = load_image(image_path)
    size = input_size or config.input

    def once():
        x, _ = letterbox(image, size, config.mean, config.std)
        _, det = model.forward_tensor(x[None].to(dev))
        return {k: v.cpu() for k, v in det.items()}

    once()   # warm-up (on CUDA also cuDNN's algorithm choice)
    once()
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        det = once()
        times.append((time.perf_counter() - t0) * 1e3)
        print(f"run {i}: {times[-1]:.3f} ms, {len(det['scores'])} detections")
    where = (f"{torch.cuda.get_device_name(dev)} tf32={int(tf32)}" if dev.type == "cuda"
             else f"cpu threads={torch.get_num_threads()}")
    print(f"torch={torch.__version__} device={where}")
    print(f"min_ms={min(times):.3f}")
    print(f"median_ms={statistics.median(times):.3f}")
    sys.stdout.flush()
    return 0
