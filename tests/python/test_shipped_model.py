"""The shipped demo model (models/ipgnet-demo.safetensors) detects: on a
freshly generated synthetic set (a seed the model never saw: its training set
is seed 0) it scores well above a random model, and the OpenCL engine scores
it the same as the PyTorch reference."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, TOOLS

MODEL = os.path.join(ROOT, "models", "ipgnet-demo.safetensors")
DETECT = os.path.join(ROOT, "build", "tools", "cli", "ipgnet-detect")
sys.path.insert(0, os.path.dirname(__file__))
from test_train_eval import coco_python  # noqa: E402


@pytest.fixture(scope="module")
def fresh_set(tmp_path_factory):
    from ipgnet.synth import generate

    out = str(tmp_path_factory.mktemp("fresh"))
    generate(out, seed=20261125, train_images=1, val_images=40, workers=1)
    return out


def _eval(data, tmp, engine):
    out = os.path.join(tmp, f"{engine}.json")
    cmd = [coco_python(), "-m", "ipgnet", "eval", "-m", MODEL, "--data", data, "--engine", engine,
           "--metrics-json", out]
    if engine == "opencl":
        cmd += ["--detect", DETECT]
    r = subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=TOOLS), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.load(open(out))


def test_the_demo_model_is_shipped_with_digit_labels():
    from ipgnet.modelfile import load_model

    assert os.path.exists(MODEL), "models/ipgnet-demo.safetensors is missing"
    assert os.path.getsize(MODEL) <= 20 * 1024 * 1024
    _, config, labels = load_model(MODEL)
    assert labels == [f"digit{i}" for i in range(10)]
    assert config.input == [512, 512] and config.ipg_levels


def test_the_demo_model_detects_on_unseen_images(fresh_set, tmp_path):
    m = _eval(fresh_set, str(tmp_path), "torch")
    # The shipped model: AP50 83.6 %, AP_S 61.1 % on the 300 val images
    # (docs/MODELS.md), 82.3 % / 58.6 % on these 40 fresh ones; a random
    # model scores 0, and the previous demo model 53.8 % / 37.1 % here. The
    # AP50 floor is the project's 70 %; both floors catch a broken model or a
    # step back to the previous one.
    assert m["AP50"] >= 0.70, m
    assert m["AP_S"] >= 0.48, m
    if not os.path.exists(DETECT):
        pytest.skip("build/tools/cli/ipgnet-detect not built")
    o = _eval(fresh_set, str(tmp_path), "opencl")
    for k in ("AP", "AP50", "AP_S"):
        assert abs(o[k] - m[k]) <= 0.001, (k, o[k], m[k])
