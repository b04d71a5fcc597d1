"""Argument parsers of ``train`` and ``eval`` (kept free of heavy imports so that
``python3 -m ipgnet --help`` stays fast); the work is in train.py and evaluate.py."""

import argparse
import json
import sys


def cmd_train(args):
    from .data import DataError
    from .train import train

    try:
        train(args)
    except KeyboardInterrupt:
        return 130
    except FloatingPointError as e:
        print(f"ipgnet train: {e}", file=sys.stderr)
        return 1
    except DataError as e:
        print(f"ipgnet train: {e}", file=sys.stderr)
        return 1
    return 0


def add_train_parser(sub):
    def jitter(text):
        try:
            lo, hi = (float(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"--scale-jitter must be LO,HI, got {text!r}")
        return (lo, hi)

    def crop_size(text):
        try:
            w, h = (int(v) for v in text.lower().split("x"))
        except ValueError:
            raise ValueError(f"--crop must be WxH, got {text!r}")
        return (w, h)

    t = sub.add_parser("train", help="train on a COCO-format dataset (checkpoints in RUN_DIR)")
    t.add_argument("--data", default=None, help="dataset dir (annotations/instances_train.json, train/)")
    t.add_argument("--config", default=None, help="JSON file of config fields")
    t.add_argument("--out", required=True, help="run directory (last.pt, train.log, ...)")
    t.add_argument("--resume", action="store_true", help="continue RUN_DIR/last.pt")
    t.add_argument("--init", default=None, metavar="MODEL",
                   help="start from the weights of a model file (same architecture; the class logits "
                        "start fresh when its labels differ from the dataset's); --config defaults to its config")
    t.add_argument("--epochs", type=int, default=None, help="default 12")
    t.add_argument("--batch-size", type=int, default=None, help="default 8")
    t.add_argument("--lr", type=float, default=None, help="default 0.01 (sgd), 0.001 (adamw)")
    t.add_argument("--optimizer", choices=["sgd", "adamw"], default=None, help="default adamw")
    t.add_argument("--weight-decay", type=float, default=None, help="default 1e-4 (sgd), 0.05 (adamw)")
    t.add_argument("--warmup-iters", type=int, default=None, help="default min(1000, total/10)")
    t.add_argument("--schedule", choices=["cosine", "step"], default=None)
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--workers", type=int, default=None, help="DataLoader worker processes (default 0)")
    t.add_argument("--max-iters", type=int, default=None,
                   help="stop at this global iteration (the schedule still spans --epochs)")
    t.add_argument("--flip", type=float, default=None, help="horizontal flip probability (0.5)")
    t.add_argument("--scale-jitter", type=jitter, default=None, help="LO,HI resize factor (0.75,1.25)")
    t.add_argument("--crop", type=crop_size, default=None,
                   help="WxH random training crop at the input's scale (default: the whole input)")
    t.add_argument("--clip-grad", type=float, default=None, help="gradient norm clip (10; 0 = off)")
    t.add_argument("--freeze-bn", action="store_true", default=None,
                   help="BatchNorm in eval mode with frozen parameters")
    t.add_argument("--log-every", type=int, default=None)
    t.add_argument("--save-every", type=int, default=None, help="also save last.pt every N iterations")
    t.add_argument("--keep-epochs", action="store_true", default=None, help="also keep epoch_N.pt")
    t.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N")
    t.set_defaults(func=cmd_train)
    return t


def add_tile_arguments(p):
    """The tiling flags shared by detect and eval (tiling.py has the algorithm)."""
    def tile(text):
        from .tiling import TilingError, parse_tile_size

        try:
            return parse_tile_size(text)
        except TilingError as e:
            raise argparse.ArgumentTypeError(str(e))

    g = p.add_argument_group("tiled inference (off without --tile)")
    g.add_argument("--tile", type=tile, default=None, metavar="WxH",
                   help="cut the frame into overlapping WxH tiles, all run in one batch")
    g.add_argument("--tile-overlap", type=float, default=None, metavar="F",
                   help="overlap fraction of neighbouring tiles, 0..0.9 (default 0.2)")
    g.add_argument("--no-full-frame", action="store_true",
                   help="no full-frame pass besides the tiles")
    g.add_argument("--tile-merge", choices=["nms", "nmm"], default=None,
                   help="merge across tiles: class-wise NMS or greedy NMM (default nmm)")
    g.add_argument("--tile-match-metric", choices=["iou", "ios"], default=None,
                   help="box match metric of the merge (default ios: intersection over the smaller box)")
    g.add_argument("--tile-match-threshold", type=float, default=None, metavar="T",
                   help="boxes match above this metric, 0..1 (default 0.5)")
    g.add_argument("--max-tiles", type=int, default=None, metavar="N",
                   help="refuse frames that need more tiles (default 64; the full frame not counted)")


TILE_FLAGS = (("tile_overlap", "--tile-overlap", "overlap"), ("tile_merge", "--tile-merge", "merge"),
              ("tile_match_metric", "--tile-match-metric", "metric"),
              ("tile_match_threshold", "--tile-match-threshold", "threshold"),
              ("max_tiles", "--max-tiles", "max_tiles"))


def tile_options(args):
    """args -> a validated tiling.TileOptions, or None when --tile is absent.
    Raises tiling.TilingError on a bad value or a tiling flag without --tile."""
    from .tiling import TileOptions, TilingError

    given = [flag for attr, flag, _ in TILE_FLAGS if getattr(args, attr) is not None]
    if args.no_full_frame:
        given.append("--no-full-frame")
    if args.tile is None:
        if given:
            raise TilingError(f"{given[0]} needs --tile WxH")
        return None
    kw = {key: getattr(args, attr) for attr, _, key in TILE_FLAGS if getattr(args, attr) is not None}
    return TileOptions(size=tuple(args.tile), full_frame=not args.no_full_frame, **kw).validate()


def cmd_eval(args):
    from .data import DataError
    from .evaluate import EvalError, evaluate, format_metrics
    from .tiling import TilingError

    def log(msg):
        print(msg, file=sys.stderr)

    try:
        tile = tile_options(args)
    except TilingError as e:
        print(f"ipgnet eval: {e}", file=sys.stderr)
        return 2
    try:
        metrics, results = evaluate(args.model, args.data, args.split, args.engine, args.limit,
                                    args.detect, args.device, log, args.input_size, tile)
    except (EvalError, DataError, TilingError) as e:
        print(f"ipgnet eval: {e}", file=sys.stderr)
        return 1
    print(format_metrics(metrics))
    if args.metrics_json:
        with open(args.metrics_json, "w", encoding="utf-8") as f:
            json.dump(metrics, f)
            f.write("\n")
    if args.results_json:
        with open(args.results_json, "w", encoding="utf-8") as f:
            json.dump(results, f)
    return 0


def add_eval_parser(sub):
    def size(text):
        from .config import parse_size

        return parse_size(text)

    e = sub.add_parser("eval", help="COCO AP of a model file on a COCO-format split (pycocotools)")
    e.add_argument("-m", "--model", required=True)
    e.add_argument("--data", required=True, help="dataset dir (annotations/instances_<split>.json)")
    e.add_argument("--split", default="val")
    e.add_argument("--engine", choices=["torch", "opencl"], default="torch")
    e.add_argument("--limit", type=int, default=None, help="first N images (by id)")
    e.add_argument("--detect", default=None, help="ipgnet-detect binary (opencl engine; default "
                   "build/tools/cli/ipgnet-detect)")
    e.add_argument("--device", default=None, help="OpenCL device for ipgnet-detect")
    e.add_argument("--input-size", type=size, default=None,
                   help="WxH network input (multiples of 32) instead of the model's")
    add_tile_arguments(e)
    e.add_argument("--metrics-json", default=None, help="also write the metrics (fractions) here")
    e.add_argument("--results-json", default=None, help="also write the COCO results here")
    e.set_defaults(func=cmd_eval)
    return e
