"""Letterbox preprocessing (IPGNET.md "Input"), exactly:

    image uint8 [h, w, 3] RGB  ->  x = float32(image) / 255   (CHW, a true float32
                                    division, not a multiply by 1/255)
    s  = min(W / w, H / h)                                  (Python float = double)
    nw = min(W, max(1, floor(w * s + 0.5)))                  (in double)
    nh = min(H, max(1, floor(h * s + 0.5)))
    if (nh, nw) != (h, w):
        x = F.interpolate(x[None], size=(nh, nw), mode="bilinear",
                          align_corners=False, antialias=False)[0]
        (PyTorch CPU per axis: scale = (float)in / (float)out; src =
         (double)scale * (dst + 0.5) - 0.5 evaluated in double, clamped below
         at 0; i0 = floor(src), i1 = min(i0 + 1, in - 1); lambda =
         (float)(src - i0); out = (1-ly)*((1-lx)*a + lx*b) + ly*((1-lx)*c + lx*d)
         with float32 weights -- tests/python/test_preprocess.py checks this
         hand computation to 1e-6)
    x[c] = (x[c] - mean[c]) / std[c]      (float32 subtract, then float32 divide
                                           by float32(std[c]))
    out = zeros [3, H, W]; out[:, :nh, :nw] = x       (top-left placement)

Returns (out, s).  Boxes map back to the frame by dividing by s and clipping to
[0, w] x [0, h] (see ``boxes_to_frame``).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F


def load_image(path):
    """RGB uint8 [h, w, 3] via Pillow (``Image.open(p).convert("RGB")``)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def resize_normalize(image, nw, nh, mean, std):
    """uint8 [h, w, 3] -> float32 [3, nh, nw]: x / 255, bilinear to (nh, nw)
    (align_corners False, no antialias; skipped at the same size), then
    (x - mean) / std per channel. The letterbox and the training
    augmentation share it, so training input = inference input."""
    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).to(torch.float32) / 255
    if (nh, nw) != (h, w):
        x = F.interpolate(x[None], size=(nh, nw), mode="bilinear", align_corners=False,
                          antialias=False)[0]
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    sd = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return (x - m) / sd


def letterbox_geometry(w, h, W, H):
    s = min(W / w, H / h)
    nw = min(W, max(1, math.floor(w * s + 0.5)))
    nh = min(H, max(1, math.floor(h * s + 0.5)))
    return s, nw, nh


def letterbox(image, size, mean, std):
    """image: uint8 numpy [h, w, 3] RGB; size: (W, H).  Returns (tensor [3, H, W], s)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 [h, w, 3] RGB image, got {image.dtype} {list(image.shape)}")
    W, H = int(size[0]), int(size[1])
    h, w = image.shape[:2]
    if h < 1 or w < 1:
        raise ValueError("empty image")
    s, nw, nh = letterbox_geometry(w, h, W, H)
    x = resize_normalize(image, nw, nh, mean, std)
    out = torch.zeros(3, H, W, dtype=torch.float32)
    out[:, :nh, :nw] = x
    return out, s


def boxes_to_frame(boxes, s, w, h):
    """Network-input boxes [N, 4] -> frame pixels (Python floats, double precision):
    divide by s, clip x to [0, w] and y to [0, h]."""
    out = []
    for x1, y1, x2, y2 in torch.as_tensor(boxes).tolist():
        out.append([
            min(max(x1 / s, 0.0), float(w)),
            min(max(y1 / s, 0.0), float(h)),
            min(max(x2 / s, 0.0), float(w)),
            min(max(y2 / s, 0.0), float(h)),
        ])
    return out
