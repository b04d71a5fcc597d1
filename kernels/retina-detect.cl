// ============================================================================
// retina-detect.cl: RetinaNet post-processing on the device, torchvision semantics.
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

// A logit at or below this cannot score above thresh: sigmoid is monotone
// and sigmoid(logit(thresh) - 0.01) is below thresh by a relative
// 0.01 (1 - thresh) at least -- over 1e-4 for thresh <= 0.99, far above the
// few ulp of float exp, log and division. NaN (no logit skipped) outside
// 1e-30 .. 0.99, or for a NaN thresh.
inline float ipg_logit_floor(float thresh)
{
    return thresh >= 1e-30f && thresh <= 0.99f ? log(thresh / (1.0f - thresh)) - 0.01f : NAN;
}

// Work: global (ceil(h * w / 16), A*K): a work-item reads 16 logits of one
// class-anchor plane as a vector and is done when none is above
// ipg_logit_floor (most of them: background); otherwise each of its lanes
// computes the score exactly as one work-item per logit did. `slots`
// candidates may be stored (the level's element count, so none is ever
// lost). `image`: which image of the batch ([B][A*K][h][w]) this step reads.
__kernel void ipg_retina_candidates(__global const float * logits, int h, int w, int AK, int image,
                                    float score_thresh,
                                    __global float * cand_score, __global int * cand_index,
                                    __global int * count, int level, int slots, int base)
{
    const int i0 = get_global_id(0) * 16, ch = get_global_id(1);   // first y * w + x, class-anchor channel
    const int hw = h * w;
    if (i0 >= hw || ch >= AK) return;
    __global const float * plane = logits + ((size_t) image * AK + ch) * hw + i0;
    const int lanes = min(16, hw - i0);
    const float floor_logit = ipg_logit_floor(score_thresh);
    if (lanes == 16 && all(vload16(0, plane) <= floor_logit)) return;
    for (int l = 0; l < lanes; l++) {
        const float logit = plane[l];
        if (logit <= floor_logit) continue;
        const float score = 1.0f / (1.0f + exp(-logit));
        if (score > score_thresh) {
            const int slot = atomic_inc(&count[level]);
            if (slot < slots) {
                cand_score[base + slot] = score;
                cand_index[base + slot] = (i0 + l) * AK + ch;
            }
        }
    }
}

// Top-k by score of one level's candidates, one work-group per level: the
// exact k-th largest key T (ipg_radix_kth, common.cl), then every key above T
// and, of the keys equal to T, those of the smallest flat indices: the
// candidates arrive in atomic order, so this is what makes a tie across the
// cut (flat areas, the letterbox padding) give the same set on every run.
// The selected slots are in no particular order (the host sorts a level's
// candidates by flat index).
// Work: global (L * levels), local (L); `hist` is IPG_RADIX_BINS uints of local memory.
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
    __local uint state[4];
    __local int pos_gt, pos_eq;

    if (n <= k) {
        for (int i = lid; i < n; i += L) { os[i] = s[i]; oi[i] = ix[i]; }
        if (lid == 0) top_count[lvl] = n;
        return;
    }
    if (lid == 0) { pos_gt = 0; pos_eq = 0; }
    int n_eq, n_tied;                          // keys equal to T to take, and in all
    const uint T = ipg_radix_kth(s, n, k, hist, state, &n_eq, &n_tied);
    const int n_gt = k - n_eq;                 // keys strictly above T
    // Keys equal to T are taken when ~index >= I: the n_eq smallest indices.
    uint I = 0;
    if (n_tied > n_eq) {
        int e, t;
        I = ipg_radix_kth_keyed(s, ix, T, n, n_eq, hist, state, &e, &t);
    }
    for (int i = lid; i < n; i += L) {
        const uint key = ipg_order_key(s[i]);
        if (key > T) {
            const int p = atomic_inc(&pos_gt);
            os[p] = s[i]; oi[p] = ix[i];
        } else if (key == T && ~(uint) ix[i] >= I) {
            const int q = atomic_inc(&pos_eq);
            if (q < n_eq) { os[n_gt + q] = s[i]; oi[n_gt + q] = ix[i]; }
        }
    }
    if (lid == 0) top_count[lvl] = k;
}

// Decodes one level's selected candidates (torchvision BoxCoder.decode_single
// and clip_boxes_to_image), reading image `image` of the batch [B][4A][h][w].
// Work: global (k).
__kernel void ipg_retina_decode(__global const float * box_reg, int h, int w, int A, int K, int image,
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
    if (i >= k || i >= top_count[level]) return;
    box_reg += (size_t) image * 4 * A * h * w;
    const size_t slot = (size_t) level * k + i;
    const int flat = top_index[slot];
    const int anchor_idx = flat / K;
    const int label = flat - anchor_idx * K;
    const int loc = anchor_idx / A;
    const int a = anchor_idx - loc * A;
    const int y = loc / w, x = loc - y * w;
    const float sx = (float) (x * stride_w), sy = (float) (y * stride_h);
    const float4 anchor = (float4) (sx + base_anchors[a * 4 + 0], sy + base_anchors[a * 4 + 1],
                                    sx + base_anchors[a * 4 + 2], sy + base_anchors[a * 4 + 3]);
    const size_t plane = (size_t) h * w;
    const size_t at = (size_t) y * w + x;
    const float4 d = (float4) (box_reg[(a * 4 + 0) * plane + at], box_reg[(a * 4 + 1) * plane + at],
                               box_reg[(a * 4 + 2) * plane + at], box_reg[(a * 4 + 3) * plane + at]);
    vstore4(ipg_decode_box(anchor, d, (float4) (wx, wy, ww, wh), clip, image_w, image_h), slot, out_box);
    out_score[slot] = top_score[slot];
    out_label[slot] = label;
}
