// ============================================================================
// detect.cl: RetinaNet post-processing on the device, torchvision semantics.
//
// Per level: the class-logit map [A*K][h][w] is scanned for sigmoid scores
// above the threshold (ipg_retina_candidates), the top k of those are
// selected (ipg_topk_select, an exact radix select), and only those are
// decoded against their anchors (ipg_retina_decode). The host reads back at
// most levels * k candidates and runs class-wise NMS.
//
// Candidate order follows torchvision's flattening of (y, x, anchor, class):
// flat = ((y * w + x) * A + a) * K + k.
// ============================================================================

// Work: global (w, h, A*K). `slots` candidates may be stored (the level's
// element count, so none is ever lost).
__kernel void ipg_retina_candidates(__global const float * logits, int h, int w, int AK,
                                    float score_thresh,
                                    __global float * cand_score, __global int * cand_index,
                                    __global int * count, int level, int slots, int base)
{
    const int x = get_global_id(0), y = get_global_id(1), ch = get_global_id(2);
    if (x >= w || y >= h || ch >= AK) return;
    const float logit = logits[((size_t) ch * h + y) * w + x];
    const float score = 1.0f / (1.0f + exp(-logit));
    if (score > score_thresh) {
        const int slot = atomic_inc(&count[level]);
        if (slot < slots) {
            cand_score[base + slot] = score;
            cand_index[base + slot] = (y * w + x) * AK + ch;
        }
    }
}

// Top-k by score of one level's candidates, one work-group per level.
// Scores are positive floats, so their bit patterns order like the values:
// four 8-bit radix passes find the k-th largest key T exactly; then every key
// above T and enough keys equal to T are taken (in no particular order).
// Work: global (L * levels), local (L); `hist` is 256 uints of local memory.
__kernel void ipg_topk_select(__global const float * cand_score, __global const int * cand_index,
                              __global const int * count, __global const int * offsets,
                              __global const int * slots, int k,
                              __global float * top_score, __global int * top_index,
                              __global int * top_count,
                              __local uint * hist)
{
    const int lvl = get_group_id(0);
    const int lid = get_local_id(0);
    const int L = get_local_size(0);
    const int n = min(count[lvl], slots[lvl]);
    __global const float * s = cand_score + offsets[lvl];
    __global const int * ix = cand_index + offsets[lvl];
    __global float * os = top_score + (size_t) lvl * k;
    __global int * oi = top_index + (size_t) lvl * k;
    __local uint prefix, mask, remaining;
    __local int pos_gt, pos_eq;

    if (n <= k) {
        for (int i = lid; i < n; i += L) { os[i] = s[i]; oi[i] = ix[i]; }
        if (lid == 0) top_count[lvl] = n;
        return;
    }
    if (lid == 0) { prefix = 0; mask = 0; remaining = (uint) k; pos_gt = 0; pos_eq = 0; }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int pass = 0; pass < 4; pass++) {
        const int shift = 24 - 8 * pass;
        for (int b = lid; b < 256; b += L) hist[b] = 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint pf = prefix, mk = mask;
        for (int i = lid; i < n; i += L) {
            const uint key = as_uint(s[i]);
            if ((key & mk) == pf) atomic_inc(&hist[(key >> shift) & 255u]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            uint cum = 0;
            for (int b = 255; b >= 0; b--) {
                if (cum + hist[b] >= remaining) {
                    prefix |= (uint) b << shift;
                    remaining -= cum;
                    break;
                }
                cum += hist[b];
            }
            mask |= 255u << shift;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const uint T = prefix;
    const int n_gt = k - (int) remaining;   // keys strictly above T
    const int n_eq = (int) remaining;       // keys equal to T to take
    for (int i = lid; i < n; i += L) {
        const uint key = as_uint(s[i]);
        if (key > T) {
            const int p = atomic_inc(&pos_gt);
            os[p] = s[i]; oi[p] = ix[i];
        } else if (key == T) {
            const int q = atomic_inc(&pos_eq);
            if (q < n_eq) { os[n_gt + q] = s[i]; oi[n_gt + q] = ix[i]; }
        }
    }
    if (lid == 0) top_count[lvl] = k;
}

// Decodes one level's selected candidates (torchvision BoxCoder.decode_single
// and clip_boxes_to_image). Work: global (k).
__kernel void ipg_retina_decode(__global const float * box_reg, int h, int w, int A, int K,
                                __global const float * base_anchors,   // [A][4]
                                int stride_w, int stride_h,
                                float wx, float wy, float ww, float wh, float clip,
                                float image_w, float image_h,
                                __global const float * top_score, __global const int * top_index,
                                __global const int * top_count, int level, int k,
                                __global float * out_box, __global float * out_score,
                                __global int * out_label)
{
    const int i = get_global_id(0);
    if (i >= top_count[level]) return;
    const size_t slot = (size_t) level * k + i;
    const int flat = top_index[slot];
    const int anchor_idx = flat / K;
    const int label = flat - anchor_idx * K;
    const int loc = anchor_idx / A;
    const int a = anchor_idx - loc * A;
    const int y = loc / w, x = loc - y * w;
    const float sx = (float) (x * stride_w), sy = (float) (y * stride_h);
    const float ax1 = sx + base_anchors[a * 4 + 0], ay1 = sy + base_anchors[a * 4 + 1];
    const float ax2 = sx + base_anchors[a * 4 + 2], ay2 = sy + base_anchors[a * 4 + 3];
    const size_t plane = (size_t) h * w;
    const size_t at = (size_t) y * w + x;
    const float dx = box_reg[(a * 4 + 0) * plane + at] / wx;
    const float dy = box_reg[(a * 4 + 1) * plane + at] / wy;
    const float dw = fmin(box_reg[(a * 4 + 2) * plane + at] / ww, clip);
    const float dh = fmin(box_reg[(a * 4 + 3) * plane + at] / wh, clip);
    const float widths = ax2 - ax1, heights = ay2 - ay1;
    const float ctr_x = ax1 + 0.5f * widths, ctr_y = ay1 + 0.5f * heights;
    const float pcx = dx * widths + ctr_x, pcy = dy * heights + ctr_y;
    const float pw = exp(dw) * widths, ph = exp(dh) * heights;
    const float hw = 0.5f * pw, hh = 0.5f * ph;
    out_box[slot * 4 + 0] = clamp(pcx - hw, 0.0f, image_w);
    out_box[slot * 4 + 1] = clamp(pcy - hh, 0.0f, image_h);
    out_box[slot * 4 + 2] = clamp(pcx + hw, 0.0f, image_w);
    out_box[slot * 4 + 3] = clamp(pcy + hh, 0.0f, image_h);
    out_score[slot] = top_score[slot];
    out_label[slot] = label;
}
