// ============================================================================
// proposals.cl: Faster R-CNN's RPN proposals on the device, torchvision
// semantics (RegionProposalNetwork.filter_proposals at test time):
//   per level: the top k objectness logits (ipg_rpn_select), sorted by score
//   and decoded against their anchors with weights (1, 1, 1, 1), clipped,
//   boxes under 1e-3 a side or under the score threshold invalid
//   (ipg_rpn_sort_decode); greedy NMS inside the level (ipg_nms_mask:
//   the IoU bit matrix, in parallel; ipg_nms_scan_group: the greedy pass, 32
//   boxes at a time and parallel over mask words; ipg_nms_scan: the same
//   pass in one work-item, the fallback and the tests' reference);
//   then all levels merged by score, the first max_rois kept (ipg_rpn_merge).
//   The merge orders by the logits' order keys, not the sigmoid scores: the
//   same order (sigmoid is monotonic), but exact, whatever a device's exp
//   rounds to; equal saturated scores fall in logit order.
//
// Anchor order is torchvision's: flat = (y * w + x) * A + a, for the maps
// [A][h][w] (objectness) and [4A][h][w] (deltas, channel a * 4 + j).
// Buffers hold k_max slots per level; level l's slots start at l * k_max.
// ============================================================================

// Top k of one level's objectness logits [A][h][w] (k <= A * h * w), one
// work-group: every key above the k-th largest T, then keys equal to T. When
// the keys equal to T do not all fit (a tie across the cut: flat image areas,
// the letterbox padding), work-item 0 takes the first ones in memory order,
// so that the same frame always gives the same proposals.
// Work: global (L), local (L).
__kernel void ipg_rpn_select(__global const float * logits, int h, int w, int A, int k,
                             __global uint * sel_key, __global int * sel_index, int base,
                             __local uint * hist)
{
    const int lid = get_local_id(0), L = get_local_size(0);
    const int plane = h * w, n = A * plane;
    __local uint state[4];
    __local int pos_gt;
    if (lid == 0) pos_gt = 0;
    int n_eq, n_tied;
    const uint T = ipg_radix_kth(logits, n, k, hist, state, &n_eq, &n_tied);
    const int n_gt = k - n_eq;
    const bool all_ties = n_tied == n_eq;
    for (int i = lid; i < n; i += L) {
        const uint key = ipg_order_key(logits[i]);
        if (key > T || (all_ties && key == T)) {
            const int slot = atomic_inc(&pos_gt);
            const int a = i / plane;
            sel_key[base + slot] = key;
            sel_index[base + slot] = (i - a * plane) * A + a;
        }
    }
    if (all_ties || lid != 0) return;
    for (int i = 0, q = 0; i < n && q < n_eq; i++) {
        if (ipg_order_key(logits[i]) != T) continue;
        const int a = i / plane;
        sel_key[base + n_gt + q] = T;
        sel_index[base + n_gt + q] = (i - a * plane) * A + a;
        q++;
    }
}

// Sorts one level's k selected anchors by (logit descending, flat index
// ascending) -- each work-item counts the keys ahead of its own -- and
// decodes each into its sorted slot. Work: global (k).
__kernel void ipg_rpn_sort_decode(__global const uint * sel_key, __global const int * sel_index, int base, int k,
                                  __global const float * logits, __global const float * deltas,
                                  int h, int w, int A,
                                  __global const float * base_anchors,   // [A][4]
                                  int stride_w, int stride_h, float clip,
                                  float image_w, float image_h, float score_thresh,
                                  __global float * box, __global float * score, __global int * valid,
                                  __global uint * skey)
{
    const int i = get_global_id(0);
    if (i >= k) return;
    const uint key = sel_key[base + i];
    const int flat = sel_index[base + i];
    int rank = 0;
    for (int j = 0; j < k; j++) {
        const uint kj = sel_key[base + j];
        rank += (kj > key || (kj == key && sel_index[base + j] < flat)) ? 1 : 0;
    }
    const int a = flat % A, loc = flat / A;
    const int y = loc / w, x = loc - y * w;
    const size_t plane = (size_t) h * w;
    const float sx = (float) (x * stride_w), sy = (float) (y * stride_h);
    const float4 anchor = (float4) (sx + base_anchors[a * 4 + 0], sy + base_anchors[a * 4 + 1],
                                    sx + base_anchors[a * 4 + 2], sy + base_anchors[a * 4 + 3]);
    const float4 d = (float4) (deltas[(a * 4 + 0) * plane + loc], deltas[(a * 4 + 1) * plane + loc],
                               deltas[(a * 4 + 2) * plane + loc], deltas[(a * 4 + 3) * plane + loc]);
    const float4 b = ipg_decode_box(anchor, d, (float4) (1.0f), clip, image_w, image_h);
    const float s = 1.0f / (1.0f + exp(-logits[a * plane + loc]));
    const int at = base + rank;
    vstore4(b, at, box);
    score[at] = s;
    skey[at] = key;
    // remove_small_boxes(min_size = 1e-3), then scores >= score_thresh.
    valid[at] = (b.s2 - b.s0 >= 1e-3f && b.s3 - b.s1 >= 1e-3f && s >= score_thresh) ? 1 : 0;
}

// ipg_iou's bits for 16 boxes at once: bit l is set when box j0 + l (read
// as four float16 of x0 y0 x1 y1 quadruples) is valid, later than box i and
// overlaps bi by IoU > thresh. The same operations as ipg_iou, lane-wise.
inline uint ipg_nms_bits16(float4 bi, int i, __global const float * box, __global const int * valid, int j0,
                           float thresh)
{
    const float16 p0 = vload16(0, box + 4 * j0), p1 = vload16(1, box + 4 * j0);
    const float16 p2 = vload16(2, box + 4 * j0), p3 = vload16(3, box + 4 * j0);
    const float16 x0 = (float16) (p0.s048c, p1.s048c, p2.s048c, p3.s048c);
    const float16 y0 = (float16) (p0.s159d, p1.s159d, p2.s159d, p3.s159d);
    const float16 x1 = (float16) (p0.s26ae, p1.s26ae, p2.s26ae, p3.s26ae);
    const float16 y1 = (float16) (p0.s37bf, p1.s37bf, p2.s37bf, p3.s37bf);
    const float area_a = (bi.s2 - bi.s0) * (bi.s3 - bi.s1);
    const float16 area_b = (x1 - x0) * (y1 - y0);
    const float16 w = fmax(0.0f, fmin((float16) bi.s2, x1) - fmax((float16) bi.s0, x0));
    const float16 h = fmax(0.0f, fmin((float16) bi.s3, y1) - fmax((float16) bi.s1, y0));
    const float16 inter = w * h;
    const float16 iou = inter / (area_a + area_b - inter);
    const int16 j = j0 + (int16) (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const int16 hit = (iou > thresh) & (j > i) & (vload16(0, valid + j0) != 0);
    int16 b = hit & (int16) (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768);
    int8 b8 = b.lo | b.hi;
    int4 b4 = b8.lo | b8.hi;
    int2 b2 = b4.lo | b4.hi;
    return (uint) (b2.s0 | b2.s1);
}

// The NMS bit matrix of one level: bit j of word wd of box i is set when a
// later box j (j > i, valid) overlaps box i by IoU > thresh. A word of 32
// boxes inside the level runs as two 16-wide vectors (ipg_nms_bits16;
// 0.65 -> 0.21 ms a level of 1000 boxes on PoCL); the level's last partial
// word box by box.
// Work: global (words, k).
__kernel void ipg_nms_mask(__global const float * box, __global const int * valid, int base, int k, int words,
                           float thresh, __global uint * mask)
{
    const int wd = get_global_id(0), i = get_global_id(1);
    if (wd >= words || i >= k) return;
    const float4 bi = vload4(base + i, box);
    uint bits = 0;
    const int j0 = wd * 32, j1 = min(j0 + 32, k);
    if (j1 <= i + 1) {
        // no later box in this word
    } else if (j0 + 32 <= k) {
        bits = ipg_nms_bits16(bi, i, box + 4 * base, valid + base, j0, thresh) |
               ipg_nms_bits16(bi, i, box + 4 * base, valid + base, j0 + 16, thresh) << 16;
    } else {
        for (int j = max(j0, i + 1); j < j1; j++)
            if (valid[base + j] && ipg_iou(bi, vload4(base + j, box)) > thresh) bits |= 1u << (j - j0);
    }
    mask[((size_t) base + i) * words + wd] = bits;
}

// Greedy NMS of one level over its score-sorted boxes: a valid box survives
// unless a kept box suppressed it; survivors are written in score order.
// Sequential by nature (k steps of `words` ORs): one work-item.
// Work: global (1).
__kernel void ipg_nms_scan(__global const float * box, __global const float * score, __global const int * valid,
                           __global const uint * skey,
                           __global const uint * mask, int base, int k, int words, int level,
                           __global uint * removed,
                           __global float * kept_box, __global float * kept_score, __global uint * kept_key,
                           __global int * kept_count)
{
    if (get_global_id(0) != 0) return;
    __global uint * rm = removed + (size_t) level * words;
    for (int wd = 0; wd < words; wd++) rm[wd] = 0;
    int n = 0;
    for (int i = 0; i < k; i++) {
        if (!valid[base + i] || ((rm[i >> 5] >> (i & 31)) & 1u)) continue;
        vstore4(vload4(base + i, box), base + n, kept_box);
        kept_score[base + n] = score[base + i];
        kept_key[base + n] = skey[base + i];
        n++;
        __global const uint * mi = mask + ((size_t) base + i) * words;
        for (int wd = i >> 5; wd < words; wd++) rm[wd] |= mi[wd];
    }
    kept_count[level] = n;
}

// The same greedy NMS, one work-group: still sequential over the boxes, but
// 32 at a time and parallel over the mask words. For each block of 32 rows
// (the boxes of word b), work-item 0 settles the block alone -- a box
// survives unless valid-and-removed, and a survivor's diagonal word removes
// later boxes of the same block -- then every work-item ORs the survivors'
// rows into the removal words after b (one word per work-item) and copies
// the survivors out. Two barriers per 32 boxes instead of k sequential
// steps of `words` ORs: the result is bit for bit the serial kernel's.
// `rm`: (k + 31) / 32 uints of local memory (the host checks the device's).
// Work: global (L), local (L), one work-group.
__kernel void ipg_nms_scan_group(__global const float * box, __global const float * score,
                                 __global const int * valid, __global const uint * skey,
                                 __global const uint * mask, int base, int k, int words, int level,
                                 __local uint * rm,
                                 __global float * kept_box, __global float * kept_score, __global uint * kept_key,
                                 __global int * kept_count)
{
    const int lid = get_local_id(0), L = get_local_size(0);
    const int blocks = (k + 31) / 32;
    __local uint keep_bits;
    __local int n_before;
    for (int wd = lid; wd < blocks; wd += L) rm[wd] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    int n = 0;   // survivors so far (work-item 0's count)
    for (int b = 0; b < blocks; b++) {
        const int row0 = b * 32;
        if (lid == 0) {
            uint cur = rm[b], keep = 0;
            __global const uint * diag = mask + ((size_t) base + row0) * words + b;
            const int rows = min(32, k - row0);
            for (int j = 0; j < rows; j++) {
                if (!valid[base + row0 + j] || ((cur >> j) & 1u)) continue;
                keep |= 1u << j;
                cur |= diag[(size_t) j * words];
            }
            keep_bits = keep;
            n_before = n;
            n += popcount(keep);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint keep = keep_bits;
        const int first = n_before;
        for (int wd = b + 1 + lid; wd < blocks; wd += L) {
            uint acc = rm[wd];
            for (uint bits = keep; bits != 0; bits &= bits - 1) {
                const int j = 31 - clz(bits & (0u - bits));   // lowest set bit
                acc |= mask[((size_t) base + row0 + j) * words + wd];
            }
            rm[wd] = acc;
        }
        for (int j = lid; j < 32; j += L) {
            if (!((keep >> j) & 1u)) continue;
            const int at = base + first + popcount(keep & ((1u << j) - 1u));
            vstore4(vload4(base + row0 + j, box), at, kept_box);
            kept_score[at] = score[base + row0 + j];
            kept_key[at] = skey[base + row0 + j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) kept_count[level] = n;
}

// How many of a[0..n) (non-increasing) are >= s (or_equal) or > s.
int ipg_count_ahead(__global const uint * a, int n, uint s, int or_equal)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (a[mid] > s || (or_equal && a[mid] == s)) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// Merges the levels' survivors by score (ties: lower level first), as
// batched_nms's sorted result, and keeps the first max_rois. Each survivor's
// rank is its position in its level plus, found by binary search, the
// survivors of the other levels ahead of it.
// Work: global (k_max, levels).
__kernel void ipg_rpn_merge(__global const float * kept_box, __global const float * kept_score,
                            __global const uint * kept_key,
                            __global const int * kept_count, int k_max, int levels, int max_rois,
                            __global float * rois, __global float * roi_score, __global int * roi_count)
{
    const int p = get_global_id(0), l = get_global_id(1);
    if (l >= levels) return;
    if (p == 0 && l == 0) {
        int total = 0;
        for (int m = 0; m < levels; m++) total += kept_count[m];
        *roi_count = min(total, max_rois);
    }
    if (p >= kept_count[l]) return;
    const uint key = kept_key[(size_t) l * k_max + p];
    int rank = p;
    for (int m = 0; m < levels; m++)
        if (m != l) rank += ipg_count_ahead(kept_key + (size_t) m * k_max, kept_count[m], key, m < l);
    if (rank >= max_rois) return;
    vstore4(vload4((size_t) l * k_max + p, kept_box), rank, rois);
    roi_score[rank] = kept_score[(size_t) l * k_max + p];
}
