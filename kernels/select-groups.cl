// ============================================================================
// select-groups.cl: the exact top-k selects of retina-detect.cl
// (ipg_topk_select) and proposals.cl (ipg_rpn_select) over several
// work-groups per level. A GPU runs a work-group on one compute unit: one
// group per level left the rest of the device idle while it made its 4 (or
// 8) radix passes over every element of the level.
//
// Two launches. Partial: work-group g of a level takes the g-th of G slices
// of the level's n elements and selects the slice's top min(k, slice) by
// (order key descending, index ascending), packed after the slices before
// it (each group computes that offset from n alone: no atomics, no reset).
// The level's top k is a subset of the union of the slices' top k under that
// total order (an element with fewer than k elements ahead of it in the
// level has fewer than k ahead of it in its slice). Merge: one work-group per
// level selects the top k of that union by the same order, so the selected
// set is exactly the single-group kernel's, ties across the cut included
// (indices are unique):
// - RetinaNet: index = the candidate's flat index (ipg_topk_select's rule);
// - RPN: index = the logit's position in [A][h][w] memory (ipg_rpn_select's
//   "first in memory order").
// The host picks G (arch/rpn-proposals.c, post/retina-post.c) and keeps the
// single-group kernels where G would be 1.
// ============================================================================

// The top min(k, n) of vals[0..n) by (ipg_order_key descending, index
// ascending): index[i], or index_base + i when `index` is null. Writes each
// chosen element's value and index to out_val / out_index[0..count) and
// returns the count. One work-group of at most IPG_RADIX_BINS work-items
// calls it (barriers); `hist`: IPG_RADIX_BINS uints, `state`: 4 uints,
// `counts`: 2 * IPG_RADIX_BINS ints of local memory (OpenCL 1.2 declares
// __local only at kernel scope).
// The chosen elements are placed without atomics: each work-item counts its
// own ones, a prefix over the work-items gives each its first slot, then it
// writes them, so the slot order is the same on every run.
// Always inlined: called from four kernels, clang kept it out of line for
// AMDGPU and put its out-parameters (n_eq, n_tied) in scratch memory
// (tools/check-amdgpu-registers.sh).
__attribute__((always_inline)) int ipg_select_top(__global const float * vals, __global const int * index, int index_base, int n, int k,
                   __global float * out_val, __global int * out_index,
                   __local uint * hist, __local uint * state, __local int * counts)
{
    const int lid = get_local_id(0), L = get_local_size(0);
    if (n <= k) {
        for (int i0 = 0; i0 < n; i0 += L) {   // uniform trip count: see below
            const int i = i0 + lid;
            if (i >= n) continue;
            out_val[i] = vals[i];
            out_index[i] = index ? index[i] : index_base + i;
        }
        return n;
    }
    int n_eq, n_tied;
    const uint T = ipg_radix_kth_core(vals, 0, 0, 0, 0u, n, k, hist, state, &n_eq, &n_tied);
    const int n_gt = k - n_eq;
    // Keys equal to T are taken when ~index >= I: the n_eq smallest indices.
    uint I = 0;
    if (n_tied > n_eq) {
        int e, t;
        I = ipg_radix_kth_core(vals, index, index_base, 1, T, n, n_eq, hist, state, &e, &t);
    }
    // Both sweeps run the same trip count on every work-item, with the bound
    // checked inside. With the usual strided loop (i = lid; i < n; i += L)
    // instead, PoCL 3.1 (pthread, AVX-512) stored an element from past n --
    // the next level's partial results -- over a chosen one in the merge
    // kernels at local size 256 (test-ops; oclgrind passed it, and so did
    // PoCL with a printf added), as if a work-item ran one iteration too many.
    int gt = 0, eq = 0;
    for (int i0 = 0; i0 < n; i0 += L) {
        const int i = i0 + lid;
        if (i >= n) continue;
        const uint key = ipg_order_key(vals[i]);
        gt += key > T;
        eq += key == T && ~(uint) (index ? index[i] : index_base + i) >= I;
    }
    counts[lid] = gt;
    counts[IPG_RADIX_BINS + lid] = eq;
    barrier(CLK_LOCAL_MEM_FENCE);
    int at_gt = 0, at_eq = n_gt;   // this work-item's first slots: the counts of those before it
    for (int j = 0; j < lid; j++) {
        at_gt += counts[j];
        at_eq += counts[IPG_RADIX_BINS + j];
    }
    for (int i0 = 0; i0 < n; i0 += L) {
        const int i = i0 + lid;
        if (i >= n) continue;
        const uint key = ipg_order_key(vals[i]);
        const int idx = index ? index[i] : index_base + i;
        if (key > T) {
            out_val[at_gt] = vals[i];
            out_index[at_gt] = idx;
            at_gt++;
        } else if (key == T && ~(uint) idx >= I) {
            out_val[at_eq] = vals[i];
            out_index[at_eq] = idx;
            at_eq++;
        }
    }
    return k;
}

// Slice g of n elements in G slices: [ipg_select_slice_start, + _len).
int ipg_select_slice_start(int n, int g, int groups)
{
    return min(n, g * ((n + groups - 1) / groups));
}

int ipg_select_slice_len(int n, int g, int groups)
{
    return min(n, ipg_select_slice_start(n, g + 1, groups)) - ipg_select_slice_start(n, g, groups);
}

// Where slice g's selection starts in the packed partial results: the sizes
// min(k, slice) of slices 0..g-1; with g = groups, the total.
int ipg_select_packed_at(int n, int g, int groups, int k)
{
    int at = 0;
    for (int j = 0; j < g; j++) at += min(k, ipg_select_slice_len(n, j, groups));
    return at;
}

// Partial selects of the RetinaNet candidates: work-group (g, level) selects
// the top k of slice g of the level's stored candidates (min(count, slots)
// of them) into part[level][packed at ..). A level's part holds G * k.
// Work: global (L * groups, levels), local (L, 1).
__kernel void ipg_topk_partial(__global const float * cand_score, __global const int * cand_index,
                               __global const int * count, __global const int * offsets,
                               __global const int * slots, int k, int groups,
                               __global float * part_score, __global int * part_index, __local uint * hist)
{
    __local uint state[4];
    __local int counts[2 * IPG_RADIX_BINS];
    const int g = get_group_id(0), lvl = get_group_id(1);
    if (g >= groups) return;   // uniform in the group
    const int n = min(count[lvl], slots[lvl]);
    const int start = ipg_select_slice_start(n, g, groups), len = ipg_select_slice_len(n, g, groups);
    const size_t at = (size_t) lvl * groups * k + ipg_select_packed_at(n, g, groups, k);
    ipg_select_top(cand_score + offsets[lvl] + start, cand_index + offsets[lvl] + start, 0, len, k,
                   part_score + at, part_index + at, hist, state, counts);
}

// The RetinaNet merge: per level, the top k of its groups' partial
// selections, as ipg_topk_select writes them (top_score, top_index,
// top_count). Work: global (L * levels), local (L).
__kernel void ipg_topk_merge(__global const float * part_score, __global const int * part_index,
                             __global const int * count, __global const int * slots, int k, int groups,
                             __global float * top_score, __global int * top_index, __global int * top_count,
                             __local uint * hist)
{
    __local uint state[4];
    __local int counts[2 * IPG_RADIX_BINS];
    const int lvl = get_group_id(0), lid = get_local_id(0);
    const int n = min(count[lvl], slots[lvl]);
    const int total = ipg_select_packed_at(n, groups, groups, k);
    const size_t at = (size_t) lvl * groups * k;
    const int m = ipg_select_top(part_score + at, part_index + at, 0, total, k, top_score + (size_t) lvl * k,
                                 top_index + (size_t) lvl * k, hist, state, counts);
    if (lid == 0) top_count[lvl] = m;
}

// Partial selects of one RPN level's logits [A][h][w] (n = A * h * w, in
// memory order): work-group g selects the top k of slice g into
// part[packed at ..) (values and memory positions); part holds G * k.
// Work: global (L * groups), local (L).
__kernel void ipg_rpn_select_partial(__global const float * logits, int n, int k, int groups,
                                     __global float * part_val, __global int * part_pos, __local uint * hist)
{
    __local uint state[4];
    __local int counts[2 * IPG_RADIX_BINS];
    const int g = get_group_id(0);
    if (g >= groups) return;
    const int start = ipg_select_slice_start(n, g, groups), len = ipg_select_slice_len(n, g, groups);
    const int at = ipg_select_packed_at(n, g, groups, k);
    ipg_select_top(logits + start, 0, start, len, k, part_val + at, part_pos + at, hist, state, counts);
}

// The RPN merge: the level's top k (k <= n, so exactly k) of the groups'
// partial selections, written as ipg_rpn_select writes them: order keys to
// sel_key and flat anchor indices ((y * w + x) * A + a) to sel_index, from
// slot `base`. Work: global (L), local (L).
__kernel void ipg_rpn_select_merge(__global const float * part_val, __global const int * part_pos, int groups,
                                   int h, int w, int A, int k,
                                   __global uint * sel_key, __global int * sel_index, int base,
                                   __local uint * hist)
{
    __local uint state[4];
    __local int counts[2 * IPG_RADIX_BINS];
    const int lid = get_local_id(0), L = get_local_size(0);
    const int plane = h * w;
    const int total = ipg_select_packed_at(A * plane, groups, groups, k);
    // The values land in sel_key as float bits, then become order keys.
    __global float * val = (__global float *) (sel_key + base);
    ipg_select_top(part_val, part_pos, 0, total, k, val, sel_index + base, hist, state, counts);
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int i = lid; i < k; i += L) {
        const int p = sel_index[base + i], a = p / plane;
        sel_key[base + i] = ipg_order_key(val[i]);
        sel_index[base + i] = (p - a * plane) * A + a;
    }
}
