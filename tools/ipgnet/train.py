"""``train``: train IPG-RetinaNet or IPG-Faster R-CNN on a COCO-format dataset.

    python3 -m ipgnet train --data DIR --config CONFIG.json --out RUN_DIR [options]
    python3 -m ipgnet train --out RUN_DIR --resume [--epochs N ...]
    python3 -m ipgnet train --data DIR --init MODEL.safetensors --out RUN_DIR [options]

Data: see data.py (DIR/annotations/instances_train.json + DIR/train/).
CONFIG: a JSON object of Config fields (config.py); ``num_classes`` comes from
the dataset's categories (it may be given, but must then match) and the labels
are the category names in category-id order.

``--init MODEL`` starts a new run from a model file's weights (fine-tuning,
or more training of a shipped model): same architecture, BN statistics
included; the class logits start fresh when the file's labels are not the
dataset's. The optimizer state and the schedule start anew.

Model: ``build_model(config)`` from scratch (no ImageNet weights offline):
IPGNet for ``"arch": "retinanet"``, IPGFasterRCNN (fasterrcnn.py) for
``"arch": "fasterrcnn"``; torchvision default initialisation, the IPG fusion
BN weight and bias zero (guidance.py), RetinaNet head prior 0.01 (retinanet),
RPN convs N(0, 0.01) (fasterrcnn).  The dataset's 0-based labels go to the
model as they are (IPGFasterRCNN shifts them past torchvision's background
class itself).  Logged losses: "cls" = focal loss (retinanet), or RoI
classifier + RPN objectness (fasterrcnn); "box" = box regression, or RoI box +
RPN box (fasterrcnn); "loss" = cls + box, the optimised sum.  Fasterrcnn
samples proposals at torchvision's train-time RPN top-n (2000 / 2000).
BatchNorm trains in train mode (batch statistics; meant for batches >= 4 --
from scratch a frozen BN would be an identity and the network would train
without normalisation); ``--freeze-bn`` keeps every BN
in eval mode with frozen affine parameters, for fine-tuning a model whose BN
statistics are already good.

Optimisation: AdamW (the default: weight decay 0.05, lr 1e-3) or SGD
(momentum 0.9, weight decay 1e-4, lr 0.01); weight decay on every parameter.
AdamW is the default because the model trains from scratch with small
batches: on the tiny test set 80 iterations of AdamW (lr 2e-3) reach AP50 ~20
where SGD (lr 0.02) has not left the focal-loss plateau yet; gradient norm
clipped to ``--clip-grad`` (10; 0 = off).  The learning rate is a pure
function of the global iteration: linear warm-up from 0.001 x lr over
``--warmup-iters`` (default min(1000, total / 10)), then cosine to 0 over the
remaining iterations, or (``--schedule step``) x0.1 at 2/3 and 8/9 of the
total.  One epoch = floor(images / batch) iterations (the remainder of the
shuffled order is dropped; a dataset smaller than a batch gives one short
batch per epoch).

Determinism: ``--seed`` seeds the initialisation (torch.manual_seed), the
shuffle (a torch.Generator seeded from (seed, epoch)) and the augmentation
(a numpy Generator per sample seeded from (seed, epoch, index), see data.py),
so the data a run sees does not depend on ``--workers`` or on where it was
interrupted; ``torch.use_deterministic_algorithms(True)`` is on.  On the CPU
two runs with the same seed, thread count and machine give bit-identical
losses and weights, and ``--resume`` continues exactly (the checkpoint holds
weights, BN statistics, optimizer state (momentum / Adam moments), the
iteration, the epoch's running loss sums and the RNG states).  Left
nondeterministic: on CUDA the backward passes of bilinear / nearest
interpolation (the image pyramid, the FPN top-down path) use atomics, so
deterministic mode is set warn-only there and CUDA runs differ in the last
bits; results also differ between thread counts and CPUs (float reduction
order).

Outputs in RUN_DIR:
    last.pt            checkpoint after every epoch (and at --save-every, at
                       --max-iters, and on Ctrl-C): {"model", "config",
                       "labels", "optimizer", "iteration", "epoch",
                       "iters_per_epoch", "epoch_sums", "args", "rng"}
    epoch_N.pt         the same, kept per epoch with --keep-epochs
    config.json        the model config; labels.json the class names
    train.log          one line per epoch (mean loss, cls, box, lr, time)
    metrics.jsonl      one line per iteration {"iter", "epoch", "loss", "cls",
                       "box", "lr"}
Progress goes to stderr: a single updating line on a terminal, otherwise a
line every ``--log-every`` iterations.
"""

import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

from .config import Config, ConfigError
from .data import CocoData, TrainSet, collate
from .model import build_model

DEFAULTS = dict(
    epochs=12, batch_size=8, lr=None, optimizer="adamw", momentum=0.9, weight_decay=None,
    warmup_iters=None, schedule="cosine", seed=0, workers=0, max_iters=None,
    flip=0.5, scale_jitter=(0.75, 1.25), clip_grad=10.0, freeze_bn=False,
    log_every=20, save_every=0, keep_epochs=False, device="auto", crop=None, init=None,
)
# what must not change when a run is resumed; the other options default to the
# run's (except --max-iters) and may be changed, e.g. a larger --epochs
FIXED_ON_RESUME = ("batch_size", "optimizer", "seed")


def threads_from_env():
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", "2"))
    except ValueError:
        n = 2
    return max(1, n)


def lr_at(it, total, base, warmup, schedule):
    """Learning rate of iteration ``it`` (0-based) of ``total``."""
    f = 1.0
    if it < warmup:
        a = it / warmup
        f = 0.001 * (1 - a) + a
    if schedule == "cosine":
        span = max(1, total - warmup)
        t = min(max(it - warmup, 0), span) / span
        f *= 0.5 * (1 + math.cos(math.pi * t))
    elif schedule == "step":
        for frac in (2 / 3, 8 / 9):
            if it >= int(frac * total):
                f *= 0.1
    return base * f


def _fmt_time(sec):
    sec = int(max(0, sec))
    h, r = divmod(sec, 3600)
    m, s = divmod(r, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Plain-text progress on stderr."""

    def __init__(self, total, start, log_every, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.log_every = max(1, log_every)
        self.t0 = time.monotonic()
        self.start = start
        self.rate = None
        self.last_t = self.t0
        self.last_it = start
        self.ema = None

    def update(self, it, epoch, epochs, loss, cls, box, lr, force=False):
        now = time.monotonic()
        vals = np.array([loss, cls, box])
        self.ema = vals if self.ema is None else 0.9 * self.ema + 0.1 * vals
        if now - self.last_t >= 1.0 or it - self.last_it >= self.log_every:
            inst = (it - self.last_it) / max(now - self.last_t, 1e-9)
            self.rate = inst if self.rate is None else 0.7 * self.rate + 0.3 * inst
            self.last_t, self.last_it = now, it
        rate = self.rate or (it - self.start) / max(now - self.t0, 1e-9)
        eta = (self.total - it) / rate if rate > 0 else 0
        width = 20
        done = int(width * it / max(1, self.total))
        bar = "#" * done + "." * (width - done)
        line = (f"[{bar}] epoch {epoch}/{epochs} it {it}/{self.total} "
                f"loss {self.ema[0]:.4f} (cls {self.ema[1]:.4f} box {self.ema[2]:.4f}) "
                f"lr {lr:.5f} {rate:.2f} it/s ETA {_fmt_time(eta)}")
        if self.tty:
            self.stream.write("\r" + line + "\033[K")
            if force:
                self.stream.write("\n")
        elif force or it % self.log_every == 0:
            self.stream.write(line + "\n")
        self.stream.flush()


def _bn_eval(model):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


def _rng_state():
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def _set_rng_state(s):
    if not s:
        return
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])


def _save(path, obj):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _worker_init(_):
    torch.set_num_threads(1)


def resolve_args(args):
    """Fill unset options: from the checkpoint on --resume, then DEFAULTS."""
    ckpt = None
    out = args.out
    if args.resume and getattr(args, "init", None):
        raise SystemExit("ipgnet train: --init starts a new run and --resume continues one: give one of them")
    if args.resume:
        path = os.path.join(out, "last.pt")
        if not os.path.exists(path):
            raise SystemExit(f"ipgnet train: --resume but {path} does not exist")
        # our own checkpoint: it holds RNG states, which torch >= 2.6 refuses by default
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        saved = ckpt.get("args", {})
        for k in FIXED_ON_RESUME:
            v = getattr(args, k, None)
            if v is not None and k in saved and v != saved[k]:
                raise SystemExit(f"ipgnet train: --{k.replace('_', '-')} {v} differs from the "
                                 f"run's {saved[k]} (cannot change on --resume)")
        for k, v in saved.items():
            if getattr(args, k, None) is None and k not in ("resume", "out", "max_iters"):
                setattr(args, k, v)
    for k, v in DEFAULTS.items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    if args.lr is None:
        args.lr = 0.01 if args.optimizer == "sgd" else 1e-3
    if args.weight_decay is None:
        args.weight_decay = 1e-4 if args.optimizer == "sgd" else 0.05
    if args.data is None:
        raise SystemExit("ipgnet train: --data is required")
    if args.config is None and ckpt is None and args.init is None:
        raise SystemExit("ipgnet train: --config (or --init MODEL) is required")
    return ckpt


def build_config(args, data, ckpt):
    if ckpt is not None:
        config = Config.from_dict(ckpt["config"])
        if list(ckpt["labels"]) != data.labels:
            raise SystemExit(f"ipgnet train: the dataset's classes {data.labels} differ from the "
                             f"run's {ckpt['labels']}")
        return config
    if args.config is None:  # --init MODEL without --config: the model file's config
        from .modelfile import load_model

        d = load_model(args.init)[1].to_dict()
    elif isinstance(args.config, dict):
        d = dict(args.config)
    else:
        with open(args.config, encoding="utf-8") as f:
            try:
                d = json.load(f)
            except ValueError as e:
                raise ConfigError(f"{args.config}: not valid JSON ({e})")
    n = len(data.labels)
    if "num_classes" in d and d["num_classes"] != n:
        raise ConfigError(f"{args.config}: num_classes {d['num_classes']} but the dataset has "
                          f"{n} categories")
    d["num_classes"] = n
    return Config.from_dict(d)


# loss dict keys -> the "cls" / "box" sums that are logged (loss = cls + box)
CLS_LOSSES = ("classification", "loss_classifier", "loss_objectness")
BOX_LOSSES = ("bbox_regression", "loss_box_reg", "loss_rpn_box_reg")


def split_losses(losses):
    """(cls, box) of a RetinaNet or Faster R-CNN loss dict."""
    unknown = set(losses) - set(CLS_LOSSES) - set(BOX_LOSSES)
    if unknown:
        raise ValueError(f"unexpected loss terms {sorted(unknown)}")
    cls = sum(losses[k] for k in CLS_LOSSES if k in losses)
    box = sum(losses[k] for k in BOX_LOSSES if k in losses)
    return cls, box


def class_specific(name, arch):
    """Tensors whose shape depends on the classes (they start fresh on --init
    with other labels): RetinaNet's cls_logits, Faster R-CNN's box predictor."""
    if arch == "fasterrcnn":
        return name.startswith("roi_heads.box_predictor.")
    return ".cls_logits." in name


def init_from_model_file(model, path, labels, log=sys.stderr):
    """Copy the weights of model file `path` into `model` (same architecture).
    The class-specific tensors (``class_specific``) are kept only when the
    file's labels equal the dataset's; otherwise they keep their fresh
    initialisation (fine-tuning to new classes)."""
    from .model import model_state
    from .modelfile import load_model

    src, src_config, src_labels = load_model(path)
    arch = model.config.arch
    if src_config.arch != arch:
        raise SystemExit(f"ipgnet train: --init {path}: a {src_config.arch} model, the training "
                         f"config is {arch} (a different architecture)")
    have = model_state(src)
    want = model.state_dict()
    fresh = []
    for k, v in want.items():
        if k.endswith("num_batches_tracked"):
            continue
        if class_specific(k, arch) and list(src_labels) != list(labels):
            fresh.append(k)
            continue
        if k not in have or tuple(have[k].shape) != tuple(v.shape):
            got = tuple(have[k].shape) if k in have else "missing"
            raise SystemExit(f"ipgnet train: --init {path}: tensor {k} is {got}, the training config "
                             f"needs {tuple(v.shape)} (a different architecture)")
    model.load_state_dict({k: v for k, v in have.items() if k in want and k not in fresh}, strict=False)
    if fresh:
        log.write(f"ipgnet train: --init {path}: labels differ from the dataset's, so the class-specific "
                  f"tensors start fresh ({', '.join(fresh)})\n")


def make_optimizer(args, model):
    params = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "sgd":
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                               weight_decay=args.weight_decay)
    if args.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    raise SystemExit(f"ipgnet train: unknown optimizer {args.optimizer!r}")


def train(args):
    """Run (or resume) training.  Returns the list of per-iteration metric dicts
    of this invocation."""
    ckpt = resolve_args(args)
    torch.set_grad_enabled(True)  # in case a caller in this process turned it off
    torch.set_num_threads(threads_from_env())
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.use_deterministic_algorithms(True)

    data = CocoData(args.data, "train")
    config = build_config(args, data, ckpt)
    labels = data.labels
    n = len(data.images)
    if n == 0:
        raise SystemExit(f"ipgnet train: no images in {args.data}/annotations/instances_train.json")
    B = int(args.batch_size)
    ipe = max(1, n // B)
    total = int(args.epochs) * ipe
    warmup = args.warmup_iters if args.warmup_iters is not None else min(1000, max(1, total // 10))
    args.warmup_iters = warmup
    stop = min(total, int(args.max_iters)) if args.max_iters else total

    torch.manual_seed(int(args.seed))
    np.random.seed(int(args.seed) % 2 ** 32)
    random.seed(int(args.seed))
    model = build_model(config)
    if args.init and ckpt is None:
        init_from_model_file(model, args.init, labels)
    if args.freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                for p in m.parameters():
                    p.requires_grad_(False)
    model.to(device)
    opt = make_optimizer(args, model)

    it = 0
    sums = [0.0, 0.0, 0.0, 0]
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        it = int(ckpt["iteration"])
        if ckpt.get("iters_per_epoch", ipe) != ipe:
            raise SystemExit("ipgnet train: the dataset size changed since the run started")
        sums = list(ckpt.get("epoch_sums", sums))
        _set_rng_state(ckpt.get("rng"))
        del ckpt

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(config.to_dict(), indent=1) + "\n")
    with open(os.path.join(args.out, "labels.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(labels, ensure_ascii=False) + "\n")
    log = open(os.path.join(args.out, "train.log"), "a", encoding="utf-8")
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "a", encoding="utf-8")
    saved_args = {k: getattr(args, k) for k in list(DEFAULTS) + ["data", "config", "lr", "weight_decay",
                                                                 "warmup_iters"]}
    for k in ("scale_jitter", "crop"):
        if isinstance(saved_args[k], tuple):
            saved_args[k] = list(saved_args[k])
    log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {'resume' if it else 'start'} at iteration "
              f"{it}/{total} ({ipe} per epoch, {n} images, {B} per batch) device {device} "
              f"threads {torch.get_num_threads()} args {json.dumps(saved_args)}\n")
    log.flush()

    def checkpoint(paths):
        obj = {
            "model": model.state_dict(), "config": config.to_dict(), "labels": labels,
            "optimizer": opt.state_dict(), "iteration": it, "epoch": it // ipe,
            "iters_per_epoch": ipe, "epoch_sums": list(sums), "args": saved_args,
            "rng": _rng_state(),
        }
        for p in paths:
            _save(os.path.join(args.out, p), obj)

    crop = tuple(args.crop) if args.crop else None
    if crop and (crop[0] % 32 or crop[1] % 32 or crop[0] <= 0 or crop[1] <= 0):
        raise SystemExit(f"ipgnet train: --crop {crop[0]}x{crop[1]} must be positive multiples of 32")
    dataset = TrainSet(data, config, args.seed, args.flip, args.scale_jitter, crop)
    progress = Progress(stop, it, args.log_every)
    history = []
    epoch_t0 = time.monotonic()
    try:
        while it < stop:
            epoch = it // ipe
            pos = it % ipe
            g = torch.Generator()
            g.manual_seed(int(args.seed) * 1000003 + epoch)
            perm = torch.randperm(n, generator=g).tolist()
            end = min(ipe, pos + (stop - it))
            batches = [[(epoch, i) for i in perm[k * B:(k + 1) * B]] for k in range(pos, end)]
            loader = torch.utils.data.DataLoader(
                dataset, batch_sampler=batches, collate_fn=collate,
                num_workers=int(args.workers), worker_init_fn=_worker_init,
                persistent_workers=False)
            for x, targets in loader:
                lr = lr_at(it, total, args.lr, warmup, args.schedule)
                for group in opt.param_groups:
                    group["lr"] = lr
                model.train()
                if args.freeze_bn:
                    _bn_eval(model)
                x = x.to(device)
                targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
                losses = model(x, targets)
                cls, box = split_losses(losses)
                loss = cls + box
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"loss is {loss.item()} at iteration {it} (cls {cls.item()}, box "
                        f"{box.item()}); try a lower --lr or a longer --warmup-iters")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if args.clip_grad and args.clip_grad > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_grad)
                opt.step()
                it += 1
                rec = {"iter": it, "epoch": epoch + 1, "loss": loss.item(), "cls": cls.item(),
                       "box": box.item(), "lr": lr}
                history.append(rec)
                metrics.write(json.dumps(rec) + "\n")
                sums[0] += rec["loss"]
                sums[1] += rec["cls"]
                sums[2] += rec["box"]
                sums[3] += 1
                progress.update(it, epoch + 1, args.epochs, rec["loss"], rec["cls"], rec["box"], lr,
                                force=(it == stop))
                if args.save_every and it % args.save_every == 0 and it % ipe:
                    metrics.flush()
                    checkpoint(["last.pt"])
            if it % ipe == 0:
                k = max(1, sums[3])
                dt = time.monotonic() - epoch_t0
                log.write(f"epoch {it // ipe}/{args.epochs} iter {it}/{total} loss {sums[0] / k:.5f} "
                          f"cls {sums[1] / k:.5f} box {sums[2] / k:.5f} lr {lr:.6f} "
                          f"time {dt:.1f}s {sums[3] / max(dt, 1e-9):.2f} it/s\n")
                log.flush()
                metrics.flush()
                sums = [0.0, 0.0, 0.0, 0]
                epoch_t0 = time.monotonic()
                paths = ["last.pt"] + ([f"epoch_{it // ipe}.pt"] if args.keep_epochs else [])
                checkpoint(paths)
        if it % ipe:
            metrics.flush()
            checkpoint(["last.pt"])
            log.write(f"# stopped at iteration {it}/{total} (--max-iters)\n")
    except KeyboardInterrupt:
        metrics.flush()
        checkpoint(["last.pt"])
        log.write(f"# interrupted at iteration {it}/{total}; last.pt saved\n")
        sys.stderr.write(f"\nipgnet train: interrupted at iteration {it}; resume with --resume\n")
        raise
    finally:
        log.close()
        metrics.close()
    return history
