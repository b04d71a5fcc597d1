import torch
from torchvision.models.detection import RetinaNet
from torchvision.models.detection import _utils as det_utils

from conftest import small_config
from ipgnet.guidance import IPGFusion
from ipgnet.model import IPGNet
from ipgnet.random_model import random_images, random_model


def _torchvision_pipeline(model, x):
    """torchvision's own RetinaNet forward over the same modules, with a transform
    that is the identity at this size (no resize, mean 0, std 1)."""
    H, W = x.shape[-2:]
    c = model.config
    tv = RetinaNet(model.backbone, c.num_classes, min_size=min(H, W), max_size=max(H, W),
                   image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],
                   anchor_generator=model.anchor_generator, head=model.head,
                   score_thresh=c.score_thresh, nms_thresh=c.nms_thresh,
                   detections_per_img=c.detections_per_img, topk_candidates=c.topk_candidates)
    tv.box_coder = det_utils.BoxCoder(weights=tuple(c.box_weights))
    tv.eval()
    with torch.no_grad():
        return tv([x[0]])[0]


def test_forward_tensor_equals_torchvision_retinanet():
    c = small_config(num_classes=4, box_weights=[2.0, 2.0, 1.0, 1.0], topk_candidates=200,
                     detections_per_img=50)
    model = random_model(c, seed=7)
    torch.manual_seed(3)
    # a size other than config.input: the model is fully convolutional
    x = random_images(1, 160, 96, c.mean, c.std)
    heads, det = model.forward_tensor(x)
    ref = _torchvision_pipeline(model, x)
    assert len(det["scores"]) > 10
    assert torch.equal(det["labels"], ref["labels"])
    assert torch.equal(det["scores"], ref["scores"])
    assert torch.equal(det["boxes"], ref["boxes"])
    assert [tuple(t.shape) for t in heads["cls_logits"]] == [
        (1, 36, 20, 12), (1, 36, 10, 6), (1, 36, 5, 3), (1, 36, 3, 2), (1, 36, 2, 1)]
    assert [t.shape[1] for t in heads["bbox_regression"]] == [36] * 5
    assert (det["boxes"][:, 0::2] <= 96).all() and (det["boxes"][:, 1::2] <= 160).all()


def test_head_outputs_are_the_raw_convs():
    c = small_config()
    model = random_model(c, seed=2)
    x = random_images(1, 96, 128, c.mean, c.std)
    heads, _ = model.forward_tensor(x)
    feats = list(model.backbone(x).values())
    ch = model.head.classification_head
    with torch.no_grad():
        assert torch.equal(heads["cls_logits"][0], ch.cls_logits(ch.conv(feats[0])))
        flat = ch(feats)  # torchvision's [N, HWA, K]
    ours = torch.cat([IPGNet.flatten_level(t, c.num_classes) for t in heads["cls_logits"]], dim=1)
    assert torch.equal(ours, flat)


def test_fusion_semantics():
    torch.manual_seed(0)
    f = IPGFusion(4, 2).eval()
    cin, g = torch.randn(1, 4, 3, 3), torch.randn(1, 2, 3, 3)
    with torch.no_grad():
        assert torch.equal(f(cin, g), cin)  # BN weight zero at init
        f.bn.weight.fill_(1.0)
        f.conv.weight.zero_()
        f.conv.weight[0, 4] = 1.0  # channel 4 of the concat is G's channel 0
        out = f(cin, g)
    eps = f.bn.eps
    torch.testing.assert_close(out[0, 0], cin[0, 0] + g[0, 0] / (1 + eps) ** 0.5)
    torch.testing.assert_close(out[0, 1:], cin[0, 1:])


def test_training_forward_gives_losses():
    c = small_config()
    model = IPGNet(c).train()
    x = torch.randn(1, 3, 96, 128)
    losses = model(x, [{"boxes": torch.tensor([[10.0, 10.0, 50.0, 40.0]]), "labels": torch.tensor([1])}])
    assert set(losses) == {"classification", "bbox_regression"}
    assert all(torch.isfinite(v) for v in losses.values())


def test_plain_fpn_model_runs():
    c = small_config(ipg_levels=[])
    model = random_model(c, seed=0)
    names = []
    model.forward_tensor(random_images(1, 96, 128, c.mean, c.std), lambda n, t: names.append(n))
    assert not any(n.startswith(("pyramid.", "ipg.")) for n in names)
    assert "fpn.p7" in names
