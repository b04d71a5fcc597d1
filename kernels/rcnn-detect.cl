// ============================================================================
// rcnn-detect.cl: Faster R-CNN's box post-processing on the device,
// torchvision semantics (RoIHeads.postprocess_detections): per RoI the
// softmax over K + 1 classes, then for each class j >= 1 the box decoded
// against the RoI with the box weights and clipped; candidates with
// score > thresh and both sides >= 1e-2 are compacted (in no particular
// order, with their flat index r * K + j - 1 so the host can restore
// torchvision's order). The host runs class-wise NMS.
//
// cls: [K + 1][max_rois], box: [4 (K + 1)][max_rois] (the predictor's 1x1
// conv outputs over the 1 x max_rois image). Work: global (max_rois).
// ============================================================================

__kernel void ipg_rcnn_candidates(__global const float * cls, __global const float * box,
                                  __global const float * rois, __global const int * roi_count,
                                  int max_rois, int K,
                                  float wx, float wy, float ww, float wh, float clip,
                                  float image_w, float image_h,
                                  float score_thresh,
                                  __global int * count, __global float * out_box, __global float * out_score,
                                  __global int * out_label, __global int * out_flat)
{
    const int r = get_global_id(0);
    if (r >= *roi_count || r >= max_rois) return;
    float m = -INFINITY;
    for (int j = 0; j <= K; j++) m = fmax(m, cls[(size_t) j * max_rois + r]);
    float sum = 0.0f;
    for (int j = 0; j <= K; j++) sum += exp(cls[(size_t) j * max_rois + r] - m);
    const float inv = 1.0f / sum;
    const float4 roi = vload4(r, rois);
    const float4 weights = (float4) (wx, wy, ww, wh);
    for (int j = 1; j <= K; j++) {
        const float s = exp(cls[(size_t) j * max_rois + r] - m) * inv;
        if (!(s > score_thresh)) continue;
        const float4 d = (float4) (box[(size_t) (4 * j + 0) * max_rois + r], box[(size_t) (4 * j + 1) * max_rois + r],
                                   box[(size_t) (4 * j + 2) * max_rois + r], box[(size_t) (4 * j + 3) * max_rois + r]);
        const float4 b = ipg_decode_box(roi, d, weights, clip, image_w, image_h);
        if (!(b.s2 - b.s0 >= 1e-2f && b.s3 - b.s1 >= 1e-2f)) continue;   // remove_small_boxes(1e-2)
        const int slot = atomic_inc(count);
        vstore4(b, slot, out_box);
        out_score[slot] = s;
        out_label[slot] = j - 1;
        out_flat[slot] = r * K + j - 1;
    }
}
