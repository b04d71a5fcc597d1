"""``ipgnet info``: parameters and convolution GFLOP, checked against an
independent count and against the C engine's own conv_gflop."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, TOOLS, small_config

DETECT = os.path.join(ROOT, "build", "tools", "cli", "ipgnet-detect")


def run_info(*args):
    env = dict(os.environ, PYTHONPATH=TOOLS)
    return subprocess.run([sys.executable, "-m", "ipgnet", "info", *args], env=env,
                          capture_output=True, text=True)




def test_info_counts_parameters_and_flop(tmp_path):
    from ipgnet.modelfile import save_model
    from ipgnet.random_model import random_model

    config = small_config(ipg_levels=[])
    model = random_model(config, seed=0)
    path = str(tmp_path / "m.safetensors")
    save_model(model, config, ["a", "b", "c"], path)
    r = run_info("-m", path, "--json")
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)
    assert js["parameters"] == sum(p.numel() for p in model.parameters())
    assert js["ipg_levels"] == [] and js["labels"] == ["a", "b", "c"]
    # the head's 3x3 convs alone, on P3 (stride 8) of a 128x96 input: a lower bound
    # that is a large part of the total, and an upper bound of 4x it
    C, A, K = config.fpn_channels, config.num_anchors, config.num_classes
    p3 = (128 // 8) * (96 // 8)
    head_p3 = 2 * p3 * 9 * C * (8 * C + A * K + A * 4)
    assert head_p3 < js["conv_gflop"] * 1e9 < 4 * head_p3 + 2e9
    # twice the pixels: the cost scales with the area (fully convolutional)
    r2 = run_info("-m", path, "--json", "--input-size", "256x192")
    assert abs(json.loads(r2.stdout)["conv_gflop"] / js["conv_gflop"] - 4.0) < 0.15


@pytest.mark.parametrize("levels, arch", [([2, 3, 4, 5], "retinanet"), ([], "retinanet"),
                                          ([2, 3, 4, 5], "fasterrcnn")])
def test_info_flop_equals_the_engines(tmp_path, levels, arch):
    if not os.path.exists(DETECT):
        pytest.skip("build/tools/cli/ipgnet-detect not built")
    from ipgnet.config import Config
    from ipgnet.modelfile import save_model
    from ipgnet.random_model import random_model

    config = small_config(ipg_levels=levels, input=[160, 96])
    if arch == "fasterrcnn":   # the box head counted at rpn_post_nms_top_n RoIs on both sides
        d = config.to_dict()
        del d["topk_candidates"], d["anchor_sizes"], d["box_weights"], d["detections_per_img"]
        config = Config.from_dict(dict(d, arch=arch, representation_size=64, rpn_post_nms_top_n=300))
    path = str(tmp_path / "m.safetensors")
    save_model(random_model(config, seed=2), config, ["a", "b", "c"], path)
    js = json.loads(run_info("-m", path, "--json").stdout)
    from PIL import Image
    img = str(tmp_path / "f.png")
    Image.new("RGB", (160, 96), (90, 120, 30)).save(img)
    out = subprocess.run([DETECT, "-m", path, "--bench", "1", img], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    eng = float([ln for ln in out.stdout.splitlines() if ln.startswith("conv_gflop=")][0]
                .split()[0].split("=")[1])
    assert abs(eng - js["conv_gflop"]) <= 0.0005 + 1e-3 * js["conv_gflop"]


def test_info_refuses_bad_input(tmp_path):
    r = run_info("-m", str(tmp_path / "missing.safetensors"))
    assert r.returncode != 0 and "missing.safetensors" in r.stderr
