// ============================================================================
// common.cl: definitions shared by every ipgnet kernel. Prepended to the
// program; tunables are #defines with defaults that the host may override
// with -D options.
//
// Layout everywhere: batch 1, NCHW float32, tightly packed
// (index = (c * H + y) * W + x).
// ============================================================================

#ifndef IPG_GEMM_MR
#define IPG_GEMM_MR 16    // output channels per work-item (must match the host's packing)
#endif
#ifndef IPG_GEMM_NR
#define IPG_GEMM_NR 16    // output pixels per work-item (must match the host's packing)
#endif
