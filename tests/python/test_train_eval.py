"""Training (train.py, data.py), export of a run, and COCO evaluation
(evaluate.py) on a tiny generated dataset (tinycoco.py).

pycocotools comes from PyPI (tools/setup-venv.sh puts it in .venv): the eval
tests run in-process when this interpreter has it, else through
.venv/bin/python, and skip only when neither has it.  The OpenCL tests need
build/tools/cli/ipgnet-detect and skip without it.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, TOOLS
from ipgnet.__main__ import main
from ipgnet.data import CocoData, TrainSet, augment
from ipgnet.modelfile import load_model
from ipgnet.preprocess import letterbox, load_image
from ipgnet.train import lr_at
from tinycoco import TINY_CONFIG, make_tiny_coco

DETECT = os.path.join(ROOT, "build", "tools", "cli", "ipgnet-detect")
VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")


def _has_pycocotools(python):
    if python == sys.executable:
        try:
            import pycocotools.cocoeval  # noqa: F401
            return True
        except ImportError:
            return False
    if not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", "import pycocotools.cocoeval"],
                          capture_output=True).returncode == 0


def coco_python():
    for py in (sys.executable, VENV_PY):
        if _has_pycocotools(py):
            return py
    pytest.skip("pycocotools missing (run tools/setup-venv.sh)")


@pytest.fixture(autouse=True)
def _restore_determinism():
    # train() switches torch.use_deterministic_algorithms on; keep other tests unaffected
    before = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    yield
    torch.use_deterministic_algorithms(before)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tinycoco")
    data = make_tiny_coco(str(root / "data"), splits=(("train", 8), ("val", 8)))
    cfg = root / "tiny.json"
    cfg.write_text(json.dumps(TINY_CONFIG))
    return data, str(cfg), root


def _train(tiny, out, *extra):
    data, cfg, _ = tiny
    return main(["train", "--data", data, "--config", cfg, "--out", str(out), "--log-every", "1000",
                 *extra])


@pytest.fixture(scope="module")
def trained(tiny):
    """80 AdamW iterations (batch 4) on the 8 training images: enough to detect."""
    run = tiny[2] / "run"
    assert _train(tiny, run, "--epochs", "40", "--batch-size", "4", "--optimizer", "adamw",
                  "--lr", "0.002", "--warmup-iters", "10", "--seed", "0") == 0
    model = str(tiny[2] / "trained.safetensors")
    assert main(["export", str(run), "-o", model]) == 0
    return run, model


# ---------------------------------------------------------------------------
# data and schedule


def test_augment_without_jitter_is_the_letterbox(tiny):
    data = CocoData(tiny[0], "train")
    im = data.images[0]
    img = load_image(data.path(im))
    boxes, _ = data.targets(im)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    rng = np.random.default_rng(0)
    x, b, keep = augment(img, boxes, (96, 64), mean, std, rng, flip=0.0, scale=(1.0, 1.0))
    ref, s = letterbox(img, (96, 64), mean, std)
    assert torch.equal(x, ref)
    assert np.allclose(b.numpy(), boxes[keep] * s, atol=1e-4)
    assert len(keep) == len(boxes)
    # flip only: boxes mirrored in the input
    x, b, keep = augment(img, boxes, (128, 128), mean, std, rng, flip=1.0, scale=(1.0, 1.0))
    ref, _ = letterbox(np.ascontiguousarray(img[:, ::-1]), (128, 128), mean, std)
    assert torch.equal(x, ref)
    assert np.allclose(b.numpy()[:, [0, 2]], 128 - boxes[keep][:, [2, 0]], atol=1e-4)


def test_augment_jitter_keeps_boxes_inside(tiny):
    data = CocoData(tiny[0], "train")
    mean, std = [0.0] * 3, [1.0] * 3
    for k, im in enumerate(data.images):
        img = load_image(data.path(im))
        boxes, labels = data.targets(im)
        rng = np.random.default_rng(k)
        x, b, keep = augment(img, boxes, (128, 128), mean, std, rng, scale=(0.5, 1.5))
        assert x.shape == (3, 128, 128)
        b = b.numpy()
        assert (b[:, :2] >= 0).all() and (b[:, 2:] <= 128).all()
        assert ((b[:, 2:] - b[:, :2]) >= 2).all()
    ds = TrainSet(data, type("C", (), {"input": [128, 128], "mean": mean, "std": std})(), seed=1)
    a, ta = ds[(2, 3)]
    b_, tb = ds[(2, 3)]
    assert torch.equal(a, b_) and torch.equal(ta["boxes"], tb["boxes"])  # pure function of key


def test_augment_crop_keeps_the_input_scale(tiny):
    """--crop: a window of the letterboxed input at the input's scale, with the
    boxes shifted into it (not a letterbox into the smaller size)."""
    data = CocoData(tiny[0], "train")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    seen = 0
    for k, im in enumerate(data.images):
        img = load_image(data.path(im))
        boxes, _ = data.targets(im)
        full, s = letterbox(img, (128, 128), mean, std)
        rng = np.random.default_rng(k)
        x, b, keep = augment(img, boxes, (128, 128), mean, std, rng, flip=0.0, scale=(1.0, 1.0),
                             crop=(64, 32))
        assert x.shape == (3, 32, 64)
        # find the crop's offset: the crop equals a window of the full letterbox
        hits = [(ox, oy) for oy in range(0, 128 - 32 + 1) for ox in range(0, 128 - 64 + 1)
                if torch.allclose(full[:, oy:oy + 32, ox:ox + 64], x, atol=1e-5)]
        assert hits, "the crop is not a window of the letterboxed input"
        ox, oy = hits[0]
        ref = boxes[keep] * s - np.array([ox, oy, ox, oy])
        ref = np.stack([ref[:, 0].clip(0, 64), ref[:, 1].clip(0, 32),
                        ref[:, 2].clip(0, 64), ref[:, 3].clip(0, 32)], axis=1)
        assert np.allclose(b.numpy(), ref, atol=1e-3)
        seen += len(keep)
    assert seen > 0, "no box survived any crop: the test checked nothing"


def test_lr_schedule():
    assert lr_at(0, 100, 1.0, 10, "cosine") == pytest.approx(0.001)
    assert lr_at(10, 100, 1.0, 10, "cosine") == pytest.approx(1.0)
    assert lr_at(55, 100, 1.0, 10, "cosine") == pytest.approx(0.5)
    assert lr_at(99, 100, 1.0, 10, "cosine") < 0.01
    assert lr_at(50, 90, 1.0, 0, "step") == 1.0
    assert lr_at(60, 90, 1.0, 0, "step") == pytest.approx(0.1)
    assert lr_at(80, 90, 1.0, 0, "step") == pytest.approx(0.01)


# ---------------------------------------------------------------------------
# training


def test_train_writes_checkpoint_and_logs(trained):
    run, _ = trained
    ck = torch.load(run / "last.pt")
    assert {"model", "config", "labels", "optimizer", "iteration", "epoch", "rng"} <= set(ck)
    assert ck["labels"] == ["square", "disc"]  # category-id order
    assert ck["config"]["num_classes"] == 2 and ck["config"]["input"] == [128, 128]
    assert ck["iteration"] == 80 and ck["epoch"] == 40
    log = (run / "train.log").read_text().splitlines()
    epochs = [l for l in log if l.startswith("epoch ")]
    assert len(epochs) == 40 and epochs[-1].startswith("epoch 40/40 iter 80/80 loss ")
    m = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in m] == list(range(1, 81))
    assert np.mean([r["loss"] for r in m[-10:]]) < np.mean([r["loss"] for r in m[:10]])


def _losses(run):
    return [json.loads(l)["loss"] for l in (run / "metrics.jsonl").read_text().splitlines()]


def _same_state(a, b):
    sa, sb = torch.load(a / "last.pt")["model"], torch.load(b / "last.pt")["model"]
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_determinism_and_exact_resume(tiny, tmp_path):
    # 8 images, batch 4: 2 iterations per epoch; 2 epochs = 4 scheduled, stop at 3
    common = ["--epochs", "2", "--batch-size", "4", "--seed", "7", "--warmup-iters", "2"]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert _train(tiny, a, *common, "--max-iters", "3") == 0
    assert _train(tiny, b, *common, "--max-iters", "3") == 0
    assert len(_losses(a)) == 3 and _losses(a) == _losses(b)
    assert _same_state(a, b)
    # interrupted after 1 iteration, resumed (options from the run) up to 3
    assert _train(tiny, c, *common, "--max-iters", "1") == 0
    assert torch.load(c / "last.pt")["iteration"] == 1
    assert main(["train", "--out", str(c), "--resume", "--max-iters", "3", "--log-every", "1000"]) == 0
    assert torch.load(c / "last.pt")["iteration"] == 3
    assert _losses(c) == _losses(a)
    assert _same_state(a, c)
    # a different seed differs
    d = tmp_path / "d"
    assert _train(tiny, d, "--epochs", "2", "--batch-size", "4", "--seed", "8", "--max-iters", "1") == 0
    assert _losses(d)[0] != _losses(a)[0]


def test_init_from_a_model_file(trained, tiny, tmp_path):
    """--init copies every weight of a model file (lr 0: they stay); with other
    labels the class logits start fresh and everything else is copied."""
    _, model = trained
    src = load_model(model)[0].state_dict()
    out = tmp_path / "ft"
    assert main(["train", "--data", tiny[0], "--init", model, "--out", str(out), "--max-iters", "1",
                 "--lr", "0", "--weight-decay", "0", "--batch-size", "4", "--log-every", "1000"]) == 0
    got = torch.load(str(out / "last.pt"), map_location="cpu")["model"]
    weights = [k for k in src if k.endswith(".weight")]
    assert weights and all(torch.equal(got[k], src[k]) for k in weights)
    # a dataset with other class names: the logits are fresh, the rest copied
    other = tmp_path / "other"
    shutil.copytree(tiny[0], other)
    ann = other / "annotations" / "instances_train.json"
    js = json.loads(ann.read_text())
    for c in js["categories"]:
        c["name"] = "x" + c["name"]
    ann.write_text(json.dumps(js))
    out2 = tmp_path / "ft2"
    assert main(["train", "--data", str(other), "--init", model, "--out", str(out2), "--max-iters", "1",
                 "--lr", "0", "--weight-decay", "0", "--batch-size", "4", "--log-every", "1000"]) == 0
    got = torch.load(str(out2 / "last.pt"), map_location="cpu")["model"]
    logits = [k for k in weights if ".cls_logits." in k]
    assert logits and all(not torch.equal(got[k], src[k]) for k in logits)
    assert all(torch.equal(got[k], src[k]) for k in weights if k not in logits)


def test_init_refuses_another_architecture(trained, tiny, tmp_path, capsys):
    _, model = trained
    cfg = json.loads(open(tiny[1]).read())
    cfg["fpn_channels"] = cfg.get("fpn_channels", 8) * 2
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SystemExit) as e:
        main(["train", "--data", tiny[0], "--config", str(path), "--init", model, "--out",
              str(tmp_path / "r"), "--max-iters", "1"])
    assert "different architecture" in str(e.value)
    with pytest.raises(SystemExit) as e:
        main(["train", "--init", model, "--resume", "--out", str(tmp_path / "r")])
    assert "--init starts a new run" in str(e.value)


def test_resume_refuses_changed_batch_size(tiny, tmp_path):
    run = tmp_path / "r"
    assert _train(tiny, run, "--epochs", "1", "--batch-size", "4", "--max-iters", "1") == 0
    with pytest.raises(SystemExit, match="batch-size"):
        main(["train", "--out", str(run), "--resume", "--batch-size", "2"])


# ---------------------------------------------------------------------------
# export


def test_export_of_a_run_loads(trained, tiny):
    _, model = trained
    m, config, labels = load_model(model)
    assert labels == ["square", "disc"] and config.num_classes == 2
    if not os.path.exists(DETECT):
        pytest.skip("build/tools/cli/ipgnet-detect not built")
    data = CocoData(tiny[0], "train")
    r = subprocess.run([DETECT, "-m", model, "--threshold", "0.05", "--json", data.path(data.images[0])],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert all(d["label"] in ("square", "disc") for d in rec["detections"])


# ---------------------------------------------------------------------------
# evaluation


def _eval(model, data, *extra):
    py = coco_python()
    env = dict(os.environ, PYTHONPATH=TOOLS)
    r = subprocess.run([py, "-m", "ipgnet", "eval", "-m", model, "--data", data, *extra],
                       env=env, capture_output=True, text=True, timeout=120)
    return r


def _metrics(r):
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert [l.split()[0] for l in lines] == ["AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L"]
    return lines


@pytest.mark.parametrize("engine", ["torch", "opencl"])
def test_eval_prints_six_numbers(trained, tiny, tmp_path, engine):
    if engine == "opencl" and not os.path.exists(DETECT):
        pytest.skip("build/tools/cli/ipgnet-detect not built")
    _, model = trained
    out = tmp_path / "metrics.json"
    r = _eval(model, tiny[0], "--engine", engine, "--metrics-json", str(out))
    _metrics(r)
    m = json.loads(out.read_text())
    assert set(m) == {"AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L"}
    assert all(-1 <= v <= 1 for v in m.values())


def test_eval_input_size_is_used_by_both_engines(trained, tiny, tmp_path):
    """--input-size runs the network at another size: the results differ from
    the model's size, and the two engines still agree."""
    if not os.path.exists(DETECT):
        pytest.skip("build/tools/cli/ipgnet-detect not built")
    _, model = trained
    res = {}
    for engine, size in (("torch", None), ("torch", "192x192"), ("opencl", "192x192")):
        rj, mj = tmp_path / f"{engine}-{size}.json", tmp_path / f"{engine}-{size}.m.json"
        extra = ["--input-size", size] if size else []
        r = _eval(model, tiny[0], "--split", "train", "--limit", "6", "--engine", engine,
                  "--results-json", str(rj), "--metrics-json", str(mj), *extra)
        _metrics(r)
        res[(engine, size)] = (json.loads(rj.read_text()), json.loads(mj.read_text()))
    base, big, big_cl = res[("torch", None)], res[("torch", "192x192")], res[("opencl", "192x192")]
    assert [d["bbox"] for d in base[0]] != [d["bbox"] for d in big[0]]
    assert big[1]["AP"] > 0 and all(abs(big[1][k] - big_cl[1][k]) <= 0.001 for k in big[1])
    r = _eval(model, tiny[0], "--input-size", "100x96")
    assert r.returncode == 1 and "multiples of 32" in r.stderr


def test_engines_agree_within_0_1_ap(trained, tiny, tmp_path):
    """The issue's check: the OpenCL engine and the PyTorch reference give the
    same COCO AP (within 0.1 AP point) on a small subset, here the first 6
    training images, where the trained model does detect."""
    if not os.path.exists(DETECT):
        pytest.skip("build/tools/cli/ipgnet-detect not built")
    _, model = trained
    res = {}
    for engine in ("torch", "opencl"):
        mj, rj = tmp_path / f"{engine}.m.json", tmp_path / f"{engine}.r.json"
        r = _eval(model, tiny[0], "--split", "train", "--limit", "6", "--engine", engine,
                  "--metrics-json", str(mj), "--results-json", str(rj))
        _metrics(r)
        res[engine] = (json.loads(mj.read_text()), json.loads(rj.read_text()))
    (mt, rt), (mo, ro) = res["torch"], res["opencl"]
    assert mt["AP50"] > 0.05, f"the trained model should detect something: {mt}"
    for k in mt:
        assert abs(mt[k] - mo[k]) * 100 <= 0.1, (k, mt[k], mo[k])
    # the raw detections: every confident torch detection has an OpenCL twin
    assert abs(len(rt) - len(ro)) <= max(2, len(rt) // 50)
    for d in rt:
        if d["score"] < 0.1:
            continue
        twins = [e for e in ro if e["image_id"] == d["image_id"] and e["category_id"] == d["category_id"]
                 and abs(e["score"] - d["score"]) <= 1e-3
                 and max(abs(p - q) for p, q in zip(e["bbox"], d["bbox"])) <= 0.05]
        assert twins, d


def test_eval_without_pycocotools_says_how_to_install(trained, tiny, monkeypatch, capsys):
    _, model = trained
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    monkeypatch.setitem(sys.modules, "pycocotools.cocoeval", None)
    assert main(["eval", "-m", model, "--data", tiny[0]]) == 1
    assert "tools/setup-venv.sh" in capsys.readouterr().err


def test_eval_of_a_model_without_detections(tiny, tmp_path):
    # one iteration from scratch: every score is near the 0.01 prior, below 0.05
    run = tmp_path / "r"
    assert _train(tiny, run, "--epochs", "1", "--batch-size", "4", "--max-iters", "1") == 0
    model = str(tmp_path / "m.safetensors")
    assert main(["export", str(run), "-o", model]) == 0
    r = _eval(model, tiny[0], "--limit", "3")
    lines = _metrics(r)
    assert "no detections" in r.stderr
    assert lines[0].split()[1] == "0.00"


def test_train_refuses_a_bad_dataset(tmp_path, tiny, capsys):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_train.json").write_text('{"images": []}')
    assert main(["train", "--data", str(tmp_path), "--config", tiny[1], "--out",
                 str(tmp_path / "run")]) == 1
    assert "no 'annotations' list" in capsys.readouterr().err
