"""Command line: python3 -m ipgnet {random,detect,dump,compare,export,export-onnx,bench,info,synth,synth-video,train,eval} ..."""

import argparse
import json
import os
import sys


def _size(text):
    from .config import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _levels(text):
    text = text.strip()
    if not text:
        return []
    try:
        return [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ipg-levels must be a comma list like 2,3,4,5 (or ''), got {text!r}")


def _synth_size(text):
    """synth --size: N (square, as before) or WxH."""
    try:
        return int(text)
    except ValueError:
        return _size(text)


def _objects(text):
    try:
        lo, hi = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--objects must be LO,HI (e.g. 3,15), got {text!r}")
    return (lo, hi)


def _dtype(text):
    t = text.upper()
    if t not in ("F32", "F16"):
        raise argparse.ArgumentTypeError(f"dtype must be f32 or f16, got {text!r}")
    return t


def cmd_random(args):
    from .config import Config, ConfigError
    from .modelfile import save_model
    from .random_model import default_labels, random_model

    kwargs = dict(arch=args.arch, backbone=args.backbone, width=args.width,
                  num_classes=args.num_classes, input=args.input)
    if args.ipg_levels is not None:
        kwargs["ipg_levels"] = args.ipg_levels
    if args.fpn_channels is not None:
        kwargs["fpn_channels"] = args.fpn_channels
    for item in args.set:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError("no '='")
            kwargs[key] = json.loads(value)
        except ValueError as e:
            raise SystemExit(f"ipgnet random: --set {item!r}: expected KEY=JSON ({e})")
    try:
        config = Config.from_dict(kwargs)
    except ConfigError as e:
        raise SystemExit(f"ipgnet random: {e}")
    labels = args.labels.split(",") if args.labels else default_labels(config.num_classes)
    if len(labels) != config.num_classes:
        raise SystemExit(f"ipgnet random: {len(labels)} labels for --num-classes {config.num_classes}")
    model = random_model(config, args.seed)
    save_model(model, config, labels, args.output, args.dtype)
    return 0


def cmd_detect(args):
    from .detect import run

    return run(args)


def cmd_dump(args):
    from .stages import dump

    dump(args.model, args.image, args.output, args.tensor_out, args.input_size)
    return 0


def cmd_compare(args):
    from .stages import compare

    return compare(args.ref, args.ours, args.rtol)


def cmd_export(args):
    from .export import export

    export(args.checkpoint, args.output, args.dtype)
    return 0


def cmd_export_onnx(args):
    from .export_onnx import (BOX_HEAD_OUTPUTS, TWO_STAGE_OUTPUTS, export_box_head_onnx, export_onnx,
                              export_two_stage_onnx, output_names)

    if args.box_head and args.two_stage_full:
        print("ipgnet export-onnx: --box-head and --two-stage-full exclude each other", file=sys.stderr)
        return 1
    if args.two_stage_full:
        try:
            _, size = export_two_stage_onnx(args.model, args.output, args.input_size, args.opset)
        except ValueError as e:
            print(f"ipgnet export-onnx: {e}", file=sys.stderr)
            return 1
        print(f"{args.output}: opset {args.opset}, input [1, 3, {size[1]}, {size[0]}], "
              f"outputs {', '.join(TWO_STAGE_OUTPUTS)} (R dynamic)")
        return 0
    if args.box_head:
        try:
            _, shape = export_box_head_onnx(args.model, args.output, args.rois, args.opset)
        except ValueError as e:
            print(f"ipgnet export-onnx: {e}", file=sys.stderr)
            return 1
        print(f"{args.output}: opset {args.opset}, input roi_features {shape}, "
              f"outputs {', '.join(BOX_HEAD_OUTPUTS)}")
        return 0
    config, size = export_onnx(args.model, args.output, args.input_size, args.opset)
    print(f"{args.output}: opset {args.opset}, input [1, 3, {size[1]}, {size[0]}], "
          f"outputs {', '.join(output_names(config))}")
    return 0


def cmd_bench(args):
    from .bench import bench

    return bench(args.model, args.image, args.runs, args.threads, args.input_size, args.device, args.tf32)


def cmd_info(args):
    from .info import cmd_info as run

    return run(args)


def cmd_synth(args):
    from .synth import cmd_synth as run

    return run(args)


def cmd_synth_video(args):
    from .synth_video import cmd_synth_video as run

    return run(args)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m ipgnet", description="IPG-Net Python reference")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("random", help="write a seeded random (calibrated) model file")
    r.add_argument("--arch", default="retinanet", choices=["retinanet", "fasterrcnn"],
                   help="IPG-RetinaNet (default) or IPG-Faster R-CNN; the arch's defaults apply")
    r.add_argument("--backbone", default="resnet18",
                   choices=["resnet18", "resnet34", "resnet50", "resnet101"])
    r.add_argument("--width", type=float, default=1.0)
    r.add_argument("--num-classes", type=int, required=True)
    r.add_argument("--input", type=_size, default=[512, 512], help="WxH network input (multiples of 32)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--ipg-levels", type=_levels, default=None, help="e.g. 2,3,4,5; '' for plain FPN")
    r.add_argument("--fpn-channels", type=int, default=None)
    r.add_argument("--labels", default=None, help="comma separated class names")
    r.add_argument("--dtype", type=_dtype, default="F32")
    r.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="any other config field, as JSON (e.g. representation_size=64); repeatable")
    r.add_argument("-o", "--output", required=True)
    r.set_defaults(func=cmd_random)

    d = sub.add_parser("detect", help="detect objects in images (JSON Lines with --json)")
    d.add_argument("-m", "--model", required=True)
    d.add_argument("--threshold", type=float, default=0.5)
    d.add_argument("--json", action="store_true")
    d.add_argument("--input-size", type=_size, default=None)
    from .cli_train_eval import add_tile_arguments

    add_tile_arguments(d)
    d.add_argument("images", nargs="+")
    d.set_defaults(func=cmd_detect)

    u = sub.add_parser("dump", help="write every named intermediate to a safetensors file")
    u.add_argument("-m", "--model", required=True)
    u.add_argument("image")
    u.add_argument("-o", "--output", required=True)
    u.add_argument("--tensor-out", default=None, help="also write the input tensor as raw float32")
    u.add_argument("--input-size", type=_size, default=None)
    u.set_defaults(func=cmd_dump)

    c = sub.add_parser("compare", help="compare two stage dumps")
    c.add_argument("ref")
    c.add_argument("ours")
    c.add_argument("--rtol", type=float, default=1e-4)
    c.set_defaults(func=cmd_compare)

    e = sub.add_parser("export", help="training checkpoint (or run dir) -> model file")
    e.add_argument("checkpoint")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--dtype", type=_dtype, default="F32")
    e.set_defaults(func=cmd_export)

    o = sub.add_parser("export-onnx", help="model file -> ONNX graph of the network (input: normalised tensor; "
                                           "outputs: the raw head tensors)")
    o.add_argument("-m", "--model", required=True)
    o.add_argument("-o", "--output", required=True)
    o.add_argument("--input-size", type=_size, default=None, help="WxH (default: the model's input)")
    o.add_argument("--opset", type=int, default=17, choices=range(13, 18), metavar="13..17",
                   help="ONNX opset (default 17)")
    o.add_argument("--box-head", action="store_true",
                   help="Faster R-CNN: the box head alone (input roi_features [R, C, s, s])")
    o.add_argument("--rois", type=int, default=1000, help="with --box-head: RoIs R (default 1000)")
    o.add_argument("--two-stage-full", action="store_true",
                   help="Faster R-CNN: one graph from the input to the box predictor (proposal selection and "
                        "RoIAlign included); outputs proposals [R, 4], class_logits, box_regression")
    o.set_defaults(func=cmd_export_onnx)

    b = sub.add_parser("bench", help="time the PyTorch reference on one image (CPU or CUDA)")
    b.add_argument("-m", "--model", required=True)
    b.add_argument("image")
    b.add_argument("--runs", type=int, default=5)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--input-size", type=_size, default=None)
    b.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    b.add_argument("--tf32", action="store_true", help="on CUDA, let convolutions and matmuls use TF32")
    b.set_defaults(func=cmd_bench)

    # synthetic data (tools/ipgnet/synth.py, synth_video.py)
    sy = sub.add_parser("synth", help="build the synthetic small-object set (COCO format) from opencv-doc data")
    sy.add_argument("--out", required=True, help="output directory")
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--train-images", type=int, default=2000)
    sy.add_argument("--val-images", type=int, default=300)
    sy.add_argument("--size", type=_synth_size, default=512,
                    help="N (square side) or WxH, e.g. 1920x1080 (object sizes stay 8..48 px)")
    sy.add_argument("--objects", type=_objects, default=(3, 15), metavar="LO,HI",
                    help="objects tried per image, uniform in [LO, HI] (default 3,15)")
    sy.add_argument("--workers", type=int, default=None, help="processes (the output does not depend on it)")
    sy.add_argument("--data-dir", default=None, help="opencv-doc data directory")
    sy.set_defaults(func=cmd_synth)

    i = sub.add_parser("info", help="config, labels, parameters and convolution GFLOP of a model file")
    i.add_argument("-m", "--model", required=True)
    i.add_argument("--input-size", type=_size, default=None)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    sv = sub.add_parser("synth-video", help="write a sample MP4 (+ ground-truth JSON Lines) of moving digits")
    sv.add_argument("--out", required=True, help="FILE.mp4 (ground truth in FILE.gt.jsonl) or a directory")
    sv.add_argument("--seed", type=int, default=0)
    sv.add_argument("--frames", type=int, default=300)
    sv.add_argument("--fps", type=int, default=25)
    sv.add_argument("--size", type=_size, default=[768, 576], help="WxH (even numbers)")
    sv.add_argument("--objects", type=int, default=None, help="number of moving digits (default: 5..12)")
    sv.add_argument("--background", choices=["auto", "vtest", "photo"], default="auto",
                    help="vtest.avi footage (auto: if GStreamer can decode it) or a panning photo")
    sv.add_argument("--data-dir", default=None, help="opencv-doc data directory")
    sv.set_defaults(func=cmd_synth_video)

    # training and evaluation (tools/ipgnet/train.py, evaluate.py)
    from .cli_train_eval import add_eval_parser, add_train_parser

    add_train_parser(sub)
    add_eval_parser(sub)

    args = p.parse_args(argv)
    from .config import ConfigError
    from .modelfile import ModelFileError

    try:
        return args.func(args)
    except BrokenPipeError:
        # output closed early (e.g. piped into head): not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except (ConfigError, ModelFileError, OSError) as e:
        print(f"ipgnet {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
