import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import TOOLS
from ipgnet.__main__ import main
from ipgnet.modelfile import load_model, read_safetensors, write_safetensors
from ipgnet.preprocess import boxes_to_frame, letterbox, load_image


def _run(*args):
    env = dict(os.environ, PYTHONPATH=TOOLS)
    return subprocess.run(["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                           "-m", "ipgnet", *args], env=env, capture_output=True, text=True, timeout=120)


def test_detect_cli_end_to_end(model_file, png_image, tmp_path):
    missing = str(tmp_path / "nope.png")
    r = _run("detect", "-m", model_file, "--json", "--threshold", "0.3", png_image, missing, png_image)
    assert r.returncode == 1
    assert "nope.png" in r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    rec = json.loads(lines[0])
    assert list(rec) == ["image", "width", "height", "detections"]
    assert rec["image"] == png_image and (rec["width"], rec["height"]) == (150, 110)
    dets = rec["detections"]
    assert dets, "the random model should detect something at 0.3"
    # default json.dumps separators
    assert lines[0] == json.dumps(rec)
    scores = [d["score"] for d in dets]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0.3
    for d in dets:
        assert list(d) == ["label", "label_id", "score", "box"]
        assert d["label"] == ["cat", "dog", "bird"][d["label_id"]]
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 <= x2 <= 150 and 0 <= y1 <= y2 <= 110
    # same numbers as the library path
    model, config, labels = load_model(model_file)
    img = load_image(png_image)
    x, s = letterbox(img, config.input, config.mean, config.std)
    _, det = model.forward_tensor(x[None])
    keep = det["scores"] >= 0.3
    boxes = boxes_to_frame(det["boxes"][keep], s, 150, 110)
    assert [d["box"] for d in dets] == [[round(v, 3) for v in b] for b in boxes]
    assert scores == [round(v, 6) for v in det["scores"][keep].tolist()]


def test_detect_text_output(model_file, png_image, capsys):
    assert main(["detect", "-m", model_file, "--threshold", "0.99999", png_image]) == 0
    out = capsys.readouterr().out
    assert png_image in out


def test_detect_input_size(model_file, png_image, capsys):
    assert main(["detect", "-m", model_file, "--json", "--input-size", "160x128", png_image]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["width"] == 150


def test_dump_and_compare(model_file, png_image, tmp_path, capsys):
    ref = tmp_path / "ref.safetensors"
    raw = tmp_path / "input.bin"
    assert main(["dump", "-m", model_file, png_image, "-o", str(ref), "--tensor-out", str(raw)]) == 0
    stages, meta = read_safetensors(str(ref))
    order = json.loads(meta["order"])
    assert order[:6] == ["input", "pyramid.i4", "pyramid.i8", "pyramid.i16", "pyramid.i32", "backbone.stem"]
    assert order[6:10] == ["backbone.c2", "ipg.g2", "ipg.f2", "backbone.c3"]
    assert order[-3:] == ["detections.boxes", "detections.scores", "detections.labels"]
    assert [n for n in order if n.startswith("fpn.")] == [f"fpn.p{i}" for i in range(3, 8)]
    assert set(order) == set(stages)
    assert stages["input"].shape == (3, 96, 128)
    assert stages["head.cls.p3"].shape == (27, 12, 16)
    assert stages["head.box.p7"].shape == (36, 1, 1)
    assert stages["detections.boxes"].shape[1] == 4
    assert float(meta["scale"]) == min(128 / 150, 96 / 110)
    flat = np.fromfile(str(raw), dtype="<f4")
    assert np.array_equal(flat, stages["input"].numpy().ravel())
    capsys.readouterr()

    assert main(["compare", str(ref), str(ref)]) == 0
    assert "all stages match" in capsys.readouterr().out

    bad = dict(stages)
    bad["fpn.p4"] = bad["fpn.p4"].clone()
    bad["fpn.p4"][0, 0, 0] += 1e-2 * float(bad["fpn.p4"].abs().max())
    bad["head.cls.p5"] = bad["head.cls.p5"] * 1.01
    write_safetensors(str(tmp_path / "ours.safetensors"), bad, meta)
    assert main(["compare", str(ref), str(tmp_path / "ours.safetensors")]) == 1
    out = capsys.readouterr().out
    assert "first mismatch: fpn.p4" in out

    # tiny differences pass
    ok = {k: v * (1 + 1e-6) for k, v in stages.items()}
    write_safetensors(str(tmp_path / "ok.safetensors"), ok, meta)
    assert main(["compare", str(ref), str(tmp_path / "ok.safetensors")]) == 0
    capsys.readouterr()

    # missing stages are reported
    part = {k: v for k, v in stages.items() if not k.startswith("ipg.")}
    write_safetensors(str(tmp_path / "part.safetensors"), part, meta)
    assert main(["compare", str(ref), str(tmp_path / "part.safetensors")]) == 1
    out = capsys.readouterr().out
    assert "ipg.g2" in out and "MISSING" in out


def test_dump_matches_forward(model_file, png_image, tmp_path):
    ref = tmp_path / "ref.safetensors"
    assert main(["dump", "-m", model_file, png_image, "-o", str(ref)]) == 0
    stages, _ = read_safetensors(str(ref))
    model, config, _ = load_model(model_file)
    x = stages["input"][None]
    heads, det = model.forward_tensor(x)
    for i, lvl in enumerate(["p3", "p4", "p5", "p6", "p7"]):
        assert torch.equal(stages[f"head.cls.{lvl}"], heads["cls_logits"][i][0])
        assert torch.equal(stages[f"head.box.{lvl}"], heads["bbox_regression"][i][0])
    assert torch.equal(stages["detections.labels"], det["labels"].float())


def test_cli_reports_bad_model(tmp_path, png_image, capsys):
    p = tmp_path / "junk.safetensors"
    p.write_bytes(b"\x00" * 3)
    assert main(["detect", "-m", str(p), png_image]) == 1
    assert "too short" in capsys.readouterr().err


def test_bench_prints_min_and_median(model_file, png_image, capsys):
    threads = torch.get_num_threads()
    try:
        assert main(["bench", "-m", model_file, png_image, "--runs", "3", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)   # bench pins the process's threads
    out = capsys.readouterr().out
    assert out.count("detections") == 3 and "device=cpu threads=1" in out
    lo = float(out.split("min_ms=")[1].split()[0])
    med = float(out.split("median_ms=")[1].split()[0])
    assert 0 < lo <= med


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_bench_on_cuda_without_cuda_says_so(model_file, png_image, capsys):
    assert main(["bench", "-m", model_file, png_image, "--device", "cuda"]) == 1
    assert "sees no CUDA device" in capsys.readouterr().err
    assert main(["bench", "-m", model_file, png_image, "--device", "tpu9"]) == 1
    assert "--device 'tpu9'" in capsys.readouterr().err
