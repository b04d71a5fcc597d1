"""``bench``: PyTorch CPU timing of the reference on one frame, the same steps
as ``ipgnet-detect --bench`` (letterbox + normalise from the decoded frame,
network, post-processing to detections), for ratios in docs/PERFORMANCE.md.

Threads are pinned three ways (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
torch.set_num_threads): the last alone does not limit OpenBLAS.
"""

import os
import statistics
import sys
import time


def bench(model_path, image_path, runs, threads, input_size=None):
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    import torch

    from .modelfile import load_model
    from .preprocess import letterbox, load_image

    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    model, config, _ = load_model(model_path)
    model.eval()
    image = load_image(image_path)
    size = input_size or config.input

    def once():
        x, _ = letterbox(image, size, config.mean, config.std)
        _, det = model.forward_tensor(x[None])
        return det

    once()   # warm-up
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        det = once()
        times.append((time.perf_counter() - t0) * 1e3)
        print(f"run {i}: {times[-1]:.3f} ms, {len(det['scores'])} detections")
    print(f"torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"median_ms={statistics.median(times):.3f}")
    sys.stdout.flush()
    return 0
