import math

import numpy as np
import torch
import torch.nn.functional as F

from ipgnet.guidance import image_pyramid
from ipgnet.preprocess import boxes_to_frame, letterbox, letterbox_geometry

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def _hand_resize(a, nh, nw):
    """Bilinear, align_corners=False, no antialias, written out by hand (taps as
    PyTorch computes them, the blend in float64)."""
    h, w = a.shape[:2]

    f32 = np.float32

    def taps(n_in, n_out):
        # PyTorch (CPU, float32): scale = float32(in / out); the source
        # coordinate scale * (d + 0.5) - 0.5 is evaluated in double (the 0.5
        # literals are doubles), clamped at 0; lambda = float32(src - i0).
        scale = float(f32(n_in) / f32(n_out))
        out = []
        for d in range(n_out):
            src = max(scale * (d + 0.5) - 0.5, 0.0)
            i0 = int(math.floor(src))
            i1 = min(i0 + 1, n_in - 1)
            lam = float(f32(src - i0))
            out.append((i0, i1, lam))
        return out

    ty, tx = taps(h, nh), taps(w, nw)
    out = np.zeros((nh, nw, a.shape[2]))
    for y, (y0, y1, ly) in enumerate(ty):
        for x, (x0, x1, lx) in enumerate(tx):
            out[y, x] = ((1 - ly) * ((1 - lx) * a[y0, x0] + lx * a[y0, x1])
                         + ly * ((1 - lx) * a[y1, x0] + lx * a[y1, x1]))
    return out


def test_letterbox_by_hand():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(3, 5, 3), dtype=np.uint8)  # h=3, w=5
    x, s = letterbox(img, (64, 32), MEAN, STD)
    assert s == min(64 / 5, 32 / 3)
    # s = 10.666..: nw = floor(5 * s + 0.5) = 53, nh = 32
    assert letterbox_geometry(5, 3, 64, 32) == (s, 53, 32)
    ref = _hand_resize(img.astype(np.float64) / 255, 32, 53)
    ref = (ref - np.array(MEAN)) / np.array(STD)
    expect = np.zeros((3, 32, 64))
    expect[:, :32, :53] = ref.transpose(2, 0, 1)
    assert x.shape == (3, 32, 64) and x.dtype == torch.float32
    np.testing.assert_allclose(x.numpy(), expect, rtol=0, atol=1e-6)
    assert (x[:, :, 53:] == 0).all()


def test_letterbox_downscale_and_pad_rows():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(40, 70, 3), dtype=np.uint8)
    x, s = letterbox(img, (32, 64), MEAN, STD)
    _, nw, nh = letterbox_geometry(70, 40, 32, 64)
    assert (nw, nh) == (32, 18)  # 40 * 32/70 = 18.29
    ref = _hand_resize(img.astype(np.float64) / 255, nh, nw)
    ref = (ref - np.array(MEAN)) / np.array(STD)
    np.testing.assert_allclose(x[:, :nh, :nw].numpy(), ref.transpose(2, 0, 1), rtol=0, atol=1e-6)
    assert (x[:, nh:, :] == 0).all()


def test_letterbox_no_resize_is_exact():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(32, 64, 3), dtype=np.uint8)
    x, s = letterbox(img, (64, 32), MEAN, STD)
    assert s == 1.0
    t = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    t = (t - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    assert torch.equal(x, t)


def test_boxes_to_frame():
    out = boxes_to_frame(torch.tensor([[-3.0, 2.0, 60.0, 30.0]]), 2.0, 25, 12)
    assert out == [[0.0, 1.0, 25.0, 12.0]]


def test_pyramid_is_average_pooling():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 96, 128)
    pyr = image_pyramid(x, 5)
    cur = x
    for l in range(1, 6):
        cur = F.avg_pool2d(cur, 2)
        assert pyr[2 ** l].shape == cur.shape
        torch.testing.assert_close(pyr[2 ** l], cur, rtol=0, atol=1e-6)
